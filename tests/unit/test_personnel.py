"""Personnel exports: every bad row is named by file, line and problem; user names fold
Swedish letters, resolve clashes deterministically and never change once given; the
generator writes the same bytes every time; the lab's files are valid."""

from __future__ import annotations

import csv
import datetime
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import city_model
import personnel
import pytest
import yaml
from city_fixture import REPO, CityFixture, run_ansible
from city_model import CityDataError, load_city
from module_runner import load_library_module, run_library_module
from personnel import PERSONNEL_HEADER, assign_usernames, fold, load_people, username_base

SOD = "personnel/sodermalm.csv"
UTB = "personnel/utbildning.csv"
TODAY = datetime.date(2010, 1, 4)
GENERATOR = REPO / "tools/generate_personnel.py"
LAB_PERSONNEL = REPO / "inventory/lab/data/personnel"
LAB_ORGANISATIONS = ("sodermalm", "bromma", "utbildning")

# The fixture city's organisations: sodermalm (aldreomsorg, forskola), utbildning
# (grundskola), kulturnamnden (stadsbiblioteket).
ROWS = {
    "sodermalm": [
        ["1001", "Åsa", "Öberg", "sodermalm", "aldreomsorg", "Undersköterska", "2001-03-01", ""],
        ["1002", "Björn", "Ström", "sodermalm", "forskola", "Barnskötare", "1999-08-16", ""],
        ["1003", "Göran", "Ångström", "sodermalm", "aldreomsorg", "Sjuksköterska", "1987-05-04", ""],
    ],
    "utbildning": [
        ["2001", "Märta", "Ek", "utbildning", "grundskola", "Lärare", "1995-08-15", ""],
        ["2002", "Renée", "Müller", "utbildning", "grundskola", "Rektor", "2004-01-12", ""],
    ],
}


class Exports:
    """Personnel files under `personnel/` of the fixture city's directory."""

    def __init__(self, city: CityFixture) -> None:
        self.dir = city.root / "personnel"
        self.organisations = load_city(city.data, register=False).organisations
        for organisation_id, rows in ROWS.items():
            self.write(organisation_id, [list(PERSONNEL_HEADER), *rows])

    def path(self, organisation_id: str) -> Path:
        return self.dir / f"{organisation_id}.csv"

    def paths(self) -> list[Path]:
        return sorted(self.dir.glob("*.csv"))

    def write(self, organisation_id: str, rows: list[list[str]]) -> None:
        self.dir.mkdir(exist_ok=True)
        with self.path(organisation_id).open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)

    def write_bytes(self, organisation_id: str, content: bytes) -> None:
        self.dir.mkdir(exist_ok=True)
        self.path(organisation_id).write_bytes(content)

    def rows(self, organisation_id: str) -> list[list[str]]:
        with self.path(organisation_id).open(encoding="utf-8", newline="") as handle:
            return list(csv.reader(handle))

    def edit(self, organisation_id: str, change: Callable[[list[list[str]]], object]) -> None:
        """`change` gets the rows, header first: rows[1] is line 2 of the file."""
        rows = self.rows(organisation_id)
        change(rows)
        self.write(organisation_id, rows)

    def set(self, organisation_id: str, index: int, column: str, value: str) -> None:
        column_index = PERSONNEL_HEADER.index(column)
        self.edit(organisation_id, lambda rows: rows[index].__setitem__(column_index, value))

    def people(self, **options) -> list[dict]:
        return load_people(self.paths(), self.organisations, today=options.pop("today", TODAY), **options)

    def usernames(self, **options) -> dict[str, str]:
        return {p["employee_id"]: p["username"] for p in self.people(**options)}


@pytest.fixture
def exports(city: CityFixture) -> Exports:
    return Exports(city)


def errors_of(exports: Exports, paths: list[Path] | None = None, **options) -> list[str]:
    with pytest.raises(CityDataError) as caught:
        load_people(exports.paths() if paths is None else paths, exports.organisations, today=TODAY,
                    **options)
    return caught.value.errors


HEADER_LINE = ",".join(PERSONNEL_HEADER)
LATIN1 = f"{HEADER_LINE}\n1001,Åsa,Öberg,sodermalm,aldreomsorg,Undersköterska,2001-03-01,\n".encode("cp1252")

