"""The names the city model gives an organisation (module_utils/city_names.py), and the
filters the roles read them through (plugins/filter/city.py, plugins/filter/ldap.py).

The scheme is written out here, once, as what a person would expect to find in the
directory and on the servers; test_names_render.py checks every role renders the same."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import city_names
import pytest
import samba_ldap
from city_fixture import REPO

SODERMALM = {
    "code": "SOD",
    "name": "Södermalms stadsdelsnämnd",
    "departments": [{"id": "aldreomsorg", "name": "Äldreomsorg"}, {"id": "forskola", "name": "Förskola"}],
    "sites": [{"id": "sod_rosenlund", "name": "Södermalms stadsdelsförvaltning", "network": "admin"}],
}
UTBILDNING = {
    "code": "UTB",
    "name": "Utbildningsnämnden",
    "departments": [{"id": "grundskola", "name": "Grundskoleavdelningen"}],
    "sites": [
        {"id": "utb_sodermalmsskolan", "name": "Södermalmsskolan", "network": "edu"},
        {"id": "utb_hantverkargatan", "name": "Hantverkargatan", "network": "admin"},
        {"id": "utb_katarina_norra", "name": "Katarina Norra skola", "network": "edu"},
    ],
}
BASE = "DC=lab,DC=gemensam,DC=test"
ORGS = f"OU=Organisationer,{BASE}"


def load_filters(name: str) -> dict:
    path = REPO / "plugins" / "filter" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"filter_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()


def test_an_organisation_without_schools_is_named_by_its_code():
    names = city_names.organisation_names(SODERMALM, BASE, "lab.gemensam.test", ["registrator"])
    assert names["groups"] == {"staff": "SOD-Personal", "file_read": "SOD-Fil-Las",
                               "file_write": "SOD-Fil-Skriv", "printer_admins": "SOD-Skrivaradmin"}
    assert names["departments"]["aldreomsorg"] == {
        "group": "SOD-Avd-aldreomsorg",
        "share": {"name": "SOD-aldreomsorg", "path": "SOD/Avdelningar/aldreomsorg"}}
    assert list(names["departments"]) == ["aldreomsorg", "forskola"]
    assert names["common_share"] == {"name": "SOD-Gemensam", "path": "SOD/Gemensam"}
    assert names["mailboxes"] == {"registrator": {
        "group": "SOD-Brevlada-registrator", "address": "sod-registrator@lab.gemensam.test",
        "dn": f"CN=SOD-Brevlada-registrator,OU=Groups,OU=SOD,{ORGS}"}}
    assert names["schools"] == {}
    assert names["dn"] == names["admin_dn"] == f"OU=SOD,{ORGS}"
    assert names["edu_dn"] is None
    assert (names["users_dn"], names["groups_dn"], names["computers_dn"]) == (
        f"OU=Users,OU=SOD,{ORGS}", f"OU=Groups,OU=SOD,{ORGS}", f"OU=Computers,OU=SOD,{ORGS}")
    assert names["group_dns"]["SOD-Personal"] == f"CN=SOD-Personal,OU=Groups,OU=SOD,{ORGS}"
    assert names["group_dns"]["SOD-Avd-forskola"] == f"CN=SOD-Avd-forskola,OU=Groups,OU=SOD,{ORGS}"


def test_an_organisation_with_schools_has_an_admin_and_an_edu_branch():
    names = city_names.organisation_names(UTBILDNING, BASE)
    admin = f"OU=Admin,OU=UTB,{ORGS}"
    school = f"OU=Södermalmsskolan,OU=EDU,OU=UTB,{ORGS}"
    assert (names["admin_dn"], names["edu_dn"], names["users_dn"]) == (
        admin, f"OU=EDU,OU=UTB,{ORGS}", f"OU=Users,{admin}")
    # By site id; the admin site is no school.
    assert list(names["schools"]) == ["utb_katarina_norra", "utb_sodermalmsskolan"]
    assert names["schools"]["utb_sodermalmsskolan"] == {
        "id": "utb_sodermalmsskolan", "name": "Södermalmsskolan", "key": "sodermalmsskolan",
        "groups": {"pupils": "UTB-sodermalmsskolan-Elever", "staff": "UTB-sodermalmsskolan-Personal"},
        "share": {"name": "UTB-sodermalmsskolan", "path": "UTB/Skolor/sodermalmsskolan"},
        "dn": school, "staff_dn": f"OU=Staff,{school}", "students_dn": f"OU=Students,{school}",
        "computers_dn": f"OU=Computers,{school}"}
    assert names["schools"]["utb_katarina_norra"]["key"] == "katarina_norra"
    assert names["group_dns"]["UTB-sodermalmsskolan-Elever"] == f"CN=UTB-sodermalmsskolan-Elever,{school}"
    assert names["group_dns"]["UTB-Personal"] == f"CN=UTB-Personal,OU=Groups,{admin}"


def test_without_a_base_dn_or_a_mail_domain_there_are_no_dns_or_addresses():
    names = city_names.organisation_names(UTBILDNING, mailboxes=["kansli"])
    assert "dn" not in names and "group_dns" not in names
    assert "dn" not in names["schools"]["utb_sodermalmsskolan"]
    assert names["mailboxes"] == {"kansli": {"group": "UTB-Brevlada-kansli"}}


@pytest.mark.parametrize(("site_name", "rdn"), [
    ("Ängby skola, \"Norra\" + <Å>; x=y \\ z", 'OU=Ängby skola\\, \\"Norra\\" \\+ \\<Å\\>\\; x\\=y \\\\ z'),
    # What the template macros and orders.py's own escaping missed (RFC 4514 2.4): a leading
    # '#' would make the value read as hex-encoded BER, leading and trailing spaces vanish.
    ("#1 skolan", "OU=\\#1 skolan"),
    (" Skolan ", "OU=\\ Skolan\\ "),
])
def test_every_value_in_a_dn_is_escaped_by_the_one_rdn_escaping(site_name, rdn):
    school = {**UTBILDNING, "sites": [{"id": "utb_x", "name": site_name, "network": "edu"}]}
    names = city_names.organisation_names(school, BASE)["schools"]["utb_x"]
    assert names["dn"] == f"{rdn},OU=EDU,OU=UTB,{ORGS}"
    assert names["staff_dn"] == f"OU=Staff,{names['dn']}"
    assert names["name"] == site_name


def test_the_base_dn_is_the_realm_in_lower_case_and_reads_back():
    assert city_names.base_dn("AD.STOCKHOLM.SE") == "DC=ad,DC=stockholm,DC=se"
    assert city_names.dns_domain(city_names.base_dn("LAB.GEMENSAM.TEST")) == "lab.gemensam.test"
    assert city_names.organisations_dn(BASE) == ORGS
    assert city_names.city_dn(BASE) == f"OU=Gemensam IT,{BASE}"


def test_the_city_ca_is_trusted_under_its_name_or_the_default_one():
    assert city_names.ca_trust_path() == "/usr/local/share/ca-certificates/gemensam-city-ca.crt"
    assert city_names.ca_trust_path("") == city_names.ca_trust_path(None) == city_names.ca_trust_path()
    assert city_names.ca_trust_path("stadens-ca") == "/usr/local/share/ca-certificates/stadens-ca.crt"


def test_the_filters_hand_the_roles_the_model_s_names():
    filters = load_filters("city")
    organisations = {"sodermalm": SODERMALM, "utbildning": UTBILDNING}
    mailboxes = [{"id": "registrator", "description": "Registraturen i {name}"}]
    names = filters["city_names"](organisations, BASE, "stockholm.se", mailboxes)
    assert list(names) == ["sodermalm", "utbildning"]
    assert names == city_names.city_names(organisations, BASE, "stockholm.se", ["registrator"])
    assert filters["city_names"](organisations, mailboxes=["registrator"]) == city_names.city_names(
        organisations, mailboxes=["registrator"])
    assert filters["city_organisation_names"](SODERMALM) == city_names.organisation_names(SODERMALM)
    assert filters["city_base_dn"]("LAB.GEMENSAM.TEST") == BASE
    assert filters["city_directory_dns"](BASE) == {"base": BASE, "organisations": ORGS,
                                                   "city": f"OU=Gemensam IT,{BASE}"}
    assert filters["city_ca_trust_path"](None) == city_names.ca_trust_path()
    assert filters["city_name_part"]("mailbox_group_infix") == "Brevlada"
    with pytest.raises(ValueError, match="unknown part 'staff'"):
        filters["city_name_part"]("staff")


@pytest.mark.parametrize("value", ['Öberg, Åsa', '#1', ' x ', 'a+b"c\\d<e>f;g=h', 'Gemensam IT'])
def test_ldap_escape_rdn_is_samba_ldap_s(value):
    assert load_filters("ldap")["ldap_escape_rdn"](value) == samba_ldap.escape_rdn(value)


def test_the_module_imports_nothing_but_the_standard_library_and_samba_ldap():
    source = (Path(city_names.__file__)).read_text(encoding="utf-8")
    imports = {line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "re", "collections.abc", "typing", "ansible.module_utils.samba_ldap",
                       "samba_ldap"}, imports
