"""The city schema: every kind of bad input is named by file, key path or row, and what
is wrong; good data (the fixture, the real city and the lab) loads into the expected model."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import city_model
import pytest
from city_fixture import REPO, CityFixture
from city_model import CityDataError, load_city

SOD = "data/organisations/sodermalm.yml"
UTB = "data/organisations/utbildning.yml"
KUL = "data/organisations/kulturnamnden.yml"
SERVICE_HOSTS = "data/service_hosts.yml"
TRANSFER = "data/transfer.yml"
SOD_CSV = "data/register/sodermalm.csv"


def errors_of(city: CityFixture, **options) -> list[str]:
    with pytest.raises(CityDataError) as caught:
        load_city(city.data, **options)
    assert str(caught.value).splitlines()[0] == caught.value.errors[0]
    return caught.value.errors


def site(organisation: dict, index: int) -> dict:
    return organisation["sites"][index]


# Each case breaks one thing in the fixture and names every error it must cause.
Breakage = Callable[[CityFixture], None]
BAD_INPUTS: list[tuple[str, Breakage, list[str], dict]] = [
    ("missing-key",
     lambda c: c.edit_yaml("organisations/sodermalm.yml", lambda o: o.pop("code")),
     [f"{SOD}: missing key 'code'"], {}),
    ("misspelled-key-suggests-the-closest",
     lambda c: c.edit_yaml("organisations/sodermalm.yml", lambda o: site(o, 1).update(adress="Götgatan 1")),
     [f"{SOD}: sites[1].adress: unknown key (did you mean 'address'?)"], {}),
    ("unknown-key-lists-the-known-ones",
     lambda c: c.edit_yaml("organisations/kulturnamnden.yml", lambda o: o.update(budget=12)),
     [f"{KUL}: budget: unknown key (known keys: id, name, code, kind, stage, wave, staff, workstations, "
      "sites, departments, legacy_servers)"], {}),
    ("wrong-type",
     lambda c: c.edit_yaml("organisations/sodermalm.yml", lambda o: o.update(staff="many")),
     [f"{SOD}: staff: expected an integer, got string 'many'"], {}),
    ("yaml-boolean-where-a-string-belongs",
     lambda c: c.write_text("organisations/kulturnamnden.yml",
                            (c.data / "organisations/kulturnamnden.yml").read_text(encoding="utf-8")
                            .replace("code: KUL", "code: no")),
     [f"{KUL}: code: expected a string, got boolean false (quote it if you meant the word)"], {}),
    ("stage-not-1-or-2",
     lambda c: c.edit_yaml("organisations/sodermalm.yml", lambda o: o.update(stage=3)),
     [f"{SOD}: stage: expected one of 1, 2, got integer 3"], {}),
    ("stage-not-that-of-its-wave",
     lambda c: c.edit_yaml("organisations/sodermalm.yml", lambda o: o.update(stage=2)),
     [f"{SOD}: stage: organisation is stage 2 but wave 1 is a stage 1 wave"], {}),
    ("network-kind-not-admin-or-edu",
     lambda c: c.edit_yaml("organisations/sodermalm.yml", lambda o: site(o, 0).update(network="office")),
     [f"{SOD}: sites[0].network: expected one of admin, edu, got string 'office'"], {}),
    ("invalid-network",
     lambda c: c.edit_yaml("organisations/sodermalm.yml", lambda o: site(o, 1).update(cidr="10.18.1.0/33")),
     [f"{SOD}: sites[1].cidr: 10.18.1.0/33 is not a valid network"], {}),
    ("network-with-host-bits",
     lambda c: c.edit_yaml("organisations/sodermalm.yml", lambda o: site(o, 1).update(cidr="10.18.1.1/24")),
     [f"{SOD}: sites[1].cidr: 10.18.1.1/24 is not a valid network (host bits are set)"], {}),
    ("network-outside-the-address-plan",
     lambda c: c.edit_yaml("organisations/utbildning.yml", lambda o: site(o, 1).update(cidr="10.31.0.0/24")),
     [f"{UTB}: sites[1].cidr: 10.31.0.0/24 is outside the edu address plan 172.16.0.0/12"],
     {"register": False}),
    ("overlapping-networks-name-both-owners",
     lambda c: c.edit_yaml("organisations/kulturnamnden.yml",
                           lambda o: site(o, 0).update(cidr="10.18.0.0/23")),
     [f"{SOD}: sites[0].cidr: 10.18.0.0/24 of site sod_rosenlund (sodermalm) overlaps 10.18.0.0/23 of site "
      "kul_kulturhuset (kulturnamnden) (organisations/kulturnamnden.yml sites[0].cidr)",
      f"{SOD}: sites[1].cidr: 10.18.1.0/24 of site sod_katarina (sodermalm) overlaps 10.18.0.0/23 of site "
      "kul_kulturhuset (kulturnamnden) (organisations/kulturnamnden.yml sites[0].cidr)"],
     {"register": False}),
    ("site-overlapping-the-datacentre",
     lambda c: c.edit_yaml("organisations/kulturnamnden.yml",
                           lambda o: site(o, 0).update(cidr="10.0.5.0/24")),
     [f"{KUL}: sites[0].cidr: 10.0.5.0/24 of site kul_kulturhuset (kulturnamnden) overlaps 10.0.0.0/16 of "
      "datacentre central (service_hosts.yml datacentres[0].network)"], {"register": False}),
    ("duplicate-organisation-code",
     lambda c: c.edit_yaml("organisations/sodermalm.yml", lambda o: o.update(code="KUL")),
     [f"{SOD}: code: duplicate organisation code KUL (first in organisations/kulturnamnden.yml)"],
     {"register": False}),
    ("duplicate-site-id",
     lambda c: c.edit_yaml("organisations/utbildning.yml", lambda o: site(o, 0).update(id="sod_rosenlund")),
     [f"{UTB}: sites[0].id: duplicate site id sod_rosenlund (first in organisations/sodermalm.yml sites[0])"],
     {"register": False}),
    ("file-name-and-id-differ",
     lambda c: c.edit_yaml("organisations/sodermalm.yml", lambda o: o.update(id="sodermalmx")),
     [f"{SOD}: id: 'sodermalmx' does not match the file name (sodermalm)"], {}),
    ("unknown-wave",
     lambda c: c.edit_yaml("organisations/sodermalm.yml", lambda o: o.update(wave=7)),
     [f"{SOD}: wave: unknown wave 7 (waves in transfer.yml: 1, 2)"], {}),
    ("wave-outside-the-transfer-period",
     lambda c: c.edit_yaml("transfer.yml", lambda t: t["waves"][1].update(start="2011-01-10")),
     [f"{TRANSFER}: waves[1].start: 2011-01-10 is outside the transfer period 2009-01-01 to 2010-12-31"], {}),
    ("wave-date-not-a-date",
     lambda c: c.edit_yaml("transfer.yml", lambda t: t["waves"][0].update(start="2009-02-30")),
     [f"{TRANSFER}: waves[0].start: 2009-02-30 is not a valid date"], {}),
    ("unknown-wave-while-another-wave-is-invalid",
     lambda c: (c.edit_yaml("transfer.yml", lambda t: t["waves"][0].update(start="2009-02-30")),
                c.edit_yaml("organisations/kulturnamnden.yml", lambda o: o.update(wave=3))),
     [f"{KUL}: wave: unknown wave 3 (waves in transfer.yml: 1, 2)",
      f"{TRANSFER}: waves[0].start: 2009-02-30 is not a valid date"], {}),
    ("stage-1-wave-after-a-stage-2-wave",
     lambda c: c.edit_yaml("transfer.yml", lambda t: t["waves"].append(
         {"number": 3, "start": "2010-06-01", "stage": 1})),
     [f"{TRANSFER}: waves[2].stage: wave 3 is stage 1 but follows wave 2 of stage 2"], {}),
    ("legacy-server-outside-its-site-network",
     lambda c: c.edit_yaml("organisations/sodermalm.yml",
                           lambda o: o["legacy_servers"][0].update(address="10.18.5.10")),
     [f"{SOD}: legacy_servers[0].address: 10.18.5.10 is outside the network 10.18.0.0/24 "
      "of site sod_rosenlund"],
     {}),
    ("legacy-server-at-another-organisations-site",
     lambda c: c.edit_yaml("organisations/sodermalm.yml",
                           lambda o: o["legacy_servers"][0].update(site="kul_kulturhuset")),
     [f"{SOD}: legacy_servers[0].site: site kul_kulturhuset belongs to kulturnamnden, not to sodermalm"], {}),
    ("service-host-outside-its-datacentre",
     lambda c: c.edit_yaml("service_hosts.yml", lambda s: s["hosts"][0].update(address="10.1.0.11")),
     [f"{SERVICE_HOSTS}: hosts[0].address: 10.1.0.11 is outside the network 10.0.0.0/16 "
      "of datacentre central"],
     {}),
    ("service-host-serves-an-unknown-organisation",
     lambda c: c.edit_yaml("service_hosts.yml",
                           lambda s: s["hosts"][1].update(serves=["sodermalm", "utbilding"])),
     [f"{SERVICE_HOSTS}: hosts[1].serves[1]: unknown organisation utbilding "
      "(did you mean 'utbildning'?)"], {}),
    ("service-host-with-address-and-index",
     lambda c: c.edit_yaml("service_hosts.yml", lambda s: s["hosts"][0].update(host_index=11)),
     [f"{SERVICE_HOSTS}: hosts[0]: give exactly one of 'address' and 'host_index'"], {}),
    ("service-not-provided-to-every-organisation",
     lambda c: c.edit_yaml("service_hosts.yml", lambda s: s["hosts"][3]["services"].remove("log")),
     [f"{SERVICE_HOSTS}: hosts: no 'log' host serves kulturnamnden, sodermalm, utbildning"], {}),
    ("duplicate-hostname-service-host-and-legacy-server",
     lambda c: c.edit_yaml("service_hosts.yml", lambda s: s["hosts"][0].update(name="sod-fs01")),
     [f"{SERVICE_HOSTS}: hosts[0].name: duplicate hostname sod-fs01 "
      "(first at organisations/sodermalm.yml legacy_servers[0])"], {}),
    ("duplicate-hostname-register-and-service-host",
     lambda c: c.edit_yaml("service_hosts.yml", lambda s: s["hosts"][0].update(name="sod-ws-00002")),
     [f"{SOD_CSV}: line 3: duplicate hostname sod-ws-00002 (first at service_hosts.yml hosts[0])"], {}),
    ("duplicate-hostname-across-register-files",
     lambda c: c.edit_rows("kulturnamnden", lambda rows: rows.append(
         ["sod-ws-00001", "9ZZ9ZZ9", "Dell OptiPlex 755", "kul_kulturhuset", "admin", "", "2007-01-02"])),
     ["data/register/kulturnamnden.csv: 2 rows, but the organisation declares 1 workstation",
      "data/register/kulturnamnden.csv: line 3: hostname sod-ws-00001 does not start with the organisation's "
      "prefix kul-",
      f"{SOD_CSV}: line 2: duplicate hostname sod-ws-00001 "
      "(first at register/kulturnamnden.csv line 3)"], {}),
    ("duplicate-serial",
     lambda c: c.edit_rows("sodermalm", lambda rows: rows[2].__setitem__(1, "CZC7451ABC")),
     [f"{SOD_CSV}: line 3: duplicate serial CZC7451ABC (first at register/sodermalm.csv line 2)"], {}),
    ("register-row-at-an-unknown-site",
     lambda c: c.edit_rows("sodermalm", lambda rows: rows[1].__setitem__(3, "sod_rosenlun")),
     [f"{SOD_CSV}: line 2: unknown site sod_rosenlun of organisation sodermalm "
      "(did you mean 'sod_rosenlund'?)"],
     {}),
    ("register-row-at-another-organisations-site",
     lambda c: c.edit_rows("sodermalm", lambda rows: rows[1].__setitem__(3, "utb_hantverkargatan")),
     [f"{SOD_CSV}: line 2: site utb_hantverkargatan belongs to utbildning, not to sodermalm"], {}),
    ("register-row-on-the-wrong-network",
     lambda c: c.edit_rows("utbildning", lambda rows: rows[2].__setitem__(4, "admin")),
     ["data/register/utbildning.csv: line 3: network 'admin' does not match the edu network of site "
      "utb_sodermalmsskolan"], {}),
    ("register-file-of-an-unknown-organisation",
     lambda c: c.write_rows("sodermalmm", []),
     ["data/register/sodermalmm.csv: unknown organisation sodermalmm: a register file is named "
      "<organisation id>.csv (did you mean 'sodermalm'?)"], {}),
    ("register-file-missing",
     lambda c: (c.data / "register/kulturnamnden.csv").unlink(),
     ["data/register/kulturnamnden.csv: missing register file of organisation kulturnamnden "
      "(run `make register`)"], {}),
    ("register-missing",
     lambda c: [path.unlink() for path in (c.data / "register").iterdir()] and (c.data / "register").rmdir(),
     ["data/register: missing asset register: run `make register` to generate it"], {}),
    ("csv-wrong-header",
     lambda c: c.edit_rows("sodermalm", lambda rows: rows[0].__setitem__(4, "net")),
     [f"{SOD_CSV}: line 1: header: column 5 is 'net', expected network (the header is "
      "hostname,serial,model,site,network,assigned_user,purchase_date)"], {}),
    ("csv-wrong-column-count",
     lambda c: c.edit_rows("sodermalm", lambda rows: rows[2].pop()),
     [f"{SOD_CSV}: line 3: expected 7 columns, got 6"], {}),
    ("purchase-date-in-the-future",
     lambda c: c.edit_rows("sodermalm", lambda rows: rows[3].__setitem__(6, "2999-01-01")),
     [f"{SOD_CSV}: line 4: purchase_date: 2999-01-01 is in the future"], {}),
    ("purchase-date-unparseable",
     lambda c: c.edit_rows("sodermalm", lambda rows: rows[3].__setitem__(6, "20/11/2007")),
     [f"{SOD_CSV}: line 4: purchase_date: expected a date as YYYY-MM-DD, got string '20/11/2007'"], {}),
    ("site-network-too-small-for-its-workstations",
     lambda c: (c.edit_yaml("organisations/sodermalm.yml", lambda o: site(o, 1).update(cidr="10.18.1.0/30")),
                c.edit_rows("sodermalm", lambda rows: rows[3].__setitem__(3, "sod_katarina"))),
     [f"{SOD}: sites[1].cidr: 10.18.1.0/30 has room for 1 workstation, but the register puts 2 at site "
      "sod_katarina"], {}),
    ("empty-yaml-file",
     lambda c: c.write_text("organisations/sodermalm.yml", "---\n"),
     [f"{SOD}: file is empty"], {}),
    ("register-without-rows",
     lambda c: c.edit_rows("kulturnamnden", lambda rows: rows.pop()),
     ["data/register/kulturnamnden.csv: no rows, but the organisation declares 1 workstation"], {}),
    ("empty-csv-file",
     lambda c: c.write_text("register/sodermalm.csv", ""),
     [f"{SOD_CSV}: file is empty"], {}),
    ("duplicate-yaml-key",
     lambda c: c.write_text("organisations/kulturnamnden.yml",
                            (c.data / "organisations/kulturnamnden.yml").read_text(encoding="utf-8")
                            .replace("kind: board\n", "kind: board\ncode: KUL\n")),
     [f"{KUL}: line 6, column 1: duplicate key 'code' (first at line 4)"], {}),
    ("missing-transfer-file",
     lambda c: (c.data / "transfer.yml").unlink(),
     [f"{TRANSFER}: missing file: the transfer period and its waves"], {}),
]


@pytest.mark.parametrize(("breakage", "expected", "options"),
                         [pytest.param(b, e, o, id=name) for name, b, e, o in BAD_INPUTS])
def test_bad_input_is_reported_with_file_place_and_problem(city, breakage, expected, options):
    breakage(city)
    assert errors_of(city, **options) == expected


def test_yaml_syntax_error_names_its_line(city):
    city.write_text("organisations/sodermalm.yml", "---\nid: sodermalm\nname: [Södermalm\ncode: SOD\n")
    [error] = errors_of(city)
    assert error.startswith(f"{SOD}: line 4, column 5: YAML syntax error: ")


def test_every_problem_is_reported_sorted(city):
    city.edit_yaml("organisations/utbildning.yml", lambda o: o.update(staff=-1))
    city.edit_yaml("organisations/kulturnamnden.yml", lambda o: o.update(kind="nämnd"))
    city.edit_rows("sodermalm", lambda rows: [row.__setitem__(6, "2006-13-01") for row in rows[1:]])
    assert errors_of(city) == [
        f"{KUL}: kind: expected one of district, board, company, central, got string 'nämnd'",
        f"{UTB}: staff: -1 is less than 0",
        f"{SOD_CSV}: line 2: purchase_date: 2006-13-01 is not a valid date",
        f"{SOD_CSV}: line 3: purchase_date: 2006-13-01 is not a valid date",
        f"{SOD_CSV}: line 4: purchase_date: 2006-13-01 is not a valid date",
    ]


def test_the_message_shows_the_first_twenty_problems_in_natural_order(city):
    rows = [[f"sod-ws-{n:05d}", f"SER{n}", "Dell OptiPlex 755", "sod_rosenlund", "admin", "", "2007-13-01"]
            for n in range(1, 26)]
    city.write_rows("sodermalm", [city.rows("sodermalm")[0], *rows])
    city.edit_yaml("organisations/sodermalm.yml", lambda o: o.update(workstations=25))
    with pytest.raises(CityDataError) as caught:
        load_city(city.data)
    lines = str(caught.value).splitlines()
    assert len(caught.value.errors) == 25
    assert lines[8:11] == [f"{SOD_CSV}: line {n}: purchase_date: 2007-13-01 is not a valid date"
                           for n in (10, 11, 12)]
    assert lines[20:] == ["... and 5 more errors"]


def test_unreadable_organisation_is_reported_once(city):
    city.write_text("organisations/kulturnamnden.yml", "---\n- not a mapping\n")
    assert errors_of(city) == [f"{KUL}: expected a mapping, got a list"]


# -- good data -------------------------------------------------------------------


def test_fixture_city_loads_into_the_model(city):
    loaded = load_city(city.data)
    assert loaded.counts() == {"organisations": 3, "sites": 5, "networks": 6, "service_hosts": 4,
                               "workstations": 6}
    first = loaded.workstations[0]
    assert first == city_model.Workstation("kul-ws-00001", "kulturnamnden", "kul_kulturhuset", "admin",
                                           "4HJ8K2L", "Dell OptiPlex GX620", "Göran Ångström", "2005-04-11")
    fs1 = next(host for host in loaded.service_hosts if host["name"] == "fs1")
    assert loaded.served_by(fs1) == ["sodermalm", "utbildning"]
    assert str(fs1["address"]) == "10.0.1.21"


def test_organisations_as_vars_is_json_with_iso_dates(city):
    organisations = city_model.organisations_as_vars(load_city(city.data))
    utbildning = json.loads(json.dumps(organisations))["utbildning"]
    assert utbildning["wave_date"] == "2009-03-02"
    assert utbildning["networks"] == {"admin": ["10.30.0.0/24"], "edu": ["172.16.0.0/24"]}
    assert utbildning["sites"][1]["name"] == "Södermalmsskolan"
    assert organisations["sodermalm"]["legacy_servers"][0]["address"] == "10.18.0.10"


def address_by_index(service_hosts: dict) -> None:
    for index, host in enumerate(service_hosts["hosts"], start=11):
        host.pop("address")
        host["host_index"] = index


def test_service_network_replaces_the_datacentre_network(city):
    city.edit_yaml("service_hosts.yml", address_by_index)
    loaded = load_city(city.data, service_network="10.77.0.0/24")
    assert [str(host["address"]) for host in loaded.service_hosts] == [
        "10.77.0.11", "10.77.0.12", "10.77.0.13", "10.77.0.14"]
    assert {str(host["datacentre_network"]) for host in loaded.service_hosts} == {"10.77.0.0/24"}


def test_service_network_must_be_a_network_and_hold_every_index(city):
    city.edit_yaml("service_hosts.yml", address_by_index)
    city.edit_yaml("service_hosts.yml", lambda s: s["hosts"][0].update(host_index=300))
    assert errors_of(city, service_network="10.77.0.0/33") == [
        f"{SERVICE_HOSTS}: service_network (GEMENSAM_SERVICE_NETWORK): 10.77.0.0/33 is not a valid network"]
    assert errors_of(city, service_network="10.77.0.0/24") == [
        f"{SERVICE_HOSTS}: hosts[0].host_index: 300 is outside 10.77.0.0/24 (254 usable addresses)"]


def test_select_keeps_listed_sites_of_included_organisations(city):
    loaded = city_model.select(load_city(city.data), ["utbildning", "sodermalm"], ["utb_sodermalmsskolan"])
    assert list(loaded.organisations) == ["sodermalm", "utbildning"]
    assert [s["id"] for s in loaded.organisations["utbildning"]["sites"]] == ["utb_sodermalmsskolan"]
    assert len(loaded.organisations["sodermalm"]["sites"]) == 2
    assert sorted(w.hostname for w in loaded.workstations) == [
        "sod-lt-00001", "sod-ws-00001", "sod-ws-00002", "utb-ws-00002"]


def test_select_refuses_unknown_organisations_and_sites(city):
    with pytest.raises(CityDataError) as caught:
        city_model.select(load_city(city.data), ["sodermalm", "brommma"], ["kul_kulturhuset", "x"],
                          source="city.yml")
    assert caught.value.errors == [
        "city.yml: organisations[1]: unknown organisation brommma",
        "city.yml: sites[0]: site kul_kulturhuset belongs to kulturnamnden, which is not included",
        "city.yml: sites[1]: unknown site x",
    ]


def test_plugin_config_paths_are_relative_to_the_config(city, monkeypatch):
    city.write_config({"plugin": "city", "register": "no", "organisations": ["kulturnamnden"]})
    monkeypatch.chdir(REPO)
    config = city_model.read_plugin_config(city.config, environ={"GEMENSAM_SERVICE_NETWORK": "10.77.0.0/24"})
    assert (config.data_dir, config.service_hosts) == (city.data, city.data / "service_hosts.yml")
    assert (config.register, config.service_network, config.organisations) == (
        False, "10.77.0.0/24", ["kulturnamnden"])


def test_the_real_city_is_valid_and_city_sized():
    city = load_city(REPO / "inventory/stockholm/data", register=False)
    kinds = [org["kind"] for org in city.organisations.values()]
    assert kinds.count("district") == 14
    assert {org["stage"] for org in city.organisations.values() if org["kind"] == "district"} == {1}
    assert {org["stage"] for org in city.organisations.values() if org["kind"] == "company"} == {2}
    schools = [s for s in city.organisations["utbildning"]["sites"] if s["network"] == "edu"]
    assert 25 <= len(schools) <= 40
    assert 55_000 <= sum(org["workstations"] for org in city.organisations.values()) <= 65_000
    assert all(str(site["cidr"]).startswith("172.") for site in schools)


def test_the_lab_is_three_organisations_of_the_real_city():
    config = city_model.read_plugin_config(REPO / "inventory/lab/lab.city.yml", environ={})
    lab = city_model.load_from_config(config)
    assert list(lab.organisations) == ["bromma", "sodermalm", "utbildning"]
    assert [s["id"] for s in lab.organisations["utbildning"]["sites"]] == [
        "utb_hantverkargatan", "utb_sodermalmsskolan", "utb_katarina_norra"]
    assert {h["name"]: str(h["address"]) for h in lab.service_hosts} == {
        "dc1": "10.89.0.11", "dc2": "10.89.0.12", "fs1": "10.89.0.21", "print1": "10.89.0.31",
        "mail1": "10.89.0.41", "app1": "10.89.0.51", "desk1": "10.89.0.61", "log1": "10.89.0.71",
        "mirror1": "10.89.0.81"}


def test_generated_register_is_deterministic_and_valid(tmp_path):
    """The generator on the real organisations: the register validates, has the declared
    number of rows and splits about 40,000 admin / 20,000 EDU; a second run is identical."""
    data_dir = REPO / "inventory/stockholm/data"
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        subprocess.run([sys.executable, str(REPO / "tools/generate_register.py"), "--data-dir", str(data_dir),
                        "--out", str(out)], check=True, capture_output=True)
    assert all((first / p.name).read_bytes() == p.read_bytes() for p in second.iterdir())
    city = load_city(data_dir, register_dir=first)
    assert len(city.workstations) == sum(org["workstations"] for org in city.organisations.values())
    edu = sum(1 for w in city.workstations if w.network == "edu")
    assert 18_000 <= edu <= 22_000
    assert any("å" in w.assigned_user or "ö" in w.assigned_user for w in city.workstations)


def test_natural_sort_orders_numbers_by_value():
    assert sorted(["row 10", "row 9", "sites[10]", "sites[2]"], key=city_model.natural_sort_key) == [
        "row 9", "row 10", "sites[2]", "sites[10]"]


def test_display_path_is_relative_below_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert city_model.display_path(tmp_path / "data" / "x.yml") == str(Path("data/x.yml"))
    assert city_model.display_path("/etc/hosts") == "/etc/hosts"
