"""The `city` inventory plugin as Ansible runs it: `ansible-inventory` in a subprocess, with
the repository's ansible.cfg, on the small fixture city, the lab, and broken data."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import city_model
import pytest
import yaml
from city_fixture import REGISTER, REPO, CityFixture, dump_yaml, run_ansible

SERVICE_GROUPS = ["domain_controllers", "file_servers", "print_servers", "mail_servers", "app_servers",
                  "servicedesk_servers", "log_servers", "mirror_servers"]


def plain(value: Any) -> Any:
    """The value without ansible-inventory's marks of untrusted (never templated) strings."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def inventory_list(source, env: dict[str, str] | None = None) -> dict[str, Any]:
    return inventory_list_of("-i", str(source), env=env)


def inventory_list_of(*sources: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = run_ansible("ansible-inventory", *sources, "--list", env=env)
    assert result.returncode == 0, result.stderr
    return plain(json.loads(result.stdout))


def listed_hosts(*arguments: str) -> set[str]:
    """The hosts `ansible <sources> <pattern> --list-hosts` names."""
    result = run_ansible("ansible", *arguments, "--list-hosts")
    assert result.returncode == 0, result.stderr
    return {line.strip() for line in result.stdout.splitlines()[1:] if line.strip()}


def hosts_of(inventory: dict[str, Any], group: str) -> set[str]:
    return set(inventory.get(group, {}).get("hosts", []))


def children_of(inventory: dict[str, Any], group: str) -> set[str]:
    return set(inventory.get(group, {}).get("children", []))


@pytest.fixture
def listed(city: CityFixture) -> dict[str, Any]:
    return inventory_list(city.config)


def load_plugin_module():
    spec = importlib.util.spec_from_file_location("city_inventory_plugin", REPO / "plugins/inventory/city.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_organisation_groups_hold_their_workstations_and_their_servers(listed):
    assert children_of(listed, "sodermalm") == {"sodermalm_workstations"}
    assert hosts_of(listed, "sodermalm") == {"dc1", "fs1", "mail1"}
    assert hosts_of(listed, "kulturnamnden") == {"dc1", "fs2", "mail1"}
    assert children_of(listed, "sodermalm_workstations") == {"site_sod_rosenlund", "site_sod_katarina"}
    assert hosts_of(listed, "site_sod_rosenlund") == {"sod-ws-00001", "sod-lt-00001"}
    assert children_of(listed, "workstations") == {
        "sodermalm_workstations", "utbildning_workstations", "kulturnamnden_workstations"}


def test_stage_wave_and_network_groups(listed):
    assert children_of(listed, "stage_1") == {"sodermalm", "utbildning"}
    assert children_of(listed, "stage_2") == {"kulturnamnden"}
    assert children_of(listed, "wave_1") == {"sodermalm", "utbildning"}
    assert children_of(listed, "wave_2") == {"kulturnamnden"}
    assert children_of(listed, "edu") == {"site_utb_sodermalmsskolan"}
    assert children_of(listed, "admin") == {"site_sod_rosenlund", "site_sod_katarina",
                                            "site_utb_hantverkargatan", "site_kul_kulturhuset"}


def test_service_groups_under_servers(listed):
    assert children_of(listed, "servers") == set(SERVICE_GROUPS)
    assert hosts_of(listed, "domain_controllers") == {"dc1"}
    assert hosts_of(listed, "file_servers") == hosts_of(listed, "print_servers") == {"fs1", "fs2"}
    for group in ("mail_servers", "app_servers", "servicedesk_servers", "log_servers", "mirror_servers"):
        assert hosts_of(listed, group) == {"mail1"}


def test_workstation_hostvars(listed):
    hostvars = listed["_meta"]["hostvars"]
    assert {key: hostvars["sod-ws-00001"][key] for key in ("organisation", "site", "network", "asset")} == {
        "organisation": "sodermalm",
        "site": "sod_rosenlund",
        "network": "admin",
        "asset": {"serial": "CZC7451ABC", "model": "HP Compaq dc7800", "purchase_date": "2008-02-14",
                  "assigned_user": "Åsa Öberg"},
    }
    assert hostvars["utb-ws-00002"]["network"] == "edu"
    # mail1 is the fixture's package mirror too, and serves all.
    assert hostvars["sod-ws-00001"]["city_package_mirror_url"] == "http://10.0.1.41:3142"
    assert "ansible_host" not in hostvars["sod-ws-00001"]
    assert "city_organisations" not in hostvars["sod-ws-00001"]


def test_service_host_hostvars_and_city_vars(listed):
    fs1 = listed["_meta"]["hostvars"]["fs1"]
    keys = ("ansible_host", "datacentre", "datacentre_network", "services", "serves")
    assert {key: fs1[key] for key in keys} == {
        "ansible_host": "10.0.1.21",
        "datacentre": "central",
        "datacentre_network": "10.0.0.0/16",
        "services": ["file", "print"],
        "serves": ["sodermalm", "utbildning"],
    }
    assert fs1["city_package_mirror_url"] == "http://10.0.1.41:3142"
    assert listed["_meta"]["hostvars"]["mail1"]["city_package_mirror_url"] == ""
    assert sorted(fs1["city_organisations"]) == ["kulturnamnden", "sodermalm", "utbildning"]
    assert fs1["city_organisations"]["utbildning"]["sites"][1]["name"] == "Södermalmsskolan"
    assert fs1["city_transfer_period"] == {"start": "2009-01-01", "end": "2010-12-31"}


def test_organisations_and_sites_options_choose_part_of_the_city(city):
    city.write_config({"plugin": "city", "organisations": ["utbildning", "kulturnamnden"],
                       "sites": ["utb_sodermalmsskolan"]})
    listed = inventory_list(city.config)
    assert set(listed["_meta"]["hostvars"]) == {"dc1", "fs1", "fs2", "mail1", "utb-ws-00002", "kul-ws-00001"}
    assert "sodermalm" not in listed and "site_utb_hantverkargatan" not in listed
    assert listed["_meta"]["hostvars"]["fs1"]["serves"] == ["utbildning"]


def test_constructed_options_see_site_and_asset_vars(city):
    city.write_config({"plugin": "city", "keyed_groups": [{"key": "network", "prefix": "net"}],
                       "groups": {"bought_before_2006": "asset is defined and asset.purchase_date < '2006'"}})
    listed = inventory_list(city.config)
    assert hosts_of(listed, "net_edu") == {"utb-ws-00002"}
    assert hosts_of(listed, "bought_before_2006") == {"kul-ws-00001"}


def test_bad_data_stops_ansible_inventory_with_the_message(city):
    city.edit_yaml("organisations/sodermalm.yml", lambda o: o.update(stage=3))
    result = run_ansible("ansible-inventory", "-i", str(city.config), "--list")
    assert result.returncode != 0
    expected = f"{city.data}/organisations/sodermalm.yml: stage: expected one of 1, 2, got integer 3"
    assert expected in result.stderr


def test_missing_register_asks_for_make_register(city):
    for path in (city.data / "register").iterdir():
        path.unlink()
    (city.data / "register").rmdir()
    result = run_ansible("ansible-inventory", "-i", str(city.config), "--graph")
    assert result.returncode != 0
    expected = f"{city.data}/register: missing asset register: run `make register` to generate it"
    assert expected in result.stderr


# -- one source of the servers, one of the workstations -------------------------------


def split_like_production(city: CityFixture) -> None:
    """The fixture laid out as inventory/stockholm: city.yml without the register, and
    workstations/city.yml with the register and without the service hosts."""
    city.write_config({"plugin": "city", "register": False})
    dump_yaml(city.root / "workstations/city.yml", {
        "plugin": "city", "data_dir": "../data", "service_hosts": "../data/service_hosts.yml",
        "servers": False})


def by_sets(inventory: dict[str, Any]) -> dict[str, Any]:
    """A listing whose groups' hosts and children are sets: sources add them in their order."""
    return {name: entry if name == "_meta" else {key: set(value) for key, value in entry.items()}
            for name, entry in inventory.items()}


def test_servers_false_adds_the_workstations_in_every_group_and_no_service_host(city):
    city.write_config({"plugin": "city", "servers": False})
    listed = inventory_list(city.config)
    hostvars = listed["_meta"]["hostvars"]
    assert set(hostvars) == {row[0] for rows in REGISTER.values() for row in rows}
    assert children_of(listed, "sodermalm") == {"sodermalm_workstations"}
    assert hosts_of(listed, "sodermalm") == set()
    assert hosts_of(listed, "site_sod_rosenlund") == {"sod-ws-00001", "sod-lt-00001"}
    assert children_of(listed, "servers") == set(SERVICE_GROUPS)
    assert children_of(listed, "wave_2") == {"kulturnamnden"}
    assert hostvars["utb-ws-00002"]["network"] == "edu"
    assert not any("city_organisations" in variables for variables in hostvars.values())


def test_the_servers_source_leaves_out_the_workstations_directory(city):
    split_like_production(city)
    listed = inventory_list(city.root)
    assert set(listed["_meta"]["hostvars"]) == {"dc1", "fs1", "fs2", "mail1"}
    assert hosts_of(listed, "sodermalm") == {"dc1", "fs1", "mail1"}
    assert children_of(listed, "sodermalm_workstations") == {"site_sod_rosenlund", "site_sod_katarina"}
    assert children_of(listed, "edu") == {"site_utb_sodermalmsskolan"}


def test_the_two_sources_together_are_the_whole_city(city):
    whole = inventory_list(city.config)
    split_like_production(city)
    together = inventory_list_of("-i", str(city.root), "-i", str(city.root / "workstations"))
    assert by_sets(together) == by_sets(whole)
    assert len(whole["_meta"]["hostvars"]) == 4 + 6


def test_limit_to_an_organisations_workstations_with_both_sources(city):
    split_like_production(city)
    both = ["-i", str(city.root), "-i", str(city.root / "workstations")]
    assert listed_hosts(*both, "sodermalm_workstations") == {"sod-ws-00001", "sod-ws-00002", "sod-lt-00001"}
    assert listed_hosts(*both, "sodermalm") == {"dc1", "fs1", "mail1", "sod-ws-00001", "sod-ws-00002",
                                                "sod-lt-00001"}
    assert listed_hosts("-i", str(city.root), "sodermalm") == {"dc1", "fs1", "mail1"}


def test_a_source_of_no_host_is_refused(city):
    city.write_config({"plugin": "city", "servers": False, "register": False})
    result = run_ansible("ansible-inventory", "-i", str(city.config), "--list")
    assert result.returncode != 0
    assert (f"{city.config}: servers: false, and register is false too: this source would hold no host"
            in result.stderr)


def test_production_is_a_servers_source_and_a_workstations_source_of_the_same_data():
    servers = city_model.read_plugin_config(REPO / "inventory/stockholm/city.yml", environ={})
    workstations = city_model.read_plugin_config(REPO / "inventory/stockholm/workstations/city.yml",
                                                 environ={})
    assert (servers.data_dir, servers.service_hosts) == (workstations.data_dir, workstations.service_hosts)
    assert (servers.register, workstations.register) == (False, True)
    workstations_options = city_model.read_plugin_options(REPO / "inventory/stockholm/workstations/city.yml")
    assert workstations_options["servers"] is False
    # Read as `-i inventory/stockholm` is: the service hosts and every group, no workstation
    # (this needs no register, so it runs before `make register` too).
    listed = inventory_list(REPO / "inventory/stockholm")
    declared = {host["name"] for host in city_model.load_city(servers.data_dir, register=False).service_hosts}
    assert set(listed["_meta"]["hostvars"]) == declared
    assert children_of(listed, "sodermalm") == {"sodermalm_workstations"}
    assert "site_sod_rosenlund" in children_of(listed, "sodermalm_workstations")


def test_lab_follows_the_service_network_setting():
    listed = inventory_list(REPO / "inventory/lab", env={"GEMENSAM_SERVICE_NETWORK": "10.77.0.0/24"})
    hostvars = listed["_meta"]["hostvars"]
    servers = {"dc1", "dc2", "fs1", "print1", "mail1", "app1", "desk1", "log1", "mirror1"}
    assert set(hostvars) == servers | {"sod-fs01", "sod-ps01", "sod-ex01"}
    assert (hostvars["dc1"]["ansible_host"], hostvars["log1"]["ansible_host"]) == ("10.77.0.11", "10.77.0.71")
    # The apt proxy moves with the lab: the mirror's address on the lab's own subnet.
    assert hostvars["dc1"]["city_package_mirror_url"] == "http://10.77.0.81:3142"
    assert hostvars["mirror1"]["city_package_mirror_url"] == ""
    assert hostvars["dc1"]["datacentre_network"] == "10.77.0.0/24"
    assert hosts_of(listed, "domain_controllers") == {"dc1", "dc2"}
    assert hosts_of(listed, "servicedesk_servers") == {"desk1"}
    assert hosts_of(listed, "log_servers") == {"log1"}
    assert hosts_of(listed, "mirror_servers") == {"mirror1"}
    assert hosts_of(listed, "sodermalm") == servers
    # Södermalm's old servers, as its organisation file declares them, on the lab's subnet.
    assert hosts_of(listed, "legacy_file_servers") == {"sod-fs01"}
    assert hosts_of(listed, "legacy_mail_servers") == {"sod-ex01"}
    assert hosts_of(listed, "legacy_print_servers") == {"sod-ps01"}
    assert hostvars["sod-ex01"]["ansible_host"] == "10.77.0.113"
    assert hostvars["sod-ps01"]["ansible_host"] == "10.77.0.112"
    assert hostvars["sod-ex01"]["legacy_server"] == {
        "name": "sod-ex01", "role": "mail", "os": "Windows Server 2003 (Exchange Server 2003)",
        "fate": "retire", "site": "sod_rosenlund", "legacy_address": "10.18.0.13"}
    assert children_of(listed, "utbildning_workstations") == {
        "site_utb_hantverkargatan", "site_utb_sodermalmsskolan", "site_utb_katarina_norra"}


def test_legacy_hosts_are_the_organisation_files_old_servers(city):
    city.write_config({"plugin": "city", "legacy_hosts": {"sod-fs01": 200}})
    listed = inventory_list(city.config)
    assert hosts_of(listed, "legacy_file_servers") == {"sod-fs01"}
    assert "sod-fs01" not in listed["servers"].get("hosts", [])
    variables = listed["_meta"]["hostvars"]["sod-fs01"]
    assert variables["legacy_server"]["os"] == "Novell NetWare 6.5"
    assert variables["organisation"] == "sodermalm"


@pytest.mark.parametrize(("legacy_hosts", "expected"), [
    ({"sod-xx01": 200},
     "legacy_hosts.sod-xx01: not a legacy server of the included organisations (theirs: sod-fs01)"),
    ({"sod-fs01": 267}, "legacy_hosts.sod-fs01: 10.0.1.11 is already dc1's address"),
    ({"sod-fs01": 70000}, "legacy_hosts.sod-fs01: 70000 is outside 10.0.0.0/16"),
    ({"sod-fs01": "200"}, "legacy_hosts.sod-fs01: expected an integer, got string"),
    ({"sod_fs01": 200}, "legacy_hosts.sod_fs01: key: 'sod_fs01' is not a valid host name"),
])
def test_legacy_hosts_refused_with_the_key(city, legacy_hosts, expected):
    city.write_config({"plugin": "city", "legacy_hosts": legacy_hosts})
    result = run_ansible("ansible-inventory", "-i", str(city.config), "--list")
    assert result.returncode != 0
    assert expected in result.stderr


def test_a_legacy_host_without_a_stand_in_is_refused(city):
    city.edit_yaml("organisations/sodermalm.yml", lambda o: o["legacy_servers"][0].update(role="app"))
    city.write_config({"plugin": "city", "legacy_hosts": {"sod-fs01": 200}})
    result = run_ansible("ansible-inventory", "-i", str(city.config), "--list")
    assert ("legacy_hosts.sod-fs01: the lab has no stand-in for an old app server "
            "(it has: file, mail, print)") in result.stderr


def test_a_retired_legacy_host_is_not_run_by_the_lab(city):
    city.edit_yaml("organisations/sodermalm.yml",
                   lambda o: o["legacy_servers"][0].update(retired="2010-03-01"))
    city.write_config({"plugin": "city", "legacy_hosts": {"sod-fs01": 200}})
    result = run_ansible("ansible-inventory", "-i", str(city.config), "--list")
    assert result.returncode != 0
    assert "legacy_hosts.sod-fs01: retired on 2010-03-01: the lab does not run an old server that is off" \
        in result.stderr


def test_verify_file_accepts_city_configs_only(tmp_path):
    plugin = load_plugin_module().InventoryModule()
    for name in ("city.yml", "lab.city.yml", "hosts.yml", "city.yaml"):
        (tmp_path / name).write_text("plugin: city\n", encoding="utf-8")
    assert [plugin.verify_file(str(tmp_path / name)) for name in
            ("city.yml", "lab.city.yml", "hosts.yml", "city.yaml", "missing.city.yml")] == [
        True, True, False, False, False]


def test_documented_defaults_are_the_models():
    options = yaml.safe_load(load_plugin_module().DOCUMENTATION)["options"]
    assert options["data_dir"]["default"] == city_model.DEFAULT_DATA_DIR
    assert options["service_hosts"]["default"] == city_model.DEFAULT_SERVICE_HOSTS
    assert options["service_network"]["env"] == [{"name": city_model.SERVICE_NETWORK_ENV}]
    assert options["register"]["default"] is True
    assert options["servers"]["default"] is True
