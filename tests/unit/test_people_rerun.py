"""The cost of a re-run of tasks/people.yml (bench/people.sh): ad_user and ad_group_members
given a thousand people the directory already holds read each object class with one search
(pages of one paged search) and write nothing; a difference is one write. The fake python-ldap
(fake_ldap.py) records every search, each page of a paged search apart, and every write."""

from __future__ import annotations

import sys

import fake_ldap
import pytest
from fake_ldap import BASE
from test_ad_modules import GROUPS, USERS, run

# Past SEARCH_CHUNK (200) names, the modules read every entry of the class in one paged search.
PEOPLE = 1000
PAGE = 500  # samba_ldap.PAGE_SIZE: the fake answers at most what the client asks for
DEPARTMENTS = ["aldreomsorg", "forskola", "individ", "stab"]
USERS_READ = "(&(objectClass=user)(|(employeeID=*)(sAMAccountName=*)))"
MEMBERS_READ = "(&(objectClass=*)(|(sAMAccountName=*)))"


def person(number: int) -> dict:
    name = f"person.{number:04d}"
    return {
        "sam_account_name": name,
        "name": name,
        "path": USERS,
        "upn": f"{name}@stad.stockholm.test",
        "firstname": "Person",
        "surname": f"{number:04d}",
        "display_name": f"Person {number:04d}",
        "email": f"{name}@stockholm.se",
        "employee_id": str(100000 + number),
        "title": "Handläggare",
        "department": DEPARTMENTS[number % len(DEPARTMENTS)],
        "company": "Södermalms stadsdelsnämnd",
        # Every tenth a leaver, disabled.
        "enabled": number % 10 != 0,
    }


USERS_WANTED = [person(number) for number in range(PEOPLE)]
GROUPS_WANTED = [
    {
        "name": "SOD-Personal",
        "state": "exact",
        "members": [u["sam_account_name"] for u in USERS_WANTED if u["enabled"]],
    }
] + [
    {
        "name": f"SOD-Avd-{department}",
        "state": "exact",
        "members": [
            u["sam_account_name"] for u in USERS_WANTED if u["enabled"] and u["department"] == department
        ],
    }
    for department in DEPARTMENTS
]


def user_dn(user: dict) -> str:
    return f"CN={user['sam_account_name']},{USERS}"


@pytest.fixture
def converged(monkeypatch: pytest.MonkeyPatch) -> fake_ldap.Server:
    """The directory after the first run: every account and group as people.yml wants them."""
    server = fake_ldap.Server()
    monkeypatch.setitem(sys.modules, "ldap", fake_ldap.module(server))
    for user in USERS_WANTED:
        server.user(
            user_dn(user),
            user["sam_account_name"],
            uac=512 if user["enabled"] else 514,
            userPrincipalName=user["upn"],
            givenName=user["firstname"],
            sn=user["surname"],
            displayName=user["display_name"],
            mail=user["email"],
            employeeID=user["employee_id"],
            title=user["title"],
            department=user["department"],
            company=user["company"],
        )
    # An account of someone else in the domain, which the reads pass over.
    server.user(f"CN=Administrator,CN=Users,{BASE}", "Administrator")
    for group in GROUPS_WANTED:
        server.group(
            f"CN={group['name']},{GROUPS}", group["name"], [f"CN={name},{USERS}" for name in group["members"]]
        )
    server.searches.clear()
    return server


