#!/usr/bin/env python3
"""Moves a committee onto the common service, as its accepted plan says (issue 11).

    migration/move.py --organisation sodermalm --accepted-plan SHA256 \\
        --inventory inventory/lab --ssh-config .lab/gemensam/ssh_config \\
        --mail-server-password-file FILE [--mail-server-login '{account}*migrering'] \\
        [--mail-server-host sod-ex01=10.89.0.113] [--ledger-dir DIR] [--cut-over] \
        [--change-ticket N --servicedesk-url https://desk1.<domain> --servicedesk-token-file FILE \
         --servicedesk-ca FILE]

Nothing moves without the plan a person read: `plan.py` writes `<id>-plan.json` beside the
plan and prints its SHA-256, which is given here as --accepted-plan. A plan changed since
(another discovery, another personnel export) has another hash and is refused.

Steps done so far: the people (every old account held by the plan is recorded as held) and
the mail (migration/move_mail.py), run on the mail server that serves the committee,
reached with pyinfra over SSH (migration/new_side.py). Every item is recorded in the
committee's ledger (migration/ledger.py) as it starts and ends. A run skips the mailboxes
its ledger has as done; --cut-over moves every mailbox again, which copies only what
arrived since. At the end the run's summary is printed, written beside the ledger and, with
--change-ticket, written on the wave's change ticket in the servicedesk as a comment (the
ticket is checked to be a change, Ärendetyp Ändring, before anything moves).

Exit status: 0 all moved and verified, 1 something not (named, and in the ledger), 2 bad
input (nothing touched).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "module_utils"))
import city_model  # noqa: E402
import discovery_model  # noqa: E402
import personnel  # noqa: E402

from migration import ledger, move_mail, new_side, servicedesk  # noqa: E402
from migration.discover import checked_login, endpoint_pairs, first_line  # noqa: E402
from migration.discovery import mail_server  # noqa: E402

MAX_PLAN_BYTES = 16 * 1024 * 1024
PLAN_KEYS = {"organisation", "accounts", "held_accounts", "mailboxes", "held_mailboxes"}


class BadInput(Exception):
    """Input refused before any host is touched."""


def load_plan(path: Path, accepted: str, organisation: dict[str, Any]) -> dict[str, Any]:
    """The accepted plan's decisions, checked; BadInput names the file and what is wrong."""
    label = city_model.display_path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BadInput(f"{label}: {error.strerror} (run migration/plan.py first)") from None
    if len(data) > MAX_PLAN_BYTES:
        raise BadInput(f"{label}: larger than {MAX_PLAN_BYTES} bytes")
    found = hashlib.sha256(data).hexdigest()
    if found != accepted:
        raise BadInput(f"{label}: its SHA-256 is {found}, not the accepted {city_model.excerpt(accepted)}: "
                       "the plan changed since it was accepted; read it again and accept this one")
    try:
        decided = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadInput(f"{label}: not JSON ({error})") from None
    if not isinstance(decided, dict) or set(decided) != PLAN_KEYS:
        raise BadInput(f"{label}: expected the keys {', '.join(sorted(PLAN_KEYS))}")
    if decided["organisation"] != organisation["id"]:
        planned_for = city_model.excerpt(str(decided["organisation"]))
        raise BadInput(f"{label}: organisation: this plan is for {planned_for}, not {organisation['id']}")
    mail_servers = {s["name"] for s in organisation.get("legacy_servers", []) if s["role"] == "mail"}
    seen = set()
    for index, box in enumerate(decided["mailboxes"] if isinstance(decided["mailboxes"], list) else [None]):
        where = f"{label}: mailboxes[{index}]"
        if not isinstance(box, dict) or set(box) != {"server", "account", "user"}:
            raise BadInput(f"{where}: expected server, account and user")
        if box["server"] not in mail_servers:
            raise BadInput(f"{where}.server: not an old mail server of {organisation['id']}")
        if not isinstance(box["account"], str) or not mail_server.printable_name(box["account"]):
            raise BadInput(f"{where}.account: not an account name")
        if not isinstance(box["user"], str) or not personnel.USERNAME.match(box["user"]):
            raise BadInput(f"{where}.user: expected {personnel.USERNAME_RULE}")
        if (box["server"], box["account"].casefold()) in seen:
            raise BadInput(f"{where}: {box['server']}/{box['account']} is listed twice")
        seen.add((box["server"], box["account"].casefold()))
    for key in ("held_accounts", "held_mailboxes"):
        for index, held in enumerate(decided[key] if isinstance(decided[key], list) else [None]):
            if not isinstance(held, dict) or not all(
                    isinstance(held.get(field), str) and held[field].isprintable()
                    and 0 < len(held[field]) <= 256 for field in ("server", "account", "reason")):
                raise BadInput(f"{label}: {key}[{index}]: expected server, account and reason as text")
    return decided


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organisation", required=True)
    parser.add_argument("--accepted-plan", required=True, metavar="SHA256",
                        help="the SHA-256 that plan.py printed for the plan a person accepted")
    parser.add_argument("--data-dir", type=Path, default=REPO / "inventory/stockholm/data")
    parser.add_argument("--discovery-dir", type=Path, help="where the plan is; default: DATA_DIR/discovery")
    parser.add_argument("--inventory", type=Path, default=REPO / "inventory/stockholm",
                        help="the city inventory whose hosts receive the committee")
    parser.add_argument("--ssh-config", type=Path, help="ssh_config for reaching them (the lab writes one)")
    parser.add_argument("--mail-server-password-file", type=Path, required=True,
                        help="first line: the password of the administrator who may open every mailbox")
    parser.add_argument("--mail-server-login", default="{account}*migrering",
                        help="the login that opens {account}'s mailbox as that administrator; "
                             "default: %(default)s")
    parser.add_argument("--mail-server-host", action="append", default=[], metavar="NAME=ADDRESS[:PORT]",
                        help="reach an old mail server elsewhere than its declared address (the lab)")
    parser.add_argument("--ledger-dir", type=Path, help="default: DATA_DIR/migration-ledger")
    parser.add_argument("--change-ticket", type=int, help="the wave's change ticket in the servicedesk")
    parser.add_argument("--servicedesk-url", help="with --change-ticket: https://desk1.<domain>")
    parser.add_argument("--servicedesk-token-file", type=Path, help="with --change-ticket: the REST token")
    parser.add_argument("--servicedesk-ca", type=Path, help="the CA of the servicedesk's certificate")
    parser.add_argument("--cut-over", action="store_true",
                        help="move every mailbox again: only what arrived since the last run is copied")
    return parser.parse_args(argv)


