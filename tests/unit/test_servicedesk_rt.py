"""roles/servicedesk/files/servicedesk-rt, the Perl tool that converges Request Tracker's
objects, run with perl against a fake of RT's API and of Net::LDAP (tests/unit/fake_rt/RT.pm):
only the database and the directory are faked, the tool itself runs as shipped. The desired
state is the one the role sends (templates/servicedesk-state.json.j2, rendered)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from role_files import ROLES, render, role_variables

TOOL = ROLES / "servicedesk" / "files" / "servicedesk-rt"
FAKE = Path(__file__).resolve().parent / "fake_rt"
BASE = "DC=lab,DC=gemensam,DC=test"

pytestmark = [
    pytest.mark.skipif(shutil.which("perl") is None, reason="perl runs the tool; it is not installed here"),
    # The tool puts RT's own library first on @INC; where RT is installed the fake would lose.
    pytest.mark.skipif(Path("/usr/share/request-tracker5/lib/RT.pm").exists(),
                       reason="Request Tracker is installed here and would be loaded instead of the fake"),
]

ORGANISATIONS = {
    "sodermalm": {"code": "SOD", "name": "Södermalms stadsdelsförvaltning"},
    "bromma": {"code": "BRO", "name": "Bromma stadsdelsförvaltning"},
}


def desired_state() -> dict:
    return render("{{ __servicedesk_state }}",
                  role_variables("servicedesk", city_organisations=ORGANISATIONS))


def directory_groups() -> list[str]:
    return render("{{ __servicedesk_directory_groups }}",
                  role_variables("servicedesk", city_organisations=ORGANISATIONS))


def fresh_rt() -> dict:
    """RT as its Debian package leaves it: root, the General queue, its own groups."""
    return {
        "next_id": 100,
        "config": {
            "ExternalAuthPriority": ["Katalogen"],
            "ExternalSettings": {"Katalogen": {
                "type": "ldap", "server": ["ldaps://dc1.lab.gemensam.test"], "user": "svc-rt@LAB",
                "pass": "bind-secret", "base": BASE, "net_ldap_args": ["version", 3]}},
        },
        "users": [{"id": 1, "Name": "RT_System", "Privileged": 1, "Disabled": 0},
                  {"id": 12, "Name": "root", "Privileged": 1, "Disabled": 0, "Password": "initial-password"}],
        "queues": [{"id": 1, "Name": "General", "Description": "", "Disabled": 0}],
        "groups": [{"id": 3, "Name": "Everyone", "Domain": "SystemInternal", "Members": []},
                   {"id": 4, "Name": "Requestor", "Domain": "RT::System-Role", "Members": []}],
        # An earlier version of the role granted replies to everyone; the role revokes it.
        "aces": [{"id": 50, "RightName": "ReplyToTicket", "PrincipalId": 3,
                  "ObjectType": "RT::System", "ObjectId": 1}],
        "directory": {"bind_pw": "bind-secret", "entries": []},
    }


def run(state: dict, tmp_path: Path, *arguments: str, stdin: str = "", env: dict | None = None,
        check: bool = True) -> tuple[subprocess.CompletedProcess, dict]:
    """The tool's result and RT's state after it ran."""
    path = tmp_path / "rt-state.json"
    path.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    environment = {"PATH": os.environ["PATH"], "FAKE_RT_STATE": str(path), **(env or {})}
    result = subprocess.run(["perl", "-I", str(FAKE), str(TOOL), *arguments], input=stdin.encode(),
                            capture_output=True, env=environment, timeout=60, check=False)
    if check:
        assert result.returncode == 0, result.stderr.decode()
    return result, json.loads(path.read_text(encoding="utf-8"))


def sync(state: dict, tmp_path: Path, *options: str) -> tuple[dict, dict]:
    result, after = run(state, tmp_path, "sync", *options, stdin=json.dumps(desired_state()))
    return json.loads(result.stdout), after


def named(records: list[dict], name: str) -> dict:
    return next(record for record in records if record.get("Name") == name)


# sync


def test_sync_makes_the_queues_field_groups_rights_users_catalog_and_scrip(tmp_path):
    output, after = sync(fresh_rt(), tmp_path)
    assert output["changed"] is True
    assert {"Gemensam IT", "SOD", "BRO"} <= {queue["Name"] for queue in after["queues"]}
    assert named(after["queues"], "SOD")["CorrespondAddress"] == "helpdesk-sod@stockholm.se"
    field = named(after["custom_fields"], "Ärendetyp")
    assert [value["Name"] for value in field["Values"]] == ["Incident", "Begäran", "Ändring"]
    assert field["Global"] == 1
    assert {"Servicedesk-Agenter", "Stadsledningskontoret", "SOD-Personal", "BRO-Personal",
            "Automation"} <= {group["Name"] for group in after["groups"]}
    sod = named(after["groups"], "SOD-Personal")
    sod_queue = named(after["queues"], "SOD")["id"]
    assert {ace["RightName"] for ace in after["aces"]
            if ace["PrincipalId"] == sod["id"] and ace["ObjectType"] == "RT::Queue"
            and ace["ObjectId"] == sod_queue} == {"SeeQueue", "ShowTicket", "CreateTicket", "ReplyToTicket",
                                                  "SeeCustomField", "SetInitialCustomField"}
    everyone = {ace["RightName"] for ace in after["aces"] if ace["PrincipalId"] == 3}
    assert everyone == {"CreateTicket"}
    automation = named(after["users"], "automation")
    assert automation["id"] in named(after["groups"], "Automation")["Members"]
    assert named(after["catalogs"], "Arbetsplatser")
    # The scrip (templates/scrip-route-by-requestor.pl.j2) is handed the organisations' staff
    # groups and queues; where it routes is tested in test_names_render.py.
    scrip = desired_state()["scrips"][0]["commit_code"]
    assert after["scrips"][0]["CustomCommitCode"] == scrip
    assert "'SOD-Personal' => 'SOD'," in scrip and "'BRO-Personal' => 'BRO'," in scrip


def test_sync_of_rt_in_the_desired_state_changes_nothing(tmp_path):
    _, converged = sync(fresh_rt(), tmp_path)
    converged["writes"] = []
    output, after = sync(converged, tmp_path)
    assert output == {"changed": False, "changes": []}
    assert after["writes"] == []


def test_sync_dry_run_reports_what_it_would_do_and_writes_nothing(tmp_path):
    output, after = sync(fresh_rt(), tmp_path, "--dry-run")
    assert output["changed"] is True
    assert "create queue SOD" in output["changes"]
    assert "revoke ReplyToTicket from Everyone" in output["changes"]
    assert after["writes"] == []


def test_sync_corrects_what_differs(tmp_path):
    _, converged = sync(fresh_rt(), tmp_path)
    named(converged["queues"], "SOD")["CorrespondAddress"] = "old@example.org"
    named(converged["groups"], "BRO-Personal")["Description"] = "gammal"
    converged["writes"] = []
    output, after = sync(converged, tmp_path)
    assert output["changes"] == ["set CorrespondAddress of queue SOD", "describe group BRO-Personal"]
    assert named(after["queues"], "SOD")["CorrespondAddress"] == "helpdesk-sod@stockholm.se"


# root-password, token, token-valid


@pytest.mark.parametrize(("password", "expected", "writes"), [
    ("initial-password", "ok", []),
    ("a-new-password!", "changed", ["set password of root"]),
])
def test_root_password_is_set_only_when_it_differs(tmp_path, password, expected, writes):
    result, after = run(fresh_rt(), tmp_path, "root-password", env={"SERVICEDESK_RT_PASSWORD": password})
    assert result.stdout.decode() == f"{expected}\n"
    assert after["writes"] == writes
    assert named(after["users"], "root")["Password"] == password


def test_root_password_dry_run_says_changed_and_keeps_the_password(tmp_path):
    result, after = run(fresh_rt(), tmp_path, "root-password", "--dry-run",
                        env={"SERVICEDESK_RT_PASSWORD": "a-new-password!"})
    assert result.stdout.decode() == "changed\n"
    assert named(after["users"], "root")["Password"] == "initial-password"


def test_root_password_refuses_to_run_without_a_password(tmp_path):
    result, _ = run(fresh_rt(), tmp_path, "root-password", check=False)
    assert result.returncode == 1
    assert b"SERVICEDESK_RT_PASSWORD is not set" in result.stderr


def test_token_is_made_for_the_user_and_then_valid(tmp_path):
    state = fresh_rt()
    state["users"].append({"id": 20, "Name": "automation", "Privileged": 1, "Disabled": 0})
    result, after = run(state, tmp_path, "token", "automation", "Ansible desk1")
    token = result.stdout.decode().strip()
    assert after["tokens"] == [{"Owner": 20, "Description": "Ansible desk1", "Token": token}]
    valid, _ = run(after, tmp_path, "token-valid", "automation", env={"SERVICEDESK_RT_TOKEN": token})
    assert valid.stdout == b"valid\n"
    other, _ = run(after, tmp_path, "token-valid", "root", env={"SERVICEDESK_RT_TOKEN": token})
    assert other.stdout == b"invalid\n"
    revoked, _ = run(after, tmp_path, "token-valid", "automation", env={"SERVICEDESK_RT_TOKEN": "guessed"})
    assert revoked.stdout == b"invalid\n"


# directory-sync


def group(name: str, dn: str | None = None) -> dict:
    return {"dn": dn or f"CN={name},OU=Grupper,{BASE}",
            "attrs": {"objectClass": ["top", "group"], "sAMAccountName": [name]}}


def person(name: str, groups: list[dict], disabled: bool = False, mail: str | None = None) -> dict:
    return {"dn": f"CN={name},OU=Personal,{BASE}", "attrs": {
        "objectClass": ["top", "person", "user"], "objectCategory": ["person"], "sAMAccountName": [name],
        "mail": [mail or f"{name}@stockholm.se"], "displayName": [name.title()],
        "userAccountControl": [str(514 if disabled else 512)], "memberOf": [g["dn"] for g in groups]}}


def directory_rt(*entries: dict) -> dict:
    """RT after the objects' sync, with the directory holding entries."""
    state = fresh_rt()
    for name in ["Servicedesk-Agenter", "Stadsledningskontoret", "SOD-Personal", "BRO-Personal"]:
        state["groups"].append({"id": state["next_id"], "Name": name, "Domain": "UserDefined", "Members": []})
        state["next_id"] += 1
    state["directory"]["entries"] = list(entries)
    return state


