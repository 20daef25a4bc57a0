# Gemensam IT: the city as an Ansible inventory.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import sys
from pathlib import Path

from ansible.errors import AnsibleParserError
from ansible.inventory.helpers import get_group_vars
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable
from ansible.utils.vars import combine_vars

DOCUMENTATION = r"""
name: city
short_description: The city's organisations, consolidated service hosts and asset register
description:
  - Reads the city data dir (organisations, transfer waves, service hosts and the asset
    register), validates all of it against the schema in C(module_utils/city_model.py) and
    builds the inventory from it.
  - Any invalid data fails the whole inventory source, with every problem found named by
    file, key path or line of a register file, so that no play starts on a half-read city.
  - Configuration files must be named C(city.yml) or end in C(.city.yml).
  - Relative paths in the options are relative to the directory of the configuration file.
  - The configuration is checked as strictly as the data, before any option is read - a repeated
    key, an unknown key or a value of the wrong type fails the inventory source, naming the file
    and the key. Boolean options take V(true) or V(false) (or a word Ansible reads as one).
  - "Groups: one per organisation id, holding its workstations (through C(<id>_workstations)
    and C(site_<site id>)) and the service hosts that serve it; C(stage_1), C(stage_2) and
    C(wave_<n>) of organisation groups; C(admin) and C(edu) of site groups; C(workstations);
    C(servers) of the service groups C(domain_controllers), C(file_servers), C(print_servers),
    C(mail_servers), C(app_servers), C(servicedesk_servers), C(log_servers) and
    C(mirror_servers)."
  - Every configuration makes the same groups; O(servers) and O(register) choose which hosts
    it adds. A source of the service hosts and a source of the workstations, given together
    with two C(-i), make the whole city (C(inventory/stockholm) and
    C(inventory/stockholm/workstations)); a play on the servers then never loads the
    60,000 workstations, which would take most of its start-up.
  - "Variables: service hosts get C(ansible_host), C(datacentre), C(datacentre_network),
    C(services), C(serves) and C(city_package_mirror_url); workstations get C(asset) and, from
    their site group, C(organisation), C(site), C(network) and C(city_package_mirror_url).
    C(city_package_mirror_url) is the apt proxy of the package mirror that serves the host
    (C(http://<address>:3142)), empty where none does or on a mirror host itself
    (module_utils/city_model.py, package_mirrors_as_vars). The group C(servers) carries C(city_organisations),
    C(city_transfer_period) and C(city_networks): the included sites' networks by kind
    (C(admin), C(edu)), the datacentres' (C(service)) and C(all) of them, each collapsed
    to the fewest CIDRs, from which the roles' allow lists are derived."
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: Marks this file as a configuration of this plugin.
    required: true
    choices: ["city"]
  data_dir:
    description: The city data dir.
    type: str
    default: data
  organisations:
    description: Ids of the organisations to include; all of them when empty.
    type: list
    elements: str
    default: []
  sites:
    description:
      - Ids of sites to keep. An included organisation with any of its sites listed keeps
        only the listed ones; the others keep all their sites.
    type: list
    elements: str
    default: []
  register:
    description:
      - Whether to read and validate the asset register, C(<data_dir>/register/*.csv), and
        add its workstations as hosts.
      - When true and the register is missing, the inventory fails; C(make register) makes it.
    type: bool
    default: true
  servers:
    description:
      - Whether to add the consolidated service hosts of O(service_hosts) as hosts, with
        their variables and the city variables of the group C(servers). The service hosts
        file is read and validated either way.
      - False in a source of the workstations only, given beside a source of the servers.
      - O(servers) and O(register) both false is refused, as a source of no host.
    type: bool
    default: true
  service_hosts:
    description: The file declaring the datacentres and the consolidated service hosts.
    type: str
    default: data/service_hosts.yml
  legacy_hosts:
    description:
      - The lab only. Old servers of the included organisations (their C(legacy_servers), by
        name) that the lab runs as hosts, each with its index in the one datacentre's network.
        What each is (role, OS, fate, site, declared address) comes from its organisation file.
      - "They form the group C(legacy_servers), with children C(legacy_file_servers),
        C(legacy_mail_servers) and C(legacy_print_servers); not C(servers): no role of the
        common service touches them.
        Variables: C(ansible_host) (the lab address), C(legacy_server) (the organisation file's
        record, its C(address) as C(legacy_address)), C(organisation) and C(datacentre_network)."
    type: dict
    default: {}
  service_network:
    description:
      - A network that replaces the network of the one datacentre of O(service_hosts).
        Service hosts declared with C(host_index) get that address of it.
      - The lab sets it, so that its subnet is a setting.
    type: str
    required: false
    env:
      - name: GEMENSAM_SERVICE_NETWORK
"""

