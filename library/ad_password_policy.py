#!/usr/bin/python
# Gemensam IT: the domain's password and lockout policy (Samba AD DC) over LDAPS.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.samba_ldap import (
    CONNECTION_ARGUMENT_SPEC,
    Directory,
    DirectoryError,
)

DOCUMENTATION = r"""
module: ad_password_policy
short_description: Ensure an Active Directory domain's password and lockout policy
description:
  - Sets the password and lockout policy of an Active Directory domain (written for Samba's AD DC)
    over LDAP, normally LDAPS to the domain controller the module runs on. It writes the attributes
    of the domain object that C(samba-tool domain passwordsettings set) writes, encoded as it encodes
    them (ages and durations as negative 100-nanosecond intervals, 0 days or minutes as "never").
  - The domain object is read with one search; the settings are compared in the units
    C(samba-tool domain passwordsettings show) prints (whole days and minutes), and only those
    that differ are written, in one modify operation.
  - The values are checked as C(samba-tool) checks them before anything is written.
  - A setting that is not given is left as it is.
options:
  search_base:
    description: DN of the domain. The root DSE's C(defaultNamingContext) if unset.
    type: str
  complexity:
    description:
      - Require passwords of three character classes (the C(DOMAIN_PASSWORD_COMPLEX) bit of
        C(pwdProperties); its other bits are kept).
    type: bool
  history_length:
    description: Earlier passwords that may not be used again (C(pwdHistoryLength)), 0 to 24.
    type: int
  min_length:
    description: Minimum password length (C(minPwdLength)), 0 to 14.
    type: int
  min_age:
    description: Days a password must be kept before it may be changed (C(minPwdAge)), 0 to 998.
    type: int
  max_age:
    description:
      - Days after which a password must be changed (C(maxPwdAge)), 0 to 999; 0 is never. Must be
        more than O(min_age) unless 0.
    type: int
  lockout_threshold:
    description: Failed logons before an account is locked (C(lockoutThreshold)); 0 is never.
    type: int
  lockout_duration:
    description:
      - Minutes an account stays locked (C(lockoutDuration)), 0 to 99999; 0 is until an
        administrator unlocks it.
    type: int
  lockout_reset_after:
    description:
      - Minutes after which the count of failed logons starts again (C(lockOutObservationWindow)),
        0 to 99999.
    type: int
extends_documentation_fragment:
  - action_common_attributes
  - samba_ldap
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The settings that change, before and after, in days, minutes and counts.
  platform:
    platforms: posix
notes:
  - Needs python-ldap where it runs (Debian C(python3-ldap)).
  - Fine-grained password policies (PSOs) are not managed.
requirements:
  - python-ldap
seealso:
  - module: ad_tree
author:
  - Gemensam IT
"""

EXAMPLES = r"""
- name: Apply the domain's password and lockout policy
  ad_password_policy:
    server_uri: ldaps://dc1.stad.stockholm.test
    ca_path: /usr/local/share/ca-certificates/gemensam-city-ca.crt
    bind_dn: administrator@STAD.STOCKHOLM.TEST
    bind_pw: "{{ directory_admin_password }}"
    search_base: DC=stad,DC=stockholm,DC=test
    complexity: true
    history_length: 24
    min_length: 12
    min_age: 1
    max_age: 90
    lockout_threshold: 5
    lockout_duration: 30
    lockout_reset_after: 30
"""

RETURN = r"""
settings:
  description: Every setting as it is after the task (in check mode, as it would be).
  returned: always
  type: dict
  sample: {"complexity": true, "history_length": 24, "min_length": 12, "min_age": 1, "max_age": 90,
           "lockout_threshold": 5, "lockout_duration": 30, "lockout_reset_after": 30}
changed_settings:
  description: The settings that were changed.
  returned: always
  type: list
  elements: str
  sample: [min_length]
"""

# pwdProperties bit (MS-SAMR 2.2.3.10).
DOMAIN_PASSWORD_COMPLEX = 0x1
# samba-tool's "never" for ages and durations: the most negative 64-bit interval.
NEVER = -0x8000000000000000
TICKS_PER_MINUTE = 60 * 10_000_000
TICKS_PER_DAY = 24 * 60 * TICKS_PER_MINUTE