# Each case breaks one thing and names every error it must cause.
BAD_INPUTS: list[tuple[str, Callable[[Exports], object], list[str]]] = [
    ("header-missing-a-column",
     lambda e: e.edit("sodermalm", lambda rows: [row.pop() for row in rows]),
     [f"{SOD}: line 1: header: missing column end_date (expected {HEADER_LINE})"]),
    ("header-misspelled-column",
     lambda e: e.set("sodermalm", 0, "surname", "surename"),
     [f"{SOD}: line 1: header: missing column surname; unknown column 'surename' (did you mean 'surname'?) "
      f"(expected {HEADER_LINE})"]),
    ("header-repeated-column",
     lambda e: e.set("sodermalm", 0, "title", "department"),
     [f"{SOD}: line 1: header: missing column title; column department appears more than once "
      f"(expected {HEADER_LINE})"]),
    ("too-few-columns",
     lambda e: e.edit("sodermalm", lambda rows: rows[2].pop()),
     [f"{SOD}: line 3: expected 8 columns, got 7"]),
    ("too-many-columns",
     lambda e: e.edit("utbildning", lambda rows: rows[1].append("extra")),
     [f"{UTB}: line 2: expected 8 columns, got 9"]),
    ("not-utf-8",
     lambda e: e.write_bytes("sodermalm", LATIN1),
     [f"{SOD}: line 2: not valid UTF-8 (byte 0xC5, byte 6 of the line, byte 87 of the file)",
      f"{SOD}: not UTF-8 on 1 line: it looks like Windows-1252 (Latin-1); export the file as UTF-8"]),
    ("malformed-quoting",
     lambda e: e.write_bytes("sodermalm", f'{HEADER_LINE}\n1001,"Åsa"x,Öberg\n'.encode()),
     [f"{SOD}: line 2: malformed CSV: ',' expected after '\"'"]),
    ("empty-file",
     lambda e: e.write_bytes("sodermalm", b""),
     [f"{SOD}: file is empty (expected the header line {HEADER_LINE})"]),
    ("duplicate-employee-id-in-one-file",
     lambda e: e.set("sodermalm", 3, "employee_id", "1001"),
     [f"{SOD}: line 4: duplicate employee_id 1001 (first at line 2)"]),
    ("duplicate-employee-id-across-files",
     lambda e: e.set("utbildning", 2, "employee_id", "1002"),
     [f"{UTB}: line 3: duplicate employee_id 1002 (first at {SOD} line 3)"]),
    ("invalid-employee-id",
     lambda e: e.set("sodermalm", 1, "employee_id", "10 01"),
     [f"{SOD}: line 2: employee_id '10 01' is not valid (1 to 20 ASCII letters, digits, '-' and '_', "
      "starting with a letter or digit)"]),
    ("unknown-organisation",
     lambda e: e.set("sodermalm", 2, "organisation", "sodermalmm"),
     [f"{SOD}: line 3: unknown organisation sodermalmm (did you mean 'sodermalm'?)"]),
    ("organisation-not-the-files",
     lambda e: e.edit("sodermalm", lambda rows: rows[2].__setitem__(
         slice(3, 5), ["utbildning", "grundskola"])),
     [f"{SOD}: line 3: organisation utbildning differs from the file's organisation sodermalm "
      "(one file per organisation)"]),
    ("file-named-for-no-organisation",
     lambda e: e.path("sodermalm").rename(e.path("soder")),
     ["personnel/soder.csv: unknown organisation soder: a personnel file is named <organisation id>.csv "
      "(did you mean 'sodermalm'?)"]),
    ("unknown-department-suggests-the-closest",
     lambda e: e.set("sodermalm", 2, "department", "skola"),
     [f"{SOD}: line 3: unknown department skola of organisation sodermalm (did you mean 'forskola'?)"]),
    ("department-by-name-instead-of-id",
     lambda e: e.set("sodermalm", 1, "department", "Äldreomsorg"),
     [f"{SOD}: line 2: unknown department Äldreomsorg of organisation sodermalm (use its id 'aldreomsorg')"]),
    ("department-of-another-organisation",
     lambda e: e.set("utbildning", 1, "department", "stadsbiblioteket"),
     [f"{UTB}: line 2: unknown department stadsbiblioteket of organisation utbildning "
      "(departments: grundskola)"]),
    ("missing-given-name",
     lambda e: e.set("sodermalm", 1, "given_name", " "),
     [f"{SOD}: line 2: given_name is empty"]),
    ("missing-surname",
     lambda e: e.set("utbildning", 2, "surname", ""),
     [f"{UTB}: line 3: surname is empty"]),
    ("name-without-a-foldable-letter",
     lambda e: e.set("utbildning", 1, "surname", "李"),
     [f"{UTB}: line 2: surname '李' has no letter a user name can be made of"]),
    # The name rules the servicedesk's orders share (module_utils/orders.py).
    ("comma-and-line-break-in-a-given-name",
     lambda e: e.set("sodermalm", 1, "given_name", "Åsa,\nBcc: x@example.org"),
     [f"{SOD}: line 2: given_name 'Åsa,\\nBcc: x@example.org' has U+002C COMMA at character 4; "
      "a name has letters, spaces, hyphens and apostrophes only"]),
    ("control-character-in-a-surname",
     lambda e: e.set("sodermalm", 1, "surname", "Öberg\x1b[2J"),
     [f"{SOD}: line 2: surname 'Öberg\\x1b[2J' has U+001B (a control character) at character 6; "
      "a name has letters, spaces, hyphens and apostrophes only"]),
    ("cyrillic-look-alike-in-a-surname",
     lambda e: e.set("sodermalm", 1, "surname", "\u041eberg"),
     [f"{SOD}: line 2: surname '\u041eberg' has U+041E CYRILLIC CAPITAL LETTER O at character 1; "
      "a Cyrillic letter among Latin ones (a look-alike?)"]),
    ("overlong-surname",
     lambda e: e.set("sodermalm", 1, "surname", "Öberg" * 13),
     [f"{SOD}: line 2: surname '{('Öberg' * 12)}'... is 65 characters long (at most 64)"]),
    ("employee-id-with-a-look-alike",
     lambda e: e.set("sodermalm", 1, "employee_id", "10\uff101"),
     [f"{SOD}: line 2: employee_id '10\uff101' has U+FF10 FULLWIDTH DIGIT ZERO at character 3; not ASCII "
      "(1 to 20 ASCII letters, digits, '-' and '_', starting with a letter or digit)"]),
    ("start-date-not-iso",
     lambda e: e.set("sodermalm", 1, "start_date", "2001/03/01"),
     [f"{SOD}: line 2: start_date: expected a date as YYYY-MM-DD, got string '2001/03/01'"]),
    ("start-date-not-a-day",
     lambda e: e.set("sodermalm", 2, "start_date", "2009-02-30"),
     [f"{SOD}: line 3: start_date: 2009-02-30 is not a valid date"]),
    ("start-date-missing",
     lambda e: e.set("sodermalm", 2, "start_date", ""),
     [f"{SOD}: line 3: start_date is empty"]),
    ("end-date-not-a-date",
     lambda e: e.set("utbildning", 1, "end_date", "snart"),
     [f"{UTB}: line 2: end_date: expected a date as YYYY-MM-DD, got string 'snart'"]),
    ("end-date-before-start-date",
     lambda e: e.set("utbildning", 1, "end_date", "1995-08-14"),
     [f"{UTB}: line 2: end_date 1995-08-14 is before start_date 1995-08-15"]),
]


