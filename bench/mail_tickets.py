#!/usr/bin/env python3
"""Prints how fast mail and servicedesk tickets go through the lab, each beside a floor
measured in the same run. Prints only; asserts nothing.

1. Mail through the whole path: a Södermalm person logs in once on submission (mail1,
   587) and sends MAILS mails to a Bromma person; the time until all of them are in the
   Bromma person's INBOX over IMAPS (993), against the submission alone (the time to
   hand them to Postfix).
2. Tickets through the mail gateway: TICKETS mails to the Bromma helpdesk address
   (mail1 -> desk1's Postfix -> rt-mailgate -> RT); the time until RT's REST 2.0 finds
   all the tickets, against the same number created directly with REST 2.0 POST /ticket.
   When mail1 refuses the helpdesk address, the run says so and measures the gateway
   from desk1's own Postfix (localhost:25), with desk1 as the client of both figures.

The sending and reading run on dc2, the people's machine of the e2e tests, so the
clock is the client's; passwords and the token reach it on stdin. Runs against the
converged lab named by GEMENSAM_LAB_PREFIX (default gemensam). What the run made is
cleared away at the end: its mails removed from the mailboxes, its tickets resolved.

    MAILS=100 TICKETS=30 python bench/mail_tickets.py
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests/e2e"))
from conftest import Lab, employees, username_of

CLIENT = "dc2"
MAIL_POLL = 0.2  # s between IMAP searches
TICKET_POLL = 0.5  # s between REST 2.0 searches

# Runs on the client as `python3 -c PROGRAM <mail poll> <ticket poll> <mode> <args>`, the
# secrets on stdin, one a line.
# Prints one JSON object: the figures, or {"error": ...}.
PROGRAM = r'''
import http.client, imaplib, json, smtplib, ssl, sys, time, urllib.parse
from email.message import EmailMessage

CONTEXT = ssl.create_default_context()
BODY = "Hej!\nEtt mätbrev från Gemensam IT:s bänk; det tas bort när mätningen är klar.\n"


def secrets(count):
    return [sys.stdin.readline().rstrip("\n") for _ in range(count)]


def connect(route, host, user, password):
    """Submission (587, STARTTLS, logged in once) on host, or route "local": this host's
    own Postfix on port 25."""
    if route == "local":
        return smtplib.SMTP("localhost", 25, timeout=60)
    smtp = smtplib.SMTP(host, 587, timeout=60)
    smtp.starttls(context=CONTEXT)
    smtp.login(user, password)
    return smtp


def refusal(route, host, user, password, sender, recipient):
    """Why the server refuses recipient (before anything is sent), or None."""
    with connect(route, host, user, password) as smtp:
        smtp.ehlo_or_helo_if_needed()
        code, reply = smtp.mail(sender)
        if code < 300:
            code, reply = smtp.rcpt(recipient)
        smtp.rset()
    return None if code < 300 else "%d %s" % (code, reply.decode(errors="replace"))


def submit(route, host, user, password, sender, recipient, subjects):
    """Sends every subject in one session; returns when Postfix has taken them all."""
    with connect(route, host, user, password) as smtp:
        for subject in subjects:
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = sender, recipient, subject
            message.set_content(BODY)
            smtp.send_message(message)


def until(count, probe, start, timeout, interval):
    """Polls probe() until it reaches count or timeout s after start: the seconds from start
    to the first seen, to the last probe, and the last count."""
    first = None
    while True:
        seen = probe()
        now = time.monotonic()
        if seen and first is None:
            first = now - start
        if seen >= count or now - start > timeout:
            return first, now - start, seen
        time.sleep(interval)


class Mailbox:
    def __init__(self, host, user, password):
        self.imap = imaplib.IMAP4_SSL(host, 993, ssl_context=CONTEXT)
        self.imap.login(user, password)
        self.imap.select("INBOX")

    def find(self, marker):
        self.imap.noop()
        _, data = self.imap.search(None, "SUBJECT", '"%s"' % marker)
        return data[0].split()

    def remove(self, marker):
        found = self.find(marker)
        if found:
            self.imap.store(b",".join(found).decode(), "+FLAGS", "(\\Deleted)")
            self.imap.expunge()
        self.imap.logout()
        return len(found)


class Rest:
    """RT's REST 2.0 over one kept-alive HTTPS connection, as the token's user."""

    def __init__(self, base, token):
        url = urllib.parse.urlsplit(base)
        self.host, self.path, self.token = url.hostname, url.path.rstrip("/") + "/REST/2.0", token
        self.connection = http.client.HTTPSConnection(self.host, 443, context=CONTEXT, timeout=120)

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": "token " + self.token, "Content-Type": "application/json"}
        for attempt in (1, 2):
            try:
                self.connection.request(method, self.path + path, body=data, headers=headers)
                response = self.connection.getresponse()
                text = response.read().decode()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()  # the server ended a kept-alive connection: open anew
                if attempt == 2:
                    raise
        if response.status >= 300:
            raise RuntimeError("%s %s: %s %s" % (method, path, response.status, text[:300]))
        return json.loads(text) if text else None

    def search(self, marker, page=1, per_page=1):
        query = urllib.parse.quote("Subject LIKE '%s'" % marker)
        return self.call("GET", "/tickets?query=%s&fields=id&page=%d&per_page=%d" % (query, page, per_page))

    def count(self, marker):
        found = self.search(marker)
        return found["total"] if found.get("total") is not None else len(self.ids(marker))

    def ids(self, marker):
        ids, page = [], 1
        while True:
            items = self.search(marker, page, 100).get("items") or []
            ids += [item["id"] for item in items]
            if len(items) < 100:
                return ids
            page += 1

    def resolve(self, marker):
        """Resolves the marker's tickets (the automation may not delete); how many it did."""
        ids = self.ids(marker)
        if not ids:
            return 0
        answers = self.call("PUT", "/tickets/bulk", [{"id": id, "Status": "resolved"} for id in ids])
        return sum(1 for answer in answers if "denied" not in str(answer).lower())


