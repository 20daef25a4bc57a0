"""The directory's own objects read once and compared in Python: ad_tree (the OUs and groups
that roles/directory/templates/tree.yml.j2 renders) and ad_password_policy (the domain's
password and lockout policy), against the fake python-ldap of fake_ldap.py; and the DNS
records' add/remove lists the directory role works out from one `samba-tool dns query`."""

from __future__ import annotations

import random
import sys

import fake_ldap
import pytest
import samba_ldap
import yaml
from fake_ldap import BASE
from module_runner import load_doc_fragment, load_library_module, run_library_module
from role_files import ROLES, load_yaml, render, role_variables, tasks_of

CONNECTION = {
    "server_uri": "ldaps://dc1.stad.stockholm.test",
    "ca_path": "/usr/local/share/ca-certificates/gemensam-city-ca.crt",
    "bind_dn": "administrator@STAD.STOCKHOLM.TEST",
    "bind_pw": "Admin-Secret-1",
    "search_base": BASE,
}
MODULE_UTILS = {"samba_ldap": samba_ldap}
GROUP_TYPE = "-2147483646"

# A city whose names need escaping in a DN: a comma, a plus, quotes, a semicolon, å/ä/ö.
ORGANISATIONS = {
    "sodermalm": {
        "code": "SOD", "name": "Södermalms stadsdelsnämnd", "kind": "district",
        "departments": [{"id": "aldreomsorg", "name": "Äldreomsorg, hemtjänst"}],
        "sites": [{"id": "sod_kontor", "name": "Södermalms kontor", "network": "admin"}],
    },
    "utbildning": {
        "code": "UTB", "name": "Utbildningsnämnden", "kind": "board",
        "departments": [{"id": "grundskola", "name": "Grundskoleavdelningen"}],
        "sites": [
            {"id": "utb_kontor", "name": "Utbildningsförvaltningen", "network": "admin"},
            {"id": "utb_angen", "name": 'Ängens skola, "Norra" + Östra; F-9', "network": "edu"},
        ],
    },
}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> fake_ldap.Server:
    server = fake_ldap.Server()
    monkeypatch.setitem(sys.modules, "ldap", fake_ldap.module(server))
    server.put(BASE, objectClass=["top", "domain", "domainDNS"])
    return server


def run(monkeypatch: pytest.MonkeyPatch, module_name: str, /, check_mode: bool = False, diff: bool = True,
        **arguments) -> dict:
    return run_library_module(
        monkeypatch, module_name,
        {**CONNECTION, **arguments, "_ansible_check_mode": check_mode, "_ansible_diff": diff},
        MODULE_UTILS,
    )


def tree(**variables) -> list[dict]:
    """The tree the directory role hands ad_tree (vars/main.yml __directory_tree)."""
    values = role_variables("directory", directory_realm="STAD.STOCKHOLM.TEST",
                            city_organisations=ORGANISATIONS, **variables)
    return render("{{ __directory_tree }}", values)


def put_tree(server: fake_ldap.Server, entries: list[dict]) -> None:
    """The entries as the directory holds them once created."""
    for entry in entries:
        attributes = {"objectClass": ["top", entry["class"]], "description": entry["description"]}
        if entry["class"] == "group":
            attributes.update(sAMAccountName=entry["sam"], groupType=GROUP_TYPE)
            if "mail" in entry:
                attributes["mail"] = entry["mail"]
        server.put(entry["dn"], **attributes)


def run_tree(monkeypatch, entries: list[dict], **arguments) -> dict:
    return run(monkeypatch, "ad_tree", group_type=GROUP_TYPE, entries=entries, **arguments)


def depth(dn: str) -> int:
    return len(samba_ldap.split_dn(dn))


def test_dns_compare_whatever_the_case_blanks_or_escaping():
    same = samba_ldap.same_dn
    assert same("OU=Ängens skola\\; F-9,DC=x", "ou=ÄNGENS SKOLA\\3B F-9, DC=X")
    assert same("OU=a\\=b,DC=x", "OU=a\\3Db,DC=x")
    assert same("OU=\\#1,DC=x", "OU=\\231,DC=x")
    assert same("OU=Å,DC=x", "OU=\\C3\\85,DC=x")
    assert same('CN=\\"Norra\\" \\+ Östra,DC=x', 'CN=\\22Norra\\22 \\2B Östra,DC=x')
    assert not same("OU=a\\,b,DC=x", "OU=a,OU=b,DC=x")
    assert not same("OU=x\\ ,DC=x", "OU=x,DC=x")
    assert samba_ldap.split_dn("OU=x\\ , DC=y") == ["OU=x\\ ", "DC=y"]


