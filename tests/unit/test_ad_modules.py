"""The ad_user and ad_group_members modules against a fake python-ldap (fake_ldap.py): the
module arguments as Ansible hands them over, exit and fail made to raise, and only the
LDAP connection faked. Each write the modules make is checked in the fake directory."""

from __future__ import annotations

import sys

import fake_ldap
import pytest
import samba_ldap
import yaml
from fake_ldap import BASE
from module_runner import load_doc_fragment, load_library_module, run_library_module

USERS = f"OU=Users,OU=SOD,OU=Organisationer,{BASE}"
BRO_USERS = f"OU=Users,OU=BRO,OU=Organisationer,{BASE}"
GROUPS = f"OU=Groups,OU=SOD,OU=Organisationer,{BASE}"
CONNECTION = {
    "server_uri": "ldaps://dc1.stad.stockholm.test",
    "ca_path": "/usr/local/share/ca-certificates/gemensam-city-ca.crt",
    "bind_dn": "administrator@STAD.STOCKHOLM.TEST",
    "bind_pw": "Admin-Secret-1",
}
ASA = {
    "sam_account_name": "asa.oberg",
    "path": USERS,
    "firstname": "Åsa",
    "surname": "Öberg",
    "display_name": "Åsa Öberg",
    "email": "asa.oberg@stockholm.se",
    "upn": "asa.oberg@stad.stockholm.test",
    "employee_id": "583902",
    "title": "Undersköterska",
    "department": "Äldreomsorg",
    "company": "Södermalms stadsdelsnämnd",
}
ASA_DN = f"CN=asa.oberg,{USERS}"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> fake_ldap.Server:
    server = fake_ldap.Server()
    monkeypatch.setitem(sys.modules, "ldap", fake_ldap.module(server))
    return server


MODULE_UTILS = {"samba_ldap": samba_ldap}


def load(name: str):
    return load_library_module(name, MODULE_UTILS)


def run(
    monkeypatch: pytest.MonkeyPatch,
    module_name: str,
    /,
    check_mode: bool = False,
    diff: bool = True,
    **arguments,
) -> dict:
    return run_library_module(
        monkeypatch, module_name,
        {**CONNECTION, **arguments, "_ansible_check_mode": check_mode, "_ansible_diff": diff},
        MODULE_UTILS,
    )


def asa_in_directory(server: fake_ldap.Server, dn: str = ASA_DN, uac: int = 512, **changes) -> None:
    attributes = {
        "givenName": "Åsa",
        "sn": "Öberg",
        "displayName": "Åsa Öberg",
        "mail": "asa.oberg@stockholm.se",
        "userPrincipalName": "asa.oberg@stad.stockholm.test",
        "employeeID": "583902",
        "title": "Undersköterska",
        "department": "Äldreomsorg",
        "company": "Södermalms stadsdelsnämnd",
    }
    attributes.update(changes)
    server.user(dn, "asa.oberg", uac=uac, **{k: v for k, v in attributes.items() if v is not None})


# ---------------------------------------------------------------------------
# ad_user


def test_a_new_user_is_created_with_every_attribute_and_the_password(server, monkeypatch):
    result = run(monkeypatch, "ad_user", **ASA, password="Första-Lösen-2009")
    assert not result["failed"] and result["changed"]
    assert server.writes == [("add", ASA_DN)]
    entry = server.get(ASA_DN)
    assert entry["sAMAccountName"] == ["asa.oberg"] and entry["cn"] == ["asa.oberg"]
    assert entry["givenName"] == ["Åsa"] and entry["department"] == ["Äldreomsorg"]
    assert entry["employeeID"] == ["583902"] and entry["mail"] == ["asa.oberg@stockholm.se"]
    assert entry["userAccountControl"] == ["512"]
    assert entry["objectClass"] == ["top", "person", "organizationalPerson", "user"]
    assert entry["unicodePwd"] == ['"Första-Lösen-2009"']
    assert result["users"][0]["actions"] == ["created"]
    assert result["counts"]["created"] == 1
    assert "Första-Lösen-2009" not in repr(result)
    assert result["diff"]["before"] == {"asa.oberg": {}}
    assert result["diff"]["after"]["asa.oberg"]["enabled"] is True
    assert server.binds == [("administrator@STAD.STOCKHOLM.TEST", "Admin-Secret-1")]
    assert server.uri == "ldaps://dc1.stad.stockholm.test"


