"""Moving Södermalm's mail and files, as an operator does it and as its people see it
afterwards, and retiring the old file server.

The lab runs Södermalm's old servers (inventory/lab: legacy_hosts): sod-fs01 (Samba, SMB1)
and sod-ex01 (IMAP, 20,000 messages). The operator discovers them from this machine,
writes the plan, accepts its hash and moves the mail with migration/move.py, which runs
dsync on mail1 through pyinfra. The first run is killed with SIGKILL half-way; the next
completes it. A person then logs in over IMAPS with their new account and finds their old
mail in the same folders with the same dates, each message once. A message that reached
the old server after the move arrives with the cut-over run, and only it is copied. Each
run's summary is written on the wave's change ticket in the servicedesk.

Then the files: move.py moves every old share onto fs1 (migration/file_mover.py, run there
through pyinfra). A person finds their old files in their home and in their department's
share, with the old dates and the same bytes, owned by them; a folder the old ACL kept to
the chefs is still closed to them; a file changed and a file added on the old server since
come with the cut-over run, and only they. Then the printers: sod-ps01's queues (CUPS,
read over IPP) are mapped onto the sites' new queues of the same printers, and a person's
job to the new queue of the printer they used reaches it. Last, migration/retire.py shuts
sod-fs01 down over RPC and records it as retired in (a copy of) the city data.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time

import city_model  # conftest puts module_utils on sys.path
import pytest
from conftest import PERSONNEL, REPO, username_of, wait_for
from test_orders import history
from test_servicedesk import Servicedesk

from migration import file_names

CLIENT = "dc2"   # the person's machine: trusts the city CA, resolves the lab's names
PYTHON = str(REPO / ".venv/bin/python")


def secret(lab, name):
    return (lab.state_dir / "secrets" / name).read_text(encoding="utf-8").split()[0]


class Operator:
    """The migration's commands, run from this machine as an operator runs them."""

    def __init__(self, lab, directory):
        self.lab, self.directory = lab, directory
        self.ledger_dir = directory / "ledger"
        self.mail_password = directory / "mail-password"
        self.mail_password.write_text(secret(lab, "legacy-sod-ex01-migrering") + "\n", encoding="utf-8")
        self.mail_password.chmod(0o600)
        self.token = directory / "servicedesk-token"
        self.token.write_text((lab.state_dir / "secrets/servicedesk-token").read_text(encoding="utf-8"),
                              encoding="utf-8")
        self.token.chmod(0o600)
        self.accepted = ""
        self.change_ticket = 0

    def command(self, script, *arguments):
        return [PYTHON, str(REPO / "migration" / script), "--organisation", "sodermalm", *arguments]

    def run(self, script, *arguments, timeout=900):
        return subprocess.run(self.command(script, *arguments), cwd=REPO, capture_output=True, text=True,
                              timeout=timeout)

    def discover(self):
        auth = self.directory / "fs-auth"
        password = secret(self.lab, "legacy-sod-fs01-administrator")
        auth.write_text(f"username = Administrator\npassword = {password}\n", encoding="utf-8")
        auth.chmod(0o600)
        return self.run("discover.py", "--output-dir", str(self.directory),
                        "--file-server-auth-file", str(auth),
                        "--file-server-host", f"sod-fs01={self.lab.address('sod-fs01')}",
                        "--mail-server-password-file", str(self.mail_password),
                        "--mail-server-host", f"sod-ex01={self.lab.address('sod-ex01')}",
                        "--print-servers", "--print-server-host", f"sod-ps01={self.lab.address('sod-ps01')}")

    def plan(self):
        result = self.run("plan.py", "--discovery-dir", str(self.directory),
                          "--personnel", str(PERSONNEL / "sodermalm.csv"))
        found = re.search(r"--accepted-plan ([0-9a-f]{64})", result.stdout)
        self.accepted = found.group(1) if found else ""
        return result

    def move_arguments(self, *extra, old_server=None):
        return ["--accepted-plan", self.accepted, "--discovery-dir", str(self.directory),
                "--inventory", "inventory/lab", "--ssh-config", str(self.lab.state_dir / "ssh_config"),
                "--mail-server-password-file", str(self.mail_password),
                "--mail-server-host", f"sod-ex01={old_server or self.lab.address('sod-ex01')}",
                "--ledger-dir", str(self.ledger_dir), *self.ticket_arguments(), *extra]

    def ticket_arguments(self):
        return ["--change-ticket", str(self.change_ticket),
                "--servicedesk-url", f"https://desk1.{self.lab.hostvars['desk1']['baseline_domain']}",
                "--servicedesk-token-file", str(self.token),
                "--servicedesk-ca", str(self.lab.state_dir / "secrets/ca/ca.crt")]

    def file_arguments(self, *extra):
        return ["--accepted-plan", self.accepted, "--discovery-dir", str(self.directory),
                "--inventory", "inventory/lab", "--ssh-config", str(self.lab.state_dir / "ssh_config"),
                "--file-server-auth-file", str(self.directory / "fs-auth"),
                "--file-server-host", f"sod-fs01={self.lab.address('sod-fs01')}",
                "--ledger-dir", str(self.ledger_dir), *extra]

    def move(self, *extra, old_server=None):
        return self.run("move.py", *self.move_arguments(*extra, old_server=old_server))

    def ledger(self):
        path = self.ledger_dir / "sodermalm.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def last_states(entries, step="mail"):
    last = {}
    for entry in entries:
        if entry["step"] == step:
            last[entry["item"]] = entry
    return last


