#!/usr/bin/python
# Gemensam IT: user accounts in Active Directory (Samba AD DC) over LDAPS.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.samba_ldap import (
    CONNECTION_ARGUMENT_SPEC,
    Directory,
    DirectoryError,
    Entry,
    account_control,
    encode_password,
    escape_rdn,
    first_rdn,
    parent_dn,
    same_dn,
)

DOCUMENTATION = r"""
module: ad_user
short_description: Ensure user accounts in Active Directory, one or a thousand in one connection
description:
  - Creates, updates, enables, disables, moves and removes user accounts in an Active Directory
    domain (written for Samba's AD DC) over LDAP, normally LDAPS to the domain controller the
    module runs on.
  - A user is found by O(users[].employee_id) first, then by O(users[].sam_account_name), anywhere
    under O(search_base); so a person who moves to another organisation keeps their account, which
    is moved to the new O(users[].path).
  - The accounts are read with one search, whatever their number (past 200 users, one paged read
    of every user under O(search_base)), and compared in Python; only what differs is written.
  - The password is written only when the account is created (O(update_password=on_create)), so a
    second run changes nothing. It is sent as C(unicodePwd), which AD accepts only over an
    encrypted connection.
  - Either one user, given by the top-level user options, or many in O(users). Top-level user
    options other than O(sam_account_name) are defaults for every entry of O(users). All users
    are checked before anything is written; a conflict (an employee id and a user name held by two
    different accounts, a name given twice) fails the task with nothing written.
  - The options follow M(microsoft.ad.user) where they overlap.
options:
  search_base:
    description: Where users are looked for. The domain (the root DSE's C(defaultNamingContext)) if unset.
    type: str
  users:
    description:
      - The users, each with the user options below (only O(users[].sam_account_name) is required).
        Mutually exclusive with O(sam_account_name).
    type: list
    elements: dict
    suboptions:
      sam_account_name:
        description: The logon name (C(sAMAccountName), at most 20 characters).
        type: str
        required: true
      name:
        description:
          - The account's C(cn) (the RDN). A new account gets O(users[].sam_account_name) if unset; an
            existing one is renamed only when this is set.
        type: str
      path:
        description:
          - DN of the OU the account belongs in. Required to create; an account elsewhere is moved here.
        type: str
      state:
        description: V(absent) removes the account.
        type: str
        choices: [present, absent]
      enabled:
        description:
          - Whether the account may log on (the C(ACCOUNTDISABLE) bit of C(userAccountControl);
            C(NORMAL_ACCOUNT) is always kept). Unset leaves an existing account as it is and
            creates an enabled one.
        type: bool
      password:
        description: The password, required to create an account. Never returned or shown in a diff.
        type: str
      update_password:
        description:
          - V(on_create) sets the password only on a new account; V(always) sets it on every run
            (which is then always a change).
        type: str
        choices: [always, on_create]
      upn:
        description: C(userPrincipalName).
        type: str
      firstname:
        description: C(givenName).
        type: str
      surname:
        description: C(sn).
        type: str
      display_name:
        description: C(displayName).
        type: str
      email:
        description: C(mail).
        type: str
      employee_id:
        description: C(employeeID); the first key the account is found by.
        type: str
      title:
        description: C(title).
        type: str
      department:
        description: C(department).
        type: str
      company:
        description: C(company).
        type: str
      employee_type:
        description: C(employeeType); the orders mark the accounts they make with it (C(Beställning #42)).
        type: str
  sam_account_name:
    description: The logon name of a single user (the user options are described under O(users)).
    type: str
  name:
    description: See O(users[].name).
    type: str
  path:
    description: See O(users[].path).
    type: str
  state:
    description: See O(users[].state).
    type: str
    choices: [present, absent]
    default: present
  enabled:
    description: See O(users[].enabled).
    type: bool
  password:
    description: See O(users[].password).
    type: str
  update_password:
    description: See O(users[].update_password).
    type: str
    choices: [always, on_create]
    default: on_create
  upn:
    description: See O(users[].upn).
    type: str
  firstname:
    description: See O(users[].firstname).
    type: str
  surname:
    description: See O(users[].surname).
    type: str
  display_name:
    description: See O(users[].display_name).
    type: str
  email:
    description: See O(users[].email).
    type: str
  employee_id:
    description: See O(users[].employee_id).
    type: str
  title:
    description: See O(users[].title).
    type: str
  department:
    description: See O(users[].department).
    type: str
  company:
    description: See O(users[].company).
    type: str
  employee_type:
    description: See O(users[].employee_type).
    type: str
extends_documentation_fragment:
  - action_common_attributes
  - samba_ldap
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The attributes of every account that changes; never the password.
  platform:
    platforms: posix
notes:
  - Needs python-ldap where it runs (Debian C(python3-ldap)).
  - An attribute option that is unset is not managed; an empty string removes the attribute.
  - A user is never found by its C(cn), which is not unique in a domain.
requirements:
  - python-ldap
seealso:
  - module: ad_group_members
  - module: microsoft.ad.user
  - module: community.general.ldap_entry
author:
  - Gemensam IT
"""