def record_held(run: ledger.Ledger, decided: dict[str, Any]) -> None:
    for held in decided["held_accounts"]:
        run.write("people", f"{held['server']}/{held['account']}", "held", message=held["reason"])
    for held in decided["held_mailboxes"]:
        run.write("mail", f"{held['server']}/{held['account']}", "held", message=held["reason"])


def move_mail_of(run: ledger.Ledger, remote: new_side.Remote, config: str, decided: dict[str, Any],
                 login_template: str, cut_over: bool) -> bool:
    """Every mailbox of the plan; False when any was not moved and verified."""
    all_moved = True
    for box in decided["mailboxes"]:
        item = f"{box['server']}/{box['account']}"
        if run.is_done("mail", item) and not cut_over:
            continue
        run.write("mail", item, "started")
        try:
            moved = move_mail.move_mailbox(remote, config, move_mail.login(login_template, box["account"]),
                                           box["user"])
        except move_mail.MailMoveError as error:
            all_moved = False
            run.write("mail", item, "failed", message=str(error))
            print(f"mail {item}: {ledger.printable(str(error))}", file=sys.stderr)
            continue
        run.write("mail", item, "done", counts={"messages": moved.messages, "bytes": moved.bytes,
                                                "copied": moved.copied},
                  sha256=moved.sha256, seconds=moved.seconds)
    return all_moved


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        city = city_model.load_city(arguments.data_dir, register=False)
        organisation = city.organisations.get(arguments.organisation)
        if organisation is None:
            raise BadInput(f"unknown organisation {city_model.excerpt(arguments.organisation)}")
        directory = arguments.discovery_dir or arguments.data_dir / discovery_model.DISCOVERY_DIR
        decided = load_plan(directory / f"{organisation['id']}-plan.json", arguments.accepted_plan,
                            organisation)
        login_template = checked_login(arguments.mail_server_login)
        password = first_line(arguments.mail_server_password_file)
        hosts = endpoint_pairs(arguments.mail_server_host, "--mail-server-host")
        change = change_ticket(arguments)
        inventory = new_side.CityInventory.read(arguments.inventory)
        mail_host = inventory.serving("mail_servers", organisation["id"])
        servers = {s["name"]: s for s in organisation.get("legacy_servers", []) if s["role"] == "mail"}
        configs = {}
        for name, server in servers.items():
            host, _, port = hosts.get(name, str(server["address"])).partition(":")
            if not port.isdigit() and port:
                raise BadInput(f"--mail-server-host {name}: the port is not a number")
            configs[name] = move_mail.imapc_config(host, int(port or 143), password)
    except (BadInput, ValueError, OSError, city_model.CityDataError, new_side.NewSideError,
            move_mail.MailMoveError, servicedesk.ServicedeskError) as error:
        print(error, file=sys.stderr)
        return 2
    ledger_dir = arguments.ledger_dir or arguments.data_dir / "migration-ledger"
    try:
        with ledger.open_run(ledger_dir, organisation["id"]) as run:
            if run.torn:
                print(run.torn, file=sys.stderr)
            record_held(run, decided)
            ok = move_all_mail(run, inventory, mail_host, arguments, configs, decided, login_template)
            comment = ledger.ticket_comment(run, organisation["name"])
    except ledger.LedgerError as error:
        print(error, file=sys.stderr)
        return 2
    (ledger_dir / f"{organisation['id']}-{run.run}.ticket.txt").write_text(comment, encoding="utf-8")
    print(comment, end="")
    if change is not None:
        try:
            change.comment(f"Flytt av {organisation['name']}, körning {run.run}", comment)
        except servicedesk.ServicedeskError as error:
            print(f"{error} (the summary is in the ledger's folder)", file=sys.stderr)
            return 1
    return 0 if ok else 1