def test_a_user_created_disabled_has_the_disable_bit(server, monkeypatch):
    run(monkeypatch, "ad_user", **ASA, password="Första-Lösen-2009", enabled=False)
    assert server.get(ASA_DN)["userAccountControl"] == ["514"]


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_user_in_the_wanted_state_is_not_changed(server, monkeypatch, check_mode):
    asa_in_directory(server)
    result = run(
        monkeypatch, "ad_user", check_mode=check_mode, **ASA, password="Ignored-Once-Created1", enabled=True
    )
    assert not result["failed"]
    assert result["changed"] is False
    assert server.writes == []
    assert result["counts"] == {"created": 0, "moved": 0, "updated": 0, "removed": 0, "unchanged": 1}
    assert result["diff"] == {"before": {}, "after": {}}


def test_check_mode_reports_a_creation_and_writes_nothing(server, monkeypatch):
    result = run(monkeypatch, "ad_user", check_mode=True, **ASA, password="Första-Lösen-2009")
    assert result["changed"] is True
    assert result["users"][0]["actions"] == ["created"]
    assert server.writes == [] and not server.has(ASA_DN)


def test_changed_attributes_are_replaced_and_shown_in_the_diff(server, monkeypatch):
    asa_in_directory(server, title="Vårdbiträde", department="Förskola")
    result = run(monkeypatch, "ad_user", **ASA)
    assert result["changed"]
    assert server.writes == [
        (
            "modify",
            ASA_DN,
            [
                (fake_ldap.MOD_REPLACE, "title", [b"Undersk\xc3\xb6terska"]),
                (fake_ldap.MOD_REPLACE, "department", ["Äldreomsorg".encode()]),
            ],
        )
    ]
    assert result["users"][0]["attributes"] == ["title", "department"]
    assert result["diff"]["before"]["asa.oberg"]["title"] == "Vårdbiträde"
    assert result["diff"]["after"]["asa.oberg"]["title"] == "Undersköterska"


def test_an_empty_value_removes_the_attribute_and_an_unset_one_is_not_managed(server, monkeypatch):
    asa_in_directory(server)
    result = run(monkeypatch, "ad_user", sam_account_name="asa.oberg", employee_id="583902", title="")
    assert server.writes == [("modify", ASA_DN, [(fake_ldap.MOD_DELETE, "title", None)])]
    assert "title" not in server.get(ASA_DN) and server.get(ASA_DN)["mail"] == ["asa.oberg@stockholm.se"]
    assert "title" not in result["diff"]["after"]["asa.oberg"]


def test_disabling_sets_only_the_disable_bit(server, monkeypatch):
    # NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD: the second bit is kept.
    asa_in_directory(server, uac=512 | 0x10000)
    result = run(monkeypatch, "ad_user", **ASA, enabled=False)
    assert server.get(ASA_DN)["userAccountControl"] == [str(512 | 0x10000 | 2)]
    assert result["users"][0]["actions"] == ["disabled"]
    assert result["diff"]["before"]["asa.oberg"]["enabled"] is True
    assert result["diff"]["after"]["asa.oberg"]["enabled"] is False
    assert run(monkeypatch, "ad_user", **ASA, enabled=False)["changed"] is False


def test_enabling_clears_the_disable_bit(server, monkeypatch):
    asa_in_directory(server, uac=514)
    result = run(monkeypatch, "ad_user", **ASA, enabled=True)
    assert server.get(ASA_DN)["userAccountControl"] == ["512"]
    assert result["users"][0]["actions"] == ["enabled"]


def test_a_mover_is_found_by_employee_id_and_moved_to_the_new_ou(server, monkeypatch):
    asa_in_directory(server, dn=f"CN=asa.oberg,{BRO_USERS}", company="Bromma stadsdelsnämnd")
    result = run(monkeypatch, "ad_user", **ASA)
    assert server.writes[0] == ("rename", f"CN=asa.oberg,{BRO_USERS}", "CN=asa.oberg", USERS)
    assert server.writes[1][:2] == ("modify", ASA_DN)
    assert server.get(ASA_DN)["company"] == ["Södermalms stadsdelsnämnd"]
    assert not server.has(f"CN=asa.oberg,{BRO_USERS}")
    assert result["users"][0]["actions"] == ["moved", "updated"]
    assert result["users"][0]["distinguished_name"] == ASA_DN
    assert result["diff"]["after"]["asa.oberg"]["distinguished_name"] == ASA_DN


def test_a_user_without_employee_id_is_found_by_name_and_given_it(server, monkeypatch):
    asa_in_directory(server, employeeID=None)
    result = run(monkeypatch, "ad_user", **ASA)
    assert server.get(ASA_DN)["employeeID"] == ["583902"]
    assert result["users"][0]["attributes"] == ["employee_id"]


