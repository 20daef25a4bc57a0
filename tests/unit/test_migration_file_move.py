"""migration/file_mover.py and move_files.py: reading an old share's listing with its ACLs
(as smbclient prints it, recorded from the lab's stand-in), translating owners and ACLs
through the plan's mapping, naming the new paths, and the checks on what the mover is told.
The move itself runs against the lab in tests/e2e/test_migration.py."""

from __future__ import annotations

import grp
import os
import pwd
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from migration import file_mover, move_files  # noqa: E402

DOMAIN = "S-1-5-21-3990780553-224263223-524943962"
ANNA, BERIT, EKONOMI, CHEFER = (f"{DOMAIN}-{rid}" for rid in (1046, 1047, 1054, 1060))


def ace(sid, access="0x12019f", kind="ACCESS ALLOWED (0)", flags="0x00 "):
    return (f"\tACE\n\t\ttype: {kind} flags: {flags}\n\t\tSpecific bits: 0x19f\n"
            f"\t\tPermissions: {access}: SYNCHRONIZE_ACCESS READ_CONTROL_ACCESS \n\t\tSID: {sid}\n\n")


def entry(name, mode, size, mtime, owner, *aces):
    return (f"FILENAME:{name}\nMODE:{mode}\nSIZE:{size}\nMTIME:{mtime}\nrevision: 1\n"
            "type: 0x9004: SEC_DESC_DACL_PRESENT SEC_DESC_DACL_PROTECTED SEC_DESC_SELF_RELATIVE \n"
            f"DACL\n\tACL\tNum ACEs:\t{len(aces)}\trevision:\t2\n\t---\n" + "".join(aces)
            + f"\tOwner SID:\t{owner}\n\tGroup SID:\t{EKONOMI}\n")


# What `showacls on` and, per folder, `cd`, `pwd` and `ls` print (recorded from the stand-in,
# trimmed to three entries).
LISTING = (
    "Try \"help\" to get a list of possible commands.\n"
    "Current directory is \\\\10.89.0.111\\Ekonomi\\\n"
    + entry("2006", "D", 0, "Thu Jan  1 00:00:00 1998", "S-1-22-1-0",
            ace(EKONOMI, "0x1f01ff", flags="0x03 SEC_ACE_FLAG_CONTAINER_INHERIT "),
            ace("S-1-3-0", "0x1f01ff", flags="0x0b SEC_ACE_FLAG_INHERIT_ONLY "))
    + "Current directory is \\\\10.89.0.111\\Ekonomi\\2006\\\n"
    + entry("Budget 2006-02-24.ppt", "N", 140116, "Tue Nov 14 08:40:58 2006", ANNA,
            ace(ANNA), ace(EKONOMI), ace("S-1-1-0", "0x0"))
    + entry("Personalärenden", "D", 0, "Thu Jan  1 00:00:00 1998", "S-1-22-1-0", ace(CHEFER, "0x1f01ff"))
    + entry("Yttrande\uf03f.doc ", "A", 0, "Sat Oct  8 08:25:52 2005", BERIT,
            ace(BERIT), ace("S-1-1-0", "0x120089"), ace(EKONOMI, kind="ACCESS DENIED (1)"))
)


def test_the_listing_gives_each_entry_its_path_size_date_owner_and_acl():
    entries = {e.path: e for e in file_mover.parse_listing(LISTING)}
    assert list(entries) == ["2006", "2006/Budget 2006-02-24.ppt", "2006/Personalärenden",
                             "2006/Yttrande\uf03f.doc "]
    budget = entries["2006/Budget 2006-02-24.ppt"]
    assert (budget.folder, budget.size, budget.owner) == (False, 140116, ANNA)
    assert budget.mtime == 1163493658  # 2006-11-14 08:40:58 UTC
    assert budget.aces == [(ANNA, "ALLOWED", "", "rw"), (EKONOMI, "ALLOWED", "", "rw"),
                           ("S-1-1-0", "ALLOWED", "", "")]
    year = entries["2006"]
    assert year.folder and year.aces[1] == ("S-1-3-0", "ALLOWED", file_mover.INHERIT_ONLY, "rw")
    assert entries["2006/Yttrande\uf03f.doc "].aces[1:] == [("S-1-1-0", "ALLOWED", "", "r"),
                                                            (EKONOMI, "DENIED", "", "rw")]


def test_a_folders_signature_changes_with_what_it_holds_and_not_with_the_free_space():
    listing = ("  .  D  0  Thu Jan  1 00:00:00 1998\n  a.doc  A  10  Thu Jan  1 00:00:00 1998\n\n"
               "\t\t1000 blocks of size 4096. 500 blocks available\n"
               "\\2006\n  b.doc  A  5  Mon Jan  2 00:00:00 2006\n")
    before = file_mover.sections(listing)
    assert list(before) == ["", "2006"]
    after = file_mover.sections(listing.replace("500 blocks", "499 blocks").replace("  5  Mon", "  6  Mon"))
    assert after[""] == before[""] and after["2006"] != before["2006"]