# ---------------------------------------------------------------------------
# ad_tree


def test_the_rendered_tree_has_the_escaped_names_and_every_kind_of_entry():
    entries = tree()
    dns = [entry["dn"] for entry in entries]
    school = samba_ldap.escape_rdn('Ängens skola, "Norra" + Östra; F-9')
    assert school == 'Ängens skola\\, \\"Norra\\" \\+ Östra\\; F-9'
    assert f"OU={school},OU=EDU,OU=UTB,OU=Organisationer,{BASE}" in dns
    assert f"CN=UTB-angen-Elever,OU={school},OU=EDU,OU=UTB,OU=Organisationer,{BASE}" in dns
    mailbox = next(entry for entry in entries if entry.get("mail"))
    assert mailbox["mail"] == "sod-registrator@stockholm.se"
    assert {entry["class"] for entry in entries} == {"organizationalUnit", "group"}


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_tree_in_the_wanted_state_is_read_once_and_not_changed(server, monkeypatch, check_mode):
    entries = tree()
    put_tree(server, entries)
    result = run_tree(monkeypatch, entries, check_mode=check_mode)
    assert not result["failed"]
    assert result["changed"] is False
    assert server.writes == []
    assert result["counts"] == {"created": 0, "updated": 0, "unchanged": len(entries)}
    assert result["diff"] == {"before": {}, "after": {}}
    # One search of the domain's OUs and groups: no search per entry.
    assert len(server.searches) == 1 and server.searches[0][0] == BASE
    assert len(server.binds) == 1


def test_a_missing_tree_is_created_parents_first_whatever_the_order_given(server, monkeypatch):
    entries = tree()
    shuffled = list(entries)
    random.Random(4).shuffle(shuffled)
    result = run_tree(monkeypatch, shuffled)
    assert result["changed"] and not result["failed"]
    created = [write[1] for write in server.writes]
    assert [write[0] for write in server.writes] == ["add"] * len(entries)
    assert sorted(created) == sorted(entry["dn"] for entry in entries)
    position = {samba_ldap.normalise_dn(dn): index for index, dn in enumerate(created)}
    for index, dn in enumerate(created):
        parent = samba_ldap.normalise_dn(samba_ldap.parent_dn(dn))
        assert position.get(parent, -1) < index, f"{dn} before its parent"
    assert [depth(dn) for dn in created] == sorted(depth(dn) for dn in created)
    assert result["created"] == created and result["counts"]["created"] == len(entries)
    # The same attributes the role's ldap_entry task wrote before.
    group = next(entry for entry in entries if entry.get("mail"))
    assert server.get(group["dn"]) == {
        "objectClass": ["group"], "description": [group["description"]], "sAMAccountName": [group["sam"]],
        "groupType": [GROUP_TYPE], "mail": [group["mail"]]}
    ou = entries[0]
    assert server.get(ou["dn"]) == {"objectClass": ["organizationalUnit"], "description": [ou["description"]]}
    assert result["diff"]["before"][ou["dn"]] == {}
    assert result["diff"]["after"][ou["dn"]] == {"objectClass": "organizationalUnit",
                                                  "description": ou["description"]}
    # Once made, nothing more to do.
    server.writes.clear()
    assert run_tree(monkeypatch, entries)["changed"] is False and server.writes == []


def test_only_the_missing_entries_are_created(server, monkeypatch):
    entries = tree()
    school_ou = next(entry for entry in entries if entry["dn"].startswith("OU=Ängens"))
    missing = [entry for entry in entries if entry["dn"].endswith(school_ou["dn"])]
    put_tree(server, [entry for entry in entries if entry not in missing])
    result = run_tree(monkeypatch, entries)
    assert [write[1] for write in server.writes] == [entry["dn"] for entry in missing]
    assert server.writes[0] == ("add", school_ou["dn"])
    assert server.get(school_ou["dn"])["description"] == ["utb_angen"]
    assert result["counts"] == {"created": len(missing), "updated": 0,
                                "unchanged": len(entries) - len(missing)}


