#!/usr/bin/env python3
"""The plan of a committee's move, from what discovery found: nothing moves until a person
has read it.

    migration/plan.py --organisation sodermalm --personnel inventory/lab/data/personnel/sodermalm.csv \\
        [--discovery-dir DIR] [--bytes-per-second N --files-per-second N] \\
        [--messages-per-second N] [--output FILE]

It lists the people and their old accounts (matched by migration/accounts.py's rule; every
account it holds is listed with its reason), the old file servers' shares with their
files, bytes and the names to rename (migration/file_names.py's rule), the old servers
with their fate, and, given a throughput measured on the committee's network, an
estimate of the time the files take: the larger of bytes / bytes per second and files /
files per second. Without a measured throughput there is no estimate, rather than a guessed one.
The old mail servers' mailboxes are listed with the person each becomes (a mailbox belongs
to the old account of that name) or why it is held, and with --messages-per-second the
mail's time is estimated the same way.

Each old share is given its new place (share_targets): the homes share's folders become
the people's homes, the common share the committee's common share, a department's share
(its comment or name is the department's) that department's share; any other is held.
Each old group becomes a new one only when it holds exactly the same people (group_targets):
the committee's staff group or a department's group; any other group is carried over as
its people, so nobody gains access on the way.

Each old print queue is given the site's new queue that prints to the same printer
(printer_targets): the printer's address in the old queue's device URI is the address in
a new queue's. An old queue for a printer no new queue reaches is held. Several old queues
of one printer (a PCL and a PostScript queue) become the one new queue.

Not yet in the plan: applications (their discovery is later work).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "module_utils"))
import city_model  # noqa: E402
import city_names  # noqa: E402
import discovery_model  # noqa: E402
import personnel  # noqa: E402

from migration import accounts  # noqa: E402
from migration.discovery.print_server import printer_address, site_queues  # noqa: E402
from migration.discovery.report import md, table  # noqa: E402


def account_map(discovery: dict[str, Any], people: list[dict[str, Any]],
                organisation_id: str) -> accounts.AccountMap:
    old = [accounts.old_account(server["name"], user)
           for server in discovery.get("file_servers", []) for user in server.get("users", [])]
    return accounts.map_accounts(old, people, organisation_id)


def estimate(total_bytes: int, total_files: int, bytes_per_second: float | None,
             files_per_second: float | None) -> float | None:
    """Seconds the files take at the measured throughput, or None without one."""
    if not bytes_per_second or not files_per_second:
        return None
    return max(total_bytes / bytes_per_second, total_files / files_per_second)


def duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{max(minutes, 1)} min"


def mailbox_owner(mapping: accounts.AccountMap, account: str) -> str:
    """Who an old mailbox's account becomes: a user name, or why its mail is held. The
    mailboxes belong to the old domain's accounts, which the old file servers list."""
    for match in mapping.matched:
        if match.account.name.casefold() == account.casefold():
            return match.username
    for held in mapping.held:
        if held.account.name.casefold() == account.casefold():
            return f"held: {held.reason}"
    return "held: no old account of that name on the old file servers"


# Old shares whose folders are the accounts' homes, and the old common share, by name.
HOME_SHARES = frozenset({"hem", "hemkataloger", "home", "homes", "users"})
COMMON_SHARES = frozenset({"gemensam", "gemensamt", "common", "public"})


def share_key(name: str) -> str:
    """A name compared whole, without case, accents, spaces or punctuation: "Individ- och
    familjeomsorg" is the share IndividOchFamiljeomsorg, "Äldreomsorg 1999" is not Äldreomsorg."""
    return "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if c.isalnum())