def mail(host, sender, sender_address, recipient, recipient_address, marker, count, timeout):
    sender_password, recipient_password = secrets(2)
    mailbox = Mailbox(host, recipient, recipient_password)
    subjects = ["Bänkmätning %s nr %d" % (marker, number) for number in range(1, count + 1)]
    try:
        start = time.monotonic()
        submit("submission", host, sender, sender_password, sender_address, recipient_address, subjects)
        submitted = time.monotonic() - start
        first, last, seen = until(count, lambda: len(mailbox.find(marker)), start, timeout, MAIL_POLL)
    finally:
        removed = mailbox.remove(marker)
    return {"submitted": submitted, "first": first, "all": last, "seen": seen, "removed": removed}


def tickets(route, host, sender, sender_address, helpdesk, base, queue, marker, count, timeout):
    password, token = secrets(2)
    refused = refusal(route, host, sender, password, sender_address, helpdesk)
    if refused:
        return {"refused": refused}
    rest = Rest(base, token)
    rest.count(marker)  # the token works, and RT has a process ready
    figures = {}
    try:
        figures.update(measure(route, host, sender, password, sender_address, helpdesk, rest, queue,
                               marker, count, timeout))
    finally:
        figures["resolved"] = rest.resolve(marker)
        # RT's receipts to the requestor that have arrived so far.
        figures["receipts_removed"] = Mailbox(host, sender, password).remove(marker)
    return figures


def measure(route, host, sender, password, sender_address, helpdesk, rest, queue, marker, count, timeout):
    # The floor: the same tickets (requestor, text) made directly in the queue.
    start = time.monotonic()
    for number in range(1, count + 1):
        rest.call("POST", "/ticket", {
            "Queue": queue, "Requestor": sender_address, "ContentType": "text/plain", "Content": BODY,
            "Subject": "Bänkärende %s-rest nr %d" % (marker, number),
        })
    direct = time.monotonic() - start
    made = rest.count(marker + "-rest")
    # Through the mail gateway.
    subjects = ["Bänkärende %s-mail nr %d" % (marker, number) for number in range(1, count + 1)]
    start = time.monotonic()
    submit(route, host, sender, password, sender_address, helpdesk, subjects)
    submitted = time.monotonic() - start
    first, last, seen = until(count, lambda: rest.count(marker + "-mail"), start, timeout, TICKET_POLL)
    return {"rest": direct, "rest_made": made, "submitted": submitted, "first": first, "all": last,
            "seen": seen}


