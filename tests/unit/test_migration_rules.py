"""migration/accounts.py and migration/file_names.py: who an old account becomes, and what
an old file's name becomes, on the way to the common service."""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from migration import accounts, file_names


def person(employee_id, given, surname, organisation="sodermalm", status="active", username="auto"):
    if username == "auto":
        username = f"{given[0].lower()}.{surname.lower()}" if status != "leaver" else None
    return {"employee_id": employee_id, "given_name": given, "surname": surname,
            "organisation": organisation, "status": status, "username": username}


PEOPLE = [
    person("100001", "Åsa", "Lindström", username="asa.lindstrom"),
    person("100002", "Per", "Öberg", username="per.oberg"),
    person("100003", "Anna", "Berg", username="anna.berg"),
    person("100004", "Anna", "Berg", username="anna.berg2"),
    person("100005", "Karl", "Ek", status="leaver"),
    person("200001", "Björn", "Nilsson", organisation="bromma", username="bjorn.nilsson"),
    person("100006", "Lars", "Holm", status="future", username="lars.holm"),
]


def old(name, full_name="", employee_id="", server="sod-fs01"):
    return accounts.OldAccount(server, name, full_name, employee_id)


def mapped(*old_accounts):
    result = accounts.map_accounts(old_accounts, PEOPLE, "sodermalm")
    return ({m.account.name: (m.username, m.rule) for m in result.matched},
            {h.account.name: h.reason for h in result.held})


@pytest.mark.parametrize("full_name", ["Åsa Lindström", "ÅSA  LINDSTRÖM", "Lindström, Åsa", "Asa Lindstrom"])
def test_an_old_account_is_matched_by_the_whole_name(full_name):
    assert mapped(old("asali", full_name)) == ({"asali": ("asa.lindstrom", "name")}, {})


def test_a_decomposed_name_from_an_old_mac_matches():
    matched, _ = mapped(old("peob", unicodedata.normalize("NFD", "Per Öberg")))
    assert matched == {"peob": ("per.oberg", "name")}


def test_the_employee_id_decides_over_the_name():
    assert mapped(old("ab", "Anna Berg", "100004")) == ({"ab": ("anna.berg2", "employee id")}, {})


@pytest.mark.parametrize("full_name", ["Åsa", "Åsa Lindström-Ek", "Åsa Maria Lindström", "sa Lindström"])
def test_a_part_of_a_name_or_a_longer_name_is_no_match(full_name):
    matched, held = mapped(old("x", full_name))
    assert matched == {} and "is named" in held["x"]


def test_two_people_of_one_name_hold_the_account():
    matched, held = mapped(old("aberg", "Anna Berg"))
    assert matched == {}
    assert held["aberg"] == "2 people of sodermalm are named 'Anna Berg' (employee ids 100003, 100004)"


def test_a_person_of_another_committee_is_not_matched():
    _, held = mapped(old("bn", "Björn Nilsson"), old("bn2", "", "200001"))
    assert held["bn"] == "no person of sodermalm is named 'Björn Nilsson'"
    assert held["bn2"] == "employee id 200001 is a person of bromma, not of sodermalm"


def test_a_leaver_and_an_unknown_id_are_held_and_named():
    _, held = mapped(old("kek", "Karl Ek"), old("zz", "", "999999"))
    assert held == {"kek": "Karl Ek (100005) has left and has no account",
                    "zz": "employee id 999999 is in no personnel export"}


def test_a_future_person_is_matched():
    assert mapped(old("lholm", "Lars Holm"))[0] == {"lholm": ("lars.holm", "name")}


@pytest.mark.parametrize("name", ["Administrator", "Guest", "IUSR_SOD-FS01", "SUPPORT_388945a0", "krbtgt",
                                  "root"])
def test_the_old_servers_own_accounts_are_held_as_nobodys(name):
    matched, held = mapped(old(name, "Åsa Lindström"))
    assert matched == {} and "not a person" in held[name]


def test_nothing_is_dropped():
    accounts_in = [old("asali", "Åsa Lindström"), old("aberg", "Anna Berg"), old("nn", ""),
                   old("Guest"), old("asali", "Åsa Lindström", server="sod-ex01")]
    result = accounts.map_accounts(accounts_in, PEOPLE, "sodermalm")
    assert len(result.matched) + len(result.held) == len(accounts_in)
    assert result.username_of("sod-ex01", "ASALI") == "asa.lindstrom"
    assert result.username_of("sod-fs01", "aberg") is None


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": "a\nb"}, "control character U+000A at position 2"),
    ({"name": "ab", "full_name": "Åsa\u202eLindström"}, "control character U+202E"),
    ({"name": "ab", "full_name": "x" * 300}, "longer than 256"),
    ({"name": 17}, "name must be a string, got int"),
    ({"name": "  "}, "has an empty name"),
])
def test_what_an_old_server_says_is_checked(fields, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        accounts.old_account("sod-fs01", fields)


# --- file names ---------------------------------------------------------------

@pytest.mark.parametrize(("old_name", "new_name"), [
    ("Budget 2009.xls", "Budget 2009.xls"),
    ("Protokoll: möte?.doc", "Protokoll_ möte_.doc"),
    ("a<b>c|d\"e*f.txt", "a_b_c_d_e_f.txt"),
    ("Rapport.", "Rapport_"),
    ("Rapport ", "Rapport_"),
    ("CON", "CON_"),
    ("con.txt", "con_.txt"),
    ("lpt1.doc", "lpt1_.doc"),
    ("CONSOLE.txt", "CONSOLE.txt"),
    ("tab\there", "tab_here"),
    (unicodedata.normalize("NFD", "Årsredovisning.pdf"), "Årsredovisning.pdf"),
])
def test_a_name_the_new_server_refuses_is_renamed_by_the_rule(old_name, new_name):
    assert file_names.new_name(old_name) == new_name


def test_a_long_name_is_cut_in_its_stem_at_a_character_boundary():
    name = "ö" * 200 + ".docx"
    renamed = file_names.new_name(name)
    assert len(renamed.encode()) <= 255 and renamed.endswith(".docx")
    assert renamed == "ö" * 125 + ".docx"


def test_names_that_become_the_same_are_numbered_whatever_order_they_came_in():
    names = ["a:b.txt", "a?b.txt", "a_b.txt", "Rapport.doc", "rapport.doc"]
    expected = {"a:b.txt": "a_b (2).txt", "a?b.txt": "a_b (3).txt", "a_b.txt": "a_b.txt",
                "Rapport.doc": "Rapport.doc", "rapport.doc": "rapport (2).doc"}
    assert file_names.rename_folder(names) == expected
    assert file_names.rename_folder(reversed(names)) == expected
    assert len({name.casefold() for name in expected.values()}) == len(expected)


@pytest.mark.parametrize("name", ["", ".", ".."])
def test_what_is_not_a_name_is_refused(name):
    with pytest.raises(ValueError, match="is not a file name"):
        file_names.new_name(name)
