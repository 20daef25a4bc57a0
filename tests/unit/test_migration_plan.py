"""migration/plan.py: the plan a person reads before anything moves, from a discovery file
and the personnel export."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
import city_model  # noqa: E402 - city_fixture (conftest) puts module_utils on sys.path
import personnel  # noqa: E402

from migration import accounts, plan  # noqa: E402
from migration.discovery import store  # noqa: E402

DATA = REPO / "inventory/stockholm/data"
PERSONNEL = REPO / "inventory/lab/data/personnel/sodermalm.csv"


@pytest.fixture
def discovery_dir(tmp_path):
    people = list(csv.DictReader(PERSONNEL.open(encoding="utf-8")))
    by_id, by_name = people[0], people[1]
    server = {
        "name": "sod-fs01", "address": "10.18.0.11",
        "shares": [{"name": "Aldreomsorg", "comment": "Äldreomsorg", "files": 7200, "folders": 300,
                    "bytes": 36_000_000_000, "oldest": "1998-01-02", "newest": "2008-12-01",
                    "refused_names": 3}],
        "users": [
            {"name": "x1", "full_name": "", "description": f"Anst.nr {by_id['employee_id']}"},
            {"name": "x2", "full_name": f"{by_name['surname']}, {by_name['given_name']}", "description": ""},
            {"name": "konsult1", "full_name": "Konsult Ett", "description": "Extern personal"},
        ],
    }
    city = city_model.load_city(DATA, register=False)
    store.write_discovery(tmp_path, "sodermalm", city, file_servers=[server])
    return tmp_path, by_id, by_name


def run_plan(directory, *extra):
    output = directory / "plan.md"
    code = plan.main(["--organisation", "sodermalm", "--discovery-dir", str(directory),
                      "--personnel", str(PERSONNEL), "--output", str(output), *extra])
    return code, output.read_text(encoding="utf-8") if output.exists() else ""


def test_the_plan_lists_who_each_old_account_becomes_and_holds_the_rest(discovery_dir):
    directory, by_id, by_name = discovery_dir
    code, text = run_plan(directory)
    assert code == 0
    assert "## People: 2 old accounts matched, 1 held" in text
    usernames = {p["employee_id"]: p["username"] for p in personnel.load_people(
        [PERSONNEL], city_model.load_city(DATA, register=False).organisations)}
    assert f"| sod-fs01 | x1 |  | {usernames[by_id['employee_id']]} | employee id |" in text
    assert (f"| sod-fs01 | x2 | {by_name['surname']}, {by_name['given_name']} | "
            f"{usernames[by_name['employee_id']]} | name |") in text
    assert "| konsult1 | Konsult Ett | no person of sodermalm is named 'Konsult Ett' |" in text
    assert "| sod-fs01 | Aldreomsorg | 7200 | 36000000000 | 3 |" in text
    assert "No estimate: give the throughput measured" in text
    assert "| sod-fs01 | file | retire | retired once the move is verified |" in text


def test_the_estimate_is_the_slower_of_bytes_and_files(discovery_dir):
    directory, _, _ = discovery_dir
    # 36 GB at 10 MB/s is an hour; 7,200 files at 4 per second are 30 minutes.
    assert "About 1 h 0 min for the files" in run_plan(directory, "--bytes-per-second", "10000000",
                                                       "--files-per-second", "4")[1]
    # At 1 file per second the files take two hours.
    assert "About 2 h 0 min for the files" in run_plan(directory, "--bytes-per-second", "10000000",
                                                       "--files-per-second", "1")[1]


def test_a_missing_discovery_is_a_clear_error_and_no_plan(tmp_path, capsys):
    code, text = run_plan(tmp_path)
    assert code == 2 and text == ""
    assert "sodermalm.yml" in capsys.readouterr().err


@pytest.mark.parametrize(("description", "employee_id"), [
    ("Anst.nr 100001", "100001"), ("anst nr: A-17", "A-17"), ("Anstnr 55", "55"), ("Handläggare", ""),
    ("Anst.nr 123 och 456", "123"),
])
def test_an_employee_id_is_read_from_the_old_description(description, employee_id):
    account = accounts.old_account("sod-fs01", {"name": "x", "description": description})
    assert account.employee_id == employee_id


def test_the_mailboxes_go_to_their_accounts_people_and_held_accounts_mail_stays(discovery_dir):
    directory, by_id, _ = discovery_dir
    city = city_model.load_city(DATA, register=False)
    discovery = yaml.safe_load((directory / "sodermalm.yml").read_text(encoding="utf-8"))
    boxes = [{"account": "X1", "messages": 3000, "bytes": 9_000_000_000},  # the old server ignores case
             {"account": "konsult1", "messages": 10, "bytes": 1000},
             {"account": "okand", "messages": 1, "bytes": 10}]
    store.write_discovery(directory, "sodermalm", city, file_servers=discovery["file_servers"],
                          mail_servers=[{"name": "sod-ex01", "address": "10.18.0.13", "mailboxes": boxes}])
    code, text = run_plan(directory, "--bytes-per-second", "10000000", "--files-per-second", "4",
                          "--messages-per-second", "1")
    assert code == 0
    people = personnel.load_people([PERSONNEL], city.organisations)
    usernames = {person["employee_id"]: person["username"] for person in people}
    assert f"| sod-ex01 | X1 | {usernames[by_id['employee_id']]} | 3000 | 9000000000 |" in text
    assert "| sod-ex01 | konsult1 | held: no person of sodermalm is named 'Konsult Ett' | 10 | 1000 |" in text
    assert "| sod-ex01 | okand | held: no old account of that name on the old file servers | 1 | 10 |" in text
    assert "To move: 1 mailboxes, 3000 messages, 9000000000 bytes. Held: 2" in text
    # 9 GB at 10 MB/s is 15 minutes; 3,000 messages at 1 per second are 50: the slower counts.
    assert "About 50 min for the mail" in text


def sodermalm_discovery(shares, groups):
    users = [{"name": f"u{index}", "full_name": "", "description": f"Anst.nr {person['employee_id']}"}
             for index, person in enumerate(csv.DictReader(PERSONNEL.open(encoding="utf-8")))]
    return {"file_servers": [{"name": "sod-fs01", "shares": shares, "users": users, "groups": groups}]}


def test_each_old_share_gets_its_new_place_or_is_held():
    organisation = city_model.load_city(DATA, register=False).organisations["sodermalm"]
    shares, held = plan.share_targets(organisation, sodermalm_discovery(
        [{"name": "Aldreomsorg", "comment": "Äldreomsorg"}, {"name": "Hem", "comment": "Hemkataloger"},
         {"name": "Gemensam", "comment": "Södermalm"},
         {"name": "Gamla projekt", "comment": "Äldreomsorg 1999"}], []))
    assert [(s["share"], s["kind"], s["target"], s["group"]) for s in shares] == [
        ("Aldreomsorg", "folder", "SOD/Avdelningar/aldreomsorg", "SOD-Avd-aldreomsorg"),
        ("Hem", "homes", "hem", ""),
        ("Gemensam", "folder", "SOD/Gemensam", "SOD-Personal")]
    assert held == [{"server": "sod-fs01", "share": "Gamla projekt",
                     "reason": "no new share is this share's: a person decides"}]


def test_an_old_group_becomes_a_new_one_only_with_exactly_its_people():
    city = city_model.load_city(DATA, register=False)
    organisation = city.organisations["sodermalm"]
    people = [p for p in personnel.load_people([PERSONNEL], city.organisations) if p["status"] != "leaver"]
    discovery = sodermalm_discovery([], [])
    rows = csv.DictReader(PERSONNEL.open(encoding="utf-8"))
    index = {p["employee_id"]: f"u{i}" for i, p in enumerate(rows)}
    elderly = sorted(index[p["employee_id"]] for p in people if p["department"] == "aldreomsorg")
    discovery["file_servers"][0]["groups"] = [
        {"name": "SOD_Aldreomsorg", "members": elderly},
        {"name": "SOD_Chefer", "members": elderly[:2]},
        {"name": "SOD_Alla", "members": sorted(index.values())},
        {"name": "SOD_Tom", "members": []}]
    everyone = personnel.load_people([PERSONNEL], city.organisations)
    mapping = plan.account_map(discovery, everyone, "sodermalm")
    found = {g["group"]: (g["new_group"], g["users"])
             for g in plan.group_targets(organisation, discovery, mapping, everyone)}
    by_account = {m.account.name: m.username for m in mapping.matched}
    assert found["SOD_Aldreomsorg"] == ("SOD-Avd-aldreomsorg", [])
    assert found["SOD_Chefer"] == ("", sorted(by_account[a] for a in elderly[:2]))
    assert found["SOD_Alla"] == ("SOD-Personal", [])
    assert found["SOD_Tom"] == ("", [])