MAIL_POLL, TICKET_POLL = float(sys.argv[1]), float(sys.argv[2])
mode, args = sys.argv[3], sys.argv[4:]
try:
    if mode == "mail":
        result = mail(*args[:5], args[5], int(args[6]), float(args[7]))
    else:
        result = tickets(*args[:8], int(args[8]), float(args[9]))
except Exception as error:
    print(json.dumps({"error": "%s: %s" % (type(error).__name__, error)}))
    sys.exit(1)
print(json.dumps(result))
'''


def main() -> int:
    mails, tickets = int(os.environ.get("MAILS", "100")), int(os.environ.get("TICKETS", "30"))
    lab = lab_up()
    domain = lab.hostvars["mail1"]["baseline_domain"]
    mail_host = f"mail1.{domain}"
    passwords = yaml.safe_load((lab.state_dir / "secrets/initial-passwords.yml").read_text())
    token = (lab.state_dir / "secrets/servicedesk-token").read_text().strip()
    try:
        sender = username_of(lab, employees("sodermalm")[0]["employee_id"])
        recipient = username_of(lab, employees("bromma")[0]["employee_id"])
    except StopIteration:
        sys.exit(f"lab {lab.prefix} is not converged: the personnel files' people are not in the directory")
    marker = f"bench-{uuid.uuid4().hex[:8]}"

    print(f"machine: {os.cpu_count()} cores, load average "
          f"{' '.join(f'{load:.1f}' for load in os.getloadavg())} at start")
    print(f"lab: {lab.prefix} ({len(lab.servers)} servers), client {CLIENT} ({lab.address(CLIENT)}), "
          f"run marker {marker}")
    print(f"mails: {mails} from {sender} (Södermalm) to {recipient} (Bromma); "
          f"polls every {MAIL_POLL} s (IMAP), {TICKET_POLL} s (REST)")
    print()

    timeout = max(120.0, 2.0 * mails)
    got = on_client(lab, "mail", [mail_host, sender, f"{sender}@{domain}", recipient,
                                  f"{recipient}@{domain}", f"{marker}-post", str(mails), str(timeout)],
                    [passwords[sender], passwords[recipient]], timeout)
    submission, end_to_end = mails / got["submitted"], got["seen"] / got["all"]
    print(f"mail, submission on {mail_host}:587 -> INBOX over IMAPS:")
    print(f"  submission alone (floor): {mails:4d} mails in {got['submitted']:7.2f} s = "
          f"{submission:7.2f} mails/s")
    print(f"  end to end:               {got['seen']:4d} mails in {got['all']:7.2f} s = "
          f"{end_to_end:7.2f} mails/s (INBOX polled from the end of submission)")
    print(f"  ratio end to end / submission: {end_to_end / submission:.2f}")
    print(f"  ({got['removed']} mails of this run removed from {recipient}'s INBOX afterwards)")
    complete = incomplete(got, mails, "mails in the INBOX")
    print()

    complete = ticket_part(lab, tickets, domain, recipient, passwords[recipient], token, marker) and complete
    return 0 if complete else 1


def ticket_part(lab: Lab, count: int, domain: str, person: str, password: str, token: str,
                marker: str) -> bool:
    """The tickets: through the mail gateway from mail1's submission, the REST 2.0 floor beside it.
    When mail1 refuses the helpdesk address, says so and measures the gateway from desk1's own
    Postfix instead (the client is then desk1)."""
    timeout = max(180.0, 10.0 * count)
    budget = timeout + 30 + 10.0 * count  # the REST floor too

    def run(route, client, helpdesk):
        args = [route, f"mail1.{domain}", person, f"{person}@{domain}", helpdesk, f"https://desk1.{domain}",
                "BRO", marker, str(count), str(timeout)]
        return on_client(lab, "tickets", args, [password, token], budget, client)

    helpdesk = f"helpdesk-bro@{domain}"
    got = run("submission", CLIENT, helpdesk)
    path = f"submission on mail1:587 from {CLIENT} -> desk1's Postfix -> rt-mailgate -> RT"
    if "refused" in got:
        print(f"NOTE: mail1 refuses {helpdesk}: {got['refused']}")
        print("      so the mail gateway is measured without mail1, from desk1's own Postfix (client desk1)")
        helpdesk = f"helpdesk-bro@desk1.{domain}"
        got = run("local", "desk1", helpdesk)
        path = "desk1's Postfix (localhost:25) -> rt-mailgate -> RT, REST floor from desk1"
        if "refused" in got:
            sys.exit(f"tickets: desk1's Postfix refuses {helpdesk} too: {got['refused']}")
    direct, gateway = got["rest_made"] / got["rest"], got["seen"] / got["all"]
    ratio = f"{gateway / direct:.2f}" if direct else "-"
    print(f"tickets in queue BRO, {count} mails to {helpdesk} from {person}; {path}:")
    print(f"  REST 2.0 POST /ticket (floor): {got['rest_made']:4d} tickets in {got['rest']:7.2f} s = "
          f"{direct:6.2f} tickets/s")
    print(f"  mail gateway:                  {got['seen']:4d} tickets in {got['all']:7.2f} s = "
          f"{gateway:6.2f} tickets/s (submitted in {got['submitted']:.2f} s){first(got)}")
    print(f"  ratio mail gateway / REST: {ratio}")
    complete = incomplete(got, count, "tickets found")
    print()
    print(f"afterwards: {got['resolved']} tickets of this run resolved, {got['receipts_removed']} of RT's "
          f"receipts removed from {person}'s INBOX (later ones may still arrive)")
    return complete


def lab_up() -> Lab:
    """The lab, or a clear message of what is missing."""
    prefix = os.environ.get("GEMENSAM_LAB_PREFIX", "gemensam")
    try:
        lab = Lab()
    except (subprocess.CalledProcessError, FileNotFoundError) as error:
        sys.exit(f"lab {prefix}: cannot read the lab's inventory ({error})")
    for needed in ("ssh_config", "secrets/initial-passwords.yml", "secrets/servicedesk-token"):
        if not (lab.state_dir / needed).exists():
            sys.exit(f"lab {prefix} is not up (or not converged): {lab.state_dir / needed} is missing; "
                     "run `make lab` first")
    try:
        reached = lab.ssh(CLIENT, "true", check=False)
    except subprocess.TimeoutExpired:
        sys.exit(f"lab {prefix} is not up: ssh to {CLIENT} timed out")
    if reached.returncode != 0:
        sys.exit(f"lab {prefix} is not up: ssh to {CLIENT} failed: {reached.stderr.strip()}")
    return lab


def on_client(lab: Lab, mode: str, args: list[str], secrets: list[str], timeout: float,
              client: str = CLIENT) -> dict:
    """Runs PROGRAM on the client over the lab's ssh (as lab.ssh does, with a timeout that fits
    the run; secrets on stdin) and returns its figures."""
    command = " ".join(map(shlex.quote, ["python3", "-c", PROGRAM, str(MAIL_POLL), str(TICKET_POLL),
                                         mode, *args]))
    try:
        result = subprocess.run([*lab.ssh_args(client), command], input="".join(s + "\n" for s in secrets),
                                capture_output=True, text=True, timeout=timeout + 60)
    except subprocess.TimeoutExpired:
        sys.exit(f"{mode}: no answer from {client} within {timeout + 60:.0f} s")
    try:
        figures = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        sys.exit(f"{mode} on {client} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    if "error" in figures:
        sys.exit(f"{mode} on {client} failed: {figures['error']}")
    return figures


def first(got: dict) -> str:
    return f", first after {got['first']:.2f} s" if got["first"] is not None else ""


def incomplete(got: dict, wanted: int, what: str) -> bool:
    if got["seen"] >= wanted:
        return True
    print(f"  only {got['seen']} of {wanted} {what} after {got['all']:.0f} s: the figure is a lower bound")
    return False


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"bench took {time.monotonic() - started:.0f} s")
    sys.exit(code)
