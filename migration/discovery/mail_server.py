"""Reads an old mail server as the migration will reach an Exchange 2003: over IMAP only,
logging in to each mailbox with an administrator's right to open it — never a shell.

For each account of the old domain (the accounts the old file server lists, built-in and
service accounts left out) it logs in with the server's login for an administrator opening
that mailbox (`--mail-server-login`: Exchange 2003 takes `DOMAIN\\admin\\alias`, the lab's
stand-in `alias*migrering`), lists the folders, and per folder counts the messages and
their bytes and notes the oldest and newest arrival (EXAMINE, read-only: nothing is marked
read, and `FETCH 1:* (RFC822.SIZE INTERNALDATE)`, no message is read).

Nothing the server says is trusted: folder names are decoded from IMAP's modified UTF-7
and the record goes through discovery_model.MAIL_SERVER, which leaves out a value with
control characters or beyond its length and names it in `problems`. The IMAP connection is
behind one small class, `ImapServer`, which the unit tests replace with recorded answers.
"""

from __future__ import annotations

import base64
import datetime
import imaplib
import re
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "module_utils"))
import discovery_model

from migration import accounts as account_rules

TIMEOUT = 120
MAX_ACCOUNT_LENGTH = 104   # an Exchange alias is at most 64; a login with a domain and an admin more
LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<delimiter>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$')
FETCH_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
FETCH_DATE = re.compile(rb'INTERNALDATE "([^"]+)"')


def printable_name(name: str) -> bool:
    """An account name or login fit for an IMAP LOGIN: printable characters (no control
    character), no white space or double quote, at most MAX_ACCOUNT_LENGTH. A backslash is
    allowed: Exchange's logins hold two."""
    return 0 < len(name) <= MAX_ACCOUNT_LENGTH and name.isprintable() and not any(c.isspace() for c in name) \
        and '"' not in name


class LoginRefused(Exception):
    """The server refused the login for one mailbox (no such mailbox, or no right to it)."""


def decode_folder_name(name: bytes) -> str:
    """IMAP's modified UTF-7 (RFC 3501, 5.1.3): `&` opens base64 of UTF-16BE with `,` for
    `/`, `-` closes it, `&-` is `&`. Raises ValueError on a malformed name."""
    text = name.decode("ascii")
    out, position = [], 0
    while position < len(text):
        start = text.find("&", position)
        if start < 0:
            out.append(text[position:])
            break
        out.append(text[position:start])
        end = text.find("-", start)
        if end < 0:
            raise ValueError("an unterminated &-sequence")
        encoded = text[start + 1:end]
        if not encoded:
            out.append("&")
        else:
            raw = encoded.replace(",", "/")
            out.append(base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True).decode("utf-16-be"))
        position = end + 1
    return "".join(out)


def encode_folder_name(name: str) -> str:
    """The modified UTF-7 form of a folder name, quoted for a command."""
    out, pending = [], []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + encoded.replace("/", ",") + "-")
            pending.clear()

    for character in name:
        if 0x20 <= ord(character) <= 0x7E:
            flush()
            out.append("&-" if character == "&" else character)
        else:
            pending.append(character)
    flush()
    return '"' + "".join(out).replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_list(lines: Iterable[Any]) -> list[tuple[str, bool]]:
    """(folder name, selectable) for each line of a LIST answer, names decoded. A name sent
    as a literal arrives from imaplib as a (line, literal) tuple."""
    folders = []
    for line in lines:
        literal = None
        if isinstance(line, tuple):
            line, literal = line
        if line is None:
            continue
        match = LIST_LINE.match(line)
        if not match:
            raise ValueError(f"an unreadable LIST line: {line[:80]!r}")
        if literal is not None:
            raw = literal
        else:
            raw = match["name"].strip()
            if raw.startswith(b'"'):
                raw = re.sub(rb"\\(.)", rb"\1", raw[1:-1])
        selectable = b"\\noselect" not in match["flags"].lower()
        folders.append((decode_folder_name(raw), selectable))
    return folders


