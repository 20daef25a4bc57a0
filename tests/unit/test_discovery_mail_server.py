"""migration/discovery/mail_server.py: IMAP's folder names and answers as imaplib hands
them over, and the record of a server whose mailboxes answer, refuse or lie. The real IMAP
conversation is tested against the stand-in (roles/legacy_mail_server, Molecule verify)."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from migration import discover  # noqa: E402
from migration.discovery import mail_server  # noqa: E402

DEVICE = {"name": "sod-mail01", "role": "mail", "address": "10.18.0.13"}


@pytest.mark.parametrize("name, encoded", [
    ("INBOX", "INBOX"),
    ("Arkiv/2004", "Arkiv/2004"),
    ("Skräppost", "Skr&AOQ-ppost"),
    ("Räksmörgås & Co", "R&AOQ-ksm&APY-rg&AOU-s &- Co"),
    ("Åtgärder/Överklaganden", "&AMU-tg&AOQ-rder/&ANY-verklaganden"),
    ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501's example
])
def test_folder_names_are_decoded_and_encoded_as_imap_writes_them(name, encoded):
    assert mail_server.decode_folder_name(encoded.encode()) == name
    assert mail_server.encode_folder_name(name) == f'"{encoded}"'


@pytest.mark.parametrize("bad", [b"Skr&AOQppost", b"&\xff-", b"Inkorg\xe4"])
def test_a_malformed_folder_name_is_refused(bad):
    with pytest.raises(ValueError):
        mail_server.decode_folder_name(bad)


def test_a_list_answer_gives_each_folder_and_whether_it_opens():
    answer = [
        b'(\\HasNoChildren) "/" INBOX',
        b'(\\HasChildren \\Noselect) "/" "Arkiv"',
        b'(\\HasNoChildren) "/" "Arkiv/2004"',
        b'(\\HasNoChildren) "/" "Skr&AOQ-ppost"',
        b'(\\HasNoChildren) "/" "Citat \\"A\\\\B\\""',  # a quoted name's \" and \\
        (b'(\\HasNoChildren) "/" {14}', b"Med {klammer}?"),
    ]
    assert mail_server.parse_list(answer) == [
        ("INBOX", True), ("Arkiv", False), ("Arkiv/2004", True), ("Skräppost", True),
        ('Citat "A\\B"', True), ("Med {klammer}?", True),
    ]
    with pytest.raises(ValueError, match="unreadable LIST"):
        mail_server.parse_list([b"* garbage"])


def test_a_fetch_answer_gives_sizes_and_utc_arrival_dates():
    answer = [b'1 (RFC822.SIZE 2048 INTERNALDATE "31-Dec-2004 23:30:00 -0100")',
              b'2 (INTERNALDATE " 2-Jan-2003 00:30:00 +0100" RFC822.SIZE 17)']
    assert mail_server.parse_fetch(answer) == [(2048, datetime.date(2005, 1, 1)),
                                               (17, datetime.date(2003, 1, 1))]
    with pytest.raises(ValueError, match="unreadable FETCH"):
        mail_server.parse_fetch([b"3 (FLAGS (\\Seen))"])


class FakeServer:
    """Mailboxes as the server would show them; an account not listed is refused."""

    def __init__(self, mailboxes, error=None):
        self.mailboxes, self.error, self.opened = mailboxes, error, []

    def folders(self, account):
        self.opened.append(account)
        if self.error:
            raise self.error
        if account not in self.mailboxes:
            raise mail_server.LoginRefused("[AUTHENTICATIONFAILED] Authentication failed.")
        return self.mailboxes[account]


def day(text):
    return datetime.date.fromisoformat(text)


def test_each_mailbox_is_counted_and_a_refused_login_is_named():
    server = FakeServer({
        "alindbe": [("INBOX", 2, [(1000, day("2008-11-30")), (500, day("2003-02-01"))]),
                    ("Arkiv/2004", 1, [(250, day("2004-06-01"))]), ("Borttaget", 0, [])],
        "bjohans": [("INBOX", 0, [])],
    })
    record = mail_server.discover_mail_server(DEVICE, server, ["alindbe", "bjohans", "cokand"])
    assert [m["account"] for m in record["mailboxes"]] == ["alindbe", "bjohans"]
    first = record["mailboxes"][0]
    assert (first["messages"], first["bytes"], first["oldest"], first["newest"]) == \
        (3, 1750, "2003-02-01", "2008-11-30")
    assert first["folders"][1] == {"name": "Arkiv/2004", "messages": 1, "bytes": 250}
    assert "oldest" not in record["mailboxes"][1]
    assert len(record["problems"]) == 1 and record["problems"][0].startswith("cokand: no mailbox opened")


def test_a_hostile_folder_name_is_left_out_and_named_and_the_rest_is_kept():
    server = FakeServer({"alindbe": [("INBOX", 1, [(10, day("2005-05-05"))]),
                                     ("Bad\x1b[2Jname", 1, [(20, day("2005-05-05"))]),
                                     ("x" * 300, 0, [])]})
    record = mail_server.discover_mail_server(DEVICE, server, ["alindbe"])
    assert [folder["name"] for folder in record["mailboxes"][0]["folders"]] == ["INBOX"]
    assert len(record["problems"]) == 2
    assert all("sod-mail01" in problem and "folders[" in problem for problem in record["problems"])
    assert "\x1b" not in "".join(record["problems"])


def test_an_unreachable_server_is_named_once_not_waited_for_per_account():
    server = FakeServer({}, error=ConnectionRefusedError(111, "Connection refused"))
    record = mail_server.discover_mail_server(DEVICE, server, ["a", "b", "c"])
    assert server.opened == ["a"]
    assert record["mailboxes"] == [] and "ConnectionRefusedError" in record["problems"][0]


def test_the_accounts_are_the_old_accounts_without_built_in_ones_each_once():
    file_servers = [{"users": [{"name": "Administrator"}, {"name": "alindbe"}, {"name": "Guest"},
                               {"name": "IUSR_SOD-FS01"}, {"name": "Bjohans"}]},
                    {"users": [{"name": "ALINDBE"}, {"name": "konsult1"}]}]
    assert mail_server.mailbox_accounts(file_servers) == ["alindbe", "Bjohans", "konsult1"]


@pytest.mark.parametrize("login", ["{account}", "SOD\\migr\\{account}", "{account}*migrering"])
def test_a_login_template_opens_the_named_mailbox(login, tmp_path):
    arguments = discover.parse_arguments(["--organisation", "sodermalm", "--mail-server-login", login])
    assert discover.checked_mail_options(arguments) == []


@pytest.mark.parametrize("login", ["admin", "{account}{account}", "{account.__class__}", "{0}{account}",
                                   "{account} x", "{account}\x00"])
def test_a_login_template_that_is_not_one_account_is_refused_before_anything(login, capsys):
    code = discover.main(["--organisation", "sodermalm", "--mail-server-login", login,
                          "--mail-server-password-file", "/nonexistent"])
    assert code == 2
    assert "--mail-server-login" in capsys.readouterr().err


def test_an_accounts_file_with_a_bad_line_is_refused_naming_the_line(tmp_path, capsys):
    accounts = tmp_path / "konton.txt"
    accounts.write_text("alindbe\n\nbjohans\nevil\x1b]0;x\x07\n", encoding="utf-8")
    code = discover.main(["--organisation", "sodermalm", "--mail-accounts-file", str(accounts),
                          "--mail-server-password-file", "/nonexistent"])
    assert code == 2
    error = capsys.readouterr().err
    assert "konton.txt: line 4: not an account name" in error and "\x1b" not in error