def test_the_dn_is_compared_as_ad_does_without_case(server, monkeypatch):
    asa_in_directory(server, dn=ASA_DN.upper().replace("CN=ASA.OBERG", "CN=asa.oberg"))
    assert run(monkeypatch, "ad_user", **ASA)["changed"] is False


def test_the_password_is_set_on_create_only_unless_always(server, monkeypatch):
    asa_in_directory(server)
    assert run(monkeypatch, "ad_user", **ASA, password="Nytt-Lösen-2010")["changed"] is False
    result = run(monkeypatch, "ad_user", **ASA, password="Nytt-Lösen-2010", update_password="always")
    assert result["changed"] and result["users"][0]["actions"] == ["password_set"]
    assert server.get(ASA_DN)["unicodePwd"] == ['"Nytt-Lösen-2010"']
    assert "Nytt-Lösen-2010" not in repr(result)


def test_a_password_is_never_sent_unencrypted(server, monkeypatch):
    result = run(
        monkeypatch,
        "ad_user",
        **{**ASA, "password": "Första-Lösen-2009"},
        server_uri="ldap://dc1.stad.stockholm.test",
    )
    assert result["failed"]
    assert "asa.oberg: a password can only be set over ldaps://" in result["msg"]
    assert server.writes == []


def test_creating_needs_a_path_and_a_password(server, monkeypatch):
    result = run(
        monkeypatch, "ad_user", users=[{**ASA}, {"sam_account_name": "bo.lind", "password": "Xx-123456789"}]
    )
    assert result["failed"]
    assert result["errors"] == [
        "asa.oberg: password is required to create the account",
        "bo.lind: path is required to create the account",
    ]
    assert server.writes == []


def test_an_employee_id_and_a_name_held_by_two_accounts_fail_with_nothing_written(server, monkeypatch):
    asa_in_directory(server)
    server.user(f"CN=asa.oberg2,{USERS}", "asa.oberg2", employeeID="999999")
    users = [
        {**ASA, "sam_account_name": "asa.oberg2"},
        {**ASA, "sam_account_name": "new.person", "employee_id": "1"},
    ]
    result = run(monkeypatch, "ad_user", users=users, password="Första-Lösen-2009")
    assert result["failed"]
    assert result["errors"] == [
        f"asa.oberg2: employee_id 583902 belongs to {ASA_DN} but the user name to CN=asa.oberg2,{USERS}"
    ]
    assert result["msg"].startswith("1 of the users cannot be ensured; nothing was written:")
    assert server.writes == []


def test_a_name_held_by_another_employee_is_refused(server, monkeypatch):
    server.user(f"CN=asa.oberg,{USERS}", "asa.oberg", employeeID="111111")
    result = run(monkeypatch, "ad_user", **ASA, password="Första-Lösen-2009")
    assert result["failed"]
    assert result["errors"] == [
        f"asa.oberg: the user name is held by {ASA_DN} with employee_id 111111, not 583902"
    ]


def test_a_user_given_twice_is_refused(server, monkeypatch):
    result = run(
        monkeypatch, "ad_user", users=[ASA, {**ASA, "employee_id": "2"}], password="Första-Lösen-2009"
    )
    assert result["errors"] == ["asa.oberg: given twice (users[0] and users[1])"]


def test_absent_removes_the_account_and_is_then_unchanged(server, monkeypatch):
    asa_in_directory(server)
    result = run(monkeypatch, "ad_user", sam_account_name="asa.oberg", state="absent")
    assert result["changed"] and server.writes == [("delete", ASA_DN)]
    assert result["diff"]["after"] == {"asa.oberg": {}}
    assert run(monkeypatch, "ad_user", sam_account_name="asa.oberg", state="absent")["changed"] is False


def test_a_batch_in_one_connection_with_top_level_defaults(server, monkeypatch):
    asa_in_directory(server)
    users = [
        ASA,
        {
            "sam_account_name": "bo.lind",
            "employee_id": "1001",
            "path": BRO_USERS,
            "password": "Bo-Lösen-20090101",
            "enabled": False,
        },
    ]
    result = run(monkeypatch, "ad_user", users=users, company="Södermalms stadsdelsnämnd")
    assert result["counts"] == {"created": 1, "moved": 0, "updated": 0, "removed": 0, "unchanged": 1}
    assert [u["changed"] for u in result["users"]] == [False, True]
    bo = server.get(f"CN=bo.lind,{BRO_USERS}")
    assert bo["company"] == ["Södermalms stadsdelsnämnd"] and bo["userAccountControl"] == ["514"]
    assert len(server.binds) == 1
    assert list(result["diff"]["after"]) == ["bo.lind"]