def parse_fetch(lines: Iterable[Any]) -> list[tuple[int, datetime.date]]:
    """(size, arrival date in UTC) for each message of a `FETCH (RFC822.SIZE INTERNALDATE)`."""
    found = []
    for line in lines:
        if isinstance(line, tuple):
            line = line[0]
        if not line:
            continue
        size, date = FETCH_SIZE.search(line), FETCH_DATE.search(line)
        if not size or not date:
            raise ValueError(f"an unreadable FETCH answer: {line[:80]!r}")
        arrived = datetime.datetime.strptime(date[1].decode("ascii").strip(), "%d-%b-%Y %H:%M:%S %z")
        found.append((int(size[1]), arrived.astimezone(datetime.UTC).date()))
    return found


class ImapServer:
    """One old mail server over plain IMAP (as Exchange 2003 spoke it on the old network)."""

    def __init__(self, address: str, port: int, login_template: str, password: str) -> None:
        self.address, self.port = address, port
        self.login_template, self.password = login_template, password

    def folders(self, account: str) -> list[tuple[str, int, list[tuple[int, datetime.date]]]]:
        """(name, messages, [(size, date)]) of every selectable folder of account's mailbox."""
        client = imaplib.IMAP4(self.address, self.port, timeout=TIMEOUT)
        try:
            try:
                client.login(self.login_template.format(account=account), self.password)
            except imaplib.IMAP4.error as error:
                raise LoginRefused(str(error)) from None
            status, listing = client.list()
            if status != "OK":
                raise RuntimeError(f"LIST: {status}")
            result = []
            for name, selectable in parse_list(listing):
                if not selectable:
                    continue
                status, data = client.select(encode_folder_name(name), readonly=True)
                if status != "OK":
                    raise RuntimeError(f"EXAMINE {name}: {status}")
                count = int(data[0])
                messages = []
                if count:
                    status, fetched = client.fetch("1:*", "(RFC822.SIZE INTERNALDATE)")
                    if status != "OK":
                        raise RuntimeError(f"FETCH in {name}: {status}")
                    messages = parse_fetch(fetched)
                result.append((name, count, messages))
            client.logout()
            return result
        finally:
            if client.state != "LOGOUT":
                client.shutdown()


def mailbox_accounts(file_servers: Iterable[dict[str, Any]]) -> list[str]:
    """The old domain's accounts that may have a mailbox: those the old file servers list,
    without the built-in and service accounts (migration/accounts.py's rule), each once."""
    names: dict[str, str] = {}
    for server in file_servers:
        for user in server.get("users", []):
            if not account_rules.BUILT_IN.match(user["name"]):
                names.setdefault(user["name"].casefold(), user["name"])
    return sorted(names.values(), key=str.casefold)


def discover_mail_server(device: dict[str, Any], server: ImapServer, accounts: list[str]) -> dict[str, Any]:
    """The checked record of one old mail server (`device`: its legacy_servers entry)."""
    started = time.monotonic()
    raw: dict[str, Any] = {"name": device["name"], "address": str(device["address"]), "mailboxes": []}
    problems: list[str] = []
    for account in accounts:
        try:
            folders = server.folders(account)
        except LoginRefused as error:
            problems.append(f"{account}: no mailbox opened (the login was refused: {error})")
            continue
        except (OSError, RuntimeError, ValueError, imaplib.IMAP4.error) as error:
            problems.append(f"{account}: {type(error).__name__}: {error}")
            if isinstance(error, OSError):
                break  # the server is not reachable: the next account would wait as long
            continue
        dates = [date for _, _, messages in folders for _, date in messages]
        mailbox: dict[str, Any] = {
            "account": account,
            "folders": [{"name": name, "messages": count, "bytes": sum(size for size, _ in messages)}
                        for name, count, messages in folders],
            "messages": sum(count for _, count, _ in folders),
            "bytes": sum(size for _, _, messages in folders for size, _ in messages),
        }
        if dates:
            mailbox["oldest"], mailbox["newest"] = min(dates).isoformat(), max(dates).isoformat()
        raw["mailboxes"].append(mailbox)
    raw["seconds"] = round(time.monotonic() - started, 3)
    if problems:
        raw["problems"] = problems
    return discovery_model.checked(discovery_model.MAIL_SERVER, raw, device["name"])