EXAMPLES = r"""
# inventory/lab/lab.city.yml: three organisations, one school, the lab's service hosts.
plugin: city
data_dir: ../stockholm/data
service_hosts: data/service_hosts.yml
register: false
organisations: [sodermalm, bromma, utbildning]
sites: [utb_hantverkargatan, utb_sodermalmsskolan]

# inventory/stockholm/city.yml holds `plugin: city` and `register: false`: every group of the
# whole city and its service hosts. inventory/stockholm/workstations/city.yml holds
# `plugin: city`, `data_dir: ../data`, `service_hosts: ../data/service_hosts.yml` and
# `servers: false`: the same groups and the register's workstations.
"""

# The schema lives in the repository's module_utils so that the city_validate module
# (packed by AnsiballZ as ansible.module_utils.city_model) and the tools share it. Ansible
# does not put module_utils on the path of inventory plugins, hence the path set here.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "module_utils"))

import city_model  # noqa: E402  (found through the path set just above)

STAGE_GROUP = "stage_{}"
WAVE_GROUP = "wave_{}"
SITE_GROUP = "site_{}"
ORGANISATION_WORKSTATIONS_GROUP = "{}_workstations"
# city_organisations is large; on `all`, `ansible-inventory --list` would copy it into the
# hostvars of each of the 60,000 workstations. The service hosts that build from it have it.
CITY_VARS_GROUP = "servers"
LEGACY_SERVERS_GROUP = "legacy_servers"
LEGACY_ROLE_GROUP = "legacy_{}_servers"


