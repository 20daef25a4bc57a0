"""The mail move's rules (migration/move_mail.py) and its accepted plan (migration/move.py):
the commands doveadm runs, the verification, and input refused before any host is touched.
The move itself runs against the lab's old and new mail servers in tests/e2e/test_migration.py."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import sys
from collections import Counter
from pathlib import Path

import pytest
from city_fixture import REPO

sys.path.insert(0, str(REPO))
import city_model
import personnel

from migration import ledger, move, move_mail, plan
from migration.discovery import store
from migration.new_side import Result

DATA = REPO / "inventory/stockholm/data"
PERSONNEL = REPO / "inventory/lab/data/personnel/sodermalm.csv"


def listing(*messages):
    return json.dumps([{"mailbox": folder, "hdr.message-id": mid, "size.virtual": str(size),
                        "date.received": date} for folder, mid, size, date in messages])


A = ("INBOX", "<a@sod-ex01>", 120, "2004-05-06 07:08:09")
B = ("Inkorg/Projekt", "<b@sod-ex01>", 3000, "2007-01-02 03:04:05")
C = ("Skickat", "<c@sod-ex01>", 99, "2008-12-31 23:59:59")


def test_the_password_is_quoted_in_the_configuration_and_never_on_a_command_line():
    config = move_mail.imapc_config("10.89.0.113", 143, "hemligt-Lösen1").decode()
    assert config.startswith("!include /etc/dovecot/dovecot.conf\n")
    assert 'imapc_password = "hemligt-Lösen1"\n' in config
    argv = move_mail.sync_argv("/home/automation/.gemensam-migration/sod.conf", "oanders*migrering",
                               "olle.andersson")
    assert argv == ["doveadm", "-c", "/home/automation/.gemensam-migration/sod.conf", "-o",
                    "imapc_user=oanders*migrering", "sync", "-1", "-R", "-l", "300", "-u", "olle.andersson",
                    "imapc:"]
    assert "hemligt" not in shlex.join(argv)


@pytest.mark.parametrize("password", ['a"b', "a\\b", "a'b", "rad\nny", "", "x" * 257])
def test_a_password_dovecots_configuration_cannot_hold_is_refused(password):
    with pytest.raises(move_mail.MailMoveError, match="the mail server's password"):
        move_mail.imapc_config("10.89.0.113", 143, password)


@pytest.mark.parametrize("account", ["o anders", "o\x1banders", 'o"anders', ""])
def test_an_old_account_that_is_no_login_is_refused(account):
    with pytest.raises(move_mail.MailMoveError, match="not an account name"):
        move_mail.login("{account}*migrering", account)


def test_every_old_message_must_be_in_the_new_mailbox_once():
    old = move_mail.manifest(listing(A, B, C), "old")
    assert move_mail.differences(old, move_mail.manifest(listing(C, B, A), "new")) == []
    # Mail that reached the new mailbox since is not a difference.
    new_mail = ("INBOX", "<ny@mail1>", 10, "2026-12-07 10:00:00")
    assert move_mail.differences(old, move_mail.manifest(listing(A, B, C, new_mail), "new")) == []
    assert move_mail.differences(old, move_mail.manifest(listing(A, C), "new")) == [
        "missing: Inkorg/Projekt: <b@sod-ex01> (3000 bytes, 2007-01-02 03:04:05)"]
    assert move_mail.differences(old, move_mail.manifest(listing(A, B, B, C), "new")) == [
        "twice: Inkorg/Projekt: <b@sod-ex01> (3000 bytes, 2007-01-02 03:04:05), 2 times in the new mailbox, "
        "1 in the old"]
    # Another date or folder is another message: a move that lost the date is caught.
    moved_without_date = ("Inkorg/Projekt", "<b@sod-ex01>", 3000, "2026-12-07 10:00:00")
    lost_date = move_mail.manifest(listing(A, moved_without_date, C), "new")
    assert move_mail.differences(old, lost_date)[0].startswith("missing: Inkorg/Projekt: <b@sod-ex01>")


def test_the_manifests_digest_does_not_depend_on_the_listing_order():
    assert move_mail.digest(move_mail.manifest(listing(A, B, C), "x")) == \
        move_mail.digest(move_mail.manifest(listing(C, A, B), "x"))
    assert move_mail.digest(move_mail.manifest(listing(A, B), "x")) != \
        move_mail.digest(move_mail.manifest(listing(A, B, B), "x"))


def test_a_listing_that_is_not_doveadms_is_an_error_naming_the_mailbox():
    with pytest.raises(move_mail.MailMoveError, match="oanders -> olle: old: doveadm's listing is not JSON"):
        move_mail.manifest("Error: no such user", "oanders -> olle: old")
    with pytest.raises(move_mail.MailMoveError, match="without its folder"):
        move_mail.manifest(json.dumps([{"mailbox": "INBOX"}]), "x")


class FakeMailServer:
    """The new mail server as move_mailbox sees it: listings before and after, and dsync."""

    def __init__(self, before, old, after, sync_ok=True):
        self.before, self.old, self.after, self.sync_ok = before, old, after, sync_ok
        self.commands = []
        self.synced = False

    def run_steps(self, steps):
        return [self.run(argv) for argv in steps]

    def run(self, argv, **_):
        self.commands.append(argv)
        if "sync" in argv:
            self.synced = True
            refused = "Error: imapc(10.89.0.113:143): Connection refused"
            return Result(self.sync_ok, "", "" if self.sync_ok else refused)
        if "status" in argv:
            return Result(True, f"messages={len(self.after if self.synced else self.before)}", "")
        if "mail_location=imapc:" in argv:
            return Result(True, listing(*self.old), "")
        return Result(True, listing(*(self.after if self.synced else self.before)), "")


def test_a_moved_mailbox_is_verified_and_counted():
    server = FakeMailServer(before=[A], old=[A, B, C], after=[A, B, C])
    moved = move_mail.move_mailbox(server, "/c.conf", "oanders*migrering", "olle")
    assert (moved.messages, moved.bytes, moved.copied) == (3, 3219, 2)
    assert moved.sha256 == move_mail.digest(move_mail.manifest(listing(A, B, C), ""))


def test_a_message_the_move_lost_is_named():
    server = FakeMailServer(before=[], old=[A, B, C], after=[A, C])
    expected = "oanders*migrering -> olle: missing: Inkorg/Projekt: <b@sod-ex01>"
    with pytest.raises(move_mail.MailMoveError, match=re.escape(expected)):
        move_mail.move_mailbox(server, "/c.conf", "oanders*migrering", "olle")


def test_a_failed_dsync_is_named_with_dovecots_words():
    server = FakeMailServer(before=[], old=[A], after=[], sync_ok=False)
    with pytest.raises(move_mail.MailMoveError, match=r"dsync failed: Error: imapc.*Connection refused"):
        move_mail.move_mailbox(server, "/c.conf", "oanders*migrering", "olle")


# -- the accepted plan --------------------------------------------------------------------


def write_plan(directory: Path) -> int:
    return plan.main(["--organisation", "sodermalm", "--discovery-dir", str(directory),
                      "--personnel", str(PERSONNEL)])


@pytest.fixture
def planned(tmp_path):
    city = city_model.load_city(DATA, register=False)
    person = personnel.load_people([PERSONNEL], city.organisations)[0]
    users = [{"name": "x1", "full_name": "", "description": f"Anst.nr {person['employee_id']}"},
             {"name": "konsult1", "full_name": "Konsult Ett", "description": "Extern personal"}]
    store.write_discovery(tmp_path, "sodermalm", city,
                          file_servers=[{"name": "sod-fs01", "address": "10.18.0.11", "users": users}],
                          mail_servers=[{"name": "sod-ex01", "address": "10.18.0.13",
                                         "mailboxes": [{"account": "x1", "messages": 1, "bytes": 10},
                                                       {"account": "konsult1", "messages": 1, "bytes": 10}]}])
    assert write_plan(tmp_path) == 0
    path = tmp_path / "sodermalm-plan.json"
    return tmp_path, path, hashlib.sha256(path.read_bytes()).hexdigest(), person["username"]


def test_the_plan_prints_the_hash_a_person_accepts(planned, capsys):
    directory, path, accepted, username = planned
    capsys.readouterr()
    assert write_plan(directory) == 0
    assert f"accept it with: --accepted-plan {accepted}" in capsys.readouterr().out
    assert f"--accepted-plan {accepted}" in (directory / "sodermalm-plan.md").read_text(encoding="utf-8")
    decided = json.loads(path.read_text(encoding="utf-8"))
    assert decided["mailboxes"] == [{"server": "sod-ex01", "account": "x1", "user": username}]
    assert decided["held_mailboxes"] == [{"server": "sod-ex01", "account": "konsult1",
                                          "reason": "no person of sodermalm is named 'Konsult Ett'"}]


def organisation():
    return city_model.load_city(DATA, register=False).organisations["sodermalm"]


def rewrite(path: Path, change) -> str:
    decided = json.loads(path.read_text(encoding="utf-8"))
    change(decided)
    path.write_bytes(plan.decisions_json(decided))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_plan_changed_since_it_was_accepted_is_refused(planned):
    _, path, accepted, _ = planned
    rewrite(path, lambda d: d["mailboxes"].append({"server": "sod-ex01", "account": "y", "user": "y"}))
    refused = r"sodermalm-plan\.json: its SHA-256 is [0-9a-f]{64}, not the accepted"
    with pytest.raises(move.BadInput, match=refused):
        move.load_plan(path, accepted, organisation())


SHARE = {"server": "sod-fs01", "share": "Hem", "kind": "homes", "target": "hem", "group": ""}


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["mailboxes"].append({"server": "sod-ex01", "account": "y", "user": "../../etc"}),
     "mailboxes[0].user: expected 1 to 20 ASCII letters"),
    (lambda d: d["mailboxes"].append({"server": "sod-fs01", "account": "y", "user": "y"}),
     "mailboxes[0].server: not an old mail server of sodermalm"),
    (lambda d: d["mailboxes"].append({"server": "sod-ex01", "account": "y z", "user": "y"}),
     "mailboxes[0].account: not an account name"),
    (lambda d: d["mailboxes"].extend([{"server": "sod-ex01", "account": "Y", "user": "y"},
                                      {"server": "sod-ex01", "account": "y", "user": "z"}]),
     "mailboxes[1]: sod-ex01/y is listed twice"),
    (lambda d: d.update(organisation="bromma"), "organisation: this plan is for 'bromma', not sodermalm"),
    (lambda d: d.pop("held_accounts"), "expected the keys"),
    (lambda d: d["held_accounts"].append({"server": "sod-fs01", "account": "k\x1b", "reason": "r"}),
     "held_accounts[0]: expected server, account and reason as text"),
    (lambda d: d["shares"].append(SHARE | {"target": "SOD/../../etc"}),
     "shares[0].target: expected a relative path of plain names"),
    (lambda d: d["shares"].append(SHARE | {"target": "/etc"}),
     "shares[0].target: expected a relative path of plain names"),
    (lambda d: d["shares"].append(SHARE | {"server": "sod-ex01"}),
     "shares[0].server: not an old file server of sodermalm"),
    (lambda d: d["shares"].append(SHARE | {"kind": "mirror"}),
     "shares[0]: expected a share name and a kind of folder, homes"),
    (lambda d: d["shares"].extend([SHARE, SHARE | {"share": "hem"}]),
     "shares[1]: sod-fs01/hem is listed twice"),
    (lambda d: d["groups"].append({"server": "sod-fs01", "group": "SOD_Chefer", "new_group": "",
                                   "users": ["root; rm"]}),
     "groups[0].users: expected user names"),
    (lambda d: d["held_shares"].append({"server": "sod-fs01", "share": "", "reason": "r"}),
     "held_shares[0]: expected server, share and reason as text"),
])
def test_a_bad_plan_is_refused_naming_the_key(planned, change, expected):
    _, path, _, _ = planned
    accepted = rewrite(path, lambda d: (d.update(mailboxes=[], held_accounts=[], shares=[], groups=[]),
                                        change(d)))
    with pytest.raises(move.BadInput, match=re.escape(f"sodermalm-plan.json: {expected}")):
        move.load_plan(path, accepted, organisation())


def test_bad_input_stops_the_move_before_any_host_is_read(planned, tmp_path, monkeypatch, capsys):
    directory, _, accepted, _ = planned
    password = tmp_path / "password"
    password.write_text("hemligt\n", encoding="utf-8")

    def no_host(*_):
        raise AssertionError("a host was read")

    monkeypatch.setattr(move.new_side.CityInventory, "read", no_host)
    common = ["--organisation", "sodermalm", "--discovery-dir", str(directory), "--mail-server-password-file",
              str(password), "--ledger-dir", str(tmp_path / "ledger")]
    assert move.main([*common, "--accepted-plan", "0" * 64]) == 2
    assert "not the accepted" in capsys.readouterr().err
    assert move.main([*common, "--accepted-plan", accepted, "--mail-server-login", "{account}{x}"]) == 2
    assert "--mail-server-login" in capsys.readouterr().err
    assert not (tmp_path / "ledger").exists()


def test_held_accounts_and_mailboxes_are_written_to_the_ledger(tmp_path):
    decided = {"held_accounts": [{"server": "sod-fs01", "account": "konsult1", "reason": "no person"}],
               "held_mailboxes": [{"server": "sod-ex01", "account": "konsult1", "reason": "no person"}],
               "held_shares": [{"server": "sod-fs01", "share": "Arkiv", "reason": "no new share"}]}
    with ledger.open_run(tmp_path, "sodermalm") as run:
        move.record_held(run, decided, {"mail", "files"})
        comment = ledger.ticket_comment(run, "Södermalms stadsdelsnämnd")
    assert "- people sod-fs01/konsult1: held (no person)" in comment
    assert "- mail sod-ex01/konsult1: held (no person)" in comment
    assert "- files sod-fs01/Arkiv: held (no new share)" in comment


def test_the_same_message_twice_in_the_old_mailbox_is_expected_twice():
    assert move_mail.manifest(listing(A, A), "x") == Counter({A: 2})
    assert move_mail.differences(Counter({A: 2}), Counter({A: 1})) == [
        "missing: INBOX: <a@sod-ex01> (120 bytes, 2004-05-06 07:08:09), 1 of 2"]


def test_several_commands_in_one_round_trip_keep_their_own_output_and_status():
    import subprocess

    from migration import new_side

    steps = [["printf", "[1]"], ["sh", "-c", "echo två; exit 3"], ["echo", "@@ not an end"]]
    ran = subprocess.run(["sh", "-c", new_side.steps_script(steps)], capture_output=True, text=True)
    results = new_side.split_steps(ran.stdout, 3, ran.stderr)
    assert [(r.ok, r.stdout) for r in results] == [(True, "[1]"), (False, "två"), (True, "@@ not an end")]
    cut_short = new_side.split_steps(ran.stdout.split("\ntvå")[0], 3, "")
    assert [r.ok for r in cut_short] == [True, False, False]


# -- the wave's change ticket -------------------------------------------------------------


class FakeRT:
    """RT's REST 2.0 as the move uses it: GET a ticket, POST a comment (plain HTTP, local)."""

    def __init__(self, kinds):
        import http.server
        import threading

        self.kinds, self.comments, self.tokens = kinds, [], []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_):
                pass

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                fake.tokens.append(self.headers["Authorization"])
                if self.path != "/REST/2.0/ticket/42":
                    return self.reply(404, {"message": "Not found"})
                return self.reply(200, {"id": 42, "CustomFields": [
                    {"name": "Ärendetyp", "values": fake.kinds}, {"name": "Annat", "values": ["Ändring"]}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.comments.append((self.path, body))
                return self.reply(201, ["Comment recorded"])

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def ticket(self, number=42):
        from migration import servicedesk

        return servicedesk.ChangeTicket(self.url, "hemlig-token", number)


def test_the_runs_summary_is_written_on_the_waves_change_ticket():
    from migration import servicedesk

    rt = FakeRT(["Ändring"])
    try:
        ticket = rt.ticket()
        ticket.check()
        subject = "Flytt av Södermalms stadsdelsnämnd, körning 20261207T032900Z"
        ticket.comment(subject, "- mail: 47 klara\n")
        assert rt.comments == [("/REST/2.0/ticket/42/comment", {
            "ContentType": "text/plain", "Subject": subject, "Content": "- mail: 47 klara\n"})]
        assert rt.tokens == ["token hemlig-token"]
        with pytest.raises(servicedesk.ServicedeskError, match="ticket 7: not found"):
            rt.ticket(7).check()
    finally:
        rt.server.shutdown()


def test_a_ticket_that_is_not_a_change_is_refused_before_anything_moves():
    from migration import servicedesk

    rt = FakeRT(["Begäran"])
    try:
        refused = "ticket 42: Ärendetyp is Begäran, not Ändring"
        with pytest.raises(servicedesk.ServicedeskError, match=refused):
            rt.ticket().check()
    finally:
        rt.server.shutdown()


def test_the_change_ticket_options_go_together(planned, tmp_path, capsys):
    directory, _, accepted, _ = planned
    password = tmp_path / "password"
    password.write_text("hemligt\n", encoding="utf-8")
    assert move.main(["--organisation", "sodermalm", "--discovery-dir", str(directory),
                      "--accepted-plan", accepted, "--mail-server-password-file", str(password),
                      "--change-ticket", "42"]) == 2
    refused = "--change-ticket, --servicedesk-url and --servicedesk-token-file go together"
    assert refused in capsys.readouterr().err