def change_ticket(arguments: argparse.Namespace) -> servicedesk.ChangeTicket | None:
    """The wave's change ticket, checked to be a change; None without --change-ticket."""
    given = [arguments.change_ticket is not None, bool(arguments.servicedesk_url),
             arguments.servicedesk_token_file is not None]
    if not any(given):
        return None
    if not all(given):
        raise BadInput("--change-ticket, --servicedesk-url and --servicedesk-token-file go together")
    if not arguments.servicedesk_url.startswith("https://"):
        raise BadInput("--servicedesk-url: expected https://")
    ticket = servicedesk.ChangeTicket(arguments.servicedesk_url, first_line(arguments.servicedesk_token_file),
                                      arguments.change_ticket, arguments.servicedesk_ca)
    ticket.check()
    return ticket


def move_all_mail(run: ledger.Ledger, inventory: new_side.CityInventory, mail_host: str,
                  arguments: argparse.Namespace, configs: dict[str, bytes], decided: dict[str, Any],
                  login_template: str) -> bool:
    address = inventory.hostvars[mail_host]["ansible_host"]
    try:
        remote = new_side.Remote(mail_host, address, arguments.ssh_config)
    except (new_side.NewSideError, OSError) as error:
        run.write("mail", mail_host, "failed", message=f"the new mail server is not reachable: {error}")
        print(f"{mail_host}: not reachable: {error}", file=sys.stderr)
        return False
    try:
        home = remote.run(["printenv", "HOME"], sudo=False).stdout.strip()
        ok = True
        for server, content in configs.items():
            config = f"{home}/.gemensam-migration/{decided['organisation']}-{server}.conf"
            remote.put_private(content, config)
            try:
                boxes = {**decided, "mailboxes": [b for b in decided["mailboxes"] if b["server"] == server]}
                reachable = check_old_server(remote, config, boxes, login_template)
                if reachable:
                    run.write("mail", server, "failed", message=reachable)
                    print(f"{server}: {reachable}", file=sys.stderr)
                    ok = False
                    continue
                ok = move_mail_of(run, remote, config, boxes, login_template, arguments.cut_over) and ok
            finally:
                remote.run(["rm", "-f", config], sudo=False)
        return ok
    finally:
        remote.close()


def check_old_server(remote: new_side.Remote, config: str, decided: dict[str, Any], template: str) -> str:
    """"" when the old server answers for the plan's first mailbox, else why not: an
    unreachable server is named once, not once per mailbox."""
    if not decided["mailboxes"]:
        return ""
    box = decided["mailboxes"][0]
    old = move_mail.old_side(move_mail.login(template, box["account"]))
    listed = remote.run(["doveadm", "-c", config, *old, "mailbox", "list", "-u", box["user"]], timeout=120)
    return "" if listed.ok else f"the old server does not answer: {listed.stderr[-300:]}"


if __name__ == "__main__":
    sys.exit(main())