def searches(state: dict) -> list[str]:
    return [step["search"] for step in state["ldap"] if "search" in step]


def test_directory_sync_makes_the_members_rt_users_and_group_members(tmp_path):
    sod, bro = group("SOD-Personal"), group("BRO-Personal")
    state = directory_rt(sod, bro, group("Servicedesk-Agenter"), group("Stadsledningskontoret"),
                         person("anna", [sod]), person("bo", [bro], disabled=True), person("cilla", []))
    result, after = run(state, tmp_path, "directory-sync", *directory_groups())
    output = json.loads(result.stdout)
    assert output["changed"] is True
    assert {"create user anna", "create user bo", "add anna to SOD-Personal", "add bo to BRO-Personal"} \
        <= set(output["changes"])
    assert named(after["users"], "bo")["Disabled"] == 1
    assert named(after["users"], "anna")["EmailAddress"] == "anna@stockholm.se"
    assert "cilla" not in {user["Name"] for user in after["users"]}
    assert named(after["users"], "anna")["id"] in named(after["groups"], "SOD-Personal")["Members"]
    assert {"bind": "svc-rt@LAB"} in after["ldap"]

    after["writes"] = []
    again, unchanged = run(after, tmp_path, "directory-sync", *directory_groups())
    assert json.loads(again.stdout) == {"changed": False, "changes": []}
    assert unchanged["writes"] == []


