#!/usr/bin/python
# Gemensam IT: one resolved profile of the workstation image's spec.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.city_model import CityDataError
from ansible.module_utils.workstation_spec import load_image_spec, spec_hash

DOCUMENTATION = r"""
module: workstation_profile
short_description: Read one profile of the workstation image's spec, validated
description:
  - Loads and validates the image's common spec and the profiles orders name, as the image build
    does (C(module_utils/workstation_spec.py)), and returns one profile resolved (the common fields,
    then the profile's; packages of both, each once) with its spec hash.
  - Fails naming the file and key of every problem, or an unknown profile. Changes nothing.
options:
  profile:
    description: The profile's id (C(kontor-stationar), C(kontor-barbar), ...).
    type: str
    required: true
  spec_file:
    description: The common spec.
    type: path
    required: true
  profiles_file:
    description: The profiles.
    type: path
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read the workstation's profile
  workstation_profile:
    profile: kontor-stationar
    spec_file: workstation_image/spec.yml
    profiles_file: inventory/stockholm/data/workstation_profiles.yml
  delegate_to: localhost
"""

RETURN = r"""
profile:
  description: The resolved profile (id, name, kind, network, login, local_admin, offline_login, shared,
    release, locale, keyboard, timezone, desktop, packages).
  returned: success
  type: dict
spec_hash:
  description: The SHA-256 of the resolved profile, as the image manifest has it.
  returned: success
  type: str
"""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "profile": {"type": "str", "required": True},
            "spec_file": {"type": "path", "required": True},
            "profiles_file": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    try:
        spec = load_image_spec(module.params["spec_file"], module.params["profiles_file"])
    except CityDataError as error:
        module.fail_json(msg=str(error))
    profile = spec["profiles"].get(module.params["profile"])
    if profile is None:
        module.fail_json(msg=f"{module.params['profiles_file']}: no profile {module.params['profile']!r} "
                             f"(profiles: {', '.join(spec['profiles'])})")
    module.exit_json(changed=False, profile=profile, spec_hash=spec_hash(profile))


if __name__ == "__main__":
    main()