@pytest.mark.parametrize(("breakage", "expected"), [case[1:] for case in BAD_INPUTS],
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_is_reported_with_file_line_and_problem(exports, breakage, expected):
    breakage(exports)
    assert errors_of(exports) == expected


def test_a_file_that_cannot_be_read_is_reported(exports):
    assert errors_of(exports, [exports.dir / "kulturnamnden.csv"]) == [
        "personnel/kulturnamnden.csv: cannot be read: No such file or directory"]


def test_every_problem_in_every_file_is_reported_and_nothing_returned(exports):
    exports.set("sodermalm", 1, "given_name", "")
    exports.set("sodermalm", 2, "department", "skola")
    exports.set("sodermalm", 3, "end_date", "1980-01-01")
    exports.set("utbildning", 1, "employee_id", "1001")
    exports.set("utbildning", 2, "start_date", "2004-13-12")
    errors = errors_of(exports)
    assert [error.split(": ")[:2] for error in errors] == [
        [SOD, "line 2"], [SOD, "line 3"], [SOD, "line 4"], [UTB, "line 2"], [UTB, "line 3"]]


def test_one_row_can_have_several_problems(exports):
    exports.edit("sodermalm", lambda rows: rows[1].__setitem__(slice(1, 8), ["", "", "", "x", "", "", ""]))
    assert errors_of(exports) == [f"{SOD}: line 2: {problem}" for problem in (
        "given_name is empty", "organisation is empty", "start_date is empty", "surname is empty")]


def test_lines_are_counted_in_the_file_across_blank_lines_and_quoted_line_breaks(exports):
    rows = exports.rows("sodermalm")
    text = (f"{HEADER_LINE}\n"
            + ",".join(rows[1]) + "\n"
            + "\n"                                                       # line 3: blank, skipped
            + '1002,Björn,Ström,sodermalm,forskola,"Barnskötare\nheltid",1999-08-16,\n'   # lines 4-5
            + "1003,Göran,Ångström,sodermalm,skola,Sjuksköterska,1987-05-04,\n")          # line 6
    exports.write_bytes("sodermalm", text.encode())
    assert errors_of(exports) == [
        f"{SOD}: line 6: unknown department skola of organisation sodermalm (did you mean 'forskola'?)"]


def test_a_byte_order_mark_and_windows_line_ends_are_accepted(exports):
    text = "\ufeff" + "\r\n".join(",".join(row) for row in exports.rows("sodermalm")) + "\r\n"
    exports.write_bytes("sodermalm", text.encode())
    assert [p["username"] for p in exports.people()][:3] == ["asa.oberg", "bjorn.strom", "goran.angstrom"]


def test_columns_may_come_in_any_order_and_values_are_stripped(exports):
    order = [7, 6, 5, 4, 3, 2, 1, 0]
    exports.edit("sodermalm", lambda rows: rows.__setitem__(
        slice(None), [[f" {row[i]} " for i in order] for row in rows]))
    person = exports.people()[0]
    assert (person["employee_id"], person["display_name"], person["department"]) == (
        "1001", "Åsa Öberg", "aldreomsorg")


def test_existing_usernames_must_be_names_held_by_one_person_each(exports):
    assert errors_of(exports, existing={"1001": "asa.oberg", "1002": "ASA.OBERG", "1003": ""}) == [
        "existing_usernames: 1002: user name ASA.OBERG is also held by employee 1001",
        "existing_usernames: 1003: expected a user name, got ''"]


# ---------------------------------------------------------------------------
# The people returned


def test_a_person_record_has_every_field(exports):
    assert exports.people()[0] == {
        "employee_id": "1001", "given_name": "Åsa", "surname": "Öberg", "display_name": "Åsa Öberg",
        "organisation": "sodermalm", "department": "aldreomsorg", "title": "Undersköterska",
        "start_date": "2001-03-01", "end_date": None, "username": "asa.oberg",
        "mail": "asa.oberg@stockholm.se", "status": "active"}


def test_people_come_in_employee_id_order_with_the_mail_domain_given(exports):
    exports.set("utbildning", 1, "employee_id", "999")
    people = exports.people(mail_domain="edu.stockholm.se")
    assert [p["employee_id"] for p in people] == ["999", "1001", "1002", "1003", "2002"]
    assert people[0]["mail"] == "marta.ek@edu.stockholm.se"


def test_status_against_today(exports):
    exports.set("sodermalm", 1, "start_date", "2010-01-05")      # starts tomorrow
    exports.set("sodermalm", 2, "end_date", "2010-01-04")        # last day today
    exports.set("sodermalm", 3, "end_date", "2010-01-03")        # left yesterday
    exports.set("utbildning", 1, "start_date", "2010-01-04")     # first day today
    status = {p["employee_id"]: p["status"] for p in exports.people()}
    assert status == {"1001": "future", "1002": "active", "1003": "leaver", "2001": "active",
                      "2002": "active"}
    assert personnel.status_counts(exports.people()) == {"active": 3, "future": 1, "leaver": 1}


def test_a_future_starter_gets_a_name_and_mail_now(exports):
    exports.set("sodermalm", 1, "start_date", "2010-03-01")
    person = exports.people()[0]
    assert (person["status"], person["username"], person["mail"]) == (
        "future", "asa.oberg", "asa.oberg@stockholm.se")


def test_a_leaver_without_an_account_gets_no_name_and_takes_none(exports):
    exports.edit("sodermalm", lambda rows: rows.append(
        ["1000", "Åsa", "Öberg", "sodermalm", "forskola", "Barnskötare", "1990-01-01", "2005-06-30"]))
    people = {p["employee_id"]: p for p in exports.people()}
    assert (people["1000"]["status"], people["1000"]["username"], people["1000"]["mail"]) == (
        "leaver", None, None)
    assert people["1001"]["username"] == "asa.oberg"


def test_a_leaver_keeps_the_name_the_directory_holds(exports):
    exports.set("sodermalm", 1, "end_date", "2009-12-31")
    person = exports.people(existing={"1001": "asa.oberg"})[0]
    assert (person["status"], person["username"], person["mail"]) == (
        "leaver", "asa.oberg", "asa.oberg@stockholm.se")


# ---------------------------------------------------------------------------
# User names


@pytest.mark.parametrize(("given_name", "surname", "expected"), [
    ("Åsa", "Öberg", "asa.oberg"),
    ("ÅSA", "ÖBERG", "asa.oberg"),
    ("Märta", "Ek", "marta.ek"),
    ("Renée", "Müller", "renee.muller"),
    ("Zoë", "D'Angelo", "zoe.dangelo"),
    ("Søren", "Groß", "soren.gross"),
    ("Ærling", "Łukasiewicz", "aerling.lukasiewicz"),
    ("Jan-Åke", "Nyström", "janake.nystrom"),
    ("Karl Johan", "Ek", "karl.ek"),
    ("Lars", "af Klint", "lars.afklint"),
    ("Eva", "Ström-Lindqvist", "eva.stromlindqvist"),
    # Longer than 20: the first part of a hyphenated given name, then cut to 20.
    ("Anna-Karin", "Ström-Lindqvist", "anna.stromlindqvist"),
    ("Maximiliana", "Wallenberg-Strömberg", "maximiliana.wallenbe"),
    ("Anna\u2013Lena", "Öst", "annalena.ost"),     # an en dash, as word processors write it
])
def test_username_base_folds_to_ascii(given_name, surname, expected):
    assert username_base(given_name, surname) == expected
    assert len(expected) <= personnel.MAX_USERNAME_LENGTH


def test_fold_keeps_only_ascii_letters():
    assert fold("Ångström-Öberg 3:e") == "angstromoberge"
    assert fold("Ünal Şahin İlhan") == "unalsahinilhan"


def people_named(*rows: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"employee_id": employee_id, "given_name": given, "surname": surname}
            for employee_id, given, surname in rows]


