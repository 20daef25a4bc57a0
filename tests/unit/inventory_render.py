"""Renders what each service host of an inventory gets, as Ansible would: the inventory and
variable manager with the repository's ansible.cfg, each service's playbook (so that its
role's defaults and vars take part, in Ansible's precedence), and Jinja resolved.

Run as a script by tests/unit/test_production_inventory.py, in a process of its own: the
ansible.cfg must be read before Ansible's constants are, which another test in the same
process may have imported already. Prints JSON on stdout:

    {"hosts": {name: {"groups": [...], "vars": {variable: value}, "certificate_names": [...]}}}

With `--variables NAME,...` it prints instead what each service host gets of those
variables, from its inventory and every role's defaults (one play holding all the roles, so
that a value moved from group_vars to a role default renders the same):

    {"hosts": {name: {variable: value, or "<undefined>"}}}

`--secrets NAME,...` gives those variables a placeholder at the highest precedence: secrets are
read from vault or, in the lab, generated into the state directory, neither of which a test
should touch.

Facts do not exist here. The certificate names the roles ask roles/city_ca for are built
from `ansible_facts` (hostname, fqdn); they are given the values the baseline makes true on
every server: the host name `baseline_hostname`, the FQDN `<baseline_hostname>.<baseline_domain>`
(roles/baseline/templates/hosts.j2).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]

# The playbook, role and variables rendered for each service group; `baseline` for every server.
SERVICES: dict[str, tuple[str, str, list[str]]] = {
    "servers": ("baseline.yml", "baseline", [
        "baseline_hostname", "baseline_domain", "baseline_ntp_serve_networks"]),
    "domain_controllers": ("directory.yml", "directory", [
        "directory_allow_networks", "directory_organisations", "directory_realm"]),
    "file_servers": ("file_server.yml", "file_server", [
        "file_server_allow_networks", "file_server_organisations"]),
    "print_servers": ("print_server.yml", "print_server", [
        "print_server_allow_networks", "print_server_admin_networks", "print_server_organisations"]),
    "mail_servers": ("mail_server.yml", "mail_server", [
        "mail_server_allow_networks", "mail_server_forwards"]),
    "servicedesk_servers": ("servicedesk.yml", "servicedesk", [
        "servicedesk_allow_networks", "servicedesk_smtp_allow_networks", "servicedesk_directory_uris",
        "servicedesk_directory_base_dn", "servicedesk_relayhost", "servicedesk_organisations"]),
    "log_servers": ("log_server.yml", "log_server", ["log_server_allow_networks"]),
    "mirror_servers": ("package_mirror.yml", "package_mirror", ["package_mirror_allow_networks"]),
}
# Organisation maps are reported by their ids only.
ORGANISATION_MAPS = {"directory_organisations", "file_server_organisations",
                     "print_server_organisations", "servicedesk_organisations"}
HOST_VARS = ["ansible_host", "serves", "datacentre_network", "city_networks"]


def certificate_name_templates(role: str) -> list[str]:
    """The `city_ca_cert_dns_names` a role passes to roles/city_ca's certificate entry point,
    as written in its task files."""
    templates: list[str] = []
    for path in sorted((REPO / "roles" / role / "tasks").glob("*.yml")):
        for task in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            include = task.get("ansible.builtin.include_role") or task.get("ansible.builtin.import_role")
            if isinstance(include, dict) and include.get("name") == "city_ca":
                templates.extend(task.get("vars", {}).get("city_ca_cert_dns_names", []))
    return templates


def plain(value: Any) -> Any:
    """JSON-ready: Ansible's tagged strings, lists and dicts as plain ones."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def render(source: str) -> dict[str, Any]:
    from ansible import context
    from ansible.inventory.manager import InventoryManager
    from ansible.module_utils.common.collections import ImmutableDict
    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook import Playbook
    from ansible.plugins.loader import init_plugin_loader
    from ansible.template import Templar, trust_as_template
    from ansible.vars.hostvars import HostVars
    from ansible.vars.manager import VariableManager

    context.CLIARGS = ImmutableDict()
    init_plugin_loader()
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[source])
    variable_manager = VariableManager(loader=loader, inventory=inventory)
    # What the task queue manager gives every play: the other hosts' variables.
    hostvars = HostVars(inventory=inventory, variable_manager=variable_manager, loader=loader)
    hosts: dict[str, dict[str, Any]] = {}
    for group, (playbook, role, names) in SERVICES.items():
        play = Playbook.load(str(REPO / "playbooks" / playbook), variable_manager=variable_manager,
                             loader=loader).get_plays()[0]
        name_templates = [trust_as_template(text) for text in certificate_name_templates(role)]
        for host in inventory.get_hosts(group):
            entry = hosts.setdefault(host.name, {"groups": sorted(g.name for g in host.get_groups()),
                                                 "vars": {}, "certificate_names": []})
            variables = {**variable_manager.get_vars(play=play, host=host), "hostvars": hostvars}
            templar = Templar(loader, variables=variables)
            rendered = {name: templar.template(variables[name]) for name in names + HOST_VARS
                        if name in variables}
            for name in ORGANISATION_MAPS & rendered.keys():
                rendered[name] = sorted(rendered[name])
            entry["vars"].update(plain(rendered))
            if name_templates:
                short = entry["vars"]["baseline_hostname"]
                facts = {"hostname": short, "fqdn": f"{short}.{entry['vars']['baseline_domain']}"}
                templar = Templar(loader, variables={**variables, "ansible_facts": facts})
                entry["certificate_names"] += plain(templar.template(name_templates))
    return {"hosts": hosts}


