"""Moving a committee's mail: each old mailbox into its person's mailbox on the mail server
that serves the committee, by Dovecot's dsync on that server pulling over IMAP (imapc).

Per mailbox, as the accepted plan names it (old account -> new user):

    doveadm -c <conf> -o imapc_user=<login> sync -1 -R -l 300 -u <user> imapc:

`sync -1 -R` copies what the old mailbox has and the new one lacks, with folders, flags and
arrival dates, and never deletes on the new side: mail that reached the new mailbox since
is kept, a re-run after a kill copies only what is missing (dsync matches messages by their
headers, so none arrives twice), and the cut-over run copies only what arrived in between.
The login and the administrator's password live in <conf>, a file only root and the SSH
user can read, removed after the run: never on a command line.

Then the mailbox is verified: per folder, the multiset of (Message-ID, size, arrival date)
of the old mailbox must be in the new one, each exactly as often. A message missing or
there twice is an error naming the folder and the Message-ID.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from migration.discovery import mail_server

FIELDS = "mailbox hdr.message-id size.virtual date.received"
# A message as verified: (folder, Message-ID, size in bytes as IMAP counts, arrival).
Key = tuple[str, str, int, str]
# Characters a password may not hold in Dovecot's configuration (a quoted value).
PASSWORD_REFUSED = set('"\\\'')
MAX_REPORTED = 20
LOCK_SECONDS = 300


class MailMoveError(Exception):
    """A mailbox not moved, or moved but not verified; the message names it."""


def imapc_config(host: str, port: int, password: str) -> bytes:
    """The settings doveadm reads for a run (-c): the mail server's own configuration, and
    where the old server is with the password of the administrator who opens every mailbox."""
    if not password or not password.isprintable() or PASSWORD_REFUSED & set(password) or len(password) > 256:
        raise MailMoveError("the mail server's password: expected 1 to 256 printable characters without "
                            "quotes or backslashes (Dovecot's configuration holds it quoted)")
    if not mail_server.printable_name(host):
        raise MailMoveError(f"the old mail server's address is not a host name: {host!r}")
    return (
        "!include /etc/dovecot/dovecot.conf\n"
        f"imapc_host = {host}\n"
        f"imapc_port = {int(port)}\n"
        f'imapc_password = "{password}"\n'
        # The old server's sizes as it counts them; its headers fetched for dsync's matching.
        "imapc_features = rfc822.size fetch-headers\n"
        "mail_prefetch_count = 20\n"
    ).encode()


def login(template: str, account: str) -> str:
    if not mail_server.printable_name(account):
        raise MailMoveError(f"old mailbox {account!r}: not an account name")
    return template.replace("{account}", account)


def sync_argv(config: str, login_name: str, user: str) -> list[str]:
    # -l: a dsync of the same mailbox still running (its run was killed) is waited for.
    return ["doveadm", "-c", config, "-o", f"imapc_user={login_name}",
            "sync", "-1", "-R", "-l", str(LOCK_SECONDS), "-u", user, "imapc:"]


def old_side(login_name: str) -> list[str]:
    """doveadm's options that make a user's mail the old mailbox, read through imapc."""
    return ["-o", f"imapc_user={login_name}", "-o", "mail_location=imapc:"]


def fetch_argv(config: str, user: str, old_login: str | None = None) -> list[str]:
    """doveadm fetch of every message's key, of the new mailbox or (old_login) the old one."""
    old = old_side(old_login) if old_login else []
    return ["doveadm", "-f", "json", "-c", config, *old, "fetch", "-u", user, FIELDS, "ALL"]


def count_argv(config: str, user: str) -> list[str]:
    """How many messages the new mailbox holds, from its indexes (cheaper than a listing)."""
    return ["doveadm", "-c", config, "mailbox", "status", "-u", user, "-t", "messages", "*"]


def message_count(status: str, where: str) -> int:
    found = re.fullmatch(r"\s*messages=(\d+)\s*", status)
    if not found:
        raise MailMoveError(f"{where}: doveadm's count is not messages=N: {status[:80]!r}")
    return int(found.group(1))


def manifest(fetched: str, where: str) -> Counter[Key]:
    """The messages doveadm fetch listed (JSON), as a multiset of keys."""
    try:
        rows = json.loads(fetched or "[]")
    except json.JSONDecodeError as error:
        raise MailMoveError(f"{where}: doveadm's listing is not JSON ({error})") from None
    if not isinstance(rows, list):
        raise MailMoveError(f"{where}: doveadm's listing is not a list")
    keys: Counter[Key] = Counter()
    for row in rows:
        try:
            keys[(str(row["mailbox"]), str(row["hdr.message-id"]).strip(), int(row["size.virtual"]),
                  str(row["date.received"]))] += 1
        except (KeyError, TypeError, ValueError):
            raise MailMoveError(f"{where}: a message without its folder, Message-ID, size or date") from None
    return keys


def digest(keys: Counter[Key]) -> str:
    """SHA-256 of a manifest: one line per message, sorted."""
    lines = sorted(json.dumps(list(key), ensure_ascii=False) + f" {count}" for key, count in keys.items())
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def differences(old: Counter[Key], new: Counter[Key]) -> list[str]:
    """Every old message missing from the new mailbox or there more often than on the old
    one, named by folder and Message-ID. Messages only on the new side (mail that reached
    the new mailbox) are not differences."""
    problems = []
    for key, count in sorted(old.items()):
        folder, message_id, size, date = key
        have = new.get(key, 0)
        name = f"{folder}: {message_id or '(no Message-ID)'} ({size} bytes, {date})"
        if have < count:
            problems.append(f"missing: {name}" + (f", {count - have} of {count}" if count > 1 else ""))
        elif have > count:
            problems.append(f"twice: {name}, {have} times in the new mailbox, {count} in the old")
    return problems


def summary(problems: Iterable[str]) -> str:
    listed = list(problems)
    shown = "; ".join(listed[:MAX_REPORTED])
    return shown + (f"; and {len(listed) - MAX_REPORTED} more" if len(listed) > MAX_REPORTED else "")


@dataclass(frozen=True)
class Moved:
    messages: int      # in the old mailbox
    bytes: int
    copied: int        # new in the new mailbox in this run
    sha256: str
    seconds: float


def move_mailbox(remote: Any, config: str, login_name: str, user: str) -> Moved:
    """Syncs one mailbox and verifies it, in one round trip to the mail server (the new
    mailbox listed, dsync, both sides listed); MailMoveError names what went wrong."""
    started = time.monotonic()
    where = f"{login_name} -> {user}"
    before, synced, old_listing, new_listing = remote.run_steps([
        count_argv(config, user), sync_argv(config, login_name, user),
        fetch_argv(config, user, login_name), fetch_argv(config, user)])
    if not before.ok:
        raise MailMoveError(f"{where}: the new mailbox cannot be read: {before.stderr[-500:]}")
    if not synced.ok:
        raise MailMoveError(f"{where}: dsync failed: {synced.stderr[-500:]}")
    if not (old_listing.ok and new_listing.ok):
        raise MailMoveError(f"{where}: not verified, a listing failed: {old_listing.stderr[-500:]}")
    old = manifest(old_listing.stdout, f"{where}: old")
    new = manifest(new_listing.stdout, f"{where}: new")
    problems = differences(old, new)
    if problems:
        raise MailMoveError(f"{where}: {summary(problems)}")
    copied = sum(new.values()) - message_count(before.stdout, f"{where}: new")
    return Moved(sum(old.values()), sum(key[2] * count for key, count in old.items()), max(copied, 0),
                 digest(old), time.monotonic() - started)
