"""migration/discovery/file_server.py against recorded output of Samba's clients, taken
from the legacy_file_server stand-in (tests/unit/fixtures/smb/, recorded with its Molecule
scenario's server: smbclient and rpcclient over SMB1 as Administrator)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from migration.discovery import file_server  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "smb"
DEVICE = {"name": "sod-fs01", "role": "file", "address": "10.18.0.11"}


def recorded(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


class RecordedClients:
    """The answers of the stand-in; a test may replace one."""

    def __init__(self, **answers: str) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def shares(self) -> str:
        return self.answers.get("shares", recorded("shares.txt"))

    def listing(self, share: str) -> str:
        self.calls.append(f"listing {share}")
        if share in self.answers:
            raise RuntimeError(self.answers[share])
        return recorded("listing.txt") if share == "Aldreomsorg" else ""

    def rpc(self, command: str) -> str:
        self.calls.append(command)
        verb = command.split()[0]
        return self.answers.get(verb, recorded(f"{verb}.txt"))


def test_the_shares_accounts_and_groups_are_read():
    record = file_server.discover_file_server(DEVICE, RecordedClients())
    assert "problems" not in record, record.get("problems")
    assert (record["netbios_name"], record["os_version"]) == ("SOD-FS01", "6.1")
    shares = {share["name"]: share for share in record["shares"]}
    assert "IPC$" not in shares and len(shares) == 10
    assert shares["Aldreomsorg"]["comment"] == "Äldreomsorg"
    old_care = shares["Aldreomsorg"]
    assert old_care["files"] > 20 and old_care["folders"] > 10 and old_care["bytes"] > 100_000
    assert old_care["oldest"] >= "1998-01-01" and old_care["newest"] <= "2008-12-31"
    assert shares["Hem"]["files"] == 0
    users = {user["name"]: user for user in record["users"]}
    assert len(users) == recorded("enumdomusers.txt").count("user:[") == 54
    assert users["alindbe"] == {"name": "alindbe", "full_name": "AGNETA LINDBERG",
                                "description": "Anst.nr 791201"}
    groups = {group["name"]: group for group in record["groups"]}
    assert set(groups) >= {"SOD_Alla", "SOD_Chefer", "SOD_Aldreomsorg"}
    assert groups["SOD_Alla"]["members"] == ["akarlss", "cnilsso", "jliu"]


def test_a_listing_counts_files_folders_bytes_and_names_the_new_server_refuses():
    listing = (
        "  .                                   D        0  Thu Jan  1 00:00:00 1998\n"
        "  Plan A                              A      100  Fri Oct 31 22:32:20 2003\n"
        "  Protokoll: 2005?.doc                N       50  Mon Mar  3 10:00:00 2005\n"
        "  CON.txt                             N        0  Tue Jan  6 08:00:00 2004\n"
        "  Projekt                             D        0  Thu Jan  1 00:00:00 1998\n"
        "\n\\Projekt\n"
        "  Årsredovisning 2003-09-09.ppt      N    23853  Fri Oct 31 22:32:20 2003\n"
        "\t\t264212084 blocks of size 1024. 74226740 blocks available\n"
    )
    assert file_server.parse_listing(listing) == {
        "files": 4, "folders": 1, "bytes": 24003, "refused_names": 2,
        "oldest": "2003-10-31", "newest": "2005-03-03"}


def test_a_hostile_answer_is_left_out_and_named():
    users = "user:[evil\x1b[31m] rid:[0x3e8]\nuser:[ok] rid:[0x3e9]\n"
    query = "\tUser Name   :\tok\n\tFull Name   :\t" + "x" * 300 + "\n\tDescription :\tfine\n"
    record = file_server.discover_file_server(DEVICE, RecordedClients(enumdomusers=users, queryuser=query))
    names = [user.get("name") for user in record["users"]]
    assert "ok" in names and not any("\x1b" in (name or "") for name in names)
    problems = " ".join(record["problems"])
    assert "sod-fs01" in problems and "users[0].name" in problems and "users[1].full_name" in problems


def test_a_share_that_cannot_be_read_is_named_and_the_rest_is_still_read():
    record = file_server.discover_file_server(
        DEVICE, RecordedClients(Gemensam="smbclient //10.18.0.11/Gemensam: NT_STATUS_ACCESS_DENIED"))
    assert record["problems"] == ["share Gemensam: smbclient //10.18.0.11/Gemensam: NT_STATUS_ACCESS_DENIED"]
    shares = {share["name"]: share for share in record["shares"]}
    assert "files" not in shares["Gemensam"] and shares["Aldreomsorg"]["files"] > 0
    assert len(record["users"]) == 54


@pytest.mark.parametrize("text", ["", "garbage\n", "Disk|only-name\n"])
def test_odd_share_lists_give_what_they_hold(text):
    expected = [{"name": "only-name", "comment": ""}] if "Disk" in text else []
    assert file_server.parse_shares(text) == expected
