"""What a committee's old mail server holds, generated from its organisation file and its
personnel export: the same data and size give the same mailboxes, byte for byte.

The stand-in for Exchange 2003's IMAP (`role: mail` in `legacy_servers`) serves these
messages; the migration must then pull them over IMAP as it would from the real server.
Rules:

- Mailboxes: one per old account of a person (the accounts of
  `migration/old_file_server/content.py`: the old domain's names, which are not the new
  ones), and one for each outsider.
- Folders, with "/" as the hierarchy separator: INBOX, `Skickat`, `Inkorg/Projekt`,
  `Arkiv/<year>` for two of the years, and `Borttaget`.
- Messages: about `messages` in all, spread over the mailboxes by a hash of the account
  (some hold a few, some thousands). Each has a unique Message-ID, a Date in 2003-2008
  that is also its arrival date, a Swedish subject (RFC 2047 encoded where it has å/ä/ö),
  a Swedish text body, from and to colleagues of the committee, replies that refer to
  the message they answer, and one in eight an attachment (a Word, Excel or PDF file of
  seeded bytes). Flags: most read, some flagged or answered, the newest unread.
"""

from __future__ import annotations

import datetime
import email.policy
import email.utils
import hashlib
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from migration.old_file_server.content import users_of

FIRST_YEAR, LAST_YEAR = 2003, 2008
FIRST_YEAR_EPOCH = int(datetime.datetime(FIRST_YEAR, 1, 1, tzinfo=datetime.UTC).timestamp())
FOLDERS = ("INBOX", "Skickat", "Inkorg/Projekt", "Borttaget")
ARCHIVE_YEARS = (2004, 2006)
SUBJECTS = ("Protokoll från nämndsammanträdet", "Kallelse till APT", "Budgetunderlag för äldreomsorgen",
            "Ändrade öppettider på medborgarkontoret", "Semesterlistan", "Lönesamtal", "Möte om förskolan",
            "Remiss: Översiktsplan för Södermalm", "Frågor om delårsrapporten", "Julbord på Rosenlund",
            "Ny rutin för ärenden", "Sjukanmälan", "Påminnelse: tidrapporter", "Utbildning i Word 2003")
BODY = ("Hej!\n\nHär kommer underlaget inför mötet på torsdag. Återkom gärna med synpunkter före "
        "onsdag lunch, så hinner vi sammanställa dem.\n\nMed vänlig hälsning\n{name}\n{organisation}\n")
ATTACHMENTS = (("Underlag.doc", "application", "msword"), ("Budget.xls", "application", "vnd.ms-excel"),
               ("Protokoll.pdf", "application", "pdf"))
MAIL_DOMAIN = "{code}.stockholm.se"


@dataclass(frozen=True)
class OldMessage:
    folder: str
    message_id: str
    date: int  # seconds since the epoch, UTC: the Date header and the arrival date
    flags: tuple[str, ...]  # IMAP system flags
    data: bytes


@dataclass(frozen=True)
class OldMailbox:
    account: str
    address: str
    full_name: str
    messages: tuple[OldMessage, ...]


@dataclass(frozen=True)
class OldMailServer:
    name: str
    mailboxes: tuple[OldMailbox, ...]

    def folders(self) -> tuple[str, ...]:
        return FOLDERS + tuple(f"Arkiv/{year}" for year in ARCHIVE_YEARS)


def share_of(account: str, seed: str) -> float:
    """A mailbox's weight: a few hold most of the mail, as in every organisation."""
    number = int.from_bytes(hashlib.sha256(f"{seed}\0{account}".encode()).digest()[:4], "big")
    return 0.2 + (number / 2**32) ** 5 * 40


def message_bytes(chance: random.Random, *, sender: tuple[str, str], recipient: tuple[str, str],
                  subject: str, date: int, message_id: str, in_reply_to: str, organisation: str) -> bytes:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = email.utils.formataddr(sender)
    message["To"] = email.utils.formataddr(recipient)
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(date, localtime=False)
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message["X-Mailer"] = "Microsoft Office Outlook 11"
    message.set_content(BODY.format(name=sender[0], organisation=organisation))
    if chance.random() < 0.125:
        filename, maintype, subtype = chance.choice(ATTACHMENTS)
        message.add_attachment(chance.randbytes(chance.randint(2_000, 120_000)), maintype=maintype,
                               subtype=subtype, filename=filename)
        # The library draws the boundary at random; the same data must give the same bytes.
        message.set_boundary(f"=_gemensam_{chance.getrandbits(64):016x}")
    return message.as_bytes()


