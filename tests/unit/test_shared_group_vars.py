"""What the lab and production share is set once (in role defaults), and each inventory's
service hosts still get exactly what they got when both inventories' group_vars said it:
the variables below, rendered through Ansible for every service host of inventory/lab and
inventory/stockholm (tests/unit/inventory_render.py --variables), against
shared_group_vars_before.json, rendered before the lines moved.

A variable is compared on the hosts of the group whose role reads it: a role default holds
for every host, where a group_vars file held for its group only, and a role reads its own
variables only on the hosts it runs on.

    GEMENSAM_WRITE_GOLDEN=1 pytest tests/unit/test_shared_group_vars.py   # rewrites it
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import city_model
import pytest
import yaml
from city_fixture import REPO

GOLDEN = Path(__file__).resolve().parent / "shared_group_vars_before.json"

# Group -> the variables its roles read there.
VARIABLES = {
    "servers": ["baseline_log_host", "baseline_ntp_serve_networks", "domain_member_realm",
                "domain_member_workgroup", "domain_member_dc_addresses"],
    "domain_controllers": ["directory_dc_address", "directory_dns_records", "directory_service_accounts"],
    "mail_servers": ["mail_server_forwards"],
    "print_servers": ["print_server_domain_member", "print_server_admin_groups",
                      "print_server_restrict_users"],
    "servicedesk_servers": ["servicedesk_directory_base_dn", "servicedesk_directory_bind_user"],
}
# Lists whose order means nothing to their role (the A records are added one by one) and
# varies from run to run (`difference` works on a set).
UNORDERED = {"directory_dns_records"}
# Read from vault in production and generated into the lab's state directory: a placeholder.
SECRETS = ["servicedesk_directory_bind_password", "servicedesk_enrolment_bind_password"]
INVENTORIES = {"lab": REPO / "inventory/lab/lab.city.yml", "stockholm": REPO / "inventory/stockholm/city.yml"}


def inventory_without_register(config_path: Path, directory: Path) -> Path:
    """The inventory dir of `config_path` without the 60,000 workstations, which play no part."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config.update(register=False,
                  data_dir=str(city_model.resolve_config_path(
                      config_path, config.get("data_dir", city_model.DEFAULT_DATA_DIR))),
                  service_hosts=str(city_model.resolve_config_path(
                      config_path, config.get("service_hosts", city_model.DEFAULT_SERVICE_HOSTS))))
    directory.mkdir()
    (directory / config_path.name).write_text(yaml.safe_dump(config), encoding="utf-8")
    (directory / "group_vars").symlink_to(config_path.parent / "group_vars")
    return directory


def rendered(name: str, directory: Path) -> dict[str, dict[str, Any]]:
    """{host: {variable: value}} of one inventory, each variable on its group's hosts."""
    source = inventory_without_register(INVENTORIES[name], directory / name)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    environment.pop(city_model.SERVICE_NETWORK_ENV, None)
    environment["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    names = sorted({variable for variables in VARIABLES.values() for variable in variables})
    result = subprocess.run(
        [sys.executable, str(REPO / "tests/unit/inventory_render.py"), str(source),
         "--variables", ",".join(names), "--secrets", ",".join(SECRETS)],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    hosts = json.loads(result.stdout)["hosts"]
    groups = city_groups(INVENTORIES[name])
    return {host: {variable: sorted(values[variable], key=json.dumps) if variable in UNORDERED
                   else values[variable]
                   for group, variables in VARIABLES.items() if host in groups[group]
                   for variable in variables}
            for host, values in sorted(hosts.items())}


def city_groups(config_path: Path) -> dict[str, set[str]]:
    config = city_model.read_plugin_config(config_path, environ={})
    city = city_model.load_from_config(config.__class__(**{**config.__dict__, "register": False}))
    groups: dict[str, set[str]] = {"servers": {host["name"] for host in city.service_hosts}}
    for host in city.service_hosts:
        for service in host["services"]:
            groups.setdefault(city_model.SERVICE_GROUPS[service], set()).add(host["name"])
    return {group: groups.get(group, set()) for group in VARIABLES}


@pytest.mark.parametrize("name", sorted(INVENTORIES))
def test_each_service_host_gets_what_it_got_from_group_vars(name, tmp_path):
    if os.environ.get("GEMENSAM_WRITE_GOLDEN"):
        golden = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
        golden[name] = rendered(name, tmp_path)
        text = json.dumps(golden, ensure_ascii=False, indent=1, sort_keys=True)
        GOLDEN.write_text(text + "\n", encoding="utf-8")
        pytest.skip(f"wrote {GOLDEN.name}")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))[name]
    now = rendered(name, tmp_path)
    assert now.keys() == golden.keys()
    for host in now:
        assert now[host] == golden[host], f"{name}: {host}"