def render_variables(source: str, names: list[str], secrets: list[str]) -> dict[str, Any]:
    import tempfile

    from ansible import context
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.module_utils.common.collections import ImmutableDict
    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook import Playbook
    from ansible.plugins.loader import init_plugin_loader
    from ansible.template import Templar
    from ansible.vars.hostvars import HostVars
    from ansible.vars.manager import VariableManager

    context.CLIARGS = ImmutableDict()
    init_plugin_loader()
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[source])
    variable_manager = VariableManager(loader=loader, inventory=inventory)
    # Extra vars, as -e gives them.
    variable_manager._extra_vars = {name: f"<{name}>" for name in secrets}
    hostvars = HostVars(inventory=inventory, variable_manager=variable_manager, loader=loader)
    roles = sorted(path.name for path in (REPO / "roles").iterdir() if (path / "defaults").is_dir())
    with tempfile.TemporaryDirectory() as directory:
        playbook = Path(directory) / "all_roles.yml"
        playbook.write_text(yaml.safe_dump([{"name": "All roles", "hosts": "servers", "roles": roles}]))
        play = Playbook.load(str(playbook), variable_manager=variable_manager, loader=loader).get_plays()[0]
        hosts: dict[str, dict[str, Any]] = {}
        for host in inventory.get_hosts("servers"):
            variables = {**variable_manager.get_vars(play=play, host=host), "hostvars": hostvars}
            templar = Templar(loader, variables=variables)
            values: dict[str, Any] = {}
            for name in names:
                try:
                    values[name] = (plain(templar.template(variables[name])) if name in variables
                                    else "<undefined>")
                except AnsibleError as error:
                    values[name] = f"<error: {str(error).splitlines()[0]}>"
            hosts[host.name] = values
    return {"hosts": hosts}


if __name__ == "__main__":
    if "--variables" in sys.argv:
        arguments = dict(zip(sys.argv[2::2], sys.argv[3::2], strict=True))
        json.dump(render_variables(sys.argv[1], arguments["--variables"].split(","),
                                   [name for name in arguments.get("--secrets", "").split(",") if name]),
                  sys.stdout)
    else:
        json.dump(render(sys.argv[1]), sys.stdout)
