"""Which package mirror serves whom (module_utils/city_model.py, package_mirrors_as_vars),
and what every server of the lab and of production really gets as its apt proxy: rendered
through Ansible with the baseline's playbook (tests/unit/inventory_render.py), then checked
against the city data read directly, so that a wrong derivation cannot agree with itself."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import subprocess
import sys
import urllib.parse

import city_model
import pytest
import yaml
from city_fixture import REPO, CityFixture
from city_model import load_city

INVENTORIES = {
    "stockholm": (REPO / "inventory/stockholm", REPO / "inventory/stockholm/city.yml", {}),
    "lab": (REPO / "inventory/lab", REPO / "inventory/lab/lab.city.yml", {}),
    "lab-moved": (REPO / "inventory/lab", REPO / "inventory/lab/lab.city.yml",
                  {city_model.SERVICE_NETWORK_ENV: "10.77.0.0/24"}),
}


def mirror_host(city: CityFixture, name: str, address: str, serves) -> None:
    city.edit_yaml("service_hosts.yml", lambda s: s["hosts"].append(
        {"name": name, "datacentre": "central", "address": address, "services": ["mirror"],
         "serves": serves}))


# ---------------------------------------------------------------------------
# The derivation, on the fixture city


def test_servers_use_the_mirror_of_their_datacentre_and_the_mirror_goes_direct(city):
    hosts, organisations = city_model.package_mirrors_as_vars(load_city(city.data))
    # In the fixture mail1 is the mirror (besides mail, app, servicedesk and log).
    assert hosts == {"dc1": "http://10.0.1.41:3142", "fs1": "http://10.0.1.41:3142",
                     "fs2": "http://10.0.1.41:3142", "mail1": ""}
    assert organisations == dict.fromkeys(["kulturnamnden", "sodermalm", "utbildning"],
                                          "http://10.0.1.41:3142")


def test_an_organisations_workstations_use_the_first_mirror_that_serves_it(city):
    mirror_host(city, "mirror2", "10.0.1.82", ["utbildning"])
    city.edit_yaml("service_hosts.yml", lambda s: s["hosts"].insert(0, s["hosts"].pop()))
    hosts, organisations = city_model.package_mirrors_as_vars(load_city(city.data))
    assert organisations["utbildning"] == "http://10.0.1.82:3142"
    assert organisations["sodermalm"] == "http://10.0.1.41:3142"
    # The first mirror of the datacentre serves its servers; neither mirror uses the other.
    assert hosts["fs1"] == "http://10.0.1.82:3142"
    assert hosts["mirror2"] == hosts["mail1"] == ""


def test_a_city_without_a_mirror_host_is_refused_by_name(city):
    city.edit_yaml("service_hosts.yml", lambda s: s["hosts"][3]["services"].remove("mirror"))
    with pytest.raises(city_model.CityDataError) as caught:
        load_city(city.data)
    assert caught.value.errors == [
        "data/service_hosts.yml: hosts: no 'mirror' host serves kulturnamnden, sodermalm, utbildning"]


def test_an_ipv6_mirror_is_written_in_brackets():
    host = {"address": ipaddress.ip_address("fd00::81")}
    assert city_model.package_mirror_url(host) == "http://[fd00::81]:3142"


def test_the_roles_port_is_the_models():
    defaults = yaml.safe_load((REPO / "roles/package_mirror/defaults/main.yml").read_text(encoding="utf-8"))
    assert defaults["package_mirror_port"] == city_model.PACKAGE_MIRROR_PORT


# ---------------------------------------------------------------------------
# What each server of the real inventories gets


@pytest.fixture(scope="module", params=sorted(INVENTORIES))
def rendered(request: pytest.FixtureRequest):
    source, config_path, env = INVENTORIES[request.param]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    environment.pop(city_model.SERVICE_NETWORK_ENV, None)
    environment.update({"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), **env})
    result = subprocess.run([sys.executable, str(REPO / "tests/unit/inventory_render.py"), str(source),
                             "--variables", "baseline_apt_proxy,ansible_host,datacentre"],
                            cwd=REPO, env=environment, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    config = city_model.read_plugin_config(config_path, environ=env)
    city = city_model.load_from_config(dataclasses.replace(config, register=False))
    return json.loads(result.stdout)["hosts"], city


def test_every_server_gets_the_proxy_of_a_mirror_of_its_datacentre(rendered):
    hosts, city = rendered
    mirrors = {str(host["address"]): host for host in city.service_hosts if "mirror" in host["services"]}
    assert mirrors, "no mirror host in the inventory"
    assert set(hosts) == {host["name"] for host in city.service_hosts}
    for name, got in hosts.items():
        proxy = got["baseline_apt_proxy"]
        if name in {mirror["name"] for mirror in mirrors.values()}:
            assert proxy == "", f"{name} is a mirror and must fetch from Debian itself, not via {proxy}"
            continue
        url = urllib.parse.urlsplit(proxy)
        assert (url.scheme, url.port) == ("http", city_model.PACKAGE_MIRROR_PORT), f"{name}: {proxy!r}"
        mirror = mirrors.get(url.hostname)
        assert mirror, f"{name}: {proxy} is no mirror host's address ({sorted(mirrors)})"
        assert mirror["datacentre"] == got["datacentre"], f"{name}: {proxy} is in another datacentre"


# ---------------------------------------------------------------------------
# What the workstation image build is given


def package_mirror_url(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != city_model.SERVICE_NETWORK_ENV}
    return subprocess.run([sys.executable, str(REPO / "tools/package_mirror_url.py"), *arguments],
                          cwd=REPO, env={**environment, **(env or {})}, capture_output=True, text=True,
                          timeout=60, check=False)


def test_the_build_gets_the_lab_mirror_on_the_labs_subnet():
    moved = package_mirror_url("inventory/lab/lab.city.yml", "--organisation", "sodermalm",
                               env={city_model.SERVICE_NETWORK_ENV: "10.77.0.0/24"})
    assert (moved.returncode, moved.stdout) == (0, "http://10.77.0.81:3142\n"), moved.stderr
    assert package_mirror_url("inventory/stockholm/city.yml").stdout == "http://10.0.1.81:3142\n"


def test_the_build_is_told_of_an_unknown_organisation_by_name():
    result = package_mirror_url("inventory/lab/lab.city.yml", "--organisation", "sodermalmm")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("inventory/lab/lab.city.yml: --organisation: unknown organisation "
                                    "'sodermalmm' (included: bromma, sodermalm, utbildning)")
