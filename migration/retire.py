#!/usr/bin/env python3
"""Retires a committee's old servers once its move is verified (issue 11, Servers).

    migration/retire.py --organisation sodermalm --accepted-plan SHA256 \\
        --ledger-dir DIR [--discovery-dir DIR] [--data-dir DIR] \\
        --inventory inventory/lab --ssh-config .lab/gemensam/ssh_config \\
        --server-auth-file sod-fs01=FILE [--server-host sod-fs01=10.89.0.111] [--date YYYY-MM-DD]

Nothing is shut down unless the committee's ledger has every share, every mailbox and every
print queue of the accepted plan moved and verified (its last entry `done`). Then each old
server whose fate is `retire` and whose content has moved (the file, mail and print servers)
is shut down as a Windows
server is, over RPC by its Administrator (`net rpc shutdown`, the authentication file given
with --server-auth-file NAME=FILE), from the file server that serves the committee (reached
with pyinfra, as the move is); once it no longer answers on SMB it is recorded as retired
in the city data: `retired: <date>` in its entry of the organisation file, which is read
back through the city model (and restored if it does not load). The others stay, each with
why: a server whose move is not built yet (application, switch), the old domain
controller until every other old server of the committee is retired, a `rebaseline` host
until its application has moved, one without --server-auth-file. Every server is written to
the ledger (`servers`: done, or held with why), and the run's summary, as move.py's, beside
it and with --change-ticket on the wave's change ticket.

Exit status: 0 every server given with --server-auth-file was retired; 1 not (named), or the
move is not verified (nothing shut down); 2 bad input (nothing touched).
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "module_utils"))
import city_model  # noqa: E402
import discovery_model  # noqa: E402

from migration import ledger, move, move_files, new_side, servicedesk  # noqa: E402
from migration.discover import endpoint_pairs  # noqa: E402
from migration.discovery.file_server import SMB1  # noqa: E402

# Roles whose content the move carries, by the ledger step that moves it.
MOVED_BY = {"file": "files", "mail": "mail", "print": "printers"}
OFF_SECONDS = 180


class RetireError(Exception):
    pass


def unverified(decided: dict[str, Any], entries: list[ledger.Entry]) -> list[str]:
    """The plan's shares, mailboxes and print queues whose last ledger entry is not `done`."""
    last = {(entry.step, entry.item): entry.state for entry in entries}
    planned = [("files", f"{s['server']}/{s['share']}") for s in decided["shares"]]
    planned += [("mail", f"{b['server']}/{b['account']}") for b in decided["mailboxes"]]
    planned += [("printers", f"{p['server']}/{p['queue']}") for p in decided["printers"]]
    return [f"{step} {item}: {last.get((step, item), 'not moved')}" for step, item in planned
            if last.get((step, item)) != "done"]


def verdicts(organisation: dict[str, Any], credentials: dict[str, Path]) -> dict[str, str]:
    """Server -> "" (to retire now) or why it stays."""
    found: dict[str, str] = {}
    servers = [s for s in organisation.get("legacy_servers", []) if s["role"] != "switch"]
    for server in servers:
        if "retired" in server:
            found[server["name"]] = f"already retired on {server['retired']}"
        elif server["fate"] == "rebaseline":
            found[server["name"]] = ("its application moves to a standard application host first "
                                     "(not built yet)")
        elif server["role"] == "dc":
            continue
        elif server["role"] not in MOVED_BY:
            found[server["name"]] = f"moving what a {server['role']} server holds is not built yet"
        elif server["name"] not in credentials:
            found[server["name"]] = "no --server-auth-file for it"
        else:
            found[server["name"]] = ""
    for server in servers:
        if server["role"] == "dc" and "retired" not in server:
            others = [name for name, why in found.items()
                      if why and not why.startswith("already retired")]
            still = ", ".join(others)
            found[server["name"]] = (f"the old domain controller goes last; still running: {still}"
                                     if others else "shutting a domain controller down is not built yet")
    return found


ANSWERS = "import socket, sys; socket.create_connection((sys.argv[1], 445), timeout=3)"


def shut_down(remote: Any, address: str, auth_file: str, message: str) -> None:
    """`net rpc shutdown` as the server's Administrator, run on the new side; then waits
    until the old server no longer answers on SMB there."""
    result = remote.run(["net", "rpc", "shutdown", "-I", address, "-A", auth_file, *SMB1,
                         "-f", "-t", "0", "-C", message], sudo=False, timeout=120)
    if not result.ok:
        words = (result.stdout + result.stderr).strip().splitlines()
        raise RetireError(f"net rpc shutdown failed: {words[-1] if words else 'no answer'}")
    deadline = time.monotonic() + OFF_SECONDS
    while remote.run(["python3", "-c", ANSWERS, address], sudo=False, timeout=30).ok:
        if time.monotonic() > deadline:
            raise RetireError(f"it still answers on SMB {OFF_SECONDS} s after the shutdown")
        time.sleep(2)


def record_retired(data_dir: Path, organisation_id: str, server: str, day: datetime.date) -> Path:
    """Writes `retired: <day>` into the server's entry of the organisation file and reads the
    city back through the model; the file is restored if it does not load."""
    path = data_dir / city_model.ORGANISATIONS_DIR / f"{organisation_id}.yml"
    original = path.read_text(encoding="utf-8")
    lines = original.splitlines(keepends=True)
    start = next((number for number, line in enumerate(lines)
                  if re.match(rf"\s*- name: {re.escape(server)}\s*$", line)), None)
    if start is None:
        raise RetireError(f"{city_model.display_path(path)}: no legacy_servers entry named {server}")
    indent = " " * (len(lines[start]) - len(lines[start].lstrip(" ")) + 2)
    end = start + 1
    while end < len(lines) and lines[end].startswith(indent):
        end += 1
    lines.insert(end, f"{indent}retired: {day.isoformat()}\n")
    path.write_text("".join(lines), encoding="utf-8")
    try:
        city = city_model.load_city(data_dir, register=False)
        entry = next(s for s in city.organisations[organisation_id]["legacy_servers"] if s["name"] == server)
        if entry.get("retired") != day:
            raise RetireError(f"{city_model.display_path(path)}: {server} reads back without its retirement")
    except (city_model.CityDataError, RetireError, StopIteration) as error:
        path.write_text(original, encoding="utf-8")
        raise RetireError(f"{city_model.display_path(path)}: not recorded: {error}") from None
    return path