def test_a_changed_description_and_address_are_replaced_and_shown_per_dn(server, monkeypatch):
    entries = tree()
    put_tree(server, entries)
    ou = entries[0]
    group = next(entry for entry in entries if entry.get("mail"))
    server.put(ou["dn"], objectClass=["top", "organizationalUnit"], description="Gammal beskrivning")
    server.put(group["dn"], objectClass=["top", "group"], description=group["description"],
               sAMAccountName=group["sam"], groupType=GROUP_TYPE, mail="gammal@stockholm.se")
    result = run_tree(monkeypatch, entries)
    assert server.writes == [
        ("modify", ou["dn"], [(fake_ldap.MOD_REPLACE, "description", [ou["description"].encode()])]),
        ("modify", group["dn"], [(fake_ldap.MOD_REPLACE, "mail", [group["mail"].encode()])]),
    ]
    assert result["updated"] == {ou["dn"]: ["description"], group["dn"]: ["mail"]}
    assert result["diff"] == {
        "before": {ou["dn"]: {"description": "Gammal beskrivning"},
                   group["dn"]: {"mail": "gammal@stockholm.se"}},
        "after": {ou["dn"]: {"description": ou["description"]}, group["dn"]: {"mail": group["mail"]}},
    }
    assert server.get(ou["dn"])["description"] == [ou["description"]]


def test_a_description_differing_only_in_case_is_rewritten_as_before(server, monkeypatch):
    # ldap_attrs (state: exact) compared values byte for byte; so does ad_tree.
    entries = tree()
    put_tree(server, entries)
    server.put(entries[0]["dn"], objectClass=["organizationalUnit"], description="stadens organisationer")
    assert run_tree(monkeypatch, entries)["updated"] == {entries[0]["dn"]: ["description"]}


def test_a_group_without_mail_in_the_tree_keeps_the_one_it_has(server, monkeypatch):
    entries = tree()
    put_tree(server, entries)
    group = next(entry for entry in entries if entry["class"] == "group" and "mail" not in entry)
    server.put(group["dn"], objectClass=["group"], description=group["description"],
               sAMAccountName=group["sam"], groupType=GROUP_TYPE, mail="satt.for.hand@stockholm.se")
    assert run_tree(monkeypatch, entries)["changed"] is False
    assert server.get(group["dn"])["mail"] == ["satt.for.hand@stockholm.se"]


def test_check_mode_reports_what_would_change_and_writes_nothing(server, monkeypatch):
    entries = tree()
    put_tree(server, entries[:1])
    server.put(entries[0]["dn"], objectClass=["organizationalUnit"], description="Gammal")
    result = run_tree(monkeypatch, entries, check_mode=True)
    assert result["changed"] is True
    assert server.writes == [] and not server.has(entries[1]["dn"])
    assert server.get(entries[0]["dn"])["description"] == ["Gammal"]
    assert result["counts"] == {"created": len(entries) - 1, "updated": 1, "unchanged": 0}
    assert result["diff"]["after"][entries[1]["dn"]]["description"] == entries[1]["description"]


def test_objects_that_are_not_in_the_tree_are_left_alone(server, monkeypatch):
    entries = tree()
    put_tree(server, entries)
    groups_ou = next(entry["dn"] for entry in entries if entry["dn"].startswith("OU=Groups,OU=SOD"))
    server.put(f"OU=Projekt,{groups_ou}", objectClass=["organizationalUnit"], description="Gjord för hand")
    server.group(f"CN=SOD-Projektgrupp,{groups_ou}", "SOD-Projektgrupp")
    server.group(f"CN=Domain Admins,CN=Users,{BASE}", "Domain Admins")
    result = run_tree(monkeypatch, entries)
    assert result["changed"] is False and server.writes == []
    assert server.has(f"OU=Projekt,{groups_ou}") and server.has(f"CN=SOD-Projektgrupp,{groups_ou}")


