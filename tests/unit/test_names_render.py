"""Every name the roles, the orders and the servicedesk's scrip derive from the city,
rendered as Ansible renders them, against names_before.json: what they rendered before the
names were computed in one place (module_utils/city_names.py). A change of the scheme shows
here as a difference; a refactoring that keeps the scheme leaves this file unchanged.

The organisations are the whole city (inventory/stockholm/data, as the inventory plugin
gives them) and one made up to be awkward: å/ä/ö, and the characters an RDN must escape
(`,+"\\<>;=`) in its name, its sites' and its departments' names.

    GEMENSAM_WRITE_GOLDEN=1 pytest tests/unit/test_names_render.py   # rewrites it (a scheme change)
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import city_model
import orders
import pytest
from city_fixture import REPO
from role_files import (
    ROLES,
    load_yaml,
    render,
    render_task_value,
    role_variables,
    task_named,
    trusted,
)

GOLDEN = Path(__file__).resolve().parent / "names_before.json"
PROFILES = load_yaml(REPO / "inventory/stockholm/data/workstation_profiles.yml")["profiles"]
REALM = "LAB.GEMENSAM.TEST"
BASE_DN = "DC=lab,DC=gemensam,DC=test"
MAIL_DOMAIN = "lab.gemensam.test"

# Made up: every character an RDN value must escape, and å/ä/ö, where names may hold them.
AWKWARD = {
    "code": "OAA",
    "name": 'Östra Ängby, "Å+Ä" <Ö>; a=b \\ nämnd',
    "kind": "board",
    "stage": 2,
    "wave": 3,
    "wave_date": "2010-09-01",
    "sites": [
        {"id": "oaa_kontor", "name": "Kontoret; Å=1, <plan 2>", "address": "Ängbyplan 1",
         "network": "admin", "cidr": "10.99.0.0/24",
         "printers": [{"name": "oaa-kontor-p1", "location": "Plan 2, \"vid fönstret\"",
                       "driver": "everywhere", "device_uri": "ipp://10.99.0.50/ipp/print"}]},
        {"id": "oaa_angby_skola", "name": 'Ängby skola, "Norra" + <Å>; x=y \\ z', "address": "Skolvägen 2",
         "network": "edu", "cidr": "172.20.0.0/24", "printers": []},
        {"id": "oaa_ovre", "name": "Övre #2 skolan", "address": "Övre vägen 3",
         "network": "edu", "cidr": "172.20.1.0/24", "printers": []},
    ],
    "networks": {"admin": ["10.99.0.0/24"], "edu": ["172.20.0.0/24", "172.20.1.0/24"]},
    "departments": [{"id": "ekonomi_och_halsa", "name": 'Ekonomi & hälsa, "Ö"'},
                    {"id": "skola", "name": "Skola; för <alla>"}],
    "staff": 10,
    "workstations": 10,
    "legacy_servers": [],
}


def city_organisations() -> dict[str, Any]:
    """The whole city's organisations as the inventory plugin gives them, and the awkward one."""
    config = city_model.read_plugin_config(REPO / "inventory/stockholm/city.yml", environ={})
    city = city_model.load_from_config(dataclasses.replace(config, register=False))
    return {**city_model.organisations_as_vars(city), "ostra_angby": AWKWARD}


def lab_organisations(organisations: dict[str, Any]) -> dict[str, Any]:
    """The lab's three (the education board with one office and one school) and the awkward one."""
    utbildning = dict(organisations["utbildning"])
    utbildning["sites"] = [site for site in utbildning["sites"]
                           if site["id"] in ("utb_hantverkargatan", "utb_sodermalmsskolan")]
    return {"sodermalm": organisations["sodermalm"], "bromma": organisations["bromma"],
            "utbildning": utbildning, "ostra_angby": AWKWARD}


# ---------------------------------------------------------------------------
# The directory


def person(username: str, org: str, department: str, status: str = "active", employee_id: str = "") -> dict:
    return {"username": username, "organisation": org, "department": department, "status": status,
            "given_name": username.split(".")[0].title(), "surname": username.split(".")[-1].title(),
            "display_name": username, "mail": f"{username}@{MAIL_DOMAIN}", "title": "Handläggare",
            "employee_id": employee_id or str(abs(hash(username)) % 10**6)}