@pytest.fixture(scope="module")
def desk(lab):
    return Servicedesk(lab)


@pytest.fixture(scope="module")
def operator(lab, desk, tmp_path_factory):
    operator = Operator(lab, tmp_path_factory.mktemp("migration"))
    # The wave's change ticket, as the change manager opens it in the central queue.
    created = desk.call("POST", "/ticket", {
        "Queue": "Gemensam IT",
        "Subject": "Våg 1: flytt av Södermalms stadsdelsnämnd", "CustomFields": {"Ärendetyp": "Ändring"}})
    assert created["status"] == 201, created
    operator.change_ticket = int(created["body"]["id"])
    discovered = operator.discover()
    assert discovered.returncode == 0, discovered.stdout + discovered.stderr
    planned = operator.plan()
    assert planned.returncode == 0 and operator.accepted, planned.stdout + planned.stderr
    return operator


@pytest.fixture(scope="module")
def decided(operator):
    return json.loads((operator.directory / "sodermalm-plan.json").read_text(encoding="utf-8"))


def killed_once_done(operator, arguments, step, count):
    """Runs move.py and kills it with SIGKILL once `count` items of `step` are done in the
    ledger; returns its exit status and what it wrote to stderr."""
    killed = subprocess.Popen(operator.command("move.py", *arguments), cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    ledger_file = operator.ledger_dir / "sodermalm.jsonl"
    done = f'"state": "done", "step": "{step}"'

    def enough_done():
        if killed.poll() is not None:
            return True
        lines = ledger_file.read_text(encoding="utf-8").splitlines() if ledger_file.exists() else []
        return sum(done in line for line in lines) >= count

    assert wait_for(enough_done, timeout=600, interval=0.1)
    os.killpg(killed.pid, signal.SIGKILL)
    _, killed_stderr = killed.communicate()
    return killed.returncode, killed_stderr.decode(errors="replace")


@pytest.fixture(scope="module")
def killed_then_moved(lab, operator, decided):
    """The first move, killed with SIGKILL once 5 mailboxes are done; then the re-run."""
    returncode, killed_stderr = killed_once_done(operator, operator.move_arguments(), "mail", 5)
    at_kill = operator.ledger()
    rerun = operator.move()
    return returncode, killed_stderr, at_kill, rerun


def test_the_plan_holds_the_old_accounts_without_a_person(decided):
    held = {entry["account"] for entry in decided["held_accounts"]}
    assert held, "the stand-in has old accounts with no person (consultants, temporary staff)"
    assert len(decided["mailboxes"]) >= 40


def test_a_run_killed_half_way_is_completed_by_the_next(operator, decided, killed_then_moved):
    returncode, killed_stderr, at_kill, rerun = killed_then_moved
    assert returncode == -signal.SIGKILL, f"the first run ended before it was killed: {killed_stderr}"
    done_at_kill = {item for item, entry in last_states(at_kill).items() if entry["state"] == "done"}
    assert 5 <= len(done_at_kill) < len(decided["mailboxes"])
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    last = last_states(operator.ledger())
    moving = {f"{box['server']}/{box['account']}" for box in decided["mailboxes"]}
    assert {item for item in moving if last[item]["state"] == "done"} == moving
    # The re-run skipped the mailboxes done before the kill and moved the rest.
    rerun_run = operator.ledger()[-1]["run"]
    redone = {e["item"] for e in operator.ledger() if e["run"] == rerun_run and e["state"] == "done"}
    assert redone == moving - done_at_kill


def test_the_ledger_and_the_ticket_list_the_held_accounts(operator, desk, decided, killed_then_moved):
    held = {f"{e['server']}/{e['account']}" for e in decided["held_accounts"]}
    people = last_states(operator.ledger(), "people")
    assert {item for item, e in people.items() if e["state"] == "held"} == held
    tickets = sorted(operator.ledger_dir.glob("sodermalm-*.ticket.txt"))
    comment = tickets[-1].read_text(encoding="utf-8")
    assert comment.startswith("Flytt av Södermalms stadsdelsnämnd")
    for item in held:
        assert f"- people {item}: held" in comment
    # The killed run wrote nothing on the change ticket; the re-run wrote its summary there.
    _, comments = history(desk, operator.change_ticket)
    assert len(comments) == 1, comments
    assert comment.splitlines()[0] in comments[0]
    for item in held:
        assert f"- people {item}: held" in comments[0]


def test_a_move_on_a_ticket_that_is_no_change_is_refused_before_anything_moves(lab, operator, desk):
    created = desk.call("POST", "/ticket", {"Queue": "SOD", "Subject": "Skrivaren krånglar",
                                            "CustomFields": {"Ärendetyp": "Incident"}})
    assert created["status"] == 201, created
    entries = len(operator.ledger())
    result = operator.run("move.py", *operator.move_arguments("--cut-over", "--change-ticket",
                                                              str(created["body"]["id"])))
    assert result.returncode == 2
    assert f"ticket {created['body']['id']}: Ärendetyp is Incident, not Ändring" in result.stderr
    assert len(operator.ledger()) == entries


READ_MAILBOX = """
import imaplib, json, ssl, sys
password = sys.stdin.readline().rstrip("\\n")
user, host = sys.argv[1:3]
found = []
with imaplib.IMAP4_SSL(host, 993, ssl_context=ssl.create_default_context()) as imap:
    imap.login(user, password)
    _, folders = imap.list()
    for line in folders:
        name = line.decode().rsplit(' "/" ', 1)[1].strip('"')
        _, count = imap.select('"' + name + '"', readonly=True)
        if count[0] == b"0":
            continue
        _, data = imap.fetch("1:*", "(INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        for part in data:
            if isinstance(part, tuple):
                date = imaplib.Internaldate2tuple(part[0])
                message_id = part[1].decode().split(":", 1)[1].strip() if b":" in part[1] else ""
                found.append([name, message_id, int(__import__("time").mktime(date))])
print(json.dumps(found))
"""


def read_mailbox(lab, user, password):
    host = f"mail1.{lab.hostvars['mail1']['baseline_domain']}"
    result = lab.ssh(CLIENT, f"python3 -c {shlex.quote(READ_MAILBOX)} {shlex.quote(user)} {host}",
                     check=False, stdin=password + "\n")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def old_mailbox(lab, account):
    """What the old server held for an account, as the stand-in's bundle records it."""
    described = json.loads((lab.state_dir / "legacy/sod-ex01.json").read_text(encoding="utf-8"))
    box = next(b for b in described["mailboxes"] if b["account"] == account)
    return [[m["folder"], m["message_id"], m["date"]] for m in box["messages"]]


@pytest.fixture(scope="module")
def person(lab, decided, passwords, killed_then_moved):
    """The moved person with the most old mail, of those the lab's directory has a password for."""
    with_password = [box for box in decided["mailboxes"] if box["user"] in passwords]
    return max(with_password, key=lambda box: (len(old_mailbox(lab, box["account"])), box["account"]))


def test_a_person_finds_their_old_mail_in_the_same_folders_with_the_same_dates(lab, passwords, person):
    old = old_mailbox(lab, person["account"])
    assert {folder for folder, _, _ in old} >= {"INBOX", "Inkorg/Projekt"}, "too little old mail to test with"
    new = read_mailbox(lab, person["user"], passwords[person["user"]])
    # Each old message once, in its folder, with its arrival date to the second.
    old_messages = {(folder, message_id) for folder, message_id, _ in old}
    moved = [message for message in new if (message[0], message[1]) in old_messages]
    assert sorted(moved) == sorted(old)


def test_the_cut_over_copies_only_what_arrived_since(lab, operator, desk, passwords, person):
    message_id = f"<cutover.{time.time_ns()}@sod-ex01.sod.stockholm.se>"
    arrived = email.utils.formatdate(localtime=False)
    text = (f"From: Registrator <registrator@sod.stockholm.se>\nTo: {person['account']}@sod.stockholm.se\n"
            "Subject: =?utf-8?q?Sista_brevet_f=C3=B6re_flytten?=\n"
            f"Date: {arrived}\nMessage-ID: {message_id}\n\n"
            "Hej! Det här kom efter den första flytten.\n")
    maildir = f"/srv/gamla-post/{person['account']}/Maildir/new/{time.time_ns()}.cutover.sod-ex01"
    lab.ssh("sod-ex01", f"sudo -u vmail tee {shlex.quote(maildir)} >/dev/null", stdin=text)
    result = operator.move("--cut-over")
    assert result.returncode == 0, result.stderr
    run = operator.ledger()[-1]["run"]
    cut_over = [e for e in operator.ledger() if e["run"] == run and e["state"] == "done"]
    copied = {e["item"]: e["counts"].get("copied", 0) for e in cut_over}
    assert copied.pop(f"sod-ex01/{person['account']}") == 1
    assert set(copied.values()) == {0}
    new = read_mailbox(lab, person["user"], passwords[person["user"]])
    assert [m[0] for m in new if m[1] == message_id] == ["INBOX"]
    _, comments = history(desk, operator.change_ticket)
    assert len(comments) == 2 and "copied 1," in comments[-1], comments


def test_an_unreachable_old_server_is_named_and_nothing_moved_is_undone(lab, operator, passwords, person):
    before = read_mailbox(lab, person["user"], passwords[person["user"]])
    nobody = lab.hostvars["mail1"]["datacentre_network"].rsplit(".", 1)[0] + ".254"
    result = operator.move("--cut-over", old_server=nobody)
    assert result.returncode == 1
    assert "sod-ex01: the old server does not answer" in result.stderr
    assert operator.ledger()[-1]["item"] == "sod-ex01" and operator.ledger()[-1]["state"] == "failed"
    assert sorted(read_mailbox(lab, person["user"], passwords[person["user"]])) == sorted(before)



# The files. The old server's disk is read below only to know what a person should find.
OLD_ROOT = "/srv/gamla"


def old_files(lab):
    return json.loads((lab.state_dir / "legacy/sod-fs01.json").read_text(encoding="utf-8"))


def plain(path):
    """Whether every part of an old path is a name the new server keeps as it is."""
    return all(file_names.new_name(part) == part for part in path.split("/"))


def sha256_on(lab, host, path):
    return lab.ssh(host, f"sudo sha256sum {shlex.quote(path)}").stdout.split()[0]


def owner_and_date(lab, host, path):
    owner, mtime = lab.ssh(host, f"sudo stat -c '%U %Y' {shlex.quote(path)}").stdout.split()
    return owner, int(mtime)


def smb(lab, user, password, share, commands):
    script = f"PASSWD=$(cat) smbclient //fs1/{shlex.quote(share)} -U {user} -c {shlex.quote(commands)}"
    return lab.ssh(CLIENT, script, check=False, stdin=password + "\n")


@pytest.fixture(scope="module")
def files_moved(operator, killed_then_moved):
    """The first file move, killed with SIGKILL once 3 shares are done; then the re-run."""
    returncode, killed_stderr = killed_once_done(operator, operator.file_arguments(), "files", 3)
    at_kill = last_states(operator.ledger(), "files")
    rerun = operator.run("move.py", *operator.file_arguments())
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    return returncode, killed_stderr, at_kill


def test_a_file_move_killed_half_way_is_completed_by_the_next(operator, decided, files_moved):
    returncode, killed_stderr, at_kill = files_moved
    assert returncode == -signal.SIGKILL, f"the first run ended before it was killed: {killed_stderr}"
    done_at_kill = {item for item, entry in at_kill.items() if entry["state"] == "done"}
    planned = {f"{s['server']}/{s['share']}" for s in decided["shares"]}
    assert 3 <= len(done_at_kill) < len(planned)
    rerun_run = operator.ledger()[-1]["run"]
    redone = {e["item"] for e in operator.ledger()
              if e["run"] == rerun_run and e["step"] == "files" and e["state"] == "done"}
    assert redone == planned - done_at_kill


def test_every_share_is_moved_and_the_renamed_and_held_are_listed(operator, decided, files_moved):
    last = last_states(operator.ledger(), "files")
    planned = {f"{s['server']}/{s['share']}" for s in decided["shares"]}
    assert planned and {item for item, e in last.items() if e["state"] == "done"} == planned
    assert sum(last[item]["counts"]["files"] for item in planned) > 2500
    report = sorted(operator.ledger_dir.glob("sodermalm-*.files.txt"))[-1].read_text(encoding="utf-8")
    assert re.search(r"^renamed: .*/CON\.txt -> .*/CON_\.txt$", report, re.MULTILINE), report[:2000]
    held_homes = {e["account"] for e in decided["held_accounts"]} & {
        f["path"].split("/")[0] for f in old_files(operator.lab)["files"] if f["share"] == "Hem"}
    for account in held_homes:
        assert f"held (an account the plan holds): {account}" in report


@pytest.fixture(scope="module")
def home_file(lab, decided, passwords, files_moved):
    """A moved person with a password, and one of their old home's files with a plain name."""
    users = {a["account"]: a["user"] for a in decided["accounts"]}
    for old in old_files(lab)["files"]:
        account, _, rest = old["path"].partition("/")
        if old["share"] == "Hem" and users.get(account) in passwords and plain(rest) and old["size"] > 0:
            return users[account], rest, old
    pytest.fail("no moved person with a password has a plainly named file in their old home")


def test_a_person_finds_their_old_files_in_their_home_with_the_old_dates(lab, passwords, home_file):
    user, path, old = home_file
    folder, _, name = path.rpartition("/")
    listed = smb(lab, user, passwords[user], user, f'cd "{folder}"; ls; get "{name}" /tmp/e2e-home-file')
    assert listed.returncode == 0 and name in listed.stdout, listed.stdout + listed.stderr
    fetched = lab.ssh(CLIENT, "sha256sum /tmp/e2e-home-file && rm -f /tmp/e2e-home-file").stdout.split()[0]
    assert fetched == sha256_on(lab, "sod-fs01", f"{OLD_ROOT}/Hem/{old['path']}")
    _, old_date = owner_and_date(lab, "sod-fs01", f"{OLD_ROOT}/Hem/{old['path']}")
    assert old_date == old["mtime"], "the old server's file changed since the lab made it"
    assert owner_and_date(lab, "fs1", f"/srv/filer/hem/{user}/{path}") == (user, old_date)


@pytest.fixture(scope="module")
def department_files(lab, decided, passwords, files_moved):
    """A moved person who is no chef, their department's new share, one of its plainly named
    files and a file of its Personalärenden folder (the chefs' only)."""
    described = old_files(lab)
    chefs = set(next(g["members"] for g in described["groups"] if g["name"].endswith("_Chefer")))
    users = {a["account"]: a["user"] for a in decided["accounts"]}
    shares = {s["share"]: s for s in decided["shares"] if s["kind"] == "folder"}
    for group in described["groups"]:
        share = next((s for s in described["shares"]
                      if s["group"] == group["name"] and s["name"] in shares), None)
        members = [m for m in group["members"] if m not in chefs and users.get(m) in passwords]
        files = [f for f in described["files"] if share and f["share"] == share["name"] and plain(f["path"])]
        restricted = [f for f in files if "/Personalärenden/" in f["path"]]
        ordinary = [f for f in files if "/Personalärenden/" not in f["path"] and f["size"] > 0
                    and f["owner"] in users]
        if members and restricted and ordinary:
            new_share = "SOD-" + shares[share["name"]]["target"].rsplit("/", 1)[-1]
            return users[members[0]], new_share, share["name"], ordinary[0], restricted[0]
    pytest.fail("no department share has both an ordinary file and a Personalärenden file")


def test_a_person_finds_their_departments_old_files_with_the_old_dates(lab, decided, passwords,
                                                                       department_files):
    user, share, old_share, ordinary, _ = department_files
    folder, _, name = ordinary["path"].rpartition("/")
    got = smb(lab, user, passwords[user], share, f'cd "{folder}"; get "{name}" /tmp/e2e-dept-file')
    assert got.returncode == 0 and "NT_STATUS" not in got.stdout + got.stderr, got.stdout + got.stderr
    fetched = lab.ssh(CLIENT, "sha256sum /tmp/e2e-dept-file && rm -f /tmp/e2e-dept-file").stdout.split()[0]
    assert fetched == sha256_on(lab, "sod-fs01", f"{OLD_ROOT}/{old_share}/{ordinary['path']}")
    department = share.removeprefix("SOD-")
    # Owned by the person the old owner became, with the old date.
    _, old_date = owner_and_date(lab, "sod-fs01", f"{OLD_ROOT}/{old_share}/{ordinary['path']}")
    assert old_date == ordinary["mtime"], "the old server's file changed since the lab made it"
    new_owner = {a["account"]: a["user"] for a in decided["accounts"]}[ordinary["owner"]]
    assert owner_and_date(lab, "fs1", f"/srv/filer/SOD/Avdelningar/{department}/{ordinary['path']}") == (
        new_owner, old_date)
    # Each old file of the share once, the killed run's included.
    count = lab.ssh("fs1", f"sudo find /srv/filer/SOD/Avdelningar/{department} -type f | wc -l").stdout
    assert int(count) == sum(f["share"] == old_share for f in old_files(lab)["files"])


def test_a_folder_the_old_acl_kept_from_a_person_is_still_kept_from_them(lab, passwords, department_files):
    user, share, _, _, restricted = department_files
    folder, _, name = restricted["path"].rpartition("/")
    denied = smb(lab, user, passwords[user], share, f'cd "{folder}"; get "{name}" /tmp/e2e-denied')
    assert "NT_STATUS_ACCESS_DENIED" in denied.stdout + denied.stderr, denied.stdout + denied.stderr
    assert lab.ssh(CLIENT, "test ! -e /tmp/e2e-denied", check=False).returncode == 0
    # The year's folder around it is theirs to open: the refusal is the old ACL's, not the share's.
    year = folder.rsplit("/", 1)[0]
    assert smb(lab, user, passwords[user], share, f'cd "{year}"; ls').returncode == 0


def test_the_file_cut_over_copies_only_what_changed_and_was_added(lab, operator, passwords, home_file):
    """Between the runs the person worked on the old server: changed a file, added one and
    deleted one. The cut-over copies the two, and the deleted file is gone on the new side."""
    user, path, old = home_file
    account = old["path"].split("/")[0]
    old_path = f"{OLD_ROOT}/Hem/{old['path']}"
    added = f"{OLD_ROOT}/Hem/{account}/Sista filen före flytten.txt"
    deleted = next((f["path"].partition("/")[2] for f in old_files(lab)["files"]
                    if f["share"] == "Hem" and f["path"].startswith(f"{account}/")
                    and f["path"] != old["path"] and plain(f["path"])), None)
    assert deleted, f"{account}'s old home has no second plainly named file to delete"
    assert lab.ssh("fs1", f"sudo test -f {shlex.quote(f'/srv/filer/hem/{user}/{deleted}')}",
                   check=False).returncode == 0, "the file to delete was not moved in the first place"
    lab.ssh("sod-fs01", f"printf 'ändrad\\n' | sudo tee -a {shlex.quote(old_path)} >/dev/null && "
                        f"printf 'ny\\n' | sudo tee {shlex.quote(added)} >/dev/null && "
                        f"sudo chown --reference={shlex.quote(old_path)} {shlex.quote(added)} && "
                        f"sudo rm {shlex.quote(f'{OLD_ROOT}/Hem/{account}/{deleted}')}")
    result = operator.run("move.py", *operator.file_arguments("--cut-over"))
    assert result.returncode == 0, result.stdout + result.stderr
    run = operator.ledger()[-1]["run"]
    counts = {e["item"]: e["counts"] for e in operator.ledger()
              if e["run"] == run and e["step"] == "files" and e["state"] == "done"}
    assert (counts["sod-fs01/Hem"]["copied"], counts["sod-fs01/Hem"]["deleted"]) == (2, 1)
    assert {c["copied"] + c["deleted"] for item, c in counts.items() if item != "sod-fs01/Hem"} == {0}
    folder, _, name = deleted.rpartition("/")
    fetch = (f'cd "{folder}"; ' if folder else "") + f'get "{name}" /tmp/e2e-deleted'
    gone = smb(lab, user, passwords[user], user, fetch)
    assert "NT_STATUS_OBJECT_NAME_NOT_FOUND" in gone.stdout + gone.stderr or \
        "NT_STATUS_OBJECT_PATH_NOT_FOUND" in gone.stdout + gone.stderr, gone.stdout + gone.stderr
    got = smb(lab, user, passwords[user], user, 'get "Sista filen före flytten.txt" /tmp/e2e-added')
    assert got.returncode == 0, got.stdout + got.stderr
    assert lab.ssh(CLIENT, "cat /tmp/e2e-added && rm -f /tmp/e2e-added").stdout == "ny\n"
    assert sha256_on(lab, "fs1", f"/srv/filer/hem/{user}/{path}") == sha256_on(lab, "sod-fs01", old_path)


@pytest.fixture(scope="module")
def printers_moved(operator, decided):
    result = operator.run("move.py", "--accepted-plan", operator.accepted, "--discovery-dir",
                          str(operator.directory), "--inventory", "inventory/lab", "--printers",
                          "--ledger-dir", str(operator.ledger_dir))
    return result


def test_the_old_queues_are_read_over_ipp_and_mapped_to_the_new_queue_of_each_printer(operator, decided):
    discovery = city_model.read_yaml(operator.directory / "sodermalm.yml", lambda *a: None)
    queues = {q["name"]: q for q in discovery["print_servers"][0]["queues"]}
    # What the old CUPS said of its queues: the driver is the PPD's make and model.
    assert {q["driver"] for q in queues.values()} >= {"HP LaserJet Series PCL 4/5", "HP DeskJet Series"}
    organisation = city_model.load_city(REPO / "inventory/stockholm/data", register=False) \
        .organisations["sodermalm"]
    new = {p["name"] for site in organisation["sites"] for p in site.get("printers") or []}
    mapped = {p["queue"]: p["target"] for p in decided["printers"]}
    held = {h["queue"]: h["reason"] for h in decided["held_printers"]}
    assert set(mapped) | set(held) == set(queues) and set(mapped.values()) == new
    # The PCL and the PostScript queue of one printer become its one new queue.
    twins = [queue for queue in mapped if queue.endswith("-PS")]
    assert len(twins) == 1 and list(mapped.values()).count(mapped[twins[0]]) == 2
    printer = {name: queues[name]["device_uri"].removeprefix("socket://").removesuffix(":9100")
               for name in held}
    assert [reason.split(":")[0] for reason in held.values()] == [
        f"no new queue prints to {printer[name]}" for name in held]


def test_the_printer_mapping_is_checked_on_print1_recorded_and_a_person_prints_there(
        lab, operator, decided, printers_moved, sodermalm_person):
    from test_print import PRINT_JOB, ipp
    assert printers_moved.returncode == 0, printers_moved.stdout + printers_moved.stderr
    last = last_states(operator.ledger(), "printers")
    for mapped in decided["printers"]:
        entry = last[f"{mapped['server']}/{mapped['queue']}"]
        assert (entry["state"], entry["message"]) == ("done", f"{mapped['target']} on print1")
    assert {last[f"{h['server']}/{h['queue']}"]["state"] for h in decided["held_printers"]} == {"held"}
    run = operator.ledger()[-1]["run"]
    report = (operator.ledger_dir / f"sodermalm-{run}.printers.txt").read_text(encoding="utf-8")
    twin = next(p for p in decided["printers"] if p["queue"].endswith("-PS"))
    assert f"sod-ps01/{twin['queue']} -> {twin['target']}" in report
    # A person who printed to the old PostScript queue prints to the queue it became.
    user = username_of(lab, sodermalm_person["employee_id"])
    status, job_id = ipp(lab.address("print1"), twin["target"], PRINT_JOB, user,
                         "Kallelse till nämndmötet, utskriven efter flytten.\n".encode())
    assert status < 0x0100 and job_id, f"IPP status {status:#06x}"
    completed = f"sudo lpstat -W completed -o {twin['target']}"
    assert wait_for(lambda: f"{twin['target']}-{job_id} " in lab.ssh("print1", completed, check=False).stdout,
                    timeout=60, interval=2)


def test_the_old_file_server_is_retired_once_the_move_is_verified(lab, operator, desk, files_moved,
                                                                  printers_moved, tmp_path):
    """Last: sod-fs01 goes off. The city data is a copy: the committed files are not touched."""
    data = tmp_path / "data"
    shutil.copytree(REPO / "inventory/stockholm/data", data, ignore=shutil.ignore_patterns("discovery"))
    result = operator.run("retire.py", "--accepted-plan", operator.accepted,
                          "--discovery-dir", str(operator.directory), "--data-dir", str(data),
                          "--ledger-dir", str(operator.ledger_dir),
                          "--inventory", "inventory/lab", "--ssh-config", str(lab.state_dir / "ssh_config"),
                          "--server-auth-file", f"sod-fs01={operator.directory / 'fs-auth'}",
                          "--server-host", f"sod-fs01={lab.address('sod-fs01')}",
                          *operator.ticket_arguments())
    assert result.returncode == 0, result.stdout + result.stderr
    # Off: its container stopped, and no SMB answers at its address.
    state = subprocess.run(["podman", "inspect", "-f", "{{.State.Status}}", f"{lab.prefix}-sod-fs01"],
                           capture_output=True, text=True, check=False).stdout.strip()
    assert state == "exited"
    listing = lab.ssh(CLIENT, f"smbclient -N -L {lab.address('sod-fs01')} -m NT1", check=False)
    assert listing.returncode != 0
    # Recorded in the city data, which still loads; the servers whose move is not built stay.
    organisation = city_model.load_city(data, register=False).organisations["sodermalm"]
    retired = {s["name"]: s.get("retired") for s in organisation["legacy_servers"]}
    assert retired["sod-fs01"] == datetime.date.today() and retired["sod-ex01"] is None
    servers = last_states(operator.ledger(), "servers")
    assert servers["sod-fs01"]["state"] == "done"
    # The print server's queues are mapped, but it runs no RPC to be shut down over.
    assert servers["sod-ps01"] == servers["sod-ps01"] | {
        "state": "held", "message": "no --server-auth-file for it"}
    # And on the wave's change ticket.
    _, comments = history(desk, operator.change_ticket)
    assert "- servers: 1 klara" in comments[-1] and "- servers sod-ps01: held" in comments[-1], comments[-1]