def searches_by_filter(server: fake_ldap.Server) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, ldap_filter in server.searches:
        counts[ldap_filter] = counts.get(ldap_filter, 0) + 1
    return counts


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_rerun_reads_the_users_once_and_writes_nothing(converged, monkeypatch, check_mode):
    result = run(monkeypatch, "ad_user", check_mode=check_mode, search_base=BASE, users=USERS_WANTED)
    assert not result["failed"]
    assert result["changed"] is False
    assert converged.writes == []
    assert result["counts"] == {"created": 0, "moved": 0, "updated": 0, "removed": 0, "unchanged": PEOPLE}
    assert result["diff"] == {"before": {}, "after": {}}
    # One paged search of the users (its pages), instead of one search per 200 ids and per 200 names.
    assert searches_by_filter(converged) == {USERS_READ: -(-(PEOPLE + 1) // PAGE)}
    assert len(converged.binds) == 1


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_rerun_reads_the_groups_and_the_members_once_and_writes_nothing(converged, monkeypatch, check_mode):
    result = run(
        monkeypatch, "ad_group_members", check_mode=check_mode, search_base=BASE, groups=GROUPS_WANTED
    )
    assert not result["failed"]
    assert result["changed"] is False
    assert converged.writes == []
    assert result["added"] == {} and result["removed"] == {}
    assert result["diff"] == {"before": {}, "after": {}}
    # One search of the groups (few enough to be named), one paged read of the members.
    principals = PEOPLE + 1 + len(GROUPS_WANTED)
    group_filters = [f for f in searches_by_filter(converged) if f.startswith("(&(objectClass=group)")]
    assert len(group_filters) == 1
    assert searches_by_filter(converged) == {group_filters[0]: 1, MEMBERS_READ: -(-principals // PAGE)}


def test_a_changed_attribute_is_one_modify_shown_in_the_diff(converged, monkeypatch):
    changed = USERS_WANTED[7]
    converged.entries[fake_ldap.key(user_dn(changed))][1]["title"] = [b"Enhetschef"]
    result = run(monkeypatch, "ad_user", search_base=BASE, users=USERS_WANTED)
    assert result["changed"] is True
    assert converged.writes == [
        ("modify", user_dn(changed), [(fake_ldap.MOD_REPLACE, "title", [b"Handl\xc3\xa4ggare"])])
    ]
    assert result["counts"]["updated"] == 1 and result["counts"]["unchanged"] == PEOPLE - 1
    assert result["diff"]["before"] == {
        changed["sam_account_name"]: {
            **result["diff"]["before"][changed["sam_account_name"]],
            "title": "Enhetschef",
        }
    }
    assert result["diff"]["after"][changed["sam_account_name"]]["title"] == "Handläggare"
    assert list(searches_by_filter(converged)) == [USERS_READ]


def test_a_new_leaver_is_one_modify_of_the_account_control(converged, monkeypatch):
    leaver = USERS_WANTED[11]
    users = [dict(user, enabled=False) if user is leaver else user for user in USERS_WANTED]
    result = run(monkeypatch, "ad_user", search_base=BASE, users=users)
    assert converged.writes == [
        ("modify", user_dn(leaver), [(fake_ldap.MOD_REPLACE, "userAccountControl", [b"514"])])
    ]
    assert result["users"][11]["actions"] == ["disabled"]


def test_a_member_who_left_is_one_modify_of_each_of_their_groups(converged, monkeypatch):
    leaver = USERS_WANTED[11]
    department = f"SOD-Avd-{leaver['department']}"
    name = leaver["sam_account_name"]
    groups = [dict(group, members=[m for m in group["members"] if m != name]) for group in GROUPS_WANTED]
    result = run(monkeypatch, "ad_group_members", search_base=BASE, groups=groups)
    assert [(action, dn) for action, dn, _ in converged.writes] == [
        ("modify", f"CN=SOD-Personal,{GROUPS}"),
        ("modify", f"CN={department},{GROUPS}"),
    ]
    assert result["removed"] == {"SOD-Personal": [name], department: [name]}
    assert name in result["diff"]["before"][department] and name not in result["diff"]["after"][department]


def test_a_member_nobody_names_is_named_from_the_one_read(converged, monkeypatch):
    # An account the orders made, in a group but not among the members given: removed, shown
    # by its name, with no search of its own.
    converged.user(f"CN=ordered.one,{USERS}", "ordered.one")
    staff = f"CN=SOD-Personal,{GROUPS}"
    converged.put(
        staff,
        objectClass=["top", "group"],
        sAMAccountName="SOD-Personal",
        member=[f"CN={name},{USERS}" for name in GROUPS_WANTED[0]["members"]] + [f"CN=ordered.one,{USERS}"],
    )
    converged.searches.clear()
    result = run(monkeypatch, "ad_group_members", check_mode=True, search_base=BASE, groups=GROUPS_WANTED)
    assert result["removed"] == {"SOD-Personal": ["ordered.one"]}
    assert len(searches_by_filter(converged)) == 2


def test_a_few_users_are_still_named_in_one_search(converged, monkeypatch):
    # Up to 200 names the search names them: a single account costs no read of the domain.
    result = run(monkeypatch, "ad_user", search_base=BASE, users=USERS_WANTED[:3])
    assert result["changed"] is False and converged.writes == []
    assert len(converged.searches) == 1
    assert converged.searches[0][1].startswith("(&(objectClass=user)(|(employeeID=100000)")