def directory_people(organisations: dict[str, Any]) -> Any:
    """templates/people.yml.j2 on a few people of Södermalm, the education board and the awkward
    organisation: new, kept, a leaver, one gone from the export and one the orders made."""
    people = [person("asa.oberg", "sodermalm", "aldreomsorg", employee_id="100001"),
              person("bo.lind", "sodermalm", "forskola", employee_id="100002"),
              person("eva.ek", "utbildning", "gymnasieskola", employee_id="200001"),
              person("ulla.ang", "ostra_angby", "ekonomi_och_halsa", employee_id="300001"),
              person("per.ost", "ostra_angby", "skola", status="leaver", employee_id="300002")]
    orgs_dn = f"OU=Organisationer,{BASE_DN}"
    awkward_dn = "OU=OAA," + orgs_dn
    accounts = [
        {"dn": f"CN=bo.lind,OU=Users,OU=SOD,{orgs_dn}", "employeeID": "100002",
         "sAMAccountName": "bo.lind"},
        {"dn": f"CN=per.ost,OU=Users,OU=Admin,{awkward_dn}", "employeeID": "300002",
         "sAMAccountName": "per.ost"},
        {"dn": f"CN=gone.away,OU=Users,OU=Admin,{awkward_dn}", "employeeID": "399999",
         "sAMAccountName": "gone.away"},
        {"dn": f"CN=ord.rad,OU=Users,OU=SOD,{orgs_dn}", "employeeID": "900001", "sAMAccountName": "ord.rad",
         "employeeType": "Beställning #12", "memberOf": [f"CN=SOD-Personal,OU=Groups,OU=SOD,{orgs_dn}"]},
    ]
    variables = role_variables(
        "directory", directory_realm=REALM, directory_organisations=organisations,
        directory_mail_domain=MAIL_DOMAIN,
        directory_personnel_files=["/x/sodermalm.csv", "/x/utbildning.csv", "/x/ostra_angby.csv"],
        __directory_personnel={"people": people}, __directory_accounts={"results": accounts},
        __directory_initial_passwords={p["username"]: "pw" for p in people})
    return render("{{ lookup('ansible.builtin.template', 'people.yml.j2') | from_json }}", variables)


def directory_names(organisations: dict[str, Any]) -> dict[str, Any]:
    variables = role_variables("directory", directory_realm=REALM, directory_organisations=organisations,
                               directory_mail_domain=MAIL_DOMAIN)
    task = task_named(ROLES / "directory/tasks/service_accounts.yml",
                      "service_accounts | Create the services' accounts in the city OU")
    return {
        "base_dn": render("{{ __directory_base_dn }}", variables),
        "base_dn_production": render("{{ __directory_base_dn }}",
                                     {**variables, "directory_realm": "AD.STOCKHOLM.SE"}),
        "ldap_ca": render("{{ __directory_ldap_ca }}", variables),
        "ldap_ca_named": render("{{ __directory_ldap_ca }}",
                                {**variables, "city_ca_trust_name": "stadens-ca"}),
        "tree": render("{{ __directory_tree }}", variables),
        "service_accounts_path": render_task_value(task, task["ad_user"]["path"], variables),
    }


# ---------------------------------------------------------------------------
# The services


def file_server_names(organisations: dict[str, Any]) -> dict[str, Any]:
    variables = role_variables("file_server", file_server_organisations=organisations)
    return {"shares": render("{{ __file_server_shares }}", variables),
            "staff_groups": render("{{ __file_server_staff_groups }}", variables)}


def print_server_names(organisations: dict[str, Any]) -> dict[str, Any]:
    variables = role_variables("print_server", print_server_organisations=organisations,
                               print_server_domain_member=True)
    task = task_named(ROLES / "print_server/tasks/queues.yml",
                      "queues | Keep the queues exactly as the inventory declares them")
    queues = render_task_value(task, task["cups_queues"]["queues"], variables)
    return {"admin_groups": render("{{ print_server_admin_groups }}", variables),
            "queues": {queue["name"]: queue["allowed_users"] for queue in queues}}


def servicedesk_names(organisations: dict[str, Any]) -> dict[str, Any]:
    variables = role_variables(
        "servicedesk", servicedesk_organisations=organisations, servicedesk_mail_domain=MAIL_DOMAIN,
        groups={"domain_controllers": ["dc1", "dc2"], "mail_servers": []},
        hostvars={"dc1": {"directory_realm": REALM}, "dc2": {"directory_realm": REALM}})
    state = render("{{ __servicedesk_state }}", variables)
    # The scrip's code is compared by what it does (test_the_scrip_routes_as_before).
    scrips = [{key: value for key, value in scrip.items() if key != "commit_code"}
              for scrip in state["scrips"]]
    return {
        "state": {**state, "scrips": scrips},
        "directory_groups": render("{{ __servicedesk_directory_groups }}", variables),
        "directory_base_dn": render("{{ servicedesk_directory_base_dn }}", variables),
        "ca_file": render("{{ __servicedesk_ca_file }}", variables),
    }