def share_targets(organisation: dict[str, Any], discovery: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """(shares with their new place, held shares with why). Paths are relative to the new
    file server's root, as the city model names them."""
    names = city_names.organisation_names(organisation)
    departments = {}
    for department in organisation.get("departments", []):
        found = names["departments"][str(department["id"])]
        for key in (department["name"], department["id"]):
            departments[share_key(str(key))] = found
    shares, held = [], []
    for server in discovery.get("file_servers", []):
        for share in server.get("shares", []):
            key = share["name"].casefold()
            place = {"server": server["name"], "share": share["name"]}
            department = departments.get(share_key(share.get("comment", ""))) or departments.get(
                share_key(share["name"]))
            if key in HOME_SHARES:
                shares.append(place | {"kind": "homes", "target": city_names.HOMES_FOLDER, "group": ""})
            elif key in COMMON_SHARES:
                shares.append(place | {"kind": "folder", "target": names["common_share"]["path"],
                                       "group": names["groups"]["staff"]})
            elif department:
                shares.append(place | {"kind": "folder", "target": department["share"]["path"],
                                       "group": department["group"]})
            else:
                held.append(place | {"reason": "no new share is this share's: a person decides"})
    return shares, held


def printer_targets(organisation: dict[str, Any], discovery: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """(old queues with the new queue of the same printer, held queues with why)."""
    new_queues: dict[str, dict[str, str]] = {}
    for queue in site_queues(organisation):
        new_queues.setdefault(queue["printer"], queue)
    printers, held = [], []
    for server in discovery.get("print_servers", []):
        for queue in server.get("queues", []):
            address = printer_address(queue.get("device_uri", ""))
            place = {"server": server["name"], "queue": queue["name"]}
            if not address:
                held.append(place | {"reason": "the old server did not say which printer it prints to"})
            elif address in new_queues:
                printers.append(place | new_queues[address])
            else:
                held.append(place | {"reason": f"no new queue prints to {address}: order one, or the "
                                               "printer is retired"})
    return printers, held


def group_targets(organisation: dict[str, Any], discovery: dict[str, Any], mapping: accounts.AccountMap,
                  people: list[dict[str, Any]]) -> list[dict]:
    """Each old group of the old file servers: the new group that holds exactly its matched
    people, else those people themselves."""
    names = city_names.organisation_names(organisation)
    department_of = {p["employee_id"]: str(p["department"]) for p in people}
    by_account = {(m.account.server, m.account.name): m for m in mapping.matched}
    everyone = {m.username for m in mapping.matched}
    per_department: dict[str, set[str]] = {}
    for match in mapping.matched:
        per_department.setdefault(department_of.get(match.employee_id, ""), set()).add(match.username)
    found = []
    for server in discovery.get("file_servers", []):
        for group in server.get("groups", []):
            members = [(server["name"], member) for member in group.get("members", [])]
            users = sorted({by_account[key].username for key in members if key in by_account})
            new_group = ""
            if users and set(users) == everyone:
                new_group = names["groups"]["staff"]
            else:
                new_group = next((names["departments"][d]["group"] for d, members in per_department.items()
                                  if d in names["departments"] and members == set(users) and users), "")
            found.append({"server": server["name"], "group": group["name"], "new_group": new_group,
                          "users": [] if new_group else users})
    return found


# (mail server, mailbox, who it becomes or why it is held)
Mailboxes = list[tuple[str, dict[str, Any], str]]


def mailboxes(discovery: dict[str, Any], mapping: accounts.AccountMap) -> Mailboxes:
    """Every old mailbox, sorted by account within its server."""
    return [(server["name"], box, mailbox_owner(mapping, box["account"]))
            for server in discovery.get("mail_servers", [])
            for box in sorted(server.get("mailboxes", []), key=lambda box: box["account"].casefold())]


def mail_to_move(boxes: Mailboxes) -> tuple[int, int]:
    """(messages, bytes) of the mailboxes whose account becomes a person."""
    moving = [box for _, box, owner in boxes if not owner.startswith("held: ")]
    return sum(box.get("messages", 0) for box in moving), sum(box.get("bytes", 0) for box in moving)


def decisions(organisation: dict[str, Any], mapping: accounts.AccountMap, boxes: Mailboxes,
              files: tuple[list[dict], list[dict], list[dict]] = ([], [], []),
              queues: tuple[list[dict], list[dict]] = ([], [])) -> dict[str, Any]:
    """What the plan decides, for the moves to follow (migration/move.py): each old account's
    person or why it is held, each old mailbox's new owner or why its mail stays, each old
    share's new place or why it stays, each old group's new group or people, and each old
    print queue's new queue or why it is held."""
    shares, held_shares, groups = files
    printers, held_printers = queues
    return {
        "printers": printers,
        "held_printers": held_printers,
        "shares": shares,
        "held_shares": held_shares,
        "groups": groups,
        "organisation": organisation["id"],
        "accounts": [{"server": m.account.server, "account": m.account.name, "user": m.username,
                      "rule": m.rule} for m in mapping.matched],
        "held_accounts": [{"server": h.account.server, "account": h.account.name, "reason": h.reason}
                          for h in mapping.held],
        "mailboxes": [{"server": server, "account": box["account"], "user": owner}
                      for server, box, owner in boxes if not owner.startswith("held: ")],
        "held_mailboxes": [{"server": server, "account": box["account"],
                            "reason": owner.removeprefix("held: ")}
                           for server, box, owner in boxes if owner.startswith("held: ")],
    }


def decisions_json(decided: dict[str, Any]) -> bytes:
    """The plan's decisions as written to <id>-plan.json; its SHA-256 is what a person accepts."""
    return (json.dumps(decided, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def mail_section(boxes: Mailboxes) -> list[str]:
    if not boxes:
        return []
    messages, size = mail_to_move(boxes)
    held = sum(owner.startswith("held: ") for _, _, owner in boxes)
    lines = ["## Mail", ""]
    lines += table(["Server", "Old mailbox", "Becomes", "Messages", "Bytes"],
                   [[server, box["account"], owner, box.get("messages", "?"), box.get("bytes", "?")]
                    for server, box, owner in boxes])
    lines += [f"To move: {len(boxes) - held} mailboxes, {messages} messages, {size} bytes. Held: {held} "
              "(their mail stays on the old server until a person decides).", ""]
    return lines


def files_section(files: tuple[list[dict], list[dict], list[dict]] | None) -> list[str]:
    if not files or not any(files):
        return []
    shares, held, groups = files
    lines = ["### Where each share goes", ""]
    lines += table(["Server", "Old share", "New place", "Its group"],
                   [[s["server"], s["share"], s["target"] + ("/<person>" if s["kind"] == "homes" else ""),
                     s["group"] or "the person"] for s in shares]
                   + [[h["server"], h["share"], f"held: {h['reason']}", ""] for h in held])
    lines += ["### Old groups in the access lists", ""]
    lines += table(["Server", "Old group", "Becomes"],
                   [[g["server"], g["group"], g["new_group"] or (", ".join(g["users"]) or "nobody")]
                    for g in groups])
    return lines


def printers_section(queues: tuple[list[dict], list[dict]] | None) -> list[str]:
    if not queues or not any(queues):
        return []
    printers, held = queues
    lines = ["## Printers", ""]
    lines += table(["Server", "Old queue", "Printer", "Becomes"],
                   [[p["server"], p["queue"], p["printer"], f"{p['target']} ({p['site']})"] for p in printers]
                   + [[h["server"], h["queue"], "", f"held: {h['reason']}"] for h in held])
    return lines


def render(organisation: dict[str, Any], discovery: dict[str, Any], mapping: accounts.AccountMap,
           seconds: float | None, boxes: Mailboxes | None = None, mail_seconds: float | None = None,
           files: tuple[list[dict], list[dict], list[dict]] | None = None,
           queues: tuple[list[dict], list[dict]] | None = None) -> str:
    lines = [f"# Plan: moving {md(organisation['name'])} ({md(organisation['code'])})", "",
             "Nothing moves until this plan is accepted on the wave's change ticket.", "",
             f"## People: {len(mapping.matched)} old accounts matched, {len(mapping.held)} held", ""]
    lines += table(["Server", "Old account", "Full name", "Becomes", "Matched by"],
                   [[m.account.server, m.account.name, m.account.full_name, m.username, m.rule]
                    for m in mapping.matched])
    lines += ["### Held (nothing of theirs moves until a person decides)", ""]
    lines += table(["Server", "Old account", "Full name", "Why"],
                   [[h.account.server, h.account.name, h.account.full_name, h.reason] for h in mapping.held])
    total_files = total_bytes = 0
    lines += ["## Files", ""]
    rows = []
    for server in discovery.get("file_servers", []):
        for share in server.get("shares", []):
            total_files += share.get("files", 0)
            total_bytes += share.get("bytes", 0)
            rows.append([server["name"], share["name"], share.get("files", "?"), share.get("bytes", "?"),
                         share.get("refused_names", "?")])
    lines += table(["Server", "Share", "Files", "Bytes", "Names to rename"], rows)
    lines += [f"In all {total_files} files, {total_bytes} bytes.", ""]
    lines += files_section(files)
    lines += mail_section(boxes or [])
    lines += printers_section(queues)
    lines += ["## Time", ""]
    lines += [f"About {duration(seconds)} for the files at the measured throughput." if seconds is not None
              else "No estimate: give the throughput measured on the committee's network.", ""]
    if mail_seconds is not None:
        lines += [f"About {duration(mail_seconds)} for the mail at the measured throughput.", ""]
    lines += ["## Old servers", ""]
    lines += table(["Server", "Role", "Fate", "After the move"],
                   [[d["name"], d["role"], d["fate"],
                     "retired once the move is verified" if d["fate"] == "retire"
                     else "its application moves to a standard application host, then retired"]
                    for d in organisation.get("legacy_servers", []) if d["role"] != "switch"])
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organisation", required=True)
    parser.add_argument("--data-dir", type=Path, default=REPO / "inventory/stockholm/data")
    parser.add_argument("--discovery-dir", type=Path, help="default: DATA_DIR/discovery")
    parser.add_argument("--personnel", type=Path, action="append", required=True)
    parser.add_argument("--bytes-per-second", type=float)
    parser.add_argument("--files-per-second", type=float)
    parser.add_argument("--messages-per-second", type=float,
                        help="with --bytes-per-second: the mail's estimate too (IMAP, measured)")
    parser.add_argument("--output", type=Path, help="default: <discovery dir>/<organisation>-plan.md")
    args = parser.parse_args(argv)
    try:
        city = city_model.load_city(args.data_dir, register=False)
        organisation = city.organisations.get(args.organisation)
        if organisation is None:
            print(f"unknown organisation {city_model.excerpt(args.organisation)}", file=sys.stderr)
            return 2
        directory = args.discovery_dir or args.data_dir / discovery_model.DISCOVERY_DIR
        found = discovery_model.discovery_path(directory, organisation["id"])
        discovery = discovery_model.load_discovery(found, city)
        people = personnel.load_people(args.personnel, city.organisations, today=datetime.date.today())
    except (city_model.CityDataError, OSError) as error:
        print(error, file=sys.stderr)
        return 2
    mapping = account_map(discovery, people, organisation["id"])
    shares = [s for server in discovery.get("file_servers", []) for s in server.get("shares", [])]
    seconds = estimate(sum(s.get("bytes", 0) for s in shares), sum(s.get("files", 0) for s in shares),
                       args.bytes_per_second, args.files_per_second)
    boxes = mailboxes(discovery, mapping)
    mail_messages, mail_bytes = mail_to_move(boxes)
    mail_seconds = (estimate(mail_bytes, mail_messages, args.bytes_per_second, args.messages_per_second)
                    if discovery.get("mail_servers") else None)
    output = args.output or directory / f"{organisation['id']}-plan.md"
    files = (*share_targets(organisation, discovery), group_targets(organisation, discovery, mapping, people))
    queues = printer_targets(organisation, discovery)
    decided = decisions_json(decisions(organisation, mapping, boxes, files, queues))
    accept = hashlib.sha256(decided).hexdigest()
    text = render(organisation, discovery, mapping, seconds, boxes, mail_seconds, files, queues)
    text += (f"\n## Accepting it\n\nThe decisions above are in `{output.with_suffix('.json').name}`, "
             f"SHA-256 `{accept}`. The move runs only with\n`migration/move.py --organisation "
             f"{organisation['id']} --accepted-plan {accept}`.\n")
    output.write_text(text, encoding="utf-8")
    output.with_suffix(".json").write_bytes(decided)
    print(f"wrote {city_model.display_path(output)}: {len(mapping.matched)} accounts matched, "
          f"{len(mapping.held)} held, {len(shares)} shares, {len(queues[0]) + len(queues[1])} print queues")
    print(f"accept it with: --accepted-plan {accept}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
