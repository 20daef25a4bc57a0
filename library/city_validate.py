#!/usr/bin/python
# Gemensam IT: validate the city data behind an inventory.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.city_model import (
    SERVICE_HOSTS_FILE,
    CityDataError,
    PluginConfig,
    load_from_config,
    read_plugin_config,
)

DOCUMENTATION = r"""
module: city_validate
short_description: Validate the city data (organisations, waves, service hosts, asset register)
description:
  - Loads a city data dir and checks all of it against the schema in
    C(module_utils/city_model.py), the same checks that the C(city) inventory plugin makes.
  - Fails with every problem found, each naming the file, the key path or the line of a
    register file, and what is wrong; on success returns how many of each thing the city has.
  - Never changes anything.
options:
  config:
    description:
      - A configuration file of the C(city) inventory plugin. The data it names is validated
        as the plugin would read it, selection of organisations and sites included.
      - Mutually exclusive with O(data_dir).
    type: path
  data_dir:
    description: A city data dir. Mutually exclusive with O(config).
    type: path
  service_hosts:
    description: The service hosts file when O(data_dir) is given; C(<data_dir>/service_hosts.yml) if unset.
    type: path
  register:
    description: Whether to validate the asset register too, when O(data_dir) is given.
    type: bool
    default: true
  service_network:
    description:
      - A network that replaces the network of the one datacentre, as the plugin's option of
        the same name (and the E(GEMENSAM_SERVICE_NETWORK) variable) does.
      - With O(config), a C(service_network) set in the file wins.
    type: str
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Runs where the data is, normally on the controller with a local connection.
  - Needs PyYAML on the Python that runs it.
author:
  - Gemensam IT
"""

EXAMPLES = r"""
- name: Validate the city behind an inventory's plugin configuration
  city_validate:
    config: "{{ inventory_dir }}/city.yml"

- name: Validate a data dir without its asset register
  city_validate:
    data_dir: inventory/stockholm/data
    register: false
"""

RETURN = r"""
data_dir:
  description: The data dir that was validated.
  returned: always
  type: str
  sample: /work/main/inventory/stockholm/data
counts:
  description: How many of each thing the (selected) city has.
  returned: success
  type: dict
  sample: {"organisations": 35, "sites": 154, "networks": 155, "service_hosts": 17, "workstations": 59880}
summary:
  description: The counts as one line.
  returned: success
  type: str
  sample: 35 organisations, 154 sites, 155 networks, 17 service hosts, 59880 workstations
errors:
  description: Every problem found, sorted.
  returned: failure
  type: list
  elements: str
  sample: ["inventory/stockholm/data/organisations/sodermalm.yml: stage: expected one of 1, 2, got integer 3"]
"""


def config_from_params(params: dict) -> PluginConfig:
    """What to validate: a plugin configuration read as the plugin reads it, or a data dir."""
    if params["config"]:
        # The environment is the module's, not the controller's: the caller passes the
        # variable's value as service_network.
        config = read_plugin_config(params["config"], environ={})
        return replace(config, service_network=config.service_network or params["service_network"])
    data_dir = Path(params["data_dir"])
    return PluginConfig(
        path=data_dir,
        data_dir=data_dir,
        service_hosts=Path(params["service_hosts"] or data_dir / SERVICE_HOSTS_FILE),
        register=params["register"],
        service_network=params["service_network"],
    )


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "config": {"type": "path"},
            "data_dir": {"type": "path"},
            "service_hosts": {"type": "path"},
            "register": {"type": "bool", "default": True},
            "service_network": {"type": "str"},
        },
        mutually_exclusive=[("config", "data_dir")],
        required_one_of=[("config", "data_dir")],
        supports_check_mode=True,
    )
    data_dir = module.params["data_dir"] or module.params["config"]
    try:
        config = config_from_params(module.params)
        data_dir = str(config.data_dir)
        city = load_from_config(config)
    except CityDataError as error:
        module.fail_json(msg=f"The city data is invalid ({len(error.errors)} problems):\n{error}",
                         errors=error.errors, data_dir=data_dir)
    module.exit_json(changed=False, data_dir=data_dir, counts=city.counts(), summary=city.summary())


if __name__ == "__main__":
    main()