EXAMPLES = r"""
- name: Ensure one user
  ad_user:
    server_uri: ldaps://dc1.stad.stockholm.test
    ca_path: /usr/local/share/ca-certificates/gemensam-city-ca.crt
    bind_dn: administrator@STAD.STOCKHOLM.TEST
    bind_pw: "{{ directory_admin_password }}"
    sam_account_name: asa.oberg
    path: OU=Users,OU=SOD,OU=Organisationer,DC=stad,DC=stockholm,DC=test
    firstname: Åsa
    surname: Öberg
    display_name: Åsa Öberg
    email: asa.oberg@stockholm.se
    upn: asa.oberg@stad.stockholm.test
    employee_id: "583902"
    password: "{{ initial_password }}"

- name: Ensure many users in one connection; company is a default for each
  ad_user:
    server_uri: ldaps://dc1.stad.stockholm.test
    ca_path: /usr/local/share/ca-certificates/gemensam-city-ca.crt
    bind_dn: administrator@STAD.STOCKHOLM.TEST
    bind_pw: "{{ directory_admin_password }}"
    company: Stockholms stad
    users:
      - {sam_account_name: bo.lind, employee_id: "1001", path: "OU=Users,OU=SOD,...", enabled: false}
      - {sam_account_name: eva.ek, employee_id: "1002", path: "OU=Users,OU=BRO,...", department: Förskola}
  no_log: true  # the entries carry passwords

- name: Remove an account
  ad_user:
    server_uri: ldaps://dc1.stad.stockholm.test
    bind_dn: administrator@STAD.STOCKHOLM.TEST
    bind_pw: "{{ directory_admin_password }}"
    sam_account_name: test.user
    state: absent
"""

RETURN = r"""
users:
  description: One result per user, in the order given.
  returned: always
  type: list
  elements: dict
  sample:
    - sam_account_name: asa.oberg
      employee_id: "583902"
      distinguished_name: CN=asa.oberg,OU=Users,OU=SOD,OU=Organisationer,DC=stad,DC=stockholm,DC=test
      changed: true
      actions: [moved, updated]
      attributes: [department]
counts:
  description: How many accounts were created, moved, updated, removed, and left unchanged.
  returned: always
  type: dict
  sample: {"created": 1, "moved": 1, "updated": 2, "removed": 0, "unchanged": 997}
"""

# Option → LDAP attribute, in the order they are shown.
ATTRIBUTES = {
    "sam_account_name": "sAMAccountName",
    "upn": "userPrincipalName",
    "firstname": "givenName",
    "surname": "sn",
    "display_name": "displayName",
    "email": "mail",
    "employee_id": "employeeID",
    "title": "title",
    "department": "department",
    "company": "company",
    "employee_type": "employeeType",
}
READ = ["cn", "userAccountControl", *ATTRIBUTES.values()]
USER_OPTIONS: dict[str, dict[str, Any]] = {
    "sam_account_name": {"type": "str"},
    "name": {"type": "str"},
    "path": {"type": "str"},
    "state": {"type": "str", "choices": ["present", "absent"]},
    "enabled": {"type": "bool"},
    "password": {"type": "str", "no_log": True},
    "update_password": {"type": "str", "choices": ["always", "on_create"], "no_log": False},
    **{option: {"type": "str"} for option in ATTRIBUTES if option != "sam_account_name"},
}
USER_DEFAULTS = {"state": "present", "update_password": "on_create"}


def argument_spec() -> dict[str, Any]:
    spec: dict[str, Any] = {**CONNECTION_ARGUMENT_SPEC}
    spec.update({option: dict(value) for option, value in USER_OPTIONS.items()})
    spec["state"]["default"] = "present"
    spec["update_password"]["default"] = "on_create"
    users = {option: dict(value) for option, value in USER_OPTIONS.items()}
    users["sam_account_name"]["required"] = True
    spec["users"] = {"type": "list", "elements": "dict", "options": users}
    return spec


