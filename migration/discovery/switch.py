"""Reads a site switch over SSH as an operator would: netmiko (`cisco_ios`), each show
command parsed by TextFSM with ntc-templates, into a checked record; then compares it
with the city data.

    show version             model, serial, software version and image, host name
    show vlan brief          VLANs
    show interfaces status   ports: description, state, VLAN
    show ip interface        the addresses of the VLAN interfaces, with their prefix
    show mac address-table   dynamic entries: VLAN, MAC, port

Nothing the switch says is trusted: the record goes through discovery_model.SWITCH, which
leaves out a value with control characters or of the wrong shape and names it in
`problems`.
"""

from __future__ import annotations

import ipaddress
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "module_utils"))

import city_model
import discovery_model

COMMANDS = {
    "version": "show version",
    "vlans": "show vlan brief",
    "interfaces": "show interfaces status",
    "addresses": "show ip interface",
    "macs": "show mac address-table",
}


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    secret: str

    def __repr__(self) -> str:  # never printed, not even in a traceback's locals
        return f"Credentials(username={self.username!r}, password=***, secret=***)"


def collect(host: str, port: int, credentials: Credentials, timeout: float = 20.0) -> dict[str, list[Any]]:
    """Each command's TextFSM records, by the keys of COMMANDS."""
    from netmiko import ConnectHandler

    connection = ConnectHandler(device_type="cisco_ios", host=host, port=port,
                                username=credentials.username, password=credentials.password,
                                secret=credentials.secret, timeout=timeout, conn_timeout=timeout,
                                banner_timeout=timeout, auth_timeout=timeout)
    try:
        connection.enable()
        parsed = {}
        for key, command in COMMANDS.items():
            output = connection.send_command(command, use_textfsm=True, raise_parsing_error=True)
            if not isinstance(output, list):
                raise ValueError(f"{host}: `{command}` could not be parsed")
            parsed[key] = output
        return parsed
    finally:
        connection.disconnect()


def first(values: Any) -> Any:
    """A TextFSM List value's first element; a plain value as it is."""
    if isinstance(values, list):
        return values[0] if values else None
    return values


def number_or_text(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def raw_record(device: dict[str, Any], parsed: dict[str, list[Any]]) -> dict[str, Any]:
    """The parsed output in the record's shape, not yet checked."""
    version = parsed["version"][0] if parsed["version"] else {}
    record: dict[str, Any] = {"name": device["name"], "address": str(device["address"])}
    for key, source in (("hostname", "hostname"), ("model", "hardware"), ("serial", "serial"),
                        ("software", "version"), ("software_image", "software_image")):
        value = first(version.get(source))
        if value:
            record[key] = value
    record["vlans"] = [{"id": number_or_text(row["vlan_id"]), "name": row["vlan_name"]}
                       for row in parsed["vlans"]]
    record["interfaces"] = [{"name": row["port"], "description": row["name"], "status": row["status"],
                             "vlan": row["vlan_id"]} for row in parsed["interfaces"]]
    record["addresses"] = [{"interface": row["interface"], "address": f"{address}/{prefix}"}
                           for row in parsed["addresses"]
                           for address, prefix in zip(row["ip_address"], row["prefix_length"], strict=False)]
    record["macs"] = [{"vlan": number_or_text(row["vlan_id"]), "mac": row["destination_address"].lower(),
                       "port": port}
                      for row in parsed["macs"] if row["type"].upper() == "DYNAMIC"
                      for port in row["destination_port"]]
    return record


def discover(device: dict[str, Any], credentials: Credentials, *, host: str | None = None,
             port: int = 22) -> dict[str, Any]:
    """The checked record of a declared switch (an organisation's legacy device), reached at
    its declared address unless `host` says otherwise (the lab, a test)."""
    started = time.monotonic()
    parsed = collect(host or str(device["address"]), port, credentials)
    raw = raw_record(device, parsed)
    raw["seconds"] = round(time.monotonic() - started, 3)
    return discovery_model.checked(discovery_model.SWITCH, raw, device["name"])


def discrepancies(record: dict[str, Any], organisation: dict[str, Any],
                  city: city_model.City) -> list[str]:
    """What the switch says that the city data does not: an address outside its site's
    network (and whose network it lies in, if any), a host name other than its declared one,
    its declared address missing from its interfaces."""
    name = record["name"]
    device = next(d for d in organisation.get("legacy_servers", []) if d["name"] == name)
    site = next(s for s in organisation["sites"] if s["id"] == device["site"])
    found = []
    if "hostname" in record and record["hostname"].lower() != name:
        found.append(f"{name}: the switch calls itself {record['hostname']}, the organisation file "
                     f"declares {name}")
    addresses = []
    for entry in record.get("addresses", []):
        interface = ipaddress.ip_interface(entry["address"])
        addresses.append(interface.ip)
        if interface.network.subnet_of(site["cidr"]) if interface.version == site["cidr"].version else False:
            continue
        owners = [f"site {other['id']} ({owner})" for owner, other in city.sites()
                  if other["cidr"].version == interface.version and other["cidr"].overlaps(interface.network)]
        where = f"; it overlaps {', '.join(owners)}" if owners else "; no site of the city holds it"
        found.append(f"{name}: {entry['interface']} has {entry['address']}, outside the network "
                     f"{site['cidr']} of its site {site['id']}{where}")
    if "addresses" in record and device["address"] not in addresses:
        found.append(f"{name}: its declared address {device['address']} is on none of its interfaces")
    return found