USER_IDS = {"anna.svensson": 20001, "berit.ek": 20002, "chef.ett": 20003, "chef.tva": 20004}
GROUP_IDS = {"SOD-Avd-ekonomi": 30001}


@pytest.fixture
def translation(monkeypatch):
    monkeypatch.setattr(grp, "getgrnam", lambda name: grp.struct_group((name, "x", GROUP_IDS[name], [])))
    monkeypatch.setattr(pwd, "getpwnam", lambda name: pwd.struct_passwd(
        (name, "x", USER_IDS[name], 100, "", "/", "/bin/sh")))
    job = {"group": "SOD-Avd-ekonomi", "accounts": {"anna": "anna.svensson", "berit": "berit.ek"},
           "groups": {"SOD_Ekonomi": {"group": "SOD-Avd-ekonomi"},
                      "SOD_Chefer": {"users": ["chef.ett", "chef.tva"]}}}
    names = {ANNA: "anna", BERIT: "berit", EKONOMI: "SOD_Ekonomi", CHEFER: "SOD_Chefer", "S-1-22-1-0": "root"}
    return file_mover.Translation(job, names)


def test_a_files_owner_and_acl_are_translated_through_the_plans_mapping(translation):
    entries = {e.path: e for e in file_mover.parse_listing(LISTING)}
    owner, group, lines = file_mover.translate(entries["2006/Budget 2006-02-24.ppt"], translation, None)
    # The old department group is the new share's group; Everyone without rights adds nothing.
    assert (owner, group, lines) == (20001, 30001, ["user::rw-", "group::rw-", "mask::rw-", "other::---"])


def test_a_group_without_a_counterpart_becomes_its_people_and_a_folder_passes_it_on(translation):
    entries = {e.path: e for e in file_mover.parse_listing(LISTING)}
    owner, group, lines = file_mover.translate(entries["2006/Personalärenden"], translation, None)
    assert (owner, group) == (0, 30001)
    assert lines[:5] == ["user::---", "group::---", "user:20003:rwx", "user:20004:rwx", "mask::rwx"]
    assert "default:user:20003:rwx" in lines and "default:group::---" in lines
    # root, the old server's own, has no person: its access is named as not carried over.
    assert "root" in translation.dropped


def test_a_deny_entry_leaves_only_the_owner_and_is_named(translation):
    entries = {e.path: e for e in file_mover.parse_listing(LISTING)}
    owner, _, lines = file_mover.translate(entries["2006/Yttrande\uf03f.doc "], translation, None)
    assert owner == 20002 and lines == ["user::rw-", "group::---", "mask::rw-", "other::---"]
    assert "only its owner keeps access" in translation.dropped["2006/Yttrande\uf03f.doc "]


def test_an_old_principal_without_a_person_is_named_and_gets_nothing(translation):
    assert translation.principal(f"{DOMAIN}-1999") == []
    assert translation.dropped[f"{DOMAIN}-1999"].startswith("no person or group on the new side")


def test_new_paths_rename_refused_names_and_give_each_home_its_person():
    entries = [file_mover.Entry(path, folder, 0, 0) for path, folder in [
        ("anna", True), ("anna/2006", True), ("anna/2006/Yttrande\uf03f.doc ", False),
        ("anna/2006/Rapport.doc", False), ("anna/2006/RAPPORT.DOC", False),
        ("konsult1", True), ("konsult1/hemligt.doc", False)]]
    job = {"kind": "homes", "homes": {"anna": "anna.svensson"}}
    mapped, renamed, held = file_mover.new_paths(entries, job)
    assert mapped["anna/2006/Yttrande\uf03f.doc "] == "anna.svensson/2006/Yttrande_.doc_"
    assert mapped["anna/2006/Rapport.doc"] == "anna.svensson/2006/Rapport (2).doc"
    assert mapped["anna/2006/RAPPORT.DOC"] == "anna.svensson/2006/RAPPORT.DOC"
    assert ("anna/2006/Yttrande\uf03f.doc ", "anna.svensson/2006/Yttrande_.doc_") in renamed
    assert held == ["konsult1"] and "konsult1/hemligt.doc" not in mapped


def test_a_path_reaches_setfacl_and_smbclient_only_escaped_or_refused():
    assert file_mover.acl_escape("a b\\å\n") == "a\\040b\\134\\303\\245\\012"
    assert file_mover.quoted("\\2006\\Yttrande .doc") == '"\\2006\\Yttrande .doc"'
    with pytest.raises(file_mover.MoveError, match="a quote or line break"):
        file_mover.quoted('\\2006\\"citat".doc')