def test_directory_sync_removes_who_left_the_group_and_follows_changes(tmp_path):
    sod = group("SOD-Personal")
    state = directory_rt(sod, person("anna", [sod]), person("bo", [sod]))
    _, synced = run(state, tmp_path, "directory-sync", "SOD-Personal")
    synced["directory"]["entries"] = [sod, person("anna", [sod], disabled=True, mail="anna.a@stockholm.se"),
                                      person("bo", [])]
    result, after = run(synced, tmp_path, "directory-sync", "SOD-Personal")
    assert json.loads(result.stdout)["changes"] == [
        "set EmailAddress of anna", "disable anna", "remove bo from SOD-Personal"]
    assert named(after["users"], "bo")["id"] not in named(after["groups"], "SOD-Personal")["Members"]


def test_directory_sync_dry_run_writes_nothing(tmp_path):
    sod = group("SOD-Personal")
    result, after = run(directory_rt(sod, person("anna", [sod])), tmp_path, "directory-sync", "--dry-run",
                        "SOD-Personal")
    assert json.loads(result.stdout)["changes"] == ["create user anna", "add anna to SOD-Personal"]
    assert after["writes"] == []


def test_directory_sync_refuses_a_wrong_bind_password(tmp_path):
    state = directory_rt(group("SOD-Personal"))
    state["directory"]["bind_pw"] = "another"
    result, after = run(state, tmp_path, "directory-sync", "SOD-Personal", check=False)
    assert result.returncode == 1
    assert b"the directory refused the bind: Invalid credentials" in result.stderr
    assert after["writes"] == []


# LDAP escaping (RFC 4515) of the group names and the groups' DNs


def test_group_names_are_escaped_in_the_filter(tmp_path):
    hostile = "SOD-Personal)(sAMAccountName=*"
    state = directory_rt(group("SOD-Personal"), group("BRO-Personal"))
    result, after = run(state, tmp_path, "directory-sync", hostile, check=False)
    assert searches(after)[0] == \
        "(&(objectClass=group)(|(sAMAccountName=SOD-Personal\\29\\28sAMAccountName=\\2a)))"
    # Escaped, the name matches no group, where unescaped it matched every group.
    assert result.returncode == 1
    assert b"the directory has no group SOD-Personal)(sAMAccountName=*" in result.stderr
    assert after["writes"] == []


def test_a_group_with_parentheses_and_an_escaped_comma_in_its_dn_is_synced(tmp_path):
    team = group("Team (Norr)", dn=f"CN=Team (Norr),OU=Grupper\\, Norr,{BASE}")
    state = directory_rt(team, person("anna", [team]))
    state["groups"].append({"id": 90, "Name": "Team (Norr)", "Domain": "UserDefined", "Members": []})
    result, after = run(state, tmp_path, "directory-sync", "Team (Norr)")
    assert searches(after) == [
        "(&(objectClass=group)(|(sAMAccountName=Team \\28Norr\\29)))",
        f"(&(objectCategory=person)(objectClass=user)(|(memberOf=cn=team \\28norr\\29,ou=grupper\\5c, norr,"
        f"{BASE.lower()})))",
    ]
    assert json.loads(result.stdout)["changes"] == ["create user anna", "add anna to Team (Norr)"]
