"""The servicedesk's orders are checked and planned before anything changes (module_utils/orders.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import city_model
import orders
import personnel
import pytest
import workstation_spec
import yaml
from module_runner import run_library_module
from orders import OrderError, plan_order

BASE = "DC=lab,DC=gemensam,DC=test"
ORGS_DN = f"OU=Organisationer,{BASE}"
# The profiles as the image build and the order_check module read them.
PROFILES = workstation_spec.load_profiles()
# What order_check imports from module_utils.
MODULE_UTILS = {
    "orders": orders,
    "personnel": personnel,
    "city_model": city_model,
    "workstation_spec": workstation_spec,
}

ORGANISATIONS: dict[str, Any] = {
    "sodermalm": {
        "code": "SOD",
        "name": "Södermalms stadsdelsnämnd",
        "departments": [{"id": "aldreomsorg", "name": "Äldreomsorg"}, {"id": "ekonomi", "name": "Ekonomi"}],
        "sites": [{"id": "sod_hornstull", "name": "Hornstull", "network": "admin"}],
    },
    "bromma": {
        "code": "BRO",
        "name": "Bromma stadsdelsnämnd",
        "departments": [{"id": "ekonomi", "name": "Ekonomi"}],
        "sites": [{"id": "bro_centrum", "name": "Bromma centrum", "network": "admin"}],
    },
    "utbildning": {
        "code": "UTB",
        "name": "Utbildningsnämnden",
        "departments": [{"id": "skola", "name": "Skola"}],
        "sites": [
            {"id": "utb_hantverkargatan", "name": "Hantverkargatan", "network": "admin"},
            {"id": "utb_sodermalmsskolan", "name": "Södermalmsskolan", "network": "edu"},
        ],
    },
}


def account(
    name: str,
    org: str = "SOD",
    employee_id: str = "",
    employee_type: str = "",
    member_of: list[str] | str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"dn": f"CN={name},OU=Users,OU={org},{ORGS_DN}", "sAMAccountName": name}
    if employee_id:
        entry["employeeID"] = employee_id
    if employee_type:
        entry["employeeType"] = employee_type
    if member_of is not None:
        entry["memberOf"] = member_of
    return entry


def group_dn(name: str, org: str = "SOD") -> str:
    return f"CN={name},OU=Groups,OU={org},{ORGS_DN}"


def plan(
    kind: str,
    order: dict[str, Any],
    accounts: list[dict[str, Any]] | None = None,
    computers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return plan_order(
        kind,
        order,
        source="order.yml",
        organisations=ORGANISATIONS,
        accounts=accounts or [],
        computers=computers or [],
        profiles=PROFILES,
        base_dn=BASE,
        mail_domain="lab.gemensam.test",
    )


NEW_USER = {
    "ticket": "42",
    "organisation": "sodermalm",
    "given_name": "Märta",
    "surname": "Ödström",
    "employee_id": "900001",
    "department": "aldreomsorg",
}


def test_a_new_user_gets_a_folded_name_the_organisations_groups_and_the_tickets_mark() -> None:
    result = plan("new_user", NEW_USER)
    user = result["user"]
    assert user["sam_account_name"] == "marta.odstrom"
    assert user["path"] == f"OU=Users,{ORGS_DN.replace('OU=Organisationer', 'OU=SOD,OU=Organisationer')}"
    assert user["email"] == "marta.odstrom@lab.gemensam.test"
    assert user["upn"] == "marta.odstrom@lab.gemensam.test"
    assert user["display_name"] == "Märta Ödström"
    assert user["employee_type"] == "Beställning #42"
    assert user["department"] == "Äldreomsorg"
    assert [g["name"] for g in result["groups"]] == ["SOD-Personal", "SOD-Avd-aldreomsorg"]
    assert result["exists"] is False


def test_a_taken_name_gets_the_next_number() -> None:
    result = plan("new_user", NEW_USER, [account("marta.odstrom"), account("Marta.Odstrom2", "BRO")])
    assert result["user"]["sam_account_name"] == "marta.odstrom3"


def test_the_education_boards_people_go_to_its_admin_branch() -> None:
    result = plan("new_user", {**NEW_USER, "organisation": "UTB", "department": "skola"})
    assert result["user"]["path"] == f"OU=Users,OU=Admin,OU=UTB,{ORGS_DN}"


def test_running_the_same_order_again_finds_its_own_account() -> None:
    mine = account("marta.odstrom", employee_id="900001", employee_type="Beställning #42")
    result = plan("new_user", NEW_USER, [mine])
    assert result["exists"] is True
    assert result["user"]["sam_account_name"] == "marta.odstrom"


@pytest.mark.parametrize("holder_type", ["", "Beställning #41"])
def test_an_employee_id_someone_holds_is_a_duplicate_person(holder_type: str) -> None:
    with pytest.raises(OrderError, match=r"order.yml: employee_id: 900001 already has the account asa.berg"):
        plan("new_user", NEW_USER, [account("asa.berg", employee_id="900001", employee_type=holder_type)])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"organisation": "solna"}, r"order.yml: organisation: unknown organisation 'solna'"),
        (
            {"department": "hamnen"},
            r"order.yml: department: unknown department hamnen of organisation sodermalm "
            r"\(departments: aldreomsorg, ekonomi\)",
        ),
        ({"ticket": "abc"}, r"order.yml: ticket: 'abc' is not valid \(a ticket number"),
        ({"ticket": "0"}, r"order.yml: ticket: '0' is not valid \(a ticket number"),
        ({"surname": ""}, r"order.yml: surname: is required for a new_user order"),
        ({"shoe_size": 44}, r"order.yml: shoe_size: is not a field of a new_user order"),
        ({"surname": "---"}, r"order.yml: surname: surname '---' has no letter"),
    ],
)
def test_bad_input_names_the_file_and_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(OrderError, match=message):
        plan("new_user", {**NEW_USER, **change})


def test_an_order_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(OrderError, match=r"order\.yml: the order must be a mapping"):
        plan("leaver", ["ticket", 1])  # type: ignore[arg-type]


def test_the_personnel_exports_people_are_left_to_hrs_data() -> None:
    hr_person = account("asa.berg", employee_id="100001", member_of=[group_dn("SOD-Personal")])
    for kind, order in (
        ("mover", {"ticket": "7", "username": "asa.berg", "department": "ekonomi"}),
        ("leaver", {"ticket": "7", "username": "asa.berg"}),
    ):
        with pytest.raises(OrderError, match=r"order\.yml: username: asa\.berg comes from a personnel"):
            plan(kind, order, [hr_person])


def test_an_unknown_account_is_named() -> None:
    with pytest.raises(OrderError, match=r"order\.yml: username: the directory has no account 'nobody'"):
        plan("leaver", {"ticket": "7", "username": "nobody"})


def ordered_person(member_of: list[str] | str) -> dict[str, Any]:
    return account(
        "marta.odstrom", employee_id="900001", employee_type="Beställning #42", member_of=member_of
    )


def test_a_mover_changes_department_groups_and_keeps_other_groups() -> None:
    person = ordered_person(
        [group_dn("SOD-Personal"), group_dn("SOD-Avd-aldreomsorg"), group_dn("SOD-Brevlada-registrator")]
    )
    result = plan("mover", {"ticket": "43", "username": "marta.odstrom", "department": "ekonomi"}, [person])
    assert result["code"] == "SOD"
    assert {(g["name"], g["state"]) for g in result["groups"]} == {
        ("SOD-Personal", "present"),
        ("SOD-Avd-ekonomi", "present"),
        ("SOD-Avd-aldreomsorg", "absent"),
    }


def test_a_mover_to_another_organisation_moves_ou_and_leaves_the_old_staff_group() -> None:
    person = ordered_person(group_dn("SOD-Personal"))
    result = plan(
        "mover",
        {"ticket": "43", "username": "marta.odstrom", "department": "ekonomi", "organisation": "BRO"},
        [person],
    )
    assert result["user"]["path"] == f"OU=Users,OU=BRO,{ORGS_DN}"
    assert ("SOD-Personal", "absent") in {(g["name"], g["state"]) for g in result["groups"]}


def test_a_leaver_is_disabled_and_leaves_the_organisations_groups() -> None:
    person = ordered_person(
        [group_dn("SOD-Personal"), group_dn("SOD-Avd-aldreomsorg"), group_dn("SOD-Brevlada-registrator")]
    )
    result = plan("leaver", {"ticket": "44", "username": "marta.odstrom"}, [person])
    assert result["user"] == {"sam_account_name": "marta.odstrom", "enabled": False}
    assert sorted(g["name"] for g in result["groups"]) == ["SOD-Avd-aldreomsorg", "SOD-Personal"]
    assert {g["state"] for g in result["groups"]} == {"absent"}


WORKSTATION = {
    "ticket": "50",
    "organisation": "sodermalm",
    "site": "sod_hornstull",
    "profile": "kontor-barbar",
    "serial": "ABC1234",
    "model": "Lenovo ThinkPad T14",
}


def test_a_new_workstation_gets_the_next_number_of_its_kind_and_its_profile() -> None:
    computers = [
        {"cn": "SOD-LT-00007", "description": "Profil kontor-barbar, serienummer X9, Beställning #3"},
        {"cn": "SOD-WS-00020", "description": ""},
    ]
    result = plan("new_workstation", WORKSTATION, computers=computers)
    assert result["computer"]["name"] == "SOD-LT-00008"
    assert result["computer"]["dn"] == f"CN=SOD-LT-00008,OU=Computers,OU=SOD,{ORGS_DN}"
    assert result["computer"]["sam_account_name"] == "SOD-LT-00008$"
    assert result["asset"]["fields"]["Profil"] == "kontor-barbar"
    assert result["asset"]["name"] == "sod-lt-00008"


def test_the_same_workstation_order_finds_its_own_computer() -> None:
    computers = [
        {"cn": "SOD-LT-00008", "description": "Profil kontor-barbar, serienummer ABC1234, Beställning #50"}
    ]
    result = plan("new_workstation", WORKSTATION, computers=computers)
    assert result["exists"] is True
    assert result["computer"]["name"] == "SOD-LT-00008"


def test_a_school_computer_goes_to_the_schools_ou() -> None:
    result = plan(
        "new_workstation",
        {
            **WORKSTATION,
            "organisation": "utbildning",
            "site": "utb_sodermalmsskolan",
            "profile": "skola-elev",
        },
    )
    assert (
        result["computer"]["dn"]
        == f"CN=UTB-WS-00001,OU=Computers,OU=Södermalmsskolan,OU=EDU,OU=UTB,{ORGS_DN}"
    )


@pytest.mark.parametrize(
    ("change", "computers", "message"),
    [
        (
            {"profile": "skola-elev"},
            [],
            r"profile: skola-elev is for the edu network, but sod_hornstull is on the admin",
        ),
        ({"profile": "gaming"}, [], r"profile: unknown image profile 'gaming'"),
        ({"site": "bro_centrum"}, [], r"site: Södermalms stadsdelsnämnd has no site 'bro_centrum'"),
        ({"serial": "a b"}, [], r"serial: 'a b' is not valid \(a serial number"),
        (
            {},
            [
                {
                    "cn": "SOD-WS-00001",
                    "description": "Profil kontor-stationar, serienummer ABC1234, Beställning #2",
                }
            ],
            r"serial: ABC1234 is already registered as SOD-WS-00001",
        ),
        ({"assigned_user": "nobody"}, [], r"assigned_user: the directory has no account 'nobody'"),
    ],
)
def test_bad_workstation_orders_are_refused(
    change: dict[str, Any], computers: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(OrderError, match=message):
        plan("new_workstation", {**WORKSTATION, **change}, computers=computers)


def test_a_functional_mailbox_is_a_group_with_an_address() -> None:
    result = plan(
        "new_functional_mailbox",
        {
            "ticket": "60",
            "organisation": "SOD",
            "id": "projekt",
            "description": "Projektets brevlåda",
            "members": ["asa.berg"],
        },
        [account("asa.berg")],
    )
    assert result["group"] == {
        "name": "SOD-Brevlada-projekt",
        "dn": f"CN=SOD-Brevlada-projekt,OU=Groups,OU=SOD,{ORGS_DN}",
        "mail": "sod-projekt@lab.gemensam.test",
        "description": "Projektets brevlåda",
        "members": ["asa.berg"],
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "Reg istrator"}, r"id: 'Reg istrator' is not valid \(2-20 lower-case letters"),
        ({"members": ["nobody"]}, r"members: the directory has no account 'nobody'"),
        ({"members": "asa.berg"}, r"members: must be a list of user names"),
    ],
)
def test_bad_functional_mailbox_orders_are_refused(change: dict[str, Any], message: str) -> None:
    order = {"ticket": "60", "organisation": "SOD", "id": "projekt", "description": "x", **change}
    with pytest.raises(OrderError, match=message):
        plan("new_functional_mailbox", order, [account("asa.berg")])


def test_the_module_reads_the_order_file_and_fails_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_file = tmp_path / "beställning.yml"
    order_file.write_text(
        yaml.safe_dump({**NEW_USER, "organisation": "solna"}, allow_unicode=True), encoding="utf-8"
    )
    profiles_file = Path(__file__).parents[2] / "inventory/stockholm/data/workstation_profiles.yml"
    args = {
        "kind": "new_user",
        "order_file": str(order_file),
        "organisations": ORGANISATIONS,
        "profiles_file": str(profiles_file),
        "base_dn": BASE,
        "mail_domain": "lab.gemensam.test",
    }
    utils = MODULE_UTILS
    failed = run_library_module(monkeypatch, "order_check", args, utils)
    assert failed["failed"] is True
    assert failed["msg"].startswith(f"{order_file}: organisation: unknown organisation 'solna'")

    order_file.write_text(yaml.safe_dump(NEW_USER, allow_unicode=True), encoding="utf-8")
    result = run_library_module(monkeypatch, "order_check", args, utils)
    assert result["changed"] is False
    assert result["plan"]["user"]["sam_account_name"] == "marta.odstrom"

    order_file.write_text("ticket: [1\n", encoding="utf-8")
    broken = run_library_module(monkeypatch, "order_check", args, utils)
    assert broken["msg"].startswith(f"{order_file}: the order is not valid YAML")


# -- A workstation order finds its own computer by its whole mark ----------------------


def test_a_workstation_order_does_not_take_the_computer_of_a_ticket_whose_number_begins_with_its_own() -> (
    None
):
    computers = [
        {"cn": "SOD-LT-00008", "description": "Profil kontor-barbar, serienummer XYZ9876, Beställning #12"}
    ]
    result = plan("new_workstation", {**WORKSTATION, "ticket": "1"}, computers=computers)
    assert result["exists"] is False
    assert result["computer"]["name"] == "SOD-LT-00009"
    assert result["computer"]["description"].endswith(", Beställning #1")


def test_a_serial_that_begins_another_machines_serial_is_another_machine() -> None:
    computers = [
        {"cn": "SOD-LT-00008", "description": "Profil kontor-barbar, serienummer ABC12345, Beställning #7"}
    ]
    result = plan("new_workstation", {**WORKSTATION, "serial": "ABC1234"}, computers=computers)
    assert result["computer"]["name"] == "SOD-LT-00009"


# -- The order file's values are the strings written --------------------------------------


def run_order_check(
    monkeypatch: pytest.MonkeyPatch, order_file: Path, kind: str = "new_user", **extra: Any
) -> dict[str, Any]:
    args = {
        "kind": kind,
        "order_file": str(order_file),
        "organisations": ORGANISATIONS,
        "profiles_file": str(Path(__file__).parents[2] / "inventory/stockholm/data/workstation_profiles.yml"),
        "base_dn": BASE,
        "mail_domain": "lab.gemensam.test",
        **extra,
    }
    return run_library_module(monkeypatch, "order_check", args, MODULE_UTILS)


ORDER_TEXT = """\
ticket: 42
organisation: sodermalm
given_name: Märta
surname: No
employee_id: 0123
department: aldreomsorg
"""


def test_the_module_reads_every_value_as_the_string_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_file = tmp_path / "order.yml"
    order_file.write_text(ORDER_TEXT, encoding="utf-8")
    result = run_order_check(monkeypatch, order_file)
    assert result["plan"]["user"]["employee_id"] == "0123"
    assert result["plan"]["user"]["surname"] == "No"
    assert result["plan"]["ticket"] == 42


def test_a_leading_zero_does_not_hide_a_duplicate_person(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_file = tmp_path / "order.yml"
    order_file.write_text(ORDER_TEXT, encoding="utf-8")
    failed = run_order_check(monkeypatch, order_file, accounts=[account("asa.berg", employee_id="0123")])
    assert failed["failed"] is True
    assert (
        failed["msg"]
        == f"{order_file}: employee_id: 0123 already has the account asa.berg (a duplicate person)"
    )


@pytest.mark.parametrize(
    ("field", "value", "described"),
    [
        ("employee_id", 83, "integer 83"),
        ("surname", False, "boolean false"),
        ("given_name", 1.5, "number 1.5"),
        ("ticket", 42, "integer 42"),
    ],
)
def test_a_value_that_is_not_a_string_is_refused_naming_the_field(
    field: str, value: Any, described: str
) -> None:
    with pytest.raises(OrderError) as caught:
        plan("new_user", {**NEW_USER, field: value})
    assert str(caught.value) == f"order.yml: {field}: must be a string, got {described} — quote it"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "ticket: 1\nticket: 2\n",
            r"order\.yml: the order is not valid YAML \(line 2, column 1\): 'ticket' appears twice",
        ),
        (
            "a: &x 1\nb: *x\n",
            r"order\.yml: the order is not valid YAML \(line 2, column 4\): an order has no aliases",
        ),
        ("", r"order\.yml: the order is empty"),
        ("ticket: [1\n", r"order\.yml: the order is not valid YAML"),
    ],
)
def test_an_order_file_that_is_not_a_plain_mapping_of_strings_is_refused(
    tmp_path: Path, text: str, message: str
) -> None:
    order_file = tmp_path / "order.yml"
    order_file.write_text(text, encoding="utf-8")
    with pytest.raises(OrderError, match=message):
        orders.read_order(str(order_file), "order.yml")


def test_an_order_file_that_is_not_utf8_or_too_large_is_refused(tmp_path: Path) -> None:
    order_file = tmp_path / "order.yml"
    order_file.write_bytes("surname: Ödström\n".encode("cp1252"))
    with pytest.raises(OrderError, match=r"order\.yml: the order is not valid UTF-8 \(byte 10\)"):
        orders.read_order(str(order_file), "order.yml")
    order_file.write_bytes(b"# x\n" * 20000)
    with pytest.raises(OrderError, match=r"order\.yml: the order is larger than 64 KiB"):
        orders.read_order(str(order_file), "order.yml")


# -- One schema: the personnel exports' rules, every refusal named, values escaped ----------

NAME_RULE = "a name has letters, spaces, hyphens and apostrophes only"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"given_name": "Märta, x@example.org"},
            f"given_name: 'Märta, x@example.org' has U+002C COMMA at character 6; {NAME_RULE}",
        ),
        (
            {"surname": "Ödström\nBcc: x@example.org"},
            "surname: 'Ödström\\nBcc: x@example.org' has U+000A (a control character) at character 8; "
            + NAME_RULE,
        ),
        (
            {"surname": "Öd\x00ström"},
            f"surname: 'Öd\\x00ström' has U+0000 (a control character) at character 3; {NAME_RULE}",
        ),
        (
            {"surname": "Ödström\u202e"},
            f"surname: 'Ödström\\u202e' has U+202E RIGHT-TO-LEFT OVERRIDE at character 8; {NAME_RULE}",
        ),
        (
            {"given_name": "M\u0430rta"},
            "given_name: 'M\u0430rta' has U+0430 CYRILLIC SMALL LETTER A at character 2; "
            "a Cyrillic letter among Latin ones (a look-alike?)",
        ),
        ({"surname": "Ö" * 65}, f"surname: '{'Ö' * 60}'... is 65 characters long (at most 64)"),
        (
            {"title": "Chef\x1b[31m"},
            "title: 'Chef\\x1b[31m' has U+001B (a control character) at character 5; "
            "only printable characters on one line",
        ),
        ({"title": "x" * 129}, f"title: '{'x' * 60}'... is 129 characters long (at most 128)"),
        (
            {"employee_id": "9000012345678901234567"},
            "employee_id: '9000012345678901234567' is not valid (1 to 20 ASCII letters, digits, '-' and '_', "
            "starting with a letter or digit)",
        ),
        (
            {"ticket": "\u00b2"},
            "ticket: '\u00b2' has U+00B2 SUPERSCRIPT TWO at character 1; not ASCII "
            "(a ticket number: 1 to 9 ASCII digits, not starting with 0)",
        ),
        (
            {"ticket": "\u0661\u0662"},
            "ticket: '\u0661\u0662' has U+0661 ARABIC-INDIC DIGIT ONE at character 1; not ASCII "
            "(a ticket number: 1 to 9 ASCII digits, not starting with 0)",
        ),
        (
            {"organisation": "\u017fod"},
            "organisation: '\u017fod' has U+017F LATIN SMALL LETTER LONG S at character 1; not ASCII "
            "(an organisation's id or code)",
        ),
        (
            {"department": "ekonom\u0456"},
            "department: 'ekonom\u0456' has U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I "
            "at character 7; not ASCII (a department's id)",
        ),
    ],
)
def test_each_field_is_checked_by_its_rule(change: dict[str, Any], message: str) -> None:
    with pytest.raises(OrderError) as caught:
        plan("new_user", {**NEW_USER, **change})
    assert str(caught.value) == f"order.yml: {message}"


def test_a_look_alike_user_name_is_not_taken_for_the_account_it_resembles() -> None:
    # U+212A KELVIN SIGN casefolds to k: compared without the ASCII rule it was asa.berk's account.
    with pytest.raises(
        OrderError, match=r"username: 'asa\.ber\u212a' has U\+212A KELVIN SIGN at character 8"
    ):
        plan(
            "leaver",
            {"ticket": "7", "username": "asa.ber\u212a"},
            [account("asa.berk", employee_type="Beställning #3")],
        )


@pytest.mark.parametrize(
    ("given_name", "surname", "username"),
    [
        ("Anna-Karin", "Ström-Lindqvist", "anna.stromlindqvist"),
        ("Seán", "O'Brien", "sean.obrien"),
        ("Zoë", "d\u2019Artagnan", "zoe.dartagnan"),
        ("Jose\u0301", "Lars af Klint", "jose.larsafklint"),
        ("Åsa", "Éklund", "asa.eklund"),
    ],
)
def test_names_with_accents_hyphens_spaces_and_apostrophes_are_kept(
    given_name: str, surname: str, username: str
) -> None:
    result = plan("new_user", {**NEW_USER, "given_name": given_name, "surname": surname})
    assert result["user"]["sam_account_name"] == username
    assert result["user"]["display_name"] == f"{given_name} {surname}"


def test_an_unknown_field_is_named_escaped_and_cut() -> None:
    with pytest.raises(OrderError) as caught:
        plan("leaver", {"ticket": "7", "username": "asa.berg", "x" * 100 + "\n": "1"})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"order.yml: '{'x' * 60}'...: is not a field of a leaver order")


def test_every_missing_and_bad_field_is_reported_at_once() -> None:
    with pytest.raises(OrderError) as caught:
        plan("new_user", {"ticket": "42", "surname": "Öd,ström", "shoe_size": "44"})
    assert str(caught.value).splitlines() == [
        "order.yml: shoe_size: is not a field of a new_user order "
        "(its fields: ticket, organisation, given_name, surname, employee_id, department, title)",
        "order.yml: organisation: is required for a new_user order",
        "order.yml: given_name: is required for a new_user order",
        f"order.yml: surname: 'Öd,ström' has U+002C COMMA at character 3; {NAME_RULE}",
        "order.yml: employee_id: is required for a new_user order",
        "order.yml: department: is required for a new_user order",
    ]


def test_a_bad_value_is_echoed_escaped_and_cut() -> None:
    with pytest.raises(OrderError) as caught:
        plan("new_user", {**NEW_USER, "given_name": "Märta\u202e" + "A" * 5000})
    message = str(caught.value)
    echoed = message.split("given_name: ")[1].split(" is ")[0]
    assert echoed == "'Märta\\u202e" + "A" * 49 + "'..."
    assert len(echoed) <= 65


def test_members_of_a_functional_mailbox_are_user_names() -> None:
    order = {"ticket": "60", "organisation": "SOD", "id": "projekt", "description": "x"}
    with pytest.raises(OrderError, match=r"members: item 2: 'a\\nb' is not valid \(1 to 20 ASCII"):
        plan("new_functional_mailbox", {**order, "members": ["asa.berg", "a\nb"]}, [account("asa.berg")])
    with pytest.raises(OrderError, match=r"description: '\\x07' has U\+0007 \(a control character\)"):
        plan("new_functional_mailbox", {**order, "description": "\x07"}, [account("asa.berg")])


# -- The welcome mail: one recipient, encoded headers ---------------------------------------

WELCOME_TASKS = Path(__file__).parents[2] / "roles/orders/tasks/welcome_mail.yml"


def test_the_welcome_mail_task_sends_to_the_plans_one_address_and_no_header_of_user_data() -> None:
    tasks = yaml.safe_load(WELCOME_TASKS.read_text(encoding="utf-8"))
    mail = next(task["community.general.mail"] for task in tasks if "community.general.mail" in task)
    # A string `to` is a list option split at commas: one address, as a list.
    assert mail["to"] == ["{{ __orders_order.plan.mail_to }}"]
    assert mail["headers"] == ["X-Gemensam-Order={{ __orders_order.plan.ticket }}"]
    assert "plan.user" not in mail["subject"] + mail["sender"]


def test_the_welcome_mail_is_sent_to_the_new_person_only_with_an_encoded_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """community.general.mail itself builds the message, to a fake SMTP server."""
    import email
    from email.header import decode_header, make_header

    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.community.general.plugins.modules import mail

    result = plan("new_user", {**NEW_USER, "given_name": "Seán", "surname": "O'Brien-Ödström"})
    sent: list[tuple[str, list[str], str]] = []

    class FakeSMTP:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def connect(self, *args: Any) -> tuple[int, bytes]:
            return 220, b"ok"

        def ehlo(self, *args: Any) -> tuple[int, bytes]:
            return 250, b"ok"

        def has_extn(self, name: str) -> bool:
            return False

        def sendmail(self, sender: str, recipients: list[str], message: str) -> dict[str, Any]:
            sent.append((sender, recipients, message))
            return {}

        def quit(self) -> None:
            pass

    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    args = {
        "host": "localhost",
        "port": 25,
        "secure": "never",
        "sender": "Gemensam IT Servicedesk <helpdesk@lab.gemensam.test>",
        "to": [result["mail_to"]],
        "subject": "Välkommen",
        "body": "Hej",
        "charset": "utf-8",
        "headers": [f"X-Gemensam-Order={result['ticket']}"],
    }
    with patch_module_args(args), pytest.raises(SystemExit):
        mail.main()
    [(_sender, recipients, text)] = sent
    assert list(recipients) == ["sean.obrienodstrom@lab.gemensam.test"]
    message = email.message_from_string(text)
    assert message["To"].isascii()
    assert str(make_header(decode_header(message["To"]))) == (
        "Seán O'Brien-Ödström <sean.obrienodstrom@lab.gemensam.test>"
    )
    assert message["X-Gemensam-Order"] == "42"