def test_a_line_cut_by_a_kill_is_left_out_of_the_manifest(tmp_path):
    path = tmp_path / "share.manifest"
    path.write_text('{"new": "a", "old": "a", "size": 1, "mtime": 2, "sha256": "x"}\n{"new": "b", "ol',
                    encoding="utf-8")
    assert list(file_mover.Manifest(str(path)).entries) == ["a"]


@pytest.mark.parametrize(("text", "expected"), [
    ("username = Administrator\n", "expected username and password"),
    ("username = Administrator\npassword = a\x1bb\n", "line 2: expected one of username"),
    ("user = x\npassword = y\n", "line 1: expected one of username"),
])
def test_a_bad_authentication_file_is_refused_naming_the_line(tmp_path, text, expected):
    auth = tmp_path / "auth"
    auth.write_text(text, encoding="utf-8")
    with pytest.raises(move_files.FileMoveError, match=re.escape(expected)):
        move_files.checked_auth_file(auth)


def test_the_job_places_a_share_under_the_file_servers_root_only():
    decided = {"organisation": "sodermalm", "accounts": [{"server": "sod-fs01", "account": "anna",
                                                          "user": "anna.svensson", "rule": "name"}],
               "groups": [{"server": "sod-fs01", "group": "SOD_Chefer", "new_group": "",
                           "users": ["chef.ett"]}]}
    share = {"server": "sod-fs01", "share": "Hem", "kind": "homes", "target": "hem", "group": ""}
    job = move_files.job(share, decided, "10.89.0.111", "/srv/filer", "/home/x/.m")
    assert job["target"] == "/srv/filer/hem" and job["homes"] == {"anna": "anna.svensson"}
    assert job["groups"] == {"SOD_Chefer": {"users": ["chef.ett"]}}
    assert job["state"] == "/srv/filer/.flytt/sodermalm"
    with pytest.raises(move_files.FileMoveError, match="expected a relative path of plain names"):
        move_files.job(share | {"target": "../etc"}, decided, "10.89.0.111", "/srv/filer", "/home/x/.m")


def placed(target, manifest, old, new, content=b"x", mtime=1_200_000_000):
    """A file as the mover placed it: on the new side with its old write time, in the manifest."""
    path = target / new
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, (mtime, mtime))
    manifest.add([{"new": new, "old": old, "size": len(content), "mtime": mtime, "sha256": "x"}])


def test_a_file_deleted_on_the_old_server_since_is_removed_unless_changed_on_the_new_side(tmp_path):
    target = tmp_path / "share"
    manifest = file_mover.Manifest(str(tmp_path / "share.manifest"))
    placed(target, manifest, "2008/Budget.xls", "2008/Budget.xls")
    placed(target, manifest, "2008/Kvar.doc", "2008/Kvar.doc")
    placed(target, manifest, "2008/Ändrad här.doc", "2008/Ändrad här.doc")
    placed(target, manifest, "Gammal mapp/Protokoll.doc", "Gammal mapp/Protokoll.doc")
    (target / "2008/Ändrad här.doc").write_bytes(b"a colleague's work on the new server")
    # The listing: 2008 still holds Kvar.doc; Gammal mapp is gone with its file.
    present, listed = {"2008", "2008/Kvar.doc"}, {"", "2008"}
    removed, kept = file_mover.remove_deleted(manifest, present, listed, str(target))
    assert sorted(removed) == ["2008/Budget.xls", "Gammal mapp/Protokoll.doc"]
    assert kept == ["2008/Ändrad här.doc (2008/Ändrad här.doc)"]
    assert sorted(p.name for p in target.rglob("*") if p.is_file()) == ["Kvar.doc", "Ändrad här.doc"]
    # Recorded: the next run (or one after a kill) does not remove or count them again.
    again = file_mover.Manifest(str(tmp_path / "share.manifest"))
    assert again.entries["2008/Budget.xls"]["deleted"] is True
    assert file_mover.remove_deleted(again, present, listed, str(target)) == ([], kept)


def test_a_folder_the_listing_could_not_read_deletes_nothing(tmp_path):
    target = tmp_path / "share"
    manifest = file_mover.Manifest(str(tmp_path / "share.manifest"))
    placed(target, manifest, "Låst/Lön.xls", "Låst/Lön.xls")
    # Låst is there (its parent's listing shows it) but its own part of the listing is missing.
    assert file_mover.remove_deleted(manifest, {"Låst"}, {""}, str(target)) == ([], [])
    assert (target / "Låst/Lön.xls").exists()
    assert not file_mover.gone_from_old_server("Låst/Lön.xls", {"Låst"}, {""})
    assert file_mover.gone_from_old_server("Låst/Lön.xls", set(), {""})