def test_clashes_are_numbered_in_employee_id_order():
    people = people_named(("1010", "Björn", "Ström"), ("999", "Bjorn", "Strom"), ("1002", "Björn", "Ström"),
                          ("1001", "Åsa", "Öberg"))
    assert assign_usernames(people, {}) == {"999": "bjorn.strom", "1002": "bjorn.strom2",
                                            "1010": "bjorn.strom3", "1001": "asa.oberg"}


def test_numbered_names_stay_within_twenty_characters():
    people = people_named(*[(str(n), "Maximiliana", "Wallenberg-Strömberg") for n in range(1, 11)])
    names = assign_usernames(people, {})
    assert names["1"] == "maximiliana.wallenbe"
    assert names["2"] == "maximiliana.wallenb2"
    assert names["10"] == "maximiliana.wallen10"
    assert len(set(names.values())) == 10


def test_names_in_the_directory_are_never_given_again():
    people = people_named(("1001", "Åsa", "Öberg"), ("1002", "Åsa", "Öberg"))
    # 0042 left long ago and is not in the files; 0043's name differs in case only.
    existing = {"0042": "asa.oberg", "0043": "Asa.Oberg2"}
    assert assign_usernames(people, existing) == {"1001": "asa.oberg3", "1002": "asa.oberg4"}