def old_mail_server(organisation: Mapping[str, Any], people: Sequence[Mapping[str, Any]], *,
                    messages: int, seed: str = "") -> OldMailServer:
    server = next(s for s in organisation.get("legacy_servers", []) if s["role"] == "mail")
    own = [p for p in people if p["organisation"] == organisation["id"]]
    users, _ = users_of(own)
    domain = MAIL_DOMAIN.format(code=organisation["code"].lower())
    accounts = [u for u in users if u.name not in ("Administrator", "Guest")]
    weights = [share_of(u.name, seed) for u in accounts]
    total = sum(weights)
    chance = random.Random(f"{server['name']}\0{messages}\0{seed}")
    start = datetime.datetime(FIRST_YEAR, 1, 1, tzinfo=datetime.UTC).timestamp()
    end = datetime.datetime(LAST_YEAR, 12, 31, tzinfo=datetime.UTC).timestamp()
    mailboxes = []
    for account, weight in zip(accounts, weights, strict=True):
        own_address = (account.full_name or account.name, f"{account.name}@{domain}")
        count = round(messages * weight / total)
        made: list[OldMessage] = []
        for number in range(count):
            date = int(chance.uniform(start, end))
            year = datetime.datetime.fromtimestamp(date, datetime.UTC).year
            other = chance.choice(accounts)
            other_address = (other.full_name or other.name, f"{other.name}@{domain}")
            roll = chance.random()
            if roll < 0.15:
                folder, sender, recipient = "Skickat", own_address, other_address
            elif year in ARCHIVE_YEARS and roll < 0.45:
                folder, sender, recipient = f"Arkiv/{year}", other_address, own_address
            elif roll < 0.55:
                folder, sender, recipient = "Inkorg/Projekt", other_address, own_address
            elif roll < 0.58:
                folder, sender, recipient = "Borttaget", other_address, own_address
            else:
                folder, sender, recipient = "INBOX", other_address, own_address
            message_id = f"<{account.name}.{number}.{date}@{server['name']}.{domain}>"
            replies_to = made[-1].message_id if made and chance.random() < 0.2 else ""
            subject = chance.choice(SUBJECTS)
            if replies_to:
                subject = "SV: " + subject
            flags = []
            if date < end - 30 * 86400 or folder == "Skickat":
                flags.append("\\Seen")
            if chance.random() < 0.05:
                flags.append("\\Flagged")
            if folder != "Skickat" and chance.random() < 0.1:
                flags.append("\\Answered")
            data = message_bytes(chance, sender=sender, recipient=recipient, subject=subject, date=date,
                                 message_id=message_id, in_reply_to=replies_to,
                                 organisation=organisation["name"])
            made.append(OldMessage(folder, message_id, date, tuple(flags), data))
        mailboxes.append(OldMailbox(account.name, own_address[1], account.full_name, tuple(made)))
    return OldMailServer(server["name"], tuple(mailboxes))


MAILDIR_FLAGS = {"\\Answered": "R", "\\Flagged": "F", "\\Seen": "S", "\\Deleted": "T", "\\Draft": "D"}


def maildir_folder(folder: str) -> str:
    """Dovecot's Maildir++ name of an IMAP folder with "/" as separator: INBOX is the root."""
    if folder == "INBOX":
        return ""
    return "." + folder.replace("/", ".")


def maildir_file(server: OldMailServer, message: OldMessage, number: int) -> str:
    """The message's path within its Maildir: <folder>/cur/<unique name>:2,<flags>."""
    flags = "".join(sorted(MAILDIR_FLAGS[flag] for flag in message.flags))
    name = f"{message.date}.M{number}P0.{server.name},S={len(message.data)}:2,{flags}"
    return "/".join(part for part in (maildir_folder(message.folder), "cur", name) if part)


def write_maildirs(server: OldMailServer, root: Path) -> dict[str, dict[str, tuple[str, int]]]:
    """Writes root/<account>/Maildir, each message's file dated by its arrival (Dovecot's
    received date for Maildir); returns account → Message-ID → (folder, size)."""
    manifest: dict[str, dict[str, tuple[str, int]]] = {}
    for mailbox in server.mailboxes:
        maildir = root / mailbox.account / "Maildir"
        for folder in server.folders():
            for part in ("cur", "new", "tmp"):
                (maildir / maildir_folder(folder) / part).mkdir(parents=True, exist_ok=True)
        entries = manifest.setdefault(mailbox.account, {})
        for number, message in enumerate(mailbox.messages):
            target = maildir / maildir_file(server, message, number)
            target.write_bytes(message.data)
            os.utime(target, (message.date, message.date))
            entries[message.message_id] = (message.folder, len(message.data))
    return manifest
