"""What the migration will meet on the old mail server, as an IMAP client: every mailbox's
folders, messages, flags and arrival dates, through the master user; and the refusals.

    imap_check.py <host> <bundle .json> <master password file>

Prints one line per check and exits 1 at the first difference."""

import imaplib
import json
import sys
import time

host, bundle, password_file = sys.argv[1:4]
with open(bundle, encoding="utf-8") as stream:
    server = json.load(stream)
with open(password_file, encoding="utf-8") as stream:
    password = stream.read().strip()
ITEMS = "(INTERNALDATE FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"


def fail(message):
    print(f"FAIL {message}")
    sys.exit(1)


def utf7(name):
    """IMAP's modified UTF-7 is needed for non-ASCII names; the old folders are ASCII."""
    return '"' + name + '"'


def refused(user, secret):
    client = imaplib.IMAP4(host)
    try:
        client.login(user, secret)
    except imaplib.IMAP4.error:
        return True
    finally:
        client.shutdown()
    return False


mailboxes = sorted(server["mailboxes"], key=lambda box: -len(box["messages"]))[:3]
for mailbox in mailboxes:
    client = imaplib.IMAP4(host)
    client.login(f"{mailbox['account']}*migrering", password)
    status, listing = client.list()
    names = {line.decode().rsplit(' "/" ', 1)[-1].strip('"') for line in listing}
    if not set(server["folders"]) <= names:
        fail(f"{mailbox['account']}: folders {sorted(names)} lack {set(server['folders']) - names}")
    for folder in server["folders"]:
        expected = {m["message_id"]: m for m in mailbox["messages"] if m["folder"] == folder}
        status, data = client.select(utf7(folder), readonly=True)
        if int(data[0]) != len(expected):
            fail(f"{mailbox['account']}/{folder}: {int(data[0])} messages, the bundle has {len(expected)}")
        if not expected:
            continue
        status, fetched = client.fetch("1:*", ITEMS)
        for item in fetched:
            if not isinstance(item, tuple):
                continue
            meta, header = item[0].decode(), item[1].decode()
            message_id = header.split(":", 1)[1].strip()
            original = expected[message_id]
            where = f"{mailbox['account']}/{folder} {message_id}"
            arrived = int(time.mktime(imaplib.Internaldate2tuple(item[0])))
            if arrived != original["date"]:
                fail(f"{where}: arrived {arrived}, the bundle says {original['date']}")
            # \Recent is the session's, not the message's.
            flags = set(meta.split("FLAGS (")[1].split(")")[0].split()) - {"\\Recent"}
            if flags != set(original["flags"]):
                fail(f"{where}: flags {flags}, the bundle says {original['flags']}")
            if f"RFC822.SIZE {original['size']}" not in meta:
                fail(f"{where}: size differs from {original['size']}: {meta}")
    client.logout()
    print(f"ok {mailbox['account']}: {len(mailbox['messages'])} messages in {len(server['folders'])} folders")

account = mailboxes[0]["account"]
if not refused(f"{account}*migrering", "not-" + password):
    fail("a wrong master password was accepted")
if not refused(account, "anything"):
    fail("an old account logged in with a password nobody knows")
print("ok refusals: a wrong master password, an old account's own login")
