"""What must agree across roles, checked on the variables each service host really gets:
production's inventory (inventory/stockholm) and the lab's, rendered through Ansible's
inventory and variable manager with each service's playbook (tests/unit/inventory_render.py).

The city's networks are read here from the city data through module_utils/city_model.py,
not from what the inventory derives from them, so that a wrong derivation cannot agree
with itself.

Production's 60,000 workstations play no part here: they are a source of their own
(inventory/stockholm/workstations), which `-i inventory/stockholm` does not read.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import subprocess
import sys
import urllib.parse
from typing import Any

import city_model
import pytest
from city_fixture import REPO

INVENTORIES = {
    "stockholm": (REPO / "inventory/stockholm", REPO / "inventory/stockholm/city.yml", {}),
    "lab": (REPO / "inventory/lab", REPO / "inventory/lab/lab.city.yml", {}),
    # The lab on another subnet, as a second lab runs: its allow lists must follow.
    "lab-moved": (REPO / "inventory/lab", REPO / "inventory/lab/lab.city.yml",
                  {city_model.SERVICE_NETWORK_ENV: "10.77.0.0/24"}),
}

# Every network of the city reaches these services: each organisation's sites (admin and
# EDU) and the datacentres (the other servers; in the lab, its clients).
CITY_WIDE_ALLOW_LISTS = {
    "domain_controllers": ["directory_allow_networks", "baseline_ntp_serve_networks"],
    "file_servers": ["file_server_allow_networks"],
    "print_servers": ["print_server_allow_networks"],
    "mail_servers": ["mail_server_allow_networks"],
    "servicedesk_servers": ["servicedesk_allow_networks"],
    "mirror_servers": ["package_mirror_allow_networks"],
}
# Variables holding the organisations a role sets up on a host: exactly those it serves.
ORGANISATION_MAPS = {
    "domain_controllers": "directory_organisations",
    "file_servers": "file_server_organisations",
    "print_servers": "print_server_organisations",
    "servicedesk_servers": "servicedesk_organisations",
}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Inventory:
    """One inventory's rendered service hosts, beside the city data it was made from."""

    def __init__(self, rendered: dict[str, Any], city: city_model.City) -> None:
        self.hosts: dict[str, dict[str, Any]] = rendered["hosts"]
        self.city = city

    def group(self, name: str) -> list[str]:
        members = sorted(host for host, entry in self.hosts.items() if name in entry["groups"])
        assert members, f"no host in group {name}"
        return members

    def var(self, host: str, name: str) -> Any:
        variables = self.hosts[host]["vars"]
        assert name in variables, f"{host}: {name} is not set"
        return variables[name]

    def site_networks(self) -> dict[str, Network]:
        return {f"{org_id} site {site['id']} ({site['network']})": site["cidr"]
                for org_id, site in self.city.sites()}

    def service_networks(self) -> dict[str, Network]:
        return {f"datacentre {dc_id}": dc["network"] for dc_id, dc in self.city.datacentres.items()}