def test_ldap_errors_while_writing_are_reported_per_user(server, monkeypatch):
    def refuse(dn, modlist):
        raise fake_ldap.CONSTRAINT_VIOLATION(
            {"desc": "Constraint violation", "info": "0000052D: Password fails quality checking"}
        )

    monkeypatch.setattr(server, "add_s", refuse)
    result = run(monkeypatch, "ad_user", **ASA, password="short")
    assert result["failed"]
    assert result["errors"] == [
        f"Cannot add {ASA_DN}: Constraint violation: 0000052D: Password fails quality checking"
    ]


def test_ad_user_fails_clearly_without_python_ldap(monkeypatch):
    monkeypatch.setitem(sys.modules, "ldap", None)
    result = run(monkeypatch, "ad_user", **ASA)
    assert result["failed"]
    assert result["msg"].startswith("python-ldap is required")


# ---------------------------------------------------------------------------
# ad_group_members


def people(server: fake_ldap.Server, *names: str) -> None:
    for name in names:
        server.user(f"CN={name},{USERS}", name)


def dn(name: str) -> str:
    return f"CN={name},{USERS}"


@pytest.fixture
def staff(server):
    people(server, "asa.oberg", "bo.lind", "eva.ek")
    server.group(f"CN=SOD-Personal,{GROUPS}", "SOD-Personal", [dn("asa.oberg"), dn("bo.lind")])
    server.group(f"CN=SOD-Avd-forskola,{GROUPS}", "SOD-Avd-forskola")
    return server


def members(server, group: str) -> list[str]:
    return server.get(f"CN={group},{GROUPS}").get("member", [])


def test_exact_adds_the_missing_and_removes_the_others_in_one_write(staff, monkeypatch):
    result = run(monkeypatch, "ad_group_members", name="SOD-Personal", members=["asa.oberg", "eva.ek"])
    assert result["changed"]
    assert members(staff, "SOD-Personal") == [dn("asa.oberg"), dn("eva.ek")]
    assert len(staff.writes) == 1
    assert result["added"] == {"SOD-Personal": ["eva.ek"]}
    assert result["removed"] == {"SOD-Personal": ["bo.lind"]}
    assert result["diff"] == {
        "before": {"SOD-Personal": ["asa.oberg", "bo.lind"]},
        "after": {"SOD-Personal": ["asa.oberg", "eva.ek"]},
    }


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_group_with_the_wanted_members_is_not_changed(staff, monkeypatch, check_mode):
    # Names and DNs are compared without regard to case, as AD does.
    staff.group(f"CN=SOD-Personal,{GROUPS}", "SOD-Personal", [dn("asa.oberg").upper(), dn("bo.lind")])
    result = run(
        monkeypatch,
        "ad_group_members",
        check_mode=check_mode,
        name="sod-personal",
        members=["Asa.Oberg", "bo.lind"],
    )
    assert result["changed"] is False
    assert staff.writes == []
    assert result["added"] == {} and result["removed"] == {}


def test_check_mode_reports_the_changes_and_writes_nothing(staff, monkeypatch):
    result = run(monkeypatch, "ad_group_members", check_mode=True, name="SOD-Personal", members=["eva.ek"])
    assert result["changed"]
    assert result["removed"] == {"SOD-Personal": ["asa.oberg", "bo.lind"]}
    assert staff.writes == []


def test_check_mode_shows_members_not_yet_created_as_added(staff, monkeypatch):
    result = run(
        monkeypatch,
        "ad_group_members",
        check_mode=True,
        name="SOD-Avd-forskola",
        members=["new.person", "eva.ek"],
    )
    assert result["added"] == {"SOD-Avd-forskola": ["eva.ek", "new.person"]}
    assert staff.writes == []


def test_members_that_do_not_exist_fail_with_nothing_written(staff, monkeypatch):
    result = run(
        monkeypatch,
        "ad_group_members",
        groups=[
            {"name": "SOD-Avd-forskola", "members": ["eva.ek"]},
            {"name": "SOD-Okand", "members": ["nobody.here"]},
        ],
    )
    assert result["failed"]
    assert result["errors"] == ["SOD-Okand: no such group", "no such members: nobody.here"]
    assert staff.writes == []


