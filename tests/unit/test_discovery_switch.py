"""Discovery of a site switch against the simulated Cisco IOS switch (fake-switches,
migration/fake_switch/launch.py) started on 127.0.0.1: netmiko over SSH, TextFSM parsing,
the record checked by discovery_model, the discrepancy with the city data listed, and a
hostile value from the device refused and named, never written."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1].parent
sys.path.insert(0, str(REPO))

import city_model  # noqa: E402 - city_fixture (conftest) puts module_utils on sys.path
import discovery_model  # noqa: E402
from switch_process import USERNAME, running_switch  # noqa: E402

from migration.discovery import report, store, switch  # noqa: E402
from migration.fake_switch import content  # noqa: E402

DATA = REPO / "inventory" / "stockholm" / "data"
SWITCH = "sod-sw01"


@pytest.fixture(scope="module")
def city() -> city_model.City:
    return city_model.load_city(DATA, register=False)


@pytest.fixture(scope="module")
def sodermalm(city: city_model.City) -> dict:
    return city.organisations["sodermalm"]


@pytest.fixture(scope="module")
def device(sodermalm: dict) -> dict:
    return content.find_switch(sodermalm, SWITCH)


def discover(spec: dict, device: dict, directory: Path) -> dict:
    with running_switch(spec, directory) as (port, password):
        credentials = switch.Credentials(USERNAME, password, password)
        return switch.discover(device, credentials, host="127.0.0.1", port=port)


@pytest.fixture(scope="module")
def record(sodermalm: dict, device: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return discover(content.switch_spec(sodermalm, SWITCH), device, tmp_path_factory.mktemp("switch"))


def test_the_switch_is_declared_in_the_organisation_file(device: dict) -> None:
    declared = (device["role"], device["site"], str(device["address"]))
    assert declared == ("switch", "sod_rosenlund", "10.18.0.2")


def test_model_serial_and_software_are_read(record: dict) -> None:
    assert record["model"] == "WS-C2960-24TT-L"
    assert record["serial"] == content.serial_number(SWITCH)
    assert record["software"] == "12.2(55)SE5"
    assert record["hostname"] == SWITCH
    assert "problems" not in record


def test_vlans_interfaces_and_macs_are_read(record: dict, sodermalm: dict) -> None:
    vlans = {vlan["id"]: vlan.get("name") for vlan in record["vlans"]}
    assert vlans[10] == "servrar"
    assert vlans[99] == "gamla-lan"
    assert vlans[100 + 10 * 2] == sodermalm["departments"][2]["id"]
    ports = {interface["name"]: interface for interface in record["interfaces"]}
    assert len(ports) == 26
    assert ports["Fa0/2"] == {"name": "Fa0/2", "description": "sod-fs01", "status": "connected", "vlan": "10"}
    assert ports["Gi0/1"]["vlan"] == "trunk"
    assert {"vlan": 10, "mac": content.mac_address(content.SERVER_OUI, "sod-fs01"), "port": "Fa0/2"} \
        in record["macs"]
    assert {entry["interface"]: entry["address"] for entry in record["addresses"]} == {
        "Vlan10": "10.18.0.2/22", "Vlan99": "10.18.4.1/22"}


def test_the_network_outside_the_site_is_listed(record: dict, sodermalm: dict, city: city_model.City) -> None:
    assert switch.discrepancies(record, sodermalm, city) == [
        "sod-sw01: Vlan99 has 10.18.4.1/22, outside the network 10.18.0.0/22 of its site sod_rosenlund; "
        "it overlaps site sod_gotgatan (sodermalm), site sod_katarina (sodermalm)"]


def test_the_inventory_file_and_report(record: dict, sodermalm: dict, city: city_model.City,
                                       tmp_path: Path) -> None:
    found = switch.discrepancies(record, sodermalm, city)
    path = store.write_discovery(tmp_path, "sodermalm", city, switches=[record], discrepancies=found)
    assert path == tmp_path / "sodermalm.yml"
    assert discovery_model.load_discovery(path, city)["switches"][0]["serial"] == record["serial"]
    text = report.render(sodermalm, discovery_model.load_discovery(path, city), city)
    assert "## Switch sod-sw01 (10.18.0.2)" in text
    assert "| Fa0/2 | sod-fs01 | 10 | 1 |" in text
    assert "- sod-sw01: Vlan99 has 10.18.4.1/22, outside the network 10.18.0.0/22" in text


def test_a_hostile_description_is_refused_and_named(sodermalm: dict, device: dict, city: city_model.City,
                                                   tmp_path: Path) -> None:
    spec = copy.deepcopy(content.switch_spec(sodermalm, SWITCH))
    spec["ports"][1]["description"] = "fs01\x07\u202eexe.txt"
    record = discover(spec, device, tmp_path)
    ports = {interface["name"]: interface for interface in record["interfaces"]}
    assert "description" not in ports["Fa0/2"]
    assert ports["Fa0/2"]["status"] == "connected"
    assert record["problems"] == [
        "sod-sw01: interfaces[1].description: 'fs01\\x07\\u202eexe.txt' holds a character that is not "
        "printable text: character 5 is U+0007 (a control character)"]
    path = store.write_discovery(tmp_path, "sodermalm", city, switches=[record])
    written = path.read_text(encoding="utf-8") + report.render(sodermalm, {"switches": [record]}, city)
    assert "\x07" not in written
    assert "\u202e" not in written


def test_a_hostile_host_name_is_refused(device: dict) -> None:
    parsed = {"version": [{"hostname": "sod-sw01\x1b[2J", "hardware": ["WS-C2960-24TT-L"],
                           "serial": ["FOC1234ABCD"], "version": "12.2(55)SE5", "software_image": "X"}],
              "vlans": [], "interfaces": [], "addresses": [], "macs": []}
    record = discovery_model.checked(discovery_model.SWITCH, switch.raw_record(device, parsed), SWITCH)
    assert "hostname" not in record
    assert record["serial"] == "FOC1234ABCD"
    assert record["problems"] == [
        "sod-sw01: hostname: 'sod-sw01\\x1b[2J' holds a character that is not printable text: "
        "character 9 is U+001B (a control character)"]


def test_the_report_escapes_what_markdown_acts_on(record: dict, sodermalm: dict,
                                                  city: city_model.City) -> None:
    hostile = copy.deepcopy(record)
    hostile["interfaces"][0]["description"] = "a | b [klick](http://x) <img>"
    text = report.render(sodermalm, {"switches": [hostile]}, city)
    assert "| Fa0/1 | a \\| b \\[klick\\](http://x) \\<img\\> | 10 | 1 |" in text


def test_a_discovery_file_naming_an_undeclared_switch_is_refused(city: city_model.City,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "sodermalm.yml"
    path.write_text("organisation: sodermalm\nswitches:\n  - name: sod-sw99\n    address: 10.18.0.3\n",
                    encoding="utf-8")
    with pytest.raises(city_model.CityDataError) as raised:
        discovery_model.load_discovery(path, city)
    assert str(raised.value).endswith("sodermalm.yml: switches[0].name: sod-sw99 is not a legacy device "
                                      "of sodermalm")
