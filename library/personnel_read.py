#!/usr/bin/python
# Gemensam IT: read the personnel exports into people with user names.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.city_model import CityDataError, Invalid, iso_date, load_city
from ansible.module_utils.personnel import DEFAULT_MAIL_DOMAIN, load_people, status_counts

DOCUMENTATION = r"""
module: personnel_read
short_description: Read and validate the personnel exports, and name every person
description:
  - Reads one personnel CSV file per organisation (columns C(employee_id), C(given_name),
    C(surname), C(organisation), C(department), C(title), C(start_date), C(end_date)) and
    checks every row against the organisations and departments of the city data.
  - Fails with every problem found, each naming the file, the line and what is wrong; returns
    nothing unless all of it is valid, so a later task never acts on half of an export.
  - Gives every person a user name that is unique in the whole city and stable. A name the
    directory already holds (O(existing_usernames)) is kept; new people get
    C(<given name>.<surname>) folded to ASCII, or a numbered form of it, in employee-id order.
    C(module_utils/personnel.py) documents the scheme.
  - Never changes anything.
options:
  files:
    description: The personnel exports, each named C(<organisation id>.csv).
    type: list
    elements: path
    required: true
  data_dir:
    description: The city data dir whose organisations and departments the rows must name.
    type: path
    required: true
  existing_usernames:
    description:
      - The user names the directory holds, by employee id. They are kept unchanged, and
        never given to anyone else, whether or not their holder is still in the files.
    type: dict
    default: {}
  today:
    description:
      - The date, as YYYY-MM-DD, against which a person is C(active), C(future) (starts later)
        or C(leaver) (ended before it). The date where the module runs if unset.
    type: str
  mail_domain:
    description: The domain of every person's mail address.
    type: str
    default: stockholm.se
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
  - A leaver without a name in O(existing_usernames) never had an account and gets no user
    name. A future starter gets one now; the account is meant to be created disabled.
seealso:
  - module: city_validate
author:
  - Gemensam IT
"""

EXAMPLES = r"""
- name: Read the lab's personnel
  personnel_read:
    files: "{{ query('ansible.builtin.fileglob', inventory_dir ~ '/data/personnel/*.csv') }}"
    data_dir: "{{ inventory_dir }}/../stockholm/data"
    existing_usernames: "{{ __directory_usernames }}"
  delegate_to: localhost
  run_once: true
  register: __personnel

- name: Read one export as on a given day
  personnel_read:
    files: [inventory/lab/data/personnel/sodermalm.csv]
    data_dir: inventory/stockholm/data
    today: "2010-01-04"
"""

RETURN = r"""
people:
  description: Every person in the files, in employee-id order.
  returned: success
  type: list
  elements: dict
  sample:
    - employee_id: "583902"
      given_name: Åsa
      surname: Öberg
      display_name: Åsa Öberg
      organisation: sodermalm
      department: aldreomsorg
      title: Undersköterska
      start_date: "1984-05-24"
      end_date: null
      username: asa.oberg2
      mail: asa.oberg2@stockholm.se
      status: active
counts:
  description: How many people have each status.
  returned: success
  type: dict
  sample: {"active": 147, "future": 0, "leaver": 3}
errors:
  description: Every problem found, sorted.
  returned: failure
  type: list
  elements: str
  sample: ["inventory/lab/data/personnel/bromma.csv: line 7: unknown department skola of organisation bromma"]
"""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "list", "elements": "path", "required": True},
            "data_dir": {"type": "path", "required": True},
            "existing_usernames": {"type": "dict", "default": {}},
            "today": {"type": "str"},
            "mail_domain": {"type": "str", "default": DEFAULT_MAIL_DOMAIN},
        },
        supports_check_mode=True,
    )
    params = module.params
    today = None
    if params["today"]:
        try:
            today = iso_date(params["today"])
        except Invalid as problem:
            module.fail_json(msg=f"today: {problem}")
    try:
        city = load_city(params["data_dir"], register=False)
    except CityDataError as error:
        module.fail_json(msg=f"The city data is invalid ({len(error.errors)} problems):\n{error}",
                         errors=error.errors)
    try:
        people = load_people(params["files"], city.organisations, existing=params["existing_usernames"],
                             today=today, mail_domain=params["mail_domain"])
    except CityDataError as error:
        module.fail_json(msg=f"The personnel data is invalid ({len(error.errors)} problems):\n{error}",
                         errors=error.errors)
    module.exit_json(changed=False, people=people, counts=status_counts(people))


if __name__ == "__main__":
    main()
