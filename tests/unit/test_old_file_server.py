"""migration/old_file_server/content.py: Södermalm's old file server as the lab will hold it,
generated from the organisation file and the lab's personnel export."""

from __future__ import annotations

import datetime
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
import city_model  # noqa: E402 - city_fixture (conftest) puts module_utils on sys.path
import personnel  # noqa: E402

from migration import accounts, file_names  # noqa: E402
from migration.old_file_server import content  # noqa: E402

FILES = 3000


@pytest.fixture(scope="module")
def sodermalm() -> dict:
    city = city_model.load_city(REPO / "inventory/stockholm/data", register=False)
    return city.organisations["sodermalm"]


@pytest.fixture(scope="module")
def people(sodermalm) -> list[dict]:
    organisations = city_model.load_city(REPO / "inventory/stockholm/data", register=False).organisations
    return personnel.load_people([REPO / "inventory/lab/data/personnel/sodermalm.csv"], organisations,
                                 today=datetime.date(2009, 6, 1))


@pytest.fixture(scope="module")
def server(sodermalm, people) -> content.OldFileServer:
    return content.old_file_server(sodermalm, people, files=FILES)


def test_the_same_data_gives_the_same_server(sodermalm, people, server):
    assert content.old_file_server(sodermalm, people, files=FILES) == server
    assert content.old_file_server(sodermalm, people, files=FILES, seed="other") != server


def test_the_server_is_the_organisation_files_and_has_its_shares(server, sodermalm):
    assert server.name == "sod-fs01"
    names = {share.name for share in server.shares}
    assert {"Gemensam", "Hem", "Aldreomsorg", "IndividOchFamiljeomsorg"} <= names
    assert len(names) == len(sodermalm["departments"]) + 2


def test_every_person_has_an_old_account_that_is_not_their_new_name(server, people):
    by_id = {user.employee_id: user for user in server.users if user.employee_id}
    names = {user.name for user in server.users}
    assert len(server.users) == len(people) + 2 + len(content.OUTSIDERS)
    assert not names & {person["username"] for person in people if person["username"]}
    # Some record the employee id, some do not; some full names are in old forms.
    assert 0 < len(by_id) < len(people)
    forms = Counter("," in u.full_name or u.full_name.isupper() for u in server.users if u.full_name)
    assert forms[True] > 0 and forms[False] > 0


def test_the_migrations_account_rule_matches_the_people_and_holds_the_rest(server, people):
    """The stand-in's accounts and the account rule agree: every person's old account is
    matched to that person (by id or name), the outsiders and the server's own are held."""
    old = [accounts.OldAccount(server.name, u.name, u.full_name, u.employee_id) for u in server.users]
    result = accounts.map_accounts(old, people, "sodermalm")
    held = {h.account.name for h in result.held}
    assert {name for name, _ in content.OUTSIDERS} | {"Administrator", "Guest"} <= held
    expected = {p["employee_id"]: p["username"] for p in people if p["status"] != "leaver"}
    for match in result.matched:
        assert expected[match.employee_id] == match.username


def test_the_files_have_what_a_migration_must_handle(server):
    files = server.files
    assert len(files) >= FILES * 0.95
    shares = Counter(f.share for f in files)
    assert shares["Hem"] > FILES * 0.1 and shares["Gemensam"] > FILES * 0.05
    years = {datetime.datetime.fromtimestamp(f.mtime, datetime.UTC).year for f in files}
    assert years == set(range(content.FIRST_YEAR, content.LAST_YEAR + 1))
    assert any(f.size == 0 for f in files)
    assert any(f.size >= content.LARGE_FILE_BYTES[0] for f in files)
    assert max(f.path.count("/") for f in files) >= 10
    assert max(len(f.path) for f in files) > 200
    assert any(unicodedata.normalize("NFC", f.path) != f.path for f in files)
    assert any(c in f.path for f in files for c in "åäöÅÄÖ")
    names = [f.path.rsplit("/", 1)[-1] for f in files]
    assert len([name for name in names if file_names.new_name(name) != name]) > 10
    folded = Counter((f.share, f.path.casefold()) for f in files)
    assert max(folded.values()) == 2, "one name differs from its neighbour only in case"


def test_access_follows_the_department_the_chefs_and_the_homes(server):
    chefs = next(g for g in server.groups if g.name == "SOD_Chefer")
    assert chefs.members
    restricted = [f for f in server.files if f"/{content.RESTRICTED_FOLDER}/" in f.path]
    assert restricted and all(f.acl == (("group", "SOD_Chefer", "rw"),) for f in restricted)
    for file in server.files:
        if file.share == "Hem":
            assert file.acl == (("user", file.path.split("/")[0], "rw"),)
            assert file.owner == file.path.split("/")[0]


def test_written_files_have_their_sizes_dates_and_checksums(sodermalm, people, tmp_path):
    small = content.old_file_server(sodermalm, people, files=60)
    manifest = content.write(small, tmp_path)
    assert len(manifest) == len(small.files)
    for file in small.files:
        written = tmp_path / file.share / file.path
        assert written.stat().st_size == file.size
        assert int(written.stat().st_mtime) == file.mtime
    again = content.write(small, tmp_path / "again")
    assert again == manifest