def test_dns_are_compared_as_ad_does_whatever_the_case_or_escaping(server, monkeypatch):
    entries = tree()
    school = next(entry for entry in entries if entry["dn"].startswith("OU=Ängens"))
    put_tree(server, entries)
    # Samba writes ';' as \3B and may give another case; the entry is the same.
    del server.entries[fake_ldap.key(school["dn"])]
    samba_dn = school["dn"].replace("\\;", "\\3B").replace("OU=Ängens", "ou=ÄNGENS")
    server.put(samba_dn, objectClass=["organizationalUnit"], description=school["description"])
    result = run_tree(monkeypatch, entries)
    assert result["changed"] is False and server.writes == []


def test_special_characters_and_swedish_letters_are_written_escaped_and_as_utf8(server, monkeypatch):
    entries = tree()
    run_tree(monkeypatch, entries)
    school = samba_ldap.escape_rdn('Ängens skola, "Norra" + Östra; F-9')
    dn = f"OU={school},OU=EDU,OU=UTB,OU=Organisationer,{BASE}"
    assert ("add", dn) in server.writes
    stored = server.entries[fake_ldap.key(dn)][1]
    assert stored["description"] == [b"utb_angen"]
    staff = server.entries[fake_ldap.key(f"OU=Staff,{dn}")][1]
    assert staff["description"] == ['Ängens skola, "Norra" + Östra; F-9: personal'.encode()]
    department = next(entry for entry in entries if entry.get("sam") == "SOD-Avd-aldreomsorg")
    assert server.get(department["dn"])["description"] == [
        "Äldreomsorg, hemtjänst (Södermalms stadsdelsnämnd)"]



def test_a_name_another_group_holds_fails_with_nothing_written(server, monkeypatch):
    entries = tree()
    server.group(f"CN=SOD-Personal,CN=Users,{BASE}", "SOD-Personal")
    result = run_tree(monkeypatch, entries)
    assert result["failed"]
    assert any("sAMAccountName 'SOD-Personal' is held by CN=SOD-Personal,CN=Users" in problem
               for problem in result["errors"])
    assert server.writes == []


def test_a_parent_that_neither_exists_nor_is_in_the_tree_fails_with_nothing_written(server, monkeypatch):
    entries = [
        {"dn": f"OU=Ny,{BASE}", "class": "organizationalUnit", "description": "Ny"},
        {"dn": f"OU=Barn,OU=Saknas,{BASE}", "class": "organizationalUnit", "description": "Barn"},
        {"dn": f"CN=Grupp,CN=Users,{BASE}", "class": "group", "description": "I en container",
         "sam": "Grupp"},
    ]
    server.put(f"CN=Users,{BASE}", objectClass=["container"])
    result = run_tree(monkeypatch, entries)
    assert result["failed"]
    assert result["errors"] == [
        f"entries[1] 'OU=Barn,OU=Saknas,{BASE}': its parent OU=Saknas,{BASE} does not exist"]
    assert server.writes == []


def test_given_twice_or_without_a_name_fails_with_nothing_written(server, monkeypatch):
    entries = [
        {"dn": f"OU=Ny,{BASE}", "class": "organizationalUnit", "description": "Ny"},
        {"dn": f"ou=NY,{BASE}", "class": "organizationalUnit", "description": "Ny igen"},
        {"dn": f"CN=Utan,OU=Ny,{BASE}", "class": "group", "description": "Utan namn"},
        {"dn": "OU=Annan,DC=annan,DC=test", "class": "organizationalUnit", "description": "Utanför"},
    ]
    result = run_tree(monkeypatch, entries)
    assert result["failed"] and server.writes == []
    assert [problem.split(": ", 1)[1] for problem in result["errors"]] == [
        "the same DN as entries[0]", "a group needs sam_account_name", f"not under the search base {BASE}"]


