#!/usr/bin/env python3
"""Moves a committee onto the common service, as its accepted plan says (issue 11).

    migration/move.py --organisation sodermalm --accepted-plan SHA256 \\
        --inventory inventory/lab --ssh-config .lab/gemensam/ssh_config \\
        [--file-server-auth-file FILE] [--file-server-host sod-fs01=10.89.0.111] \\
        [--mail-server-password-file FILE] [--mail-server-login '{account}*migrering'] \\
        [--mail-server-host sod-ex01=10.89.0.113] [--printers] [--ledger-dir DIR] [--cut-over] \
        [--change-ticket N --servicedesk-url https://desk1.<domain> --servicedesk-token-file FILE \
         --servicedesk-ca FILE]

Nothing moves without the plan a person read: `plan.py` writes `<id>-plan.json` beside the
plan and prints its SHA-256, which is given here as --accepted-plan. A plan changed since
(another discovery, another personnel export) has another hash and is refused.

Steps done so far: the people (every old account held by the plan is recorded as held),
the files (migration/move_files.py, with --file-server-auth-file), run on the file server
that serves the committee, and the mail (migration/move_mail.py, with
--mail-server-password-file), run on its mail server; both reached with pyinfra over SSH
(migration/new_side.py); and the printers (migration/move_printers.py, with --printers):
each old queue mapped onto the new queue of the same printer, checked over IPP on the
print server that serves the committee. Every item is recorded in the committee's ledger
(migration/ledger.py) as it starts and ends. A run skips the shares and mailboxes its
ledger has as done; --cut-over moves every one again, which copies only what changed or
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

from migration import ledger, move_files, move_mail, move_printers, new_side, servicedesk  # noqa: E402
from migration.discover import checked_login, endpoint_pairs, first_line  # noqa: E402
from migration.discovery import mail_server  # noqa: E402
from migration.plan_fields import text  # noqa: E402

MAX_PLAN_BYTES = 16 * 1024 * 1024
PLAN_KEYS = {"organisation", "accounts", "held_accounts", "mailboxes", "held_mailboxes",
             "shares", "held_shares", "groups", "printers", "held_printers"}
SHARE_KINDS = ("folder", "homes")
# The file server's root when its host variables do not say (the file_server role's default).
FILE_SERVER_ROOT = "/srv/filer"


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
    for key, field in (("held_accounts", "account"), ("held_mailboxes", "account"), ("held_shares", "share")):
        for index, held in enumerate(decided[key] if isinstance(decided[key], list) else [None]):
            if not isinstance(held, dict) or not all(text(held.get(n)) for n in ("server", field, "reason")):
                raise BadInput(f"{label}: {key}[{index}]: expected server, {field} and reason as text")
    check_file_decisions(decided, organisation, label)
    move_printers.check_printer_decisions(decided, organisation, label)
    return decided


def check_file_decisions(decided: dict[str, Any], organisation: dict[str, Any], label: str) -> None:
    file_servers = {s["name"] for s in organisation.get("legacy_servers", []) if s["role"] == "file"}
    seen = set()
    for index, share in enumerate(decided["shares"] if isinstance(decided["shares"], list) else [None]):
        where = f"{label}: shares[{index}]"
        if not isinstance(share, dict) or set(share) != {"server", "share", "kind", "target", "group"}:
            raise BadInput(f"{where}: expected server, share, kind, target and group")
        if share["server"] not in file_servers:
            raise BadInput(f"{where}.server: not an old file server of {organisation['id']}")
        if not text(share["share"], 80) or share["kind"] not in SHARE_KINDS:
            raise BadInput(f"{where}: expected a share name and a kind of {', '.join(SHARE_KINDS)}")
        if not isinstance(share["target"], str) or not move_files.TARGET.match(share["target"]):
            raise BadInput(f"{where}.target: expected a relative path of plain names")
        if share["group"] != "" and not text(share["group"], 64):
            raise BadInput(f"{where}.group: expected a group name")
        if (share["server"], share["share"].casefold()) in seen:
            raise BadInput(f"{where}: {share['server']}/{share['share']} is listed twice")
        seen.add((share["server"], share["share"].casefold()))
    for index, group in enumerate(decided["groups"] if isinstance(decided["groups"], list) else [None]):
        where = f"{label}: groups[{index}]"
        if not isinstance(group, dict) or set(group) != {"server", "group", "new_group", "users"}:
            raise BadInput(f"{where}: expected server, group, new_group and users")
        if not text(group["group"]) or (group["new_group"] != "" and not text(group["new_group"], 64)):
            raise BadInput(f"{where}: expected group names")
        if not isinstance(group["users"], list) or not all(
                isinstance(user, str) and personnel.USERNAME.match(user) for user in group["users"]):
            raise BadInput(f"{where}.users: expected user names ({personnel.USERNAME_RULE})")


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
    parser.add_argument("--file-server-auth-file", type=Path,
                        help="an smbclient authentication file of the old file servers' administrator: "
                             "moves the files")
    parser.add_argument("--file-server-host", action="append", default=[], metavar="NAME=ADDRESS",
                        help="reach an old file server elsewhere than its declared address (the lab)")
    parser.add_argument("--mail-server-password-file", type=Path,
                        help="first line: the password of the administrator who may open every mailbox: "
                             "moves the mail")
    parser.add_argument("--mail-server-login", default="{account}*migrering",
                        help="the login that opens {account}'s mailbox as that administrator; "
                             "default: %(default)s")
    parser.add_argument("--mail-server-host", action="append", default=[], metavar="NAME=ADDRESS[:PORT]",
                        help="reach an old mail server elsewhere than its declared address (the lab)")
    parser.add_argument("--printers", action="store_true",
                        help="map the old print queues onto the new print server's (checked over IPP)")
    parser.add_argument("--ledger-dir", type=Path, help="default: DATA_DIR/migration-ledger")
    add_change_ticket_options(parser)
    parser.add_argument("--cut-over", action="store_true",
                        help="move every mailbox again: only what arrived since the last run is copied")
    return parser.parse_args(argv)


def record_held(run: ledger.Ledger, decided: dict[str, Any], steps: set[str]) -> None:
    for held in decided["held_accounts"]:
        run.write("people", f"{held['server']}/{held['account']}", "held", message=held["reason"])
    if "mail" in steps:
        for held in decided["held_mailboxes"]:
            run.write("mail", f"{held['server']}/{held['account']}", "held", message=held["reason"])
    if "files" in steps:
        for held in decided["held_shares"]:
            run.write("files", f"{held['server']}/{held['share']}", "held", message=held["reason"])


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
        steps = {step for step, given in (("files", arguments.file_server_auth_file),
                                          ("mail", arguments.mail_server_password_file),
                                          ("printers", arguments.printers)) if given}
        if not steps:
            raise BadInput("nothing to move: give --file-server-auth-file, --mail-server-password-file, "
                           "--printers, or several")
        login_template = checked_login(arguments.mail_server_login)
        change = change_ticket(arguments)
        inventory = new_side.CityInventory.read(arguments.inventory)
        configs = {}
        if "mail" in steps:
            password = first_line(arguments.mail_server_password_file)
            hosts = endpoint_pairs(arguments.mail_server_host, "--mail-server-host")
            mail_host = inventory.serving("mail_servers", organisation["id"])
            servers = {s["name"]: s for s in organisation.get("legacy_servers", []) if s["role"] == "mail"}
            for name, server in servers.items():
                host, _, port = hosts.get(name, str(server["address"])).partition(":")
                if not port.isdigit() and port:
                    raise BadInput(f"--mail-server-host {name}: the port is not a number")
                configs[name] = move_mail.imapc_config(host, int(port or 143), password)
        if "files" in steps:
            files = file_step(arguments, organisation, decided, inventory)
        if "printers" in steps:
            print_host = inventory.serving("print_servers", organisation["id"])
            print_address = inventory.hostvars[print_host]["ansible_host"]
    except (BadInput, ValueError, OSError, city_model.CityDataError, new_side.NewSideError,
            move_mail.MailMoveError, move_files.FileMoveError, servicedesk.ServicedeskError) as error:
        print(error, file=sys.stderr)
        return 2
    ledger_dir = arguments.ledger_dir or arguments.data_dir / "migration-ledger"
    try:
        with ledger.open_run(ledger_dir, organisation["id"]) as run:
            if run.torn:
                print(run.torn, file=sys.stderr)
            record_held(run, decided, steps)
            ok = True
            if "files" in steps:
                ok = move_all_files(run, files, arguments.cut_over, ledger_dir) and ok
            if "mail" in steps:
                ok = move_all_mail(run, inventory, mail_host, arguments, configs, decided,
                                   login_template) and ok
            if "printers" in steps:
                report = ledger_dir / f"{organisation['id']}-{run.run}.printers.txt"
                ok = move_printers.map_printers(run, decided, print_host, print_address, report) and ok
            comment = ledger.ticket_comment(run, organisation["name"])
    except ledger.LedgerError as error:
        print(error, file=sys.stderr)
        return 2
    if not report_run(ledger_dir, organisation, run.run, comment, change):
        return 1
    return 0 if ok else 1


def add_change_ticket_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--change-ticket", type=int, help="the wave's change ticket in the servicedesk")
    parser.add_argument("--servicedesk-url", help="with --change-ticket: https://desk1.<domain>")
    parser.add_argument("--servicedesk-token-file", type=Path, help="with --change-ticket: the REST token")
    parser.add_argument("--servicedesk-ca", type=Path, help="the CA of the servicedesk's certificate")


def report_run(ledger_dir: Path, organisation: dict[str, Any], run: str, comment: str,
               change: servicedesk.ChangeTicket | None) -> bool:
    """The run's summary printed, beside the ledger, and on the change ticket; False when the
    ticket could not be written."""
    (ledger_dir / f"{organisation['id']}-{run}.ticket.txt").write_text(comment, encoding="utf-8")
    print(comment, end="")
    if change is not None:
        try:
            change.comment(f"Flytt av {organisation['name']}, körning {run}", comment)
        except servicedesk.ServicedeskError as error:
            print(f"{error} (the summary is in the ledger's folder)", file=sys.stderr)
            return False
    return True


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


class FileStep:
    """The file server that receives the committee's files, and what it is told."""

    def __init__(self, host: str, address: str, ssh_config: Path | None, auth: dict[str, bytes],
                 jobs: list[dict[str, Any]], organisation_id: str) -> None:
        self.host, self.address, self.ssh_config = host, address, ssh_config
        self.auth, self.jobs, self.organisation_id = auth, jobs, organisation_id


