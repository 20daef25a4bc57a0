"""Reads an old file server as an operator would reach a Windows Server 2003: SMB1 and RPC
with Samba's clients, logged in as the server's Administrator — never a shell on it.

    smbclient -L -g                          the shares and their comments
    smbclient //server/share 'recurse; ls'   per share: files, folders, bytes, oldest and
                                             newest write, names the new server refuses
    rpcclient srvinfo                        the OS version
    rpcclient enumdomusers / queryuser       the local accounts: name, full name, description
    rpcclient enumalsgroups domain /         the local groups and their members
              queryaliasmem / lookupsids

Nothing the server says is trusted: the record goes through discovery_model.FILE_SERVER,
which leaves out a value with control characters or beyond its length and names it in
`problems`. The client programs are behind one small class, `SmbClients`, which the unit
tests replace with recorded output of a real (stand-in) server.
"""

from __future__ import annotations

import datetime
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "module_utils"))
import discovery_model

from migration import file_names

SMB1 = ["--option=client min protocol=NT1", "--option=client max protocol=NT1"]
TIMEOUT = 1800
LISTING_LINE = re.compile(
    r"^  (?P<name>.+?)\s+(?P<attributes>[DAHSRNVX]*)\s+(?P<size>\d+)"
    r"\s+(?P<date>\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})$")
RID = r"rid:\[(0x[0-9a-fA-F]+)\]"


class SmbClients:
    """Runs Samba's clients against one server with an authentication file."""

    def __init__(self, address: str, auth_file: Path) -> None:
        self.address = address
        self.auth_file = auth_file

    def _run(self, argv: list[str]) -> str:
        result = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, check=False)
        text = result.stdout.decode("utf-8", "replace")
        if result.returncode != 0:
            error = (text + result.stderr.decode("utf-8", "replace")).strip().splitlines()
            raise RuntimeError(f"{argv[0]} {argv[1]}: {error[-1] if error else result.returncode}")
        return text

    def shares(self) -> str:
        return self._run(["smbclient", "-L", f"//{self.address}", "-g", "-A", str(self.auth_file), *SMB1])

    def listing(self, share: str) -> str:
        return self._run(["smbclient", f"//{self.address}/{share}", "-A", str(self.auth_file), *SMB1,
                          "-c", "recurse ON; ls"])

    def rpc(self, command: str) -> str:
        return self._run(["rpcclient", self.address, "-A", str(self.auth_file), *SMB1, "-c", command])


def parse_shares(text: str) -> list[dict[str, str]]:
    shares = []
    for line in text.splitlines():
        kind, _, rest = line.partition("|")
        if kind == "Disk":
            name, _, comment = rest.partition("|")
            shares.append({"name": name, "comment": comment})
    return shares


def parse_listing(text: str) -> dict[str, Any]:
    """Counts of a recursive `ls`: files, folders, bytes, the oldest and newest file's
    write date, and the names the new server refuses."""
    files = folders = size = refused = 0
    dates: list[datetime.datetime] = []
    for line in text.splitlines():
        match = LISTING_LINE.match(line)
        if not match or match["name"] in (".", ".."):
            continue
        if "D" in match["attributes"]:
            folders += 1
        else:
            files += 1
            size += int(match["size"])
            dates.append(datetime.datetime.strptime(match["date"], "%a %b %d %H:%M:%S %Y"))
        name = match["name"]
        if file_names.new_name(name) != name:
            refused += 1
    counts: dict[str, Any] = {"files": files, "folders": folders, "bytes": size, "refused_names": refused}
    if dates:
        counts["oldest"], counts["newest"] = min(dates).date().isoformat(), max(dates).date().isoformat()
    return counts


def parse_rids(text: str, kind: str) -> list[tuple[str, str]]:
    """(name, rid) from enumdomusers ("user:[x] rid:[0x..]") or enumalsgroups ("group:...")."""
    return re.findall(rf"^{kind}:\[(.*)\] {RID}$", text, re.MULTILINE)


def parse_fields(text: str) -> dict[str, str]:
    """queryuser's "Name :<tab>value" lines."""
    fields = {}
    for line in text.splitlines():
        key, separator, value = line.partition(":\t")
        if separator:
            fields[key.strip()] = value
    return fields


def parse_sids(text: str) -> list[str]:
    return re.findall(r"sid:\[(S-[0-9-]+)\]", text)


def parse_names(text: str) -> list[str]:
    """lookupsids' "S-1-5-... DOMAIN\\name (1)" lines: the account names."""
    return [match.split("\\", 1)[-1] for match in re.findall(r"^S-[0-9-]+ (.+) \(\d+\)$", text, re.MULTILINE)]


def discover_file_server(device: dict[str, Any], clients: SmbClients) -> dict[str, Any]:
    """The checked record of one old file server (`device`: its legacy_servers entry)."""
    started = time.monotonic()
    raw: dict[str, Any] = {"name": device["name"], "address": str(device["address"])}
    problems: list[str] = []
    try:
        info = clients.rpc("srvinfo")
        version = re.search(r"os version\s*:\s*(\S+)", info)
        netbios = re.search(r"^\t(\S+)\s", info, re.MULTILINE)
        if version:
            raw["os_version"] = version[1]
        if netbios:
            raw["netbios_name"] = netbios[1]
        raw["shares"] = []
        for share in parse_shares(clients.shares()):
            try:
                raw["shares"].append(share | parse_listing(clients.listing(share["name"])))
            except RuntimeError as error:
                problems.append(f"share {share['name']}: {error}")
                raw["shares"].append(share)
        raw["users"] = []
        for name, rid in parse_rids(clients.rpc("enumdomusers"), "user"):
            fields = parse_fields(clients.rpc(f"queryuser {rid}"))
            raw["users"].append({"name": name, "full_name": fields.get("Full Name", ""),
                                 "description": fields.get("Description", "")})
        raw["groups"] = []
        for name, rid in parse_rids(clients.rpc("enumalsgroups domain"), "group"):
            sids = parse_sids(clients.rpc(f"queryaliasmem domain {rid}"))
            members = parse_names(clients.rpc("lookupsids " + " ".join(sids))) if sids else []
            raw["groups"].append({"name": name, "members": sorted(members)})
    except RuntimeError as error:
        problems.append(str(error))
    raw["seconds"] = round(time.monotonic() - started, 3)
    if problems:
        raw["problems"] = problems
    return discovery_model.checked(discovery_model.FILE_SERVER, raw, device["name"])