def test_names_in_the_directory_are_kept_even_when_the_scheme_would_differ():
    people = people_named(("1001", "Åsa", "Öberg"), ("1002", "Åsa", "Öberg"))
    assert assign_usernames(people, {"1002": "aober"}) == {"1001": "asa.oberg", "1002": "aober"}


def test_a_move_to_another_department_and_organisation_keeps_the_name(exports):
    before = exports.usernames()
    exports.set("sodermalm", 2, "department", "aldreomsorg")
    moved = exports.rows("sodermalm")[1]
    exports.edit("sodermalm", lambda rows: rows.pop(1))
    exports.edit("utbildning", lambda rows: rows.append([*moved[:3], "utbildning", "grundskola", *moved[5:]]))
    assert exports.usernames(existing=before) == before
    assert exports.usernames() == before


def test_a_change_of_surname_keeps_the_name(exports):
    before = exports.usernames()
    exports.set("utbildning", 1, "surname", "Lindqvist")
    assert exports.usernames(existing=before) == before


def test_a_new_person_with_a_lower_employee_id_renames_no_one(exports):
    before = exports.usernames()
    exports.edit("sodermalm", lambda rows: rows.insert(
        1, ["0999", "Åsa", "Öberg", "sodermalm", "forskola", "Förskollärare", "2010-01-04", ""]))
    after = exports.usernames(existing=before)
    assert after == {**before, "0999": "asa.oberg2"}
    # Without the directory's names the newcomer would have taken the name: hence `existing`.
    assert exports.usernames()["0999"] == "asa.oberg"