def retire(run: ledger.Ledger, organisation: dict[str, Any], found: dict[str, str], data_dir: Path,
           day: datetime.date, turn_off: Callable[[dict[str, Any]], None]) -> bool:
    all_retired = True
    for server in organisation.get("legacy_servers", []):
        name = server["name"]
        if name not in found:
            continue
        if found[name]:
            run.write("servers", name, "held", message=found[name])
            continue
        run.write("servers", name, "started")
        try:
            turn_off(server)
            recorded = record_retired(data_dir, organisation["id"], name, day)
        except (RetireError, OSError, new_side.NewSideError) as error:
            all_retired = False
            run.write("servers", name, "failed", message=str(error))
            print(f"{name}: {ledger.printable(str(error))}", file=sys.stderr)
            continue
        run.write("servers", name, "done",
                  message=f"shut down, recorded in {city_model.display_path(recorded)}")
    return all_retired


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organisation", required=True)
    parser.add_argument("--accepted-plan", required=True, metavar="SHA256")
    parser.add_argument("--data-dir", type=Path, default=REPO / "inventory/stockholm/data")
    parser.add_argument("--discovery-dir", type=Path, help="where the plan is; default: DATA_DIR/discovery")
    parser.add_argument("--ledger-dir", type=Path, help="default: DATA_DIR/migration-ledger")
    parser.add_argument("--inventory", type=Path, default=REPO / "inventory/stockholm",
                        help="the city inventory: its file server serving the committee runs the shutdown")
    parser.add_argument("--ssh-config", type=Path, help="ssh_config for reaching it (the lab writes one)")
    parser.add_argument("--server-auth-file", action="append", default=[], metavar="NAME=FILE",
                        help="an smbclient authentication file of that old server's Administrator")
    parser.add_argument("--server-host", action="append", default=[], metavar="NAME=ADDRESS",
                        help="reach an old server elsewhere than its declared address (the lab)")
    parser.add_argument("--date", type=datetime.date.fromisoformat, default=datetime.date.today())
    move.add_change_ticket_options(parser)
    arguments = parser.parse_args(argv)
    try:
        city = city_model.load_city(arguments.data_dir, register=False)
        organisation = city.organisations.get(arguments.organisation)
        if organisation is None:
            raise move.BadInput(f"unknown organisation {city_model.excerpt(arguments.organisation)}")
        directory = arguments.discovery_dir or arguments.data_dir / discovery_model.DISCOVERY_DIR
        decided = move.load_plan(directory / f"{organisation['id']}-plan.json", arguments.accepted_plan,
                                 organisation)
        known = {s["name"] for s in organisation.get("legacy_servers", [])}
        credentials = {name: Path(file) for name, file in
                       endpoint_pairs(arguments.server_auth_file, "--server-auth-file").items()}
        hosts = endpoint_pairs(arguments.server_host, "--server-host")
        for name in [*credentials, *hosts]:
            if name not in known:
                raise move.BadInput(f"{name}: not an old server of {organisation['id']}")
        auth = {name: move_files.checked_auth_file(file) for name, file in credentials.items()}
        change = move.change_ticket(arguments)
        inventory = new_side.CityInventory.read(arguments.inventory)
        host = inventory.serving("file_servers", organisation["id"])
    except (move.BadInput, city_model.CityDataError, move_files.FileMoveError, new_side.NewSideError,
            servicedesk.ServicedeskError, OSError) as error:
        print(error, file=sys.stderr)
        return 2
    ledger_dir = arguments.ledger_dir or arguments.data_dir / "migration-ledger"
    remotes: list[new_side.Remote] = []

    def turn_off(server: dict[str, Any]) -> None:
        if not remotes:
            address = inventory.hostvars[host]["ansible_host"]
            remotes.append(new_side.Remote(host, address, arguments.ssh_config))
        remote = remotes[0]
        home = remote.run(["printenv", "HOME"], sudo=False).stdout.strip()
        auth_file = f"{home}/.gemensam-migration/retire-{server['name']}.auth"
        remote.put_private(auth[server["name"]], auth_file)
        try:
            message = f"Gemensam IT: {organisation['name']} har flyttats; {server['name']} stängs av för gott"
            shut_down(remote, hosts.get(server["name"], str(server["address"])), auth_file, message)
        finally:
            remote.run(["rm", "-f", auth_file], sudo=False)

    try:
        with ledger.open_run(ledger_dir, organisation["id"]) as run:
            missing = unverified(decided, run.entries)
            if missing:
                print("nothing shut down: the move is not verified: " + "; ".join(missing[:20]),
                      file=sys.stderr)
                return 1
            found = verdicts(organisation, credentials)
            ok = retire(run, organisation, found, arguments.data_dir, arguments.date, turn_off)
            comment = ledger.ticket_comment(run, organisation["name"])
    except ledger.LedgerError as error:
        print(error, file=sys.stderr)
        return 2
    finally:
        for remote in remotes:
            remote.close()
    if not move.report_run(ledger_dir, organisation, run.run, comment, change):
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