def test_a_tree_larger_than_a_page_is_read_in_pages(server, monkeypatch):
    entries = tree()
    put_tree(server, entries)
    server.PAGE = 10
    result = run_tree(monkeypatch, entries)
    assert result["changed"] is False and server.writes == []
    assert len(server.searches) == -(-(len(entries)) // 10)


# ---------------------------------------------------------------------------
# ad_password_policy

DAY = 864_000_000_000
MINUTE = 600_000_000
NEVER = -0x8000000000000000
POLICY = {"complexity": True, "history_length": 24, "min_length": 12, "min_age": 1, "max_age": 90,
          "lockout_threshold": 5, "lockout_duration": 30, "lockout_reset_after": 30}


def domain(server: fake_ldap.Server, **changes) -> None:
    """The domain object with the role's default policy; a provisioned domain has
    pwdProperties 1 (complex), or 17 with plaintext storage."""
    attributes = {"objectClass": ["top", "domain", "domainDNS"], "pwdProperties": "1",
                  "pwdHistoryLength": "24", "minPwdLength": "12", "minPwdAge": str(-DAY),
                  "maxPwdAge": str(-90 * DAY),
                  "lockoutThreshold": "5", "lockoutDuration": str(-30 * MINUTE),
                  "lockOutObservationWindow": str(-30 * MINUTE)}
    attributes.update(changes)
    server.put(BASE, **attributes)


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_policy_in_the_wanted_state_is_read_once_and_not_changed(server, monkeypatch, check_mode):
    domain(server)
    result = run(monkeypatch, "ad_password_policy", check_mode=check_mode, **POLICY)
    assert not result["failed"] and result["changed"] is False
    assert server.writes == [] and len(server.searches) == 1
    assert result["settings"] == POLICY and result["changed_settings"] == []
    assert result["diff"] == {"before": {}, "after": {}}


def test_only_the_settings_that_differ_are_written_as_samba_tool_writes_them(server, monkeypatch):
    # Samba's provision defaults: 7 characters, 42 days, no lockout; plaintext storage on (16).
    domain(server, pwdProperties="17", minPwdLength="7", maxPwdAge=str(-int(42 * 24 * 60 * 60 * 1e7)),
           lockoutThreshold="0")
    result = run(monkeypatch, "ad_password_policy", **{**POLICY, "complexity": False})
    assert result["changed"] and result["changed_settings"] == ["complexity", "min_length", "max_age",
                                                                "lockout_threshold"]
    assert server.writes == [("modify", BASE, [
        (fake_ldap.MOD_REPLACE, "pwdProperties", [b"16"]),
        (fake_ldap.MOD_REPLACE, "minPwdLength", [b"12"]),
        (fake_ldap.MOD_REPLACE, "maxPwdAge", [str(-int(90 * (24 * 60 * 60 * 1e7))).encode()]),
        (fake_ldap.MOD_REPLACE, "lockoutThreshold", [b"5"]),
    ])]
    assert result["diff"] == {
        "before": {"complexity": True, "min_length": 7, "max_age": 42, "lockout_threshold": 0},
        "after": {"complexity": False, "min_length": 12, "max_age": 90, "lockout_threshold": 5},
    }
    server.writes.clear()
    assert run(monkeypatch, "ad_password_policy", **{**POLICY, "complexity": False})["changed"] is False


def test_zero_days_or_minutes_is_never_as_samba_tool_writes_it(server, monkeypatch):
    domain(server)
    run(monkeypatch, "ad_password_policy", max_age=0, lockout_duration=0)
    assert server.get(BASE)["maxPwdAge"] == [str(NEVER)]
    assert server.get(BASE)["lockoutDuration"] == [str(NEVER)]
    server.writes.clear()
    result = run(monkeypatch, "ad_password_policy", **{**POLICY, "max_age": 0, "lockout_duration": 0})
    assert result["changed"] is False and server.writes == []


def test_a_part_day_is_compared_in_whole_days_as_samba_tool_shows_it(server, monkeypatch):
    domain(server, maxPwdAge=str(-(90 * DAY + DAY // 2)))
    assert run(monkeypatch, "ad_password_policy", **POLICY)["changed"] is False


def test_policy_check_mode_reports_and_writes_nothing(server, monkeypatch):
    domain(server, minPwdLength="7")
    result = run(monkeypatch, "ad_password_policy", check_mode=True, **POLICY)
    assert result["changed"] and result["changed_settings"] == ["min_length"]
    assert server.writes == [] and server.get(BASE)["minPwdLength"] == ["7"]


def test_values_samba_tool_refuses_fail_with_nothing_written(server, monkeypatch):
    domain(server)
    result = run(monkeypatch, "ad_password_policy", **{**POLICY, "min_length": 15, "history_length": 25})
    assert result["failed"] and server.writes == []
    assert result["errors"] == ["history_length: 25 is not in the range 0 to 24",
                                "min_length: 15 is not in the range 0 to 14"]
    result = run(monkeypatch, "ad_password_policy", **{**POLICY, "min_age": 90})
    assert result["errors"] == ["max_age (90) must be more than min_age (90), or 0 (never)"]
    assert server.writes == []


# ---------------------------------------------------------------------------
# The role's tasks and the DNS records

ZONE = """  Name=, Records=3, Children=0
    SOA: serial=12, refresh=900, retry=600, expire=86400, minttl=3600, ns=dc1. (flags=600000f0)
    NS: dc1.stad.stockholm.test. (flags=600000f0, serial=1, ttl=900)
    A: 192.0.2.11 (flags=600000f0, serial=1, ttl=900)
  Name=_msdcs, Records=0, Children=0
  Name=dc1, Records=1, Children=0
    A: 192.0.2.11 (flags=f0, serial=1, ttl=900)
  Name=fs1, Records=1, Children=0
    A: 192.0.2.21 (flags=f0, serial=2, ttl=900)
  Name=Print1, Records=2, Children=0
    A: 192.0.2.30 (flags=f0, serial=3, ttl=900)
    A: 192.0.2.31 (flags=f0, serial=4, ttl=900)
"""


def dns_changes(records: list[dict]) -> dict:
    values = role_variables("directory", directory_realm="STAD.STOCKHOLM.TEST", directory_dns_records=records,
                            __directory_dns_zone={"stdout": ZONE})
    return render("{{ __directory_dns_changes }}", values)


def test_the_dns_records_to_add_and_remove_come_from_one_zone_listing():
    records = [{"name": "fs1", "address": "192.0.2.21"}, {"name": "print1", "address": "192.0.2.31"},
               {"name": "mail1", "address": "192.0.2.41"}]
    assert dns_changes(records) == {"add": [{"name": "mail1", "address": "192.0.2.41"}],
                                    "remove": [{"name": "print1", "address": "192.0.2.30"}]}
    in_zone = [{"name": "fs1", "address": "192.0.2.21"}, {"name": "dc1", "address": "192.0.2.11"}]
    assert dns_changes(in_zone) == {"add": [], "remove": []}


def test_the_dns_tasks_loop_over_the_changes_only():
    tasks = list(tasks_of(ROLES / "directory" / "tasks" / "dns.yml"))
    loops = [task["loop"] for task in tasks if "loop" in task]
    assert loops == ["{{ __directory_dns_changes.add }}", "{{ __directory_dns_changes.remove }}"]
    assert not [task["name"] for task in tasks if "when" in task]


def test_the_tree_and_the_policy_are_one_task_each_with_no_loop():
    for name, module in (("tree.yml", "ad_tree"), ("policy.yml", "ad_password_policy")):
        tasks = list(tasks_of(ROLES / "directory" / "tasks" / name))
        assert len(tasks) == 1 and module in tasks[0] and "loop" not in tasks[0]
    task = next(tasks_of(ROLES / "directory" / "tasks" / "tree.yml"))
    assert task["ad_tree"]["entries"] == "{{ __directory_tree }}"


def test_the_policy_task_passes_every_policy_variable():
    task = next(tasks_of(ROLES / "directory" / "tasks" / "policy.yml"))
    defaults = load_yaml(ROLES / "directory" / "defaults" / "main.yml")
    policy = {name for name in defaults if name.startswith(("directory_password_", "directory_lockout_"))}
    passed = {value.strip("{} ") for value in task["ad_password_policy"].values()}
    assert policy <= passed


# ---------------------------------------------------------------------------
# Documentation

FRAGMENT = yaml.safe_load(load_doc_fragment("samba_ldap"))["options"]


@pytest.mark.parametrize("name", ["ad_tree", "ad_password_policy"])
def test_the_documentation_is_yaml_and_names_every_option(name):
    module = load_library_module(name, MODULE_UTILS)
    documented = yaml.safe_load(module.DOCUMENTATION)
    assert yaml.safe_load(module.EXAMPLES) and yaml.safe_load(module.RETURN)
    assert documented["extends_documentation_fragment"] == ["action_common_attributes", "samba_ldap"]
    spec = module.argument_spec()
    assert set({**documented["options"], **FRAGMENT}) == set(spec)
    if name == "ad_tree":
        suboptions = documented["options"]["entries"]["suboptions"]
        assert set(suboptions) == set(spec["entries"]["options"])
        assert suboptions["class"]["choices"] == spec["entries"]["options"]["class"]["choices"]
