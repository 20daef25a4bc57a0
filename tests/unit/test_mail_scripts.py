"""The mail server's scripts in roles/mail_server/files: mail-functional-mailboxes (Python,
imported from its path; the directory search, postmap, postfix and doveadm faked at the
subprocess boundary, the accounts at pwd) and dovecot-acl-groups (sh, run with `id` and
`getent` faked on PATH)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from role_files import ROLES

FILES = ROLES / "mail_server" / "files"
DOMAIN = "stockholm.se"


def load_script(name: str) -> ModuleType:
    """A script without .py imported as a module (its main() is not run)."""
    path = FILES / name
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"), str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture
def mailboxes() -> ModuleType:
    return load_script("mail-functional-mailboxes")


def search_output(*groups: tuple[str, str]) -> str:
    """What `net ads search -P` prints for groups of (sAMAccountName, mail)."""
    lines = [f"Got {len(groups)} replies", ""]
    for name, mail in groups:
        lines += [f"distinguishedName: CN={name},OU=Funktion,DC=lab", f"sAMAccountName: {name}",
                  f"mail: {mail}", ""]
    return "\n".join(lines)


class System:
    """The processes the script starts: answers the directory search, records the rest."""

    def __init__(self, groups=(), search_fails=False, recalc_fails=False, postfix_running=True):
        self.groups = list(groups)
        self.search_fails = search_fails
        self.recalc_fails = recalc_fails
        self.postfix_running = postfix_running
        self.calls: list[list[str]] = []

    def run(self, argv, check=False, capture_output=False, text=False, **_):
        argv = list(argv)
        self.calls.append(argv)
        returncode, stdout, stderr = 0, "", ""
        if argv[:3] == ["net", "ads", "search"]:
            if self.search_fails:
                returncode, stderr = 1, "failed to connect to the domain controller"
            stdout = search_output(*self.groups)
        elif argv[0] == "postmap":
            # postmap writes the .db beside the map, newer than it.
            Path(argv[1].removeprefix("hash:") + ".db").write_text("db")
        elif argv[:2] == ["postfix", "status"]:
            returncode = 0 if self.postfix_running else 1
        elif argv[:3] == ["doveadm", "acl", "recalc"] and self.recalc_fails:
            returncode, stderr = 75, "doveadm: Error: user not found"
        if check and returncode:
            raise subprocess.CalledProcessError(returncode, argv, stdout, stderr)
        return subprocess.CompletedProcess(argv, returncode, stdout if text else stdout.encode(),
                                           stderr if text else stderr.encode())

    def commands(self) -> list[str]:
        return [" ".join(call[:3]) for call in self.calls]


@pytest.fixture
def world(tmp_path, monkeypatch, mailboxes):
    """Runs the script's main() with a vmail home and map in tmp_path; accounts is the set of
    names pwd knows besides vmail."""
    vmail = tmp_path / "vmail"
    vmail.mkdir()
    postfix_map = tmp_path / "functional_mailboxes"
    accounts = {"anna"}

    def getpwnam(name):
        if name == "vmail":
            return pwd_entry(os.getuid(), os.getgid())
        if name in accounts:
            return pwd_entry(2000, 2000)
        raise KeyError(name)

    monkeypatch.setattr(mailboxes.pwd, "getpwnam", getpwnam)

    def main(system: System, *options: str) -> tuple[int, list[str], str]:
        monkeypatch.setattr(mailboxes.subprocess, "run", system.run)
        monkeypatch.setattr(sys, "argv", [
            "mail-functional-mailboxes", "--domain", DOMAIN, "--map", str(postfix_map),
            "--vmail-home", str(vmail), "--vmail-user", "vmail", "--infix", "Brevlada", *options])
        code = 0
        try:
            mailboxes.main()
        except SystemExit as exit_:
            code = exit_.code
        return code

    return type("World", (), {"vmail": vmail, "map": postfix_map, "main": staticmethod(main),
                              "accounts": accounts})


def pwd_entry(uid: int, gid: int):
    import pwd
    return pwd.struct_passwd(("x", "x", uid, gid, "", "/", "/bin/sh"))


REGISTRATOR = ("SOD-Brevlada-registrator", "sod-registrator@stockholm.se")
KANSLI = ("BRO-Brevlada-kansli", "Bro-Kansli@Stockholm.se")


# mail-functional-mailboxes: the directory search


def test_search_filter_escapes_the_infix(mailboxes, monkeypatch):
    system = System()
    monkeypatch.setattr(mailboxes.subprocess, "run", system.run)
    mailboxes.search_groups("Brev*(x)")
    assert system.calls[0][4] == "(&(objectClass=group)(mail=*)(sAMAccountName=*-Brev\\2a\\28x\\29-*))"


def test_search_reads_the_groups_with_name_and_address(mailboxes, monkeypatch):
    system = System([REGISTRATOR, KANSLI])
    monkeypatch.setattr(mailboxes.subprocess, "run", system.run)
    assert mailboxes.search_groups("Brevlada") == [
        {"samaccountname": "SOD-Brevlada-registrator", "mail": "sod-registrator@stockholm.se"},
        {"samaccountname": "BRO-Brevlada-kansli", "mail": "Bro-Kansli@Stockholm.se"}]
    assert system.calls[0][:5] == ["net", "ads", "search", "-P",
                                   "(&(objectClass=group)(mail=*)(sAMAccountName=*-Brevlada-*))"]


def test_a_directory_that_cannot_be_read_changes_nothing(world, capsys):
    code = world.main(System([REGISTRATOR], search_fails=True))
    assert code == "cannot search the directory: failed to connect to the domain controller"
    assert not world.map.exists()
    assert list(world.vmail.iterdir()) == []


def test_an_unexpected_answer_changes_nothing(world, mailboxes, monkeypatch):
    def run(argv, **_):
        return subprocess.CompletedProcess(argv, 0, "ads_connect: no route\n", "")

    monkeypatch.setattr(mailboxes.subprocess, "run", run)
    with pytest.raises(SystemExit, match="unexpected answer from net ads search"):
        mailboxes.search_groups("Brevlada")


# mail-functional-mailboxes: which mailboxes


def test_wanted_mailboxes_leave_out_foreign_odd_taken_and_personal_addresses(world, mailboxes, capsys):
    groups = [
        {"samaccountname": "SOD-Brevlada-registrator", "mail": "sod-registrator@stockholm.se"},
        {"samaccountname": "SOD-Brevlada-extern", "mail": "extern@example.org"},
        {"samaccountname": "SOD-Brevlada-odd", "mail": "sod..odd@stockholm.se"},
        {"samaccountname": "SOD-Brevlada-ärende", "mail": "ärende@stockholm.se"},
        {"samaccountname": "SOD-Brevlada-zz", "mail": "sod-registrator@stockholm.se"},
        {"samaccountname": "SOD-Brevlada-anna", "mail": "anna@stockholm.se"},
        {"samaccountname": "BRO-Brevlada-kansli", "mail": "Bro-Kansli@Stockholm.se"},
    ]
    assert mailboxes.wanted_mailboxes(groups, DOMAIN) == {
        "sod-registrator": "SOD-Brevlada-registrator", "bro-kansli": "BRO-Brevlada-kansli"}
    warnings = capsys.readouterr().err
    assert "extern@example.org is not in stockholm.se" in warnings
    assert "sod..odd@stockholm.se is not a plain lower-case ASCII address" in warnings
    assert "ärende@stockholm.se is not a plain lower-case ASCII address" in warnings
    assert "already SOD-Brevlada-registrator's" in warnings
    assert "anna is a person or a local account" in warnings


# mail-functional-mailboxes: the run


def test_first_run_makes_the_mailboxes_their_acl_and_the_map(world, capsys):
    system = System([REGISTRATOR, KANSLI])
    assert world.main(system) == 0
    output = capsys.readouterr().out.splitlines()
    assert output[0] == "changed"
    maildir = world.vmail / "sod-registrator" / "Maildir"
    assert {path.name for path in maildir.iterdir()} == {"cur", "new", "tmp", "dovecot-acl"}
    assert oct(maildir.stat().st_mode & 0o777) == "0o700"
    assert (maildir / "dovecot-acl").read_text() == \
        "owner lrwstipekxa\ngroup=sod-brevlada-registrator lrwstipekxa\n"
    assert oct((maildir / "dovecot-acl").stat().st_mode & 0o777) == "0o600"
    assert world.map.read_text().splitlines()[1:] == [
        "bro-kansli@stockholm.se BRO-Brevlada-kansli",
        "sod-registrator@stockholm.se SOD-Brevlada-registrator"]
    assert system.commands() == ["net ads search", "doveadm acl recalc", "doveadm acl recalc",
                                 "postmap hash:" + str(world.map), "postfix status", "postfix reload"]


def test_a_second_run_in_the_desired_state_changes_nothing(world, capsys):
    world.main(System([REGISTRATOR, KANSLI]))
    capsys.readouterr()
    acl = world.vmail / "sod-registrator" / "Maildir" / "dovecot-acl"
    before = (world.map.stat().st_mtime_ns, acl.stat().st_mtime_ns)
    system = System([REGISTRATOR, KANSLI])
    assert world.main(system) == 0
    assert capsys.readouterr().out == "unchanged\n"
    assert system.commands() == ["net ads search"]
    assert (world.map.stat().st_mtime_ns, acl.stat().st_mtime_ns) == before


def test_dry_run_reports_and_writes_nothing(world, capsys):
    system = System([REGISTRATOR])
    assert world.main(system, "--dry-run") == 0
    output = capsys.readouterr().out.splitlines()
    assert output[0] == "changed"
    assert f"created {world.vmail / 'sod-registrator'}" in output
    assert f"map {world.map}: 1 addresses" in output
    assert list(world.vmail.iterdir()) == [] and not world.map.exists()
    assert system.commands() == ["net ads search"]


def test_a_gone_group_loses_its_address_and_keeps_its_mail(world, capsys):
    world.main(System([REGISTRATOR, KANSLI]))
    capsys.readouterr()
    system = System([REGISTRATOR])
    world.main(system)
    assert capsys.readouterr().out.splitlines() == ["changed", f"map {world.map}: 1 addresses"]
    assert "bro-kansli" not in world.map.read_text()
    assert (world.vmail / "bro-kansli" / "Maildir" / "dovecot-acl").exists()


def test_a_missing_map_database_is_rebuilt(world, capsys):
    world.main(System([REGISTRATOR]))
    capsys.readouterr()
    Path(str(world.map) + ".db").unlink()
    system = System([REGISTRATOR])
    world.main(system)
    assert capsys.readouterr().out.splitlines() == ["changed", f"map {world.map}.db: rebuilt"]
    assert "postmap hash:" + str(world.map) in system.commands()


def test_a_stopped_postfix_is_not_reloaded(world):
    system = System([REGISTRATOR], postfix_running=False)
    world.main(system)
    assert "postfix reload" not in system.commands()


def test_a_failed_acl_recalc_removes_the_acl_to_be_written_again(world):
    code = world.main(System([REGISTRATOR], recalc_fails=True))
    assert code == "doveadm acl recalc -u sod-registrator failed: doveadm: Error: user not found"
    assert not (world.vmail / "sod-registrator" / "Maildir" / "dovecot-acl").exists()
    assert not world.map.exists()


# dovecot-acl-groups


@pytest.fixture
def fake_path(tmp_path):
    """A PATH where `id` and `getent` answer as winbind would for anna."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").write_text(
        '#!/bin/sh\ncase "$*" in "-G -- anna") echo "10000 10513 10600 10601" ;; *) exit 1 ;; esac\n')
    (bin_dir / "getent").write_text(
        "#!/bin/sh\n"
        "case $2 in\n"
        "  10000) printf '%s\\n' 'LAB\\anna:x:10000:' ;;\n"
        "  10513) printf '%s\\n' 'LAB\\Domain Users:x:10513:' ;;\n"
        "  10600) printf '%s\\n' 'LAB\\SOD-Brevlada-registrator:x:10600:anna' ;;\n"
        "  10601) printf '%s\\n' 'SOD-Personal:x:10601:anna' ;;\n"
        "  *) exit 2 ;;\n"
        "esac\n")
    for tool in ("id", "getent"):
        (bin_dir / tool).chmod(0o755)
    return bin_dir


