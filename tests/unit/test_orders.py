"""The servicedesk's orders are checked and planned before anything changes (module_utils/orders.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orders
import personnel
import pytest
import yaml
from module_runner import run_library_module
from orders import OrderError, plan_order

BASE = "DC=lab,DC=gemensam,DC=test"
ORGS_DN = f"OU=Organisationer,{BASE}"
PROFILES = yaml.safe_load(
    (Path(__file__).parents[2] / "inventory/stockholm/data/workstation_profiles.yml").read_text(
        encoding="utf-8"
    )
)["profiles"]

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
        organisations_ou="Organisationer",
        department_prefix="Avd-",
    )


NEW_USER = {
    "ticket": 42,
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
            r"order.yml: department: Södermalms stadsdelsnämnd has no department 'hamnen'",
        ),
        ({"ticket": "abc"}, r"order.yml: ticket: must be a ticket number"),
        ({"ticket": 0}, r"order.yml: ticket: must be a ticket number"),
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
        ("mover", {"ticket": 7, "username": "asa.berg", "department": "ekonomi"}),
        ("leaver", {"ticket": 7, "username": "asa.berg"}),
    ):
        with pytest.raises(OrderError, match=r"order\.yml: username: asa\.berg comes from a personnel"):
            plan(kind, order, [hr_person])


def test_an_unknown_account_is_named() -> None:
    with pytest.raises(OrderError, match=r"order\.yml: username: the directory has no account 'nobody'"):
        plan("leaver", {"ticket": 7, "username": "nobody"})


def ordered_person(member_of: list[str] | str) -> dict[str, Any]:
    return account(
        "marta.odstrom", employee_id="900001", employee_type="Beställning #42", member_of=member_of
    )


def test_a_mover_changes_department_groups_and_keeps_other_groups() -> None:
    person = ordered_person(
        [group_dn("SOD-Personal"), group_dn("SOD-Avd-aldreomsorg"), group_dn("SOD-Brevlada-registrator")]
    )
    result = plan("mover", {"ticket": 43, "username": "marta.odstrom", "department": "ekonomi"}, [person])
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
        {"ticket": 43, "username": "marta.odstrom", "department": "ekonomi", "organisation": "BRO"},
        [person],
    )
    assert result["user"]["path"] == f"OU=Users,OU=BRO,{ORGS_DN}"
    assert ("SOD-Personal", "absent") in {(g["name"], g["state"]) for g in result["groups"]}


def test_a_leaver_is_disabled_and_leaves_the_organisations_groups() -> None:
    person = ordered_person(
        [group_dn("SOD-Personal"), group_dn("SOD-Avd-aldreomsorg"), group_dn("SOD-Brevlada-registrator")]
    )
    result = plan("leaver", {"ticket": 44, "username": "marta.odstrom"}, [person])
    assert result["user"] == {"sam_account_name": "marta.odstrom", "enabled": False}
    assert sorted(g["name"] for g in result["groups"]) == ["SOD-Avd-aldreomsorg", "SOD-Personal"]
    assert {g["state"] for g in result["groups"]} == {"absent"}


WORKSTATION = {
    "ticket": 50,
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
        ({"serial": "a b"}, [], r"serial: 'a b' is not a serial number"),
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
            "ticket": 60,
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
        ({"id": "Reg istrator"}, r"id: 'Reg istrator' must be 2-20 lower-case letters"),
        ({"members": ["nobody"]}, r"members: the directory has no account 'nobody'"),
        ({"members": "asa.berg"}, r"members: must be a list of user names"),
    ],
)
def test_bad_functional_mailbox_orders_are_refused(change: dict[str, Any], message: str) -> None:
    order = {"ticket": 60, "organisation": "SOD", "id": "projekt", "description": "x", **change}
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
    utils = {"orders": orders, "personnel": personnel}
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
