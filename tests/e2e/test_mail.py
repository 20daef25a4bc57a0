"""Mail as people use it: a person at Södermalm sends a mail to a person at Bromma
through submission (STARTTLS, logged in), and the Bromma person reads it over IMAPS.
dc2 plays the person's machine: it trusts the city CA and resolves the lab's names;
the password reaches the mail program on stdin, never a command line."""

import shlex
import uuid

import pytest
from conftest import city_names, employees, username_of, wait_for

CLIENT = "dc2"

SEND = """
import smtplib, ssl, sys
from email.message import EmailMessage
password = sys.stdin.readline().rstrip("\\n")
user, sender, recipient, subject, host, login = sys.argv[1:7]
message = EmailMessage()
message["From"], message["To"], message["Subject"] = sender, recipient, subject
message.set_content("Hej!\\nKan vi ses på Rosenlundsgatan i morgon? Hälsningar från Södermalm.\\n")
with smtplib.SMTP(host, 587, timeout=30) as smtp:
    smtp.starttls(context=ssl.create_default_context())
    if login == "login":
        smtp.login(user, password)
    smtp.send_message(message)
print("sent")
"""

READ = """
import email, email.header, imaplib, ssl, sys
password = sys.stdin.readline().rstrip("\\n")
user, host = sys.argv[1:3]
with imaplib.IMAP4_SSL(host, 993, ssl_context=ssl.create_default_context()) as imap:
    imap.login(user, password)
    imap.select("INBOX", readonly=True)
    _, ids = imap.search(None, "ALL")
    for number in ids[0].split():
        _, data = imap.fetch(number, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        header = email.message_from_bytes(data[0][1])["Subject"]
        print(str(email.header.make_header(email.header.decode_header(header))))
"""


def python(lab, code, args, password):
    return lab.ssh(CLIENT, f"python3 -c {shlex.quote(code)} {' '.join(map(shlex.quote, args))}",
                   check=False, stdin=password + "\n")


@pytest.fixture(scope="module")
def people(lab):
    return (username_of(lab, employees("sodermalm")[0]["employee_id"]),
            username_of(lab, employees("bromma")[0]["employee_id"]))


def test_a_person_at_sodermalm_mails_a_person_at_bromma(lab, passwords, people):
    sender, recipient = people
    domain = lab.hostvars["mail1"]["baseline_domain"]
    host = f"mail1.{domain}"
    subject = f"Möte om förskolorna i Bromma och Södermalm {uuid.uuid4().hex[:8]}"

    sent = python(lab, SEND, [sender, f"{sender}@{domain}", f"{recipient}@{domain}", subject, host, "login"],
                  passwords[sender])
    assert sent.stdout.strip() == "sent", sent.stderr

    received = wait_for(lambda: subject in python(lab, READ, [recipient, host], passwords[recipient]).stdout,
                        timeout=60, interval=3)
    assert received, python(lab, READ, [recipient, host], passwords[recipient]).stderr


def test_sending_without_logging_in_is_refused(lab, people):
    sender, recipient = people
    domain = lab.hostvars["mail1"]["baseline_domain"]
    result = python(lab, SEND, [sender, f"{sender}@{domain}", f"{recipient}@{domain}", "Utan inloggning",
                                f"mail1.{domain}", "anonymous"], "")
    assert result.returncode != 0 and "sent" not in result.stdout


SHARED = """
import email, email.header, imaplib, ssl, sys
password = sys.stdin.readline().rstrip("\\n")
user, host, mailbox = sys.argv[1:4]
with imaplib.IMAP4_SSL(host, 993, ssl_context=ssl.create_default_context()) as imap:
    imap.login(user, password)
    _, listed = imap.list('""', '"Funktion/*"')
    for line in listed:
        if line:
            print("listed", line.decode().rsplit(" ", 1)[-1].strip('"'))
    status, _ = imap.select('"' + mailbox + '"', readonly=True)
    if status != "OK":
        print("refused")
        sys.exit()
    _, ids = imap.search(None, "ALL")
    for number in ids[0].split():
        _, data = imap.fetch(number, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        header = email.message_from_bytes(data[0][1])["Subject"]
        print("subject", str(email.header.make_header(email.header.decode_header(header))))
"""


@pytest.fixture(scope="module")
def registrator_member(lab, people):
    """A Södermalm person made a member of Södermalm's registry mailbox (its group, which
    the directory role made), as an order would; removed afterwards if this test added
    them."""
    member = people[0]
    group = city_names.mailbox_group("SOD", "registrator")
    base = city_names.base_dn(lab.hostvars["dc1"]["baseline_domain"])
    members = lab.ssh("dc1", f"sudo samba-tool group listmembers {group}").stdout.split()
    added = member not in members
    if added:
        lab.ssh("dc1", f"sudo samba-tool group addmembers {group} {shlex.quote(member)}")
    # Whichever DC the mail server asks holds the member now, not at the next replication.
    lab.ssh("dc2", f"sudo samba-tool drs replicate dc2 dc1 {base}")
    # What the timer runs every few minutes: the mail server reads the directory's
    # functional mailboxes now instead of later.
    lab.ssh("mail1", "sudo systemctl start mail-functional-mailboxes.service")
    yield member
    if added:
        lab.ssh("dc1", f"sudo samba-tool group removemembers {group} {shlex.quote(member)}")
        lab.ssh("dc2", f"sudo samba-tool drs replicate dc2 dc1 {base}")


def test_a_member_reads_the_registrators_mail_and_a_bromma_person_cannot(lab, passwords, people,
                                                                        registrator_member):
    outsider = people[1]
    domain = lab.hostvars["mail1"]["baseline_domain"]
    host = f"mail1.{domain}"
    mailbox = "Funktion/sod-registrator"
    subject = f"Ansökan om bygglov på Ringvägen, för diarieföring {uuid.uuid4().hex[:8]}"

    sent = python(lab, SEND, [outsider, f"{outsider}@{domain}", f"sod-registrator@{domain}", subject, host,
                              "login"], passwords[outsider])
    assert sent.stdout.strip() == "sent", sent.stderr

    def as_member():
        return python(lab, SHARED, [registrator_member, host, mailbox], passwords[registrator_member])

    received = wait_for(lambda: f"subject {subject}" in as_member().stdout.splitlines(), timeout=60,
                        interval=3)
    result = as_member()
    assert received, result.stdout + result.stderr
    assert f"listed {mailbox}" in result.stdout.splitlines(), result.stdout

    refused = python(lab, SHARED, [outsider, host, mailbox], passwords[outsider])
    assert refused.returncode == 0, refused.stderr
    assert "refused" in refused.stdout.splitlines(), refused.stdout
    assert "sod-registrator" not in refused.stdout and subject not in refused.stdout
