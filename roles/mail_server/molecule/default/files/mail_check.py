#!/usr/bin/python3
"""Check the mail server as a person's mail program would, from another host.

Passwords come from the environment (MAIL_PASSWORD), never from the command line.
Every TLS connection verifies the server's certificate against the city's CA and
the server's name. Prints one word for the caller to read; exits 0 unless the
check itself could not run.
"""

import argparse
import email
import email.header
import email.message
import imaplib
import os
import re
import smtplib
import ssl
import sys
import time

# The city CA's certificate in the host's trust store, as the scenario names it (--ca-file).
CA_FILE = {"path": ""}


def tls_context():
    context = ssl.create_default_context(cafile=CA_FILE["path"])
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def message(sender, recipient, subject):
    msg = email.message.EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg.set_content("Hej!\n\nDetta är ett prov från Molecule: å ä ö.\n")
    return msg


def submit(args):
    """Send on 587 after STARTTLS, logged in unless --no-login."""
    with smtplib.SMTP(args.host, 587, timeout=30) as smtp:
        smtp.ehlo("dc1." + args.domain)
        smtp.starttls(context=tls_context())
        smtp.ehlo("dc1." + args.domain)
        if not args.no_login:
            smtp.login(args.user, os.environ["MAIL_PASSWORD"])
        try:
            smtp.send_message(message(args.sender, args.to, args.subject))
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as error:
            print("refused", error)
            return
    print("sent")


def deliver(args):
    """Send a message on port 25 without logging in, as another server would."""
    with smtplib.SMTP(args.host, 25, timeout=30) as smtp:
        smtp.ehlo("dc1." + args.domain)
        smtp.starttls(context=tls_context())
        smtp.ehlo("dc1." + args.domain)
        try:
            smtp.send_message(message(args.sender, args.to, args.subject))
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as error:
            print("refused", error)
            return
    print("sent")


def relay(args):
    """Offer a recipient on port 25 without logging in; print the server's reply code."""
    with smtplib.SMTP(args.host, 25, timeout=30) as smtp:
        smtp.ehlo("dc1." + args.domain)
        smtp.starttls(context=tls_context())
        smtp.ehlo("dc1." + args.domain)
        smtp.mail(args.sender)
        code, reply = smtp.rcpt(args.to)
        print(code, reply.decode(errors="replace"))


def imap_login(args):
    """Log in on 993; print accepted or refused."""
    with imaplib.IMAP4_SSL(args.host, 993, ssl_context=tls_context(), timeout=30) as imap:
        try:
            imap.login(args.user, os.environ["MAIL_PASSWORD"])
        except imaplib.IMAP4.error as error:
            print("refused", error)
            return
        print("accepted")
        imap.logout()


def imap_find(args):
    """Wait for a message with the subject in the mailbox (the person's inbox unless
    --mailbox names another); print found, missing, or refused when it cannot be opened."""
    deadline = time.monotonic() + 60
    with imaplib.IMAP4_SSL(args.host, 993, ssl_context=tls_context(), timeout=30) as imap:
        imap.login(args.user, os.environ["MAIL_PASSWORD"])
        while True:
            status, reply = imap.select(quote(args.mailbox), readonly=True)
            if status != "OK":
                print("refused", reply[0].decode(errors="replace"))
                return
            _, data = imap.search(None, "ALL")
            for number in data[0].split():
                _, parts = imap.fetch(number, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                header = email.message_from_bytes(parts[0][1])
                subject = str(email.header.make_header(email.header.decode_header(header["Subject"] or "")))
                if subject == args.subject:
                    print("found")
                    return
            if time.monotonic() > deadline:
                print("missing")
                return
            time.sleep(2)


def imap_list(args):
    """Print the names of the mailboxes the person sees under --mailbox (a LIST pattern)."""
    with imaplib.IMAP4_SSL(args.host, 993, ssl_context=tls_context(), timeout=30) as imap:
        imap.login(args.user, os.environ["MAIL_PASSWORD"])
        _, data = imap.list('""', quote(args.mailbox))
        for line in data:
            if not line:
                continue
            match = re.match(r'^\((?P<flags>[^)]*)\) (?:"[^"]*"|NIL) (?P<name>.*)$', line.decode())
            if match:
                print(match.group("name").strip('"'))


def imap_append(args):
    """Put a message into the mailbox as the person's mail program would (a copy into a
    folder); print appended or refused."""
    with imaplib.IMAP4_SSL(args.host, 993, ssl_context=tls_context(), timeout=30) as imap:
        imap.login(args.user, os.environ["MAIL_PASSWORD"])
        msg = message(args.user + "@" + args.domain, args.to or args.user + "@" + args.domain, args.subject)
        try:
            status, reply = imap.append(quote(args.mailbox), "", None, msg.as_bytes())
        except imaplib.IMAP4.error as error:
            print("refused", error)
            return
        print("appended" if status == "OK" else f"refused {reply[0].decode(errors='replace')}")


def quote(mailbox):
    """A mailbox name as an IMAP quoted string (imaplib sends it as given)."""
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "check", choices=["submit", "deliver", "relay", "imap-login", "imap-find", "imap-list", "imap-append"]
    )
    parser.add_argument("--host", required=True)
    parser.add_argument("--domain", required=True)
    parser.add_argument("--ca-file", required=True)
    parser.add_argument("--user", default="")
    parser.add_argument("--sender", default="")
    parser.add_argument("--to", default="")
    parser.add_argument("--subject", default="")
    parser.add_argument("--mailbox", default="INBOX")
    parser.add_argument("--no-login", action="store_true")
    args = parser.parse_args()
    CA_FILE["path"] = args.ca_file
    checks = {
        "submit": submit,
        "deliver": deliver,
        "relay": relay,
        "imap-login": imap_login,
        "imap-find": imap_find,
        "imap-list": imap_list,
        "imap-append": imap_append,
    }
    checks[args.check](args)


if __name__ == "__main__":
    sys.exit(main())