def mail_server_names() -> dict[str, Any]:
    variables = role_variables("mail_server", mail_server_domain=MAIL_DOMAIN)
    return {"functional_argv": render("{{ __mail_server_functional_argv }}", variables)}


def city_ca_names() -> dict[str, Any]:
    task = task_named(ROLES / "city_ca/tasks/trust.yml",
                      "trust | Add the city's CA to the host's trust store")
    variables = role_variables("city_ca")
    return {"trust_path": render_task_value(task, task["ansible.builtin.copy"]["dest"], variables)}


# ---------------------------------------------------------------------------
# The orders


def plan(kind: str, order: dict[str, Any], organisations: dict[str, Any],
         accounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return orders.plan_order(
        kind, order, source="order.yml", organisations=organisations, accounts=accounts or [],
        computers=[], profiles=PROFILES, base_dn=BASE_DN, mail_domain=MAIL_DOMAIN)


def order_names(organisations: dict[str, Any]) -> dict[str, Any]:
    orgs_dn = f"OU=Organisationer,{BASE_DN}"
    ordered = [{"dn": f"CN=ord.rad,OU=Users,OU=Admin,OU=OAA,{orgs_dn}", "sAMAccountName": "ord.rad",
                "employeeID": "900001", "employeeType": "Beställning #12",
                "memberOf": [f"CN=OAA-Personal,OU=Groups,OU=Admin,OU=OAA,{orgs_dn}",
                             f"CN=OAA-Avd-skola,OU=Groups,OU=Admin,OU=OAA,{orgs_dn}",
                             f"CN=OAA-Brevlada-registrator,OU=Groups,OU=Admin,OU=OAA,{orgs_dn}"]}]
    new_user = {"ticket": "42", "given_name": "Märta", "surname": "Ödström", "employee_id": "900002"}
    plans = {
        "new_user_sod": plan("new_user", {**new_user, "organisation": "sodermalm",
                                          "department": "aldreomsorg"}, organisations),
        "new_user_utb": plan("new_user", {**new_user, "organisation": "UTB", "department": "gymnasieskola"},
                             organisations),
        "new_user_oaa": plan("new_user", {**new_user, "organisation": "ostra_angby", "department": "skola"},
                             organisations),
        "mover_oaa": plan("mover", {"ticket": "12", "username": "ord.rad", "department": "ekonomi_och_halsa"},
                          organisations, ordered),
        "mover_oaa_to_sod": plan("mover", {"ticket": "12", "username": "ord.rad", "department": "forskola",
                                           "organisation": "SOD"}, organisations, ordered),
        "leaver_oaa": plan("leaver", {"ticket": "12", "username": "ord.rad"}, organisations, ordered),
        "mailbox_oaa": plan("new_functional_mailbox", {"ticket": "7", "organisation": "OAA", "id": "kansli",
                                                      "description": "Kansliet"}, organisations),
        "mailbox_sod": plan("new_functional_mailbox", {"ticket": "7", "organisation": "SOD",
                                                      "id": "registrator", "description": "Registraturen"},
                            organisations),
    }
    workstation = {"ticket": "9", "profile": "kontor-barbar", "serial": "ABC-1234", "model": "T400"}
    for site in ("oaa_kontor", "oaa_angby_skola", "oaa_ovre"):
        profile = "kontor-barbar" if site == "oaa_kontor" else "skola-elev"
        plans[f"workstation_{site}"] = plan(
            "new_workstation", {**workstation, "organisation": "OAA", "site": site, "profile": profile},
            organisations)
    variables = {**trusted(load_yaml(REPO / "roles/orders/vars/main.yml")),
                 "groups": {"domain_controllers": ["dc1"]}, "hostvars": {"dc1": {"directory_realm": REALM}}}
    return {"plans": plans,
            "base_dn": render("{{ __orders_base_dn }}", variables),
            "ldap_ca": render("{{ __orders_ldap_ca }}", variables)}


def rendered_names() -> dict[str, Any]:
    organisations = city_organisations()
    lab = lab_organisations(organisations)
    return {
        "directory": directory_names(organisations),
        "directory_people": directory_people(lab),
        "file_server": file_server_names(organisations),
        "print_server": print_server_names(organisations),
        "servicedesk": servicedesk_names(organisations),
        "mail_server": mail_server_names(),
        "city_ca": city_ca_names(),
        "orders": order_names(lab),
    }


def test_every_name_renders_as_before():
    if os.environ.get("GEMENSAM_WRITE_GOLDEN"):
        write_golden()
        pytest.skip(f"wrote {GOLDEN.name}")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    now = json.loads(json.dumps(rendered_names()))
    for part in now:
        assert now[part] == golden[part], f"{part}: the names differ from {GOLDEN.name}"


# ---------------------------------------------------------------------------
# The servicedesk's scrip, run by perl against a few stand-ins of RT's objects

SCRIP_HARNESS = r"""
use strict; use warnings;
package FakeList; sub new { my ($c, @i) = @_; return bless [@i], $c } sub Next { return shift @{$_[0]} }
sub First { return $_[0][0] }
package FakeGroup; sub Name { return ${$_[0]} }
package FakeUser;
sub OwnGroups { return FakeList->new(map { my $n = $_; bless \$n, 'FakeGroup' } @main::GROUPS) }
package FakeRequestors; sub UserMembersObj { return FakeList->new(bless {}, 'FakeUser') }
package FakeSelf; sub TicketObj { return RT::Ticket->new }
package RT; sub SystemUser { return 1 } sub Logger { return bless {}, 'RT::Log' }
package RT::Log; sub error { return }
package RT::Queue; sub new { return bless {}, $_[0] } sub Load { $_[0]{name} = $_[1]; return 1 }
sub id { return exists $main::QUEUES{ $_[0]{name} } ? $_[0]{name} : 0 }
sub Disabled { return $main::QUEUES{ $_[0]{name} } }
package RT::Ticket; sub new { return bless {}, $_[0] } sub Load { return 1 } sub id { return 1 }
sub Requestors { return bless {}, 'FakeRequestors' } sub SetQueue { $main::MOVED = $_[1]; return (1, 'ok') }
package main;
our (@GROUPS, %QUEUES, $MOVED);
my $code = do { local $/; open my $fh, '<', shift @ARGV or die $!; <$fh> };
my $scrip = eval "sub { my \$self = shift; $code\n }" or die $@;
for my $case (@ARGV) {
    my ($groups, $queues) = split /\|/, $case, -1;
    @GROUPS = grep { length } split /,/, $groups;
    %QUEUES = map { split /=/ } grep { length } split /,/, $queues;
    $MOVED = undef;
    $scrip->(bless {}, 'FakeSelf');
    print "$case => ", $MOVED // '-', "\n";
}
"""

# Requestor's groups | RT's queues (name=disabled): the queue the ticket moves to.
SCRIP_CASES = [
    "SOD-Personal|SOD=0,BRO=0",
    "Bromma,BRO-Personal|SOD=0,BRO=0",
    "BRO-Personal,SOD-Personal|SOD=0,BRO=0",
    "SOD-Personal|SOD=1,BRO=0",
    "SOD-Personal,BRO-Personal|SOD=1,BRO=0",
    "OAA-Personal|SOD=0,OAA=0",
    "SOD-Avd-ekonomi,SOD-Fil-Las|SOD=0",
    "sod-personal|SOD=0",
    "SOD-Personal-x|SOD=0",
    "Servicedesk-Agenter|SOD=0",
    "|SOD=0",
]


def scrip_code(organisations: dict[str, Any]) -> str:
    variables = role_variables(
        "servicedesk", servicedesk_organisations=organisations, servicedesk_mail_domain=MAIL_DOMAIN,
        groups={"domain_controllers": [], "mail_servers": []}, hostvars={})
    return render("{{ __servicedesk_state }}", variables)["scrips"][0]["commit_code"]


def scrip_routes(directory: Path) -> list[str]:
    """Where the scrip moves a ticket in each of SCRIP_CASES, for Södermalm's, Bromma's and
    the awkward organisation's queues."""
    organisations = {org_id: org for org_id, org in city_organisations().items()
                     if org["code"] in ("SOD", "BRO", "OAA")}
    (directory / "scrip.pl").write_text(scrip_code(organisations), encoding="utf-8")
    (directory / "harness.pl").write_text(SCRIP_HARNESS, encoding="utf-8")
    result = subprocess.run(
        ["perl", str(directory / "harness.pl"), str(directory / "scrip.pl"), *SCRIP_CASES],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.skipif(shutil.which("perl") is None, reason="perl runs the scrip; it is not installed here")
def test_the_scrip_routes_as_before(tmp_path):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert scrip_routes(tmp_path) == golden["scrip_routes"]


def write_golden() -> None:
    import tempfile

    golden = json.loads(json.dumps(rendered_names()))
    with tempfile.TemporaryDirectory() as directory:
        golden["scrip_routes"] = scrip_routes(Path(directory))
    text = json.dumps(golden, ensure_ascii=False, indent=0, sort_keys=True)
    GOLDEN.write_text(text + "\n", encoding="utf-8")