@pytest.fixture(scope="module", params=sorted(INVENTORIES))
def inventory(request: pytest.FixtureRequest) -> Inventory:
    source, config_path, env = INVENTORIES[request.param]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    environment.pop(city_model.SERVICE_NETWORK_ENV, None)
    environment.update({"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), **env})
    result = subprocess.run([sys.executable, str(REPO / "tests/unit/inventory_render.py"), str(source)],
                            cwd=REPO, env=environment, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    config = city_model.read_plugin_config(config_path, environ=env)
    city = city_model.load_from_config(dataclasses.replace(config, register=False))
    return Inventory(json.loads(result.stdout), city)


def networks(values: list[str], where: str) -> list[Network]:
    assert isinstance(values, list), f"{where}: expected a list of CIDRs, got {values!r}"
    return [ipaddress.ip_network(value) for value in values]


def uncovered(wanted: dict[str, Network], allowed: list[Network]) -> list[str]:
    return [f"{name} {net}" for name, net in wanted.items()
            if not any(net.version == a.version and net.subnet_of(a) for a in allowed)]


def within(net: Network, networks: list[Network]) -> bool:
    """Whether every address of `net` is in one of `networks` (together, not one alone)."""
    same = [other for other in networks if other.version == net.version]
    return list(ipaddress.collapse_addresses([*same, net])) == list(ipaddress.collapse_addresses(same))


def host_of(address: str) -> str:
    """The host of a Postfix next hop: `[name]`, `[name]:port`, `name:port` or `name`."""
    return address.split("]")[0].lstrip("[") if address.startswith("[") else address.split(":")[0]


def is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------
# Allow lists


@pytest.mark.parametrize("group", sorted(CITY_WIDE_ALLOW_LISTS))
def test_every_network_of_the_city_reaches_the_service_and_nothing_else(inventory, group):
    wanted = {**inventory.site_networks(), **inventory.service_networks()}
    city = list(wanted.values())
    for host in inventory.group(group):
        for name in CITY_WIDE_ALLOW_LISTS[group]:
            allowed = networks(inventory.var(host, name), f"{host} {name}")
            assert allowed, f"{host}: {name} is empty, so nobody reaches the service"
            missing = uncovered(wanted, allowed)
            assert not missing, f"{host}: {name} leaves out {len(missing)} networks: {missing[:5]}"
            beyond = [str(a) for a in allowed if not within(a, city)]
            assert not beyond, f"{host}: {name} admits networks beyond the city's: {beyond}"


def test_only_the_mail_servers_hand_mail_to_the_servicedesk(inventory):
    mail_servers = {ipaddress.ip_network(inventory.var(host, "ansible_host"))
                    for host in inventory.group("mail_servers")}
    for host in inventory.group("servicedesk_servers"):
        allowed = networks(inventory.var(host, "servicedesk_smtp_allow_networks"), host)
        assert allowed, f"{host}: servicedesk_smtp_allow_networks is empty: no mail reaches RT"
        assert set(allowed) == mail_servers


def test_every_service_host_reaches_the_log_servers(inventory):
    senders = {f"{host} ({inventory.var(host, 'ansible_host')})":
               ipaddress.ip_network(inventory.var(host, "ansible_host")) for host in inventory.hosts}
    for host in inventory.group("log_servers"):
        allowed = networks(inventory.var(host, "log_server_allow_networks"), host)
        assert allowed and not uncovered(senders, allowed), host


def test_printer_administration_comes_from_the_service_networks(inventory):
    for host in inventory.group("print_servers"):
        allowed = networks(inventory.var(host, "print_server_admin_networks"), host)
        assert allowed and not uncovered(inventory.service_networks(), allowed), host


# ---------------------------------------------------------------------------
# Names the clients use and the names in the certificates


def test_the_servicedesk_reaches_every_dc_by_a_name_in_its_certificate(inventory):
    dcs = inventory.group("domain_controllers")
    for host in inventory.group("servicedesk_servers"):
        uris = inventory.var(host, "servicedesk_directory_uris")
        assert uris, f"{host}: servicedesk_directory_uris is empty"
        named = [urllib.parse.urlsplit(uri) for uri in uris]
        assert {uri.scheme for uri in named} == {"ldaps"}, uris
        for uri in named:
            holders = [dc for dc in dcs if uri.hostname in inventory.hosts[dc]["certificate_names"]]
            assert holders, (f"{host}: {uri.geturl()} names no DC's certificate: "
                             f"{ {dc: inventory.hosts[dc]['certificate_names'] for dc in dcs} }")
        reached = {dc for dc in dcs for uri in named
                   if uri.hostname in inventory.hosts[dc]["certificate_names"]}
        assert reached == set(dcs), f"{host}: no URI for {sorted(set(dcs) - reached)}"


def test_the_servicedesk_searches_the_directory_of_the_dcs(inventory):
    realms = {inventory.var(dc, "directory_realm") for dc in inventory.group("domain_controllers")}
    assert len(realms) == 1, realms
    base_dn = ",".join(f"DC={part}" for part in realms.pop().lower().split("."))
    for host in inventory.group("servicedesk_servers"):
        assert inventory.var(host, "servicedesk_directory_base_dn") == base_dn


def test_the_servicedesk_relays_to_a_mail_server_by_its_certificate_name(inventory):
    mail_servers = inventory.group("mail_servers")
    for host in inventory.group("servicedesk_servers"):
        relay = host_of(inventory.var(host, "servicedesk_relayhost"))
        if is_address(relay):
            # The lab names mail1 by its address (podman's DNS does not know the lab's domain).
            assert relay in {inventory.var(mail, "ansible_host") for mail in mail_servers}
        else:
            assert any(relay in inventory.hosts[mail]["certificate_names"] for mail in mail_servers), relay


def test_the_mail_servers_forward_to_the_servicedesk_by_its_certificate_name(inventory):
    desks = inventory.group("servicedesk_servers")
    for host in inventory.group("mail_servers"):
        forwards = inventory.var(host, "mail_server_forwards")
        assert forwards, f"{host}: the helpdesk addresses go nowhere"
        for forward in forwards:
            names = {name for desk in desks for name in inventory.hosts[desk]["certificate_names"]}
            assert forward["host"] in names, forward


# ---------------------------------------------------------------------------
# Organisations


def test_the_inventory_says_what_the_service_hosts_file_says_each_host_serves(inventory):
    declared = {host["name"]: inventory.city.served_by(host) for host in inventory.city.service_hosts}
    assert {host: inventory.var(host, "serves") for host in declared} == declared


@pytest.mark.parametrize("group", sorted(ORGANISATION_MAPS))
def test_each_server_gets_exactly_the_organisations_it_serves(inventory, group):
    for host in inventory.group(group):
        got = inventory.var(host, ORGANISATION_MAPS[group])
        assert got == sorted(inventory.var(host, "serves")), (
            f"{host}: {ORGANISATION_MAPS[group]} has {len(got)} organisations, "
            f"serves {len(inventory.var(host, 'serves'))}")