def wanted_users(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The users asked for, each with the top-level options as defaults."""
    defaults = {option: params[option] for option in USER_OPTIONS
                if option != "sam_account_name" and params.get(option) is not None}
    if params.get("users") is None:
        return [{**USER_DEFAULTS, **defaults, "sam_account_name": params["sam_account_name"]}]
    return [{**USER_DEFAULTS, **defaults, **{k: v for k, v in user.items() if v is not None}}
            for user in params["users"]]


def shown(entry: Entry | None) -> dict[str, Any]:
    """An account as the diff shows it."""
    if entry is None:
        return {}
    state = {"distinguished_name": entry.dn}
    state.update({option: entry.get(attribute) for option, attribute in ATTRIBUTES.items()
                  if entry.get(attribute) is not None})
    control = entry.get("userAccountControl")
    if control is not None:
        state["enabled"] = not int(control) & 2
    return state


class Plan:
    """What one user needs, worked out before anything is written."""

    def __init__(self, user: dict[str, Any], entry: Entry | None) -> None:
        self.user = user
        self.entry = entry
        self.dn = entry.dn if entry else None
        self.actions: list[str] = []
        self.attributes: list[str] = []
        self.add: dict[str, list[bytes]] = {}
        self.move: tuple[str, str] | None = None
        self.changes: list[tuple[int, str, list[bytes] | None]] = []
        self.after: dict[str, Any] = {}

    def result(self) -> dict[str, Any]:
        return {"sam_account_name": self.user["sam_account_name"],
                "employee_id": self.user.get("employee_id"), "distinguished_name": self.dn,
                "changed": bool(self.actions), "actions": self.actions,
                "attributes": self.attributes}


def plan_user(directory: Directory, user: dict[str, Any], entry: Entry | None) -> Plan:
    ldap = directory.ldap
    plan = Plan(user, entry)
    name = user["sam_account_name"]
    if user["state"] == "absent":
        if entry is not None:
            plan.actions.append("removed")
        return plan

    before = shown(entry)
    after = dict(before)
    wanted = {option: user.get(option) for option in ATTRIBUTES}
    if entry is None:
        if not user.get("path"):
            raise DirectoryError(f"{name}: path is required to create the account")
        if not user.get("password"):
            raise DirectoryError(f"{name}: password is required to create the account")
        if not directory.encrypted:
            raise DirectoryError(f"{name}: a password can only be set over ldaps:// (server_uri)")
        plan.dn = f"CN={escape_rdn(user.get('name') or name)},{user['path']}"
        enabled = user.get("enabled") is not False
        attributes = {"objectClass": [b"top", b"person", b"organizationalPerson", b"user"],
                      "cn": [(user.get("name") or name).encode()]}
        for option, attribute in ATTRIBUTES.items():
            if wanted[option]:
                attributes[attribute] = [wanted[option].encode()]
                after[option] = wanted[option]
        attributes["userAccountControl"] = [str(account_control(None, enabled)).encode()]
        attributes["unicodePwd"] = [encode_password(user["password"])]
        plan.add = attributes
        plan.actions.append("created")
        plan.attributes = [o for o in ATTRIBUTES if wanted[o]]
        after.update(distinguished_name=plan.dn, enabled=enabled)
        plan.after = after
        return plan

    # Where the account belongs, and under which RDN.
    rdn = f"CN={escape_rdn(user['name'])}" if user.get("name") else first_rdn(entry.dn)
    parent = user.get("path") or parent_dn(entry.dn)
    if not same_dn(f"{rdn},{parent}", entry.dn):
        plan.move = (rdn, parent)
        plan.dn = f"{rdn},{parent}"
        after["distinguished_name"] = plan.dn
        plan.actions.append("moved" if not same_dn(parent, parent_dn(entry.dn)) else "renamed")

    for option, attribute in ATTRIBUTES.items():
        value, current = wanted[option], entry.get(attribute)
        if value is None or value == (current or ""):
            continue
        if value == "":
            plan.changes.append((ldap.MOD_DELETE, attribute, None))
            after.pop(option, None)
        else:
            plan.changes.append((ldap.MOD_REPLACE, attribute, [value.encode()]))
            after[option] = value
        plan.attributes.append(option)

    if user.get("enabled") is not None:
        current = entry.get("userAccountControl")
        control = account_control(int(current) if current is not None else None, user["enabled"])
        if current is None or control != int(current):
            plan.changes.append((ldap.MOD_REPLACE, "userAccountControl", [str(control).encode()]))
            after["enabled"] = user["enabled"]
            plan.actions.append("enabled" if user["enabled"] else "disabled")

    if user["update_password"] == "always" and user.get("password"):
        if not directory.encrypted:
            raise DirectoryError(f"{name}: a password can only be set over ldaps:// (server_uri)")
        plan.changes.append((ldap.MOD_REPLACE, "unicodePwd", [encode_password(user["password"])]))
        plan.actions.append("password_set")
    if plan.attributes:
        plan.actions.append("updated")
    plan.after = after
    return plan


def resolve(users: list[dict[str, Any]], directory: Directory) -> tuple[list[Entry | None], list[str]]:
    """Each user's account, if any, and every conflict found."""
    problems = []
    by_id: dict[str, Entry] = {}
    by_name: dict[str, Entry] = {}
    # One search for every account asked for, by employee id or user name; compared here.
    keys = {"employeeID": [u["employee_id"] for u in users if u.get("employee_id")],
            "sAMAccountName": [u["sam_account_name"] for u in users]}
    for entry in directory.lookup("user", keys, READ):
        if entry.get("employeeID"):
            by_id[entry.get("employeeID").casefold()] = entry
        if entry.get("sAMAccountName"):
            by_name[entry.get("sAMAccountName").casefold()] = entry

    seen_names: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    entries: list[Entry | None] = []
    for index, user in enumerate(users):
        name, employee_id = user["sam_account_name"], user.get("employee_id")
        first = seen_names.setdefault(name.casefold(), index)
        if first != index:
            problems.append(f"{name}: given twice (users[{first}] and users[{index}])")
        if employee_id:
            first = seen_ids.setdefault(employee_id.casefold(), index)
            if first != index:
                problems.append(f"{name}: employee_id {employee_id} given twice "
                                f"(users[{first}] and users[{index}])")
        with_id = by_id.get(employee_id.casefold()) if employee_id else None
        with_name = by_name.get(name.casefold())
        if with_id and with_name and not same_dn(with_id.dn, with_name.dn):
            problems.append(f"{name}: employee_id {employee_id} belongs to {with_id.dn} "
                            f"but the user name to {with_name.dn}")
        elif not with_id and with_name and employee_id and with_name.get("employeeID") \
                and with_name.get("employeeID").casefold() != employee_id.casefold():
            problems.append(f"{name}: the user name is held by {with_name.dn} with employee_id "
                            f"{with_name.get('employeeID')}, not {employee_id}")
        entries.append(with_id or with_name)
    return entries, problems


def run(module: AnsibleModule) -> dict[str, Any]:
    users = wanted_users(module.params)
    directory = Directory(module.params, check_mode=module.check_mode)
    try:
        entries, problems = resolve(users, directory)
        plans = []
        for user, entry in zip(users, entries, strict=True):
            try:
                plans.append(plan_user(directory, user, entry))
            except DirectoryError as problem:
                problems.append(str(problem))
        if problems:
            module.fail_json(msg=f"{len(problems)} of the users cannot be ensured; nothing was written:\n"
                                 + "\n".join(problems), errors=problems)
        errors = []
        for plan in plans:
            try:
                apply(directory, plan)
            except DirectoryError as error:
                errors.append(str(error))
                plan.actions.append("failed")
    finally:
        directory.close()

    changed = [plan for plan in plans if plan.actions]
    result: dict[str, Any] = {
        "changed": bool(changed),
        "users": [plan.result() for plan in plans],
        "counts": {
            "created": sum("created" in p.actions for p in plans),
            "moved": sum("moved" in p.actions or "renamed" in p.actions for p in plans),
            "updated": sum(any(a in p.actions for a in ("updated", "enabled", "disabled", "password_set"))
                           for p in plans),
            "removed": sum("removed" in p.actions for p in plans),
            "unchanged": len(plans) - len(changed),
        },
    }
    if module._diff:
        result["diff"] = {
            "before": {p.user["sam_account_name"]: shown(p.entry) for p in changed},
            "after": {p.user["sam_account_name"]: p.after for p in changed},
        }
    if errors:
        module.fail_json(msg=f"{len(errors)} of the users failed:\n" + "\n".join(errors),
                         errors=errors, **result)
    return result


def apply(directory: Directory, plan: Plan) -> None:
    if "removed" in plan.actions:
        directory.delete(plan.dn)
    elif plan.add:
        directory.add(plan.dn, plan.add)
    else:
        if plan.move:
            directory.move(plan.entry.dn, *plan.move)
        directory.modify(plan.dn, plan.changes)


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("users", "sam_account_name")],
        required_one_of=[("users", "sam_account_name")],
        supports_check_mode=True,
    )
    try:
        module.exit_json(**run(module))
    except DirectoryError as error:
        module.fail_json(msg=str(error))


if __name__ == "__main__":
    main()
