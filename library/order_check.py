#!/usr/bin/python
# Gemensam IT: check a servicedesk order and work out what it is to do.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.city_model import CityDataError
from ansible.module_utils.orders import KINDS, OrderError, plan_order, read_order
from ansible.module_utils.workstation_spec import load_profiles

DOCUMENTATION = r"""
module: order_check
short_description: Check a servicedesk order against the city and the directory, and plan it
description:
  - Reads an order file (YAML, every value read as the string written: C(0123) stays C(0123),
    C(No) stays C(No)) and checks every field against its rule (names, employee ids and
    departments by the personnel exports' rules) and against the city's organisations, the
    workstation image's profiles and the accounts and computers the directory holds; returns what
    the order is to do (accounts, groups, computer, asset) for the tasks that follow.
  - Fails, naming the file, the field and what is wrong, on an unknown organisation, department,
    site or profile, a duplicate person, an account that is not there, or one that comes from a
    personnel export (HR's data changes those, not an order). Nothing is changed, so it runs
    before any host is touched.
  - C(module_utils/orders.py) documents the rules; the groups, OUs and addresses are the city
    model's (C(module_utils/city_names.py)).
options:
  kind:
    description: The kind of order.
    type: str
    required: true
    choices: [new_user, mover, leaver, new_workstation, new_functional_mailbox]
  order_file:
    description:
      - The order, a YAML mapping of its fields (C(ticket) and the kind's fields), read by the
        module itself (not parsed by the play first, which would give its values YAML's types).
    type: path
    required: true
  organisations:
    description: The city's organisations, id -> organisation (the inventory's C(city_organisations)).
    type: dict
    required: true
  accounts:
    description:
      - The directory's user accounts as community.general.ldap_search returns them, with
        C(dn), C(sAMAccountName), C(employeeID), C(employeeType) and C(memberOf).
    type: list
    elements: dict
    default: []
  computers:
    description: The directory's computer accounts, with C(cn) and C(description).
    type: list
    elements: dict
    default: []
  profiles_file:
    description:
      - The workstation image's profiles (YAML with a C(profiles) list), read and validated as the
        image build reads them (C(module_utils/workstation_spec.py)).
    type: path
    required: true
  base_dn:
    description: The domain's DN.
    type: str
    required: true
  mail_domain:
    description: The people's mail domain.
    type: str
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Check the order
  order_check:
    kind: new_user
    order_file: /srv/orders/42.yml
    organisations: "{{ city_organisations }}"
    accounts: "{{ accounts.results }}"
    profiles_file: inventory/stockholm/data/workstation_profiles.yml
    base_dn: DC=ad,DC=stockholm,DC=se
    mail_domain: stockholm.se
  delegate_to: localhost
"""

RETURN = r"""
plan:
  description: What the order is to do; its keys depend on O(kind) (see module_utils/orders.py).
  returned: success
  type: dict
"""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "kind": {"type": "str", "required": True, "choices": list(KINDS)},
            "order_file": {"type": "path", "required": True},
            "organisations": {"type": "dict", "required": True},
            "accounts": {"type": "list", "elements": "dict", "default": []},
            "computers": {"type": "list", "elements": "dict", "default": []},
            "profiles_file": {"type": "path", "required": True},
            "base_dn": {"type": "str", "required": True},
            "mail_domain": {"type": "str", "required": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        profiles = load_profiles(params["profiles_file"])
    except CityDataError as error:
        module.fail_json(msg=str(error))
    try:
        # The module reads the file itself (a path, not parsed data), so that every value
        # is the string written: Ansible's or PyYAML's implicit types would make
        # `employee_id: 0123` the number 83 and `surname: No` false.
        order = read_order(params["order_file"])
        plan = plan_order(
            params["kind"],
            order,
            source=params["order_file"],
            organisations=params["organisations"],
            accounts=params["accounts"],
            computers=params["computers"],
            profiles=profiles,
            base_dn=params["base_dn"],
            mail_domain=params["mail_domain"],
        )
    except OrderError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, plan=plan)


if __name__ == "__main__":
    main()