# ---------------------------------------------------------------------------
# The generator and the lab's files


def generate(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(GENERATOR), *arguments], capture_output=True, text=True,
                          check=True, timeout=60)


def test_generator_writes_the_same_bytes_every_time_and_the_committed_files(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    generate("--out", str(first))
    generate("--out", str(second))
    names = sorted(path.name for path in first.iterdir())
    assert names == sorted(f"{organisation}.csv" for organisation in LAB_ORGANISATIONS)
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes()
        assert (first / name).read_bytes() == (LAB_PERSONNEL / name).read_bytes(), \
            f"{name} is stale: run tools/generate_personnel.py"


def test_generator_writes_one_organisation_alone_as_in_the_lab(tmp_path):
    out = tmp_path / "bromma.csv"
    generate("--org", "bromma", "--out", str(out))
    assert out.read_bytes() == (LAB_PERSONNEL / "bromma.csv").read_bytes()


def test_generator_writes_a_thousand_valid_people_for_a_benchmark(tmp_path):
    out = tmp_path / "sodermalm.csv"
    generate("--org", "sodermalm", "--count", "1000", "--out", str(out))
    organisations = load_city(REPO / "inventory/stockholm/data", register=False).organisations
    people = load_people([out], organisations, today=TODAY)
    assert len(people) == 1000
    usernames = [p["username"] for p in people if p["username"]]
    assert len(set(usernames)) == len(usernames)
    assert any(name[-1].isdigit() for name in usernames)


def test_the_lab_personnel_is_valid_and_shows_what_the_scheme_handles():
    organisations = load_city(REPO / "inventory/stockholm/data", register=False).organisations
    paths = [LAB_PERSONNEL / f"{organisation}.csv" for organisation in LAB_ORGANISATIONS]
    people = load_people(paths, organisations, today=TODAY)
    assert {o: sum(p["organisation"] == o for p in people) for o in LAB_ORGANISATIONS} == dict.fromkeys(
        LAB_ORGANISATIONS, 50)
    by_name: dict[str, list[dict]] = {}
    for person in people:
        by_name.setdefault(person["display_name"], []).append(person)
    # The same name in two organisations, and twice in one.
    assert {p["organisation"] for p in by_name["Åsa Öberg"]} == {"sodermalm", "bromma"}
    assert [p["organisation"] for p in by_name["Björn Ström"] if p["organisation"] == "utbildning"] == [
        "utbildning", "utbildning"]
    assert sorted(p["username"] for p in by_name["Åsa Öberg"]) == ["asa.oberg", "asa.oberg2"]
    assert any(set("åäöÅÄÖ") & set(p["display_name"]) for p in people)
    assert any(p["status"] == "leaver" and p["end_date"] < "2011" for p in people)
    usernames = [p["username"] for p in people if p["username"]]
    assert len(set(usernames)) == len(usernames)
    assert all(name.isascii() and name == name.lower() and len(name) <= 20 for name in usernames)
    departments = {o: {d["id"] for d in organisations[o]["departments"]} for o in LAB_ORGANISATIONS}
    assert all(p["department"] in departments[p["organisation"]] and p["title"] for p in people)


# ---------------------------------------------------------------------------
# The personnel_read module


MODULE_UTILS = {"city_model": city_model, "personnel": personnel}


def load_module():
    """library/personnel_read.py with its module_utils importable as Ansible packs them."""
    return load_library_module("personnel_read", MODULE_UTILS)


def run_module(monkeypatch: pytest.MonkeyPatch, **arguments) -> dict:
    return run_library_module(monkeypatch, "personnel_read", arguments, MODULE_UTILS)


@pytest.mark.parametrize("check_mode", [False, True])
def test_module_returns_people_and_changes_nothing(exports, city, monkeypatch, check_mode):
    result = run_module(monkeypatch, files=[str(p) for p in exports.paths()], data_dir=str(city.data),
                        existing_usernames={"2002": "rmuller"}, today="2010-01-04",
                        _ansible_check_mode=check_mode)
    assert not result["failed"]
    assert result["changed"] is False
    assert [p["username"] for p in result["people"]] == [
        "asa.oberg", "bjorn.strom", "goran.angstrom", "marta.ek", "rmuller"]
    assert result["counts"] == {"active": 5, "future": 0, "leaver": 0}


def test_module_takes_numeric_employee_ids_of_existing_usernames(exports, city, monkeypatch):
    result = run_module(monkeypatch, files=[str(exports.path("utbildning"))], data_dir=str(city.data),
                        existing_usernames={2001: "mek"})
    assert result["people"][0]["username"] == "mek"


def test_module_fails_with_every_problem(exports, city, monkeypatch):
    exports.set("sodermalm", 1, "given_name", "")
    exports.set("utbildning", 2, "end_date", "2000-01-01")
    result = run_module(monkeypatch, files=[str(p) for p in exports.paths()], data_dir=str(city.data))
    assert result["failed"]
    assert result["errors"] == [f"{SOD}: line 2: given_name is empty",
                                f"{UTB}: line 3: end_date 2000-01-01 is before start_date 2004-01-12"]
    assert result["msg"] == "The personnel data is invalid (2 problems):\n" + "\n".join(result["errors"])


def test_module_refuses_a_bad_today(exports, city, monkeypatch):
    result = run_module(monkeypatch, files=[str(exports.path("utbildning"))], data_dir=str(city.data),
                        today="4/1/2010")
    assert result["failed"]
    assert result["msg"] == "today: expected a date as YYYY-MM-DD, got string '4/1/2010'"


def test_module_runs_in_ansible_with_its_module_utils_packed(exports, city):
    exports.set("utbildning", 1, "department", "skola")
    result = run_ansible("ansible", "localhost", "-c", "local", "-i", "localhost,", "-m", "personnel_read",
                         "-a", json.dumps({"files": [str(p) for p in exports.paths()],
                                           "data_dir": str(city.data)}),
                         "-e", f"ansible_python_interpreter={sys.executable}")
    assert result.returncode != 0
    assert "The personnel data is invalid (1 problems)" in result.stdout
    assert f"{exports.dir}/utbildning.csv: line 2: unknown department skola of organisation utbildning" \
        in result.stdout


def test_module_documentation_is_yaml_and_names_every_option():
    module = load_module()
    options = yaml.safe_load(module.DOCUMENTATION)["options"]
    assert yaml.safe_load(module.EXAMPLES)
    assert "people" in yaml.safe_load(module.RETURN)
    assert set(options) == {"files", "data_dir", "existing_usernames", "today", "mail_domain"}