def file_step(arguments: argparse.Namespace, organisation: dict[str, Any], decided: dict[str, Any],
              inventory: new_side.CityInventory) -> FileStep:
    """The files' part of the run, checked before any host is touched."""
    auth = move_files.checked_auth_file(arguments.file_server_auth_file)
    hosts = endpoint_pairs(arguments.file_server_host, "--file-server-host")
    host = inventory.serving("file_servers", organisation["id"])
    root = inventory.hostvars[host].get("file_server_root", FILE_SERVER_ROOT)
    servers = {s["name"]: s for s in organisation.get("legacy_servers", []) if s["role"] == "file"}
    addresses = {name: hosts.get(name, str(server["address"])) for name, server in servers.items()}
    jobs = [move_files.job(share, decided, addresses[share["server"]], root, "{folder}")
            for share in decided["shares"]]
    return FileStep(host, inventory.hostvars[host]["ansible_host"], arguments.ssh_config,
                    dict.fromkeys(servers, auth), jobs, organisation["id"])


def move_all_files(run: ledger.Ledger, step: FileStep, cut_over: bool, ledger_dir: Path) -> bool:
    """Every share of the plan; False when any was not moved and verified. The names renamed
    and the access not carried over are written beside the ledger."""
    try:
        remote = new_side.Remote(step.host, step.address, step.ssh_config)
    except (new_side.NewSideError, OSError) as error:
        run.write("files", step.host, "failed", message=f"the new file server is not reachable: {error}")
        print(f"{step.host}: not reachable: {error}", file=sys.stderr)
        return False
    moved: dict[str, move_files.Moved] = {}
    all_moved = True
    try:
        home = remote.run(["printenv", "HOME"], sudo=False).stdout.strip()
        folder = f"{home}/.gemensam-migration/files-{step.organisation_id}"
        move_files.install(remote, folder, step.auth)
        for job in step.jobs:
            task = json.loads(json.dumps(job).replace("{folder}", folder))
            item = f"{task['server']}/{task['share']}"
            if run.is_done("files", item) and not cut_over:
                continue
            run.write("files", item, "started")
            try:
                share = move_files.move_share(remote, folder, task)
            except move_files.FileMoveError as error:
                all_moved = False
                run.write("files", item, "failed", message=str(error))
                print(f"files {item}: {ledger.printable(str(error))}", file=sys.stderr)
                continue
            moved[item] = share
            run.write("files", item, "done", counts={"files": share.files, "bytes": share.bytes,
                                                     "copied": share.fetched, "renamed": len(share.renamed),
                                                     "deleted": len(share.deleted)},
                      sha256=share.sha256, seconds=share.seconds)
        remote.run(["rm", "-rf", folder], sudo=False)
    finally:
        remote.close()
    if moved:
        (ledger_dir / f"{step.organisation_id}-{run.run}.files.txt").write_text(
            move_files.report(moved), encoding="utf-8")
    return all_moved


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