def test_present_only_adds_and_absent_only_removes(staff, monkeypatch):
    result = run(monkeypatch, "ad_group_members", name="SOD-Personal", members=["eva.ek"], state="present")
    assert members(staff, "SOD-Personal") == [dn("asa.oberg"), dn("bo.lind"), dn("eva.ek")]
    assert result["removed"] == {}
    result = run(
        monkeypatch, "ad_group_members", name="SOD-Personal", members=["bo.lind", "asa.oberg"], state="absent"
    )
    assert members(staff, "SOD-Personal") == [dn("eva.ek")]
    assert result["removed"] == {"SOD-Personal": ["asa.oberg", "bo.lind"]}


def test_a_mover_changes_department_groups_in_one_call(staff, monkeypatch):
    staff.group(f"CN=SOD-Avd-aldreomsorg,{GROUPS}", "SOD-Avd-aldreomsorg", [dn("eva.ek")])
    result = run(
        monkeypatch,
        "ad_group_members",
        groups=[
            {"name": "SOD-Avd-aldreomsorg", "members": []},
            {"name": f"CN=SOD-Avd-forskola,{GROUPS}", "members": ["eva.ek"]},
        ],
    )
    assert members(staff, "SOD-Avd-aldreomsorg") == []
    assert members(staff, "SOD-Avd-forskola") == [dn("eva.ek")]
    assert result["added"] == {f"CN=SOD-Avd-forskola,{GROUPS}": ["eva.ek"]}
    assert result["removed"] == {"SOD-Avd-aldreomsorg": ["eva.ek"]}
    assert len(staff.binds) == 1


def test_members_beyond_the_range_limit_are_all_read(staff, monkeypatch):
    staff.RANGE = 2
    result = run(
        monkeypatch, "ad_group_members", name="SOD-Personal", members=["asa.oberg", "bo.lind", "eva.ek"]
    )
    assert result["added"] == {"SOD-Personal": ["eva.ek"]}
    assert (
        run(monkeypatch, "ad_group_members", name="SOD-Personal", members=["asa.oberg", "bo.lind", "eva.ek"])[
            "changed"
        ]
        is False
    )


def test_a_member_that_is_not_named_keeps_its_dn_in_the_result(staff, monkeypatch):
    staff.group(f"CN=SOD-Personal,{GROUPS}", "SOD-Personal", [dn("asa.oberg"), f"CN=Extern,{BASE}"])
    result = run(monkeypatch, "ad_group_members", name="SOD-Personal", members=["asa.oberg"])
    assert result["removed"] == {"SOD-Personal": [f"CN=Extern,{BASE}"]}


# ---------------------------------------------------------------------------
# module_utils/samba_ldap.py and the documentation


def test_filter_and_dn_values_are_escaped():
    assert samba_ldap.escape_filter("a*(b)\\") == "a\\2a\\28b\\29\\5c"
    assert samba_ldap.escape_rdn("Öberg, Åsa") == "Öberg\\, Åsa"
    assert samba_ldap.escape_rdn(" x ") == "\\ x\\ "
    assert samba_ldap.split_dn("CN=Öberg\\, Åsa,OU=Users") == ["CN=Öberg\\, Åsa", "OU=Users"]
    assert samba_ldap.same_dn("CN=A, OU=Users,DC=x", "cn=a,ou=users,dc=X")
    assert samba_ldap.parent_dn("CN=Öberg\\, Åsa,OU=Users,DC=x") == "OU=Users,DC=x"


def test_account_control_and_password_encoding():
    assert samba_ldap.account_control(None, True) == 512
    assert samba_ldap.account_control(None, False) == 514
    assert samba_ldap.account_control(0x10202, True) == 0x10200
    assert samba_ldap.encode_password("Åb1") == '"Åb1"'.encode("utf-16-le")


FRAGMENTS = {"samba_ldap": load_doc_fragment("samba_ldap")}


@pytest.mark.parametrize("name", ["ad_user", "ad_group_members"])
def test_module_documentation_is_yaml_and_names_every_option(name):
    module = load(name)
    documented = yaml.safe_load(module.DOCUMENTATION)
    assert yaml.safe_load(module.EXAMPLES)
    assert yaml.safe_load(module.RETURN)
    fragments = {fragment: FRAGMENTS[fragment] for fragment in documented["extends_documentation_fragment"]
                 if fragment in FRAGMENTS}
    assert list(fragments) == ["samba_ldap"]
    options = {**documented["options"], **yaml.safe_load(fragments["samba_ldap"])["options"]}
    assert set(options) == set(module.argument_spec())
    suboptions = documented["options"]["users" if name == "ad_user" else "groups"]["suboptions"]
    assert set(suboptions) == set(
        module.argument_spec()["users" if name == "ad_user" else "groups"]["options"]
    )