# Option → (attribute, unit in ticks or None for a count, range samba-tool accepts or None).
SETTINGS: dict[str, tuple[str, int | None, tuple[int, int] | None]] = {
    "history_length": ("pwdHistoryLength", None, (0, 24)),
    "min_length": ("minPwdLength", None, (0, 14)),
    "min_age": ("minPwdAge", TICKS_PER_DAY, (0, 998)),
    "max_age": ("maxPwdAge", TICKS_PER_DAY, (0, 999)),
    "lockout_threshold": ("lockoutThreshold", None, None),
    "lockout_duration": ("lockoutDuration", TICKS_PER_MINUTE, (0, 99999)),
    "lockout_reset_after": ("lockOutObservationWindow", TICKS_PER_MINUTE, (0, 99999)),
}
# The order the settings are shown in: samba-tool's.
OPTIONS = ["complexity", "history_length", "min_length", "min_age", "max_age",
           "lockout_duration", "lockout_threshold", "lockout_reset_after"]
READ = ["pwdProperties", *(attribute for attribute, _, _ in SETTINGS.values())]


def argument_spec() -> dict[str, Any]:
    spec: dict[str, Any] = {**CONNECTION_ARGUMENT_SPEC, "complexity": {"type": "bool"}}
    spec.update({option: {"type": "int"} for option in SETTINGS})
    return spec


def from_ticks(value: str, unit: int) -> int:
    """Whole days or minutes of a (negative) interval, as samba-tool shows them; never is 0."""
    ticks = int(value)
    return 0 if ticks == NEVER else abs(ticks) // unit


def to_ticks(value: int, unit: int) -> int:
    """An interval as samba-tool writes it: negative, and 0 days or minutes as never."""
    return NEVER if value == 0 else -(value * unit)


def current_settings(values: dict[str, str | None]) -> dict[str, Any]:
    """attribute → value of the domain object, as settings (None where it has none)."""
    settings: dict[str, Any] = {}
    properties = values.get("pwdProperties")
    settings["complexity"] = None if properties is None else bool(int(properties) & DOMAIN_PASSWORD_COMPLEX)
    for option, (attribute, unit, _) in SETTINGS.items():
        value = values.get(attribute)
        settings[option] = None if value is None else (from_ticks(value, unit) if unit else int(value))
    return settings


def check(wanted: dict[str, Any], after: dict[str, Any], changing: list[str]) -> list[str]:
    problems = []
    for option, (_, _, limits) in SETTINGS.items():
        value = wanted.get(option)
        if value is not None and limits and not limits[0] <= value <= limits[1]:
            problems.append(f"{option}: {value} is not in the range {limits[0]} to {limits[1]}")
    if {"min_age", "max_age"} & set(changing):
        low, high = after["min_age"], after["max_age"]
        if low is not None and high not in (None, 0) and low >= high:
            problems.append(f"max_age ({high}) must be more than min_age ({low}), or 0 (never)")
    return problems


def run(module: AnsibleModule) -> dict[str, Any]:
    with Directory(module.params, check_mode=module.check_mode) as directory:
        return reconcile(module, directory)


def reconcile(module: AnsibleModule, directory: Directory) -> dict[str, Any]:
    ldap = directory.ldap
    domain = directory.entry(directory.base, READ)
    if domain is None:
        raise DirectoryError(f"The domain {directory.base} was not found")
    values = {attribute: domain.get(attribute) for attribute in READ}
    current = current_settings(values)
    wanted = {option: module.params[option] for option in OPTIONS if module.params[option] is not None}
    changing = [option for option in OPTIONS if option in wanted and wanted[option] != current[option]]
    after = {**current, **wanted}
    problems = check(wanted, after, changing)
    if problems:
        module.fail_json(msg=f"{len(problems)} problems; nothing was written:\n" + "\n".join(problems),
                         errors=problems)

    changes = []
    for option in changing:
        if option == "complexity":
            properties = int(values["pwdProperties"] or 0)
            properties = (properties | DOMAIN_PASSWORD_COMPLEX if wanted[option]
                          else properties & ~DOMAIN_PASSWORD_COMPLEX)
            changes.append((ldap.MOD_REPLACE, "pwdProperties", [str(properties).encode()]))
            continue
        attribute, unit, _ = SETTINGS[option]
        value = to_ticks(wanted[option], unit) if unit else wanted[option]
        changes.append((ldap.MOD_REPLACE, attribute, [str(value).encode()]))
    directory.modify(domain.dn, changes)

    result: dict[str, Any] = {"changed": bool(changing), "settings": after, "changed_settings": changing}
    if module._diff:
        result["diff"] = {"before": {option: current[option] for option in changing},
                          "after": {option: wanted[option] for option in changing}}
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        module.exit_json(**run(module))
    except DirectoryError as error:
        module.fail_json(msg=str(error))


if __name__ == "__main__":
    main()