def acl_groups(fake_path: Path, user: str, userdb_keys: str = "uid gid") -> dict[str, str]:
    """The environment dovecot-acl-groups hands on to the next process, for user."""
    env = {"PATH": f"{fake_path}:/usr/bin:/bin", "USER": user, "USERDB_KEYS": userdb_keys}
    result = subprocess.run(["sh", str(FILES / "dovecot-acl-groups"), "env"], env=env,
                            capture_output=True, text=True, check=True)
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


@pytest.mark.skipif(shutil.which("sh") is None, reason="the script is run with sh")
def test_acl_groups_are_the_persons_groups_lower_case_without_the_domain(fake_path):
    env = acl_groups(fake_path, "anna")
    assert env["ACL_GROUPS"] == "anna,domain users,sod-brevlada-registrator,sod-personal"
    assert env["USERDB_KEYS"] == "uid gid acl_groups"


@pytest.mark.skipif(shutil.which("sh") is None, reason="the script is run with sh")
def test_acl_groups_of_an_unknown_user_are_empty_and_the_login_goes_on(fake_path):
    env = acl_groups(fake_path, "nobody-here")
    assert env["ACL_GROUPS"] == ""
    assert env["USERDB_KEYS"] == "uid gid acl_groups"


def test_the_scripts_escape_is_module_utils_escape(mailboxes):
    import samba_ldap
    for value in ["Brevlada", "a*b", "(x)", "back\\slash", "nul\0", "Åsa"]:
        assert mailboxes.escape_filter(value) == samba_ldap.escape_filter(value)