class InventoryModule(BaseInventoryPlugin, Constructable):
    NAME = "city"

    def verify_file(self, path):
        return super().verify_file(path) and city_model.is_plugin_config_name(Path(path).name)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        try:
            # The configuration is held to the data's rules first: Ansible's own reading
            # below only warns about a repeated key (and keeps the last), ignores unknown
            # keys and reads any text that is not a boolean word as false.
            city_model.read_plugin_options(path)
            self._read_config_data(path)
            config = self._plugin_config(path)
            city = city_model.load_from_config(config)
            legacy = city_model.lab_legacy_hosts(city, config.legacy_hosts, city_model.display_path(path))
        except city_model.CityDataError as error:
            raise AnsibleParserError(str(error)) from None
        # Only once the whole city is valid does anything enter the inventory.
        self._add_groups(city)
        servers = []
        if self.get_option("servers"):
            servers = self._add_service_hosts(city)
            self._add_city_vars(city)
            self._add_legacy_hosts(legacy)
        workstations = self._add_workstations(city)
        self._apply_constructed(servers + workstations)

    def _plugin_config(self, path):
        def option_path(name):
            return city_model.resolve_config_path(path, str(self.get_option(name)))

        service_network = self.get_option("service_network")
        return city_model.PluginConfig(
            path=Path(path),
            data_dir=option_path("data_dir"),
            service_hosts=option_path("service_hosts"),
            register=self.get_option("register"),
            service_network=str(service_network) if service_network else None,
            organisations=[str(o) for o in self.get_option("organisations")] or None,
            sites=[str(s) for s in self.get_option("sites")] or None,
            legacy_hosts={str(k): int(v) for k, v in self.get_option("legacy_hosts").items()} or None,
        )

    def _add_groups(self, city):
        inventory = self.inventory
        for group in ("servers", "workstations", *city_model.NETWORK_KINDS):
            inventory.add_group(group)
        for group in city_model.SERVICE_GROUPS.values():
            inventory.add_group(group)
            inventory.add_child("servers", group)
        for stage in city_model.STAGES:
            inventory.add_group(STAGE_GROUP.format(stage))
        for number in sorted(city.waves):
            inventory.add_group(WAVE_GROUP.format(number))
        _hosts, mirrors = city_model.package_mirrors_as_vars(city)
        for organisation_id, organisation in city.organisations.items():
            self._add_organisation(organisation_id, organisation, mirrors[organisation_id])

    def _add_organisation(self, organisation_id, organisation, mirror_url):
        inventory = self.inventory
        workstations_group = ORGANISATION_WORKSTATIONS_GROUP.format(organisation_id)
        inventory.add_group(organisation_id)
        inventory.add_group(workstations_group)
        inventory.add_child(organisation_id, workstations_group)
        inventory.add_child("workstations", workstations_group)
        inventory.add_child(STAGE_GROUP.format(organisation["stage"]), organisation_id)
        inventory.add_child(WAVE_GROUP.format(organisation["wave"]), organisation_id)
        for site in organisation["sites"]:
            site_group = SITE_GROUP.format(site["id"])
            inventory.add_group(site_group)
            inventory.add_child(workstations_group, site_group)
            inventory.add_child(site["network"], site_group)
            # Set once on the site rather than 60,000 times on its workstations.
            inventory.set_variable(site_group, "organisation", organisation_id)
            inventory.set_variable(site_group, "site", site["id"])
            inventory.set_variable(site_group, "network", site["network"])
            inventory.set_variable(site_group, "city_package_mirror_url", mirror_url)

    def _add_service_hosts(self, city):
        inventory = self.inventory
        names = []
        mirrors, _organisations = city_model.package_mirrors_as_vars(city)
        for host in city.service_hosts:
            name = host["name"]
            for service in host["services"]:
                inventory.add_host(name, group=city_model.SERVICE_GROUPS[service])
            served = city.served_by(host)
            for organisation_id in served:
                inventory.add_child(organisation_id, name)
            inventory.set_variable(name, "ansible_host", str(host["address"]))
            inventory.set_variable(name, "datacentre", host["datacentre"])
            inventory.set_variable(name, "datacentre_network", str(host["datacentre_network"]))
            inventory.set_variable(name, "services", list(host["services"]))
            inventory.set_variable(name, "serves", served)
            inventory.set_variable(name, "city_package_mirror_url", mirrors[name])
            names.append(name)
        return names

    def _add_legacy_hosts(self, hosts):
        inventory = self.inventory
        inventory.add_group(LEGACY_SERVERS_GROUP)
        for role in city_model.LAB_LEGACY_ROLES:
            inventory.add_group(LEGACY_ROLE_GROUP.format(role))
            inventory.add_child(LEGACY_SERVERS_GROUP, LEGACY_ROLE_GROUP.format(role))
        for host in hosts:
            name = host["name"]
            inventory.add_host(name, group=LEGACY_ROLE_GROUP.format(host["role"]))
            inventory.set_variable(name, "ansible_host", str(host["address"]))
            inventory.set_variable(name, "organisation", host["organisation"])
            inventory.set_variable(name, "datacentre_network", str(host["datacentre_network"]))
            inventory.set_variable(name, "legacy_server", {
                key: host[key] for key in ("name", "role", "os", "fate", "site", "legacy_address")})

    def _add_workstations(self, city):
        add_host = self.inventory.add_host
        set_variable = self.inventory.set_variable
        names = []
        for workstation in city.workstations:
            name = workstation.hostname
            add_host(name, group=SITE_GROUP.format(workstation.site))
            set_variable(name, "asset", {
                "serial": workstation.serial,
                "model": workstation.model,
                "purchase_date": workstation.purchase_date,
                "assigned_user": workstation.assigned_user,
            })
            names.append(name)
        return names

    def _add_city_vars(self, city):
        self.inventory.set_variable(CITY_VARS_GROUP, "city_organisations",
                                    city_model.organisations_as_vars(city))
        self.inventory.set_variable(CITY_VARS_GROUP, "city_transfer_period",
                                    city_model.transfer_period_as_vars(city))
        self.inventory.set_variable(CITY_VARS_GROUP, "city_networks", city_model.networks_as_vars(city))

    def _apply_constructed(self, host_names):
        """compose, groups and keyed_groups template every host: only when asked for."""
        compose = self.get_option("compose")
        groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        if not (compose or groups or keyed_groups):
            return
        strict = self.get_option("strict")
        for name in host_names:
            host = self.inventory.get_host(name)
            variables = combine_vars(get_group_vars(host.get_groups()), host.get_vars())
            if self.get_option("use_extra_vars"):
                variables = combine_vars(variables, self._vars)
            self._set_composite_vars(compose, variables, name, strict=strict)
            self._add_host_to_composed_groups(groups, variables, name, strict=strict)
            self._add_host_to_keyed_groups(keyed_groups, variables, name, strict=strict)
