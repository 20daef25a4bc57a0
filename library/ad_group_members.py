#!/usr/bin/python
# Gemensam IT: the members of Active Directory groups (Samba AD DC) over LDAPS.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.samba_ldap import (
    CONNECTION_ARGUMENT_SPEC,
    Directory,
    DirectoryError,
    normalise_dn,
)

DOCUMENTATION = r"""
module: ad_group_members
short_description: Reconcile the members of Active Directory groups, by user name
description:
  - Adds and removes members of groups in an Active Directory domain (written for Samba's AD DC)
    over LDAP, normally LDAPS to the domain controller the module runs on.
  - Members are named by C(sAMAccountName) and groups by C(sAMAccountName) or DN; the module
    looks up their DNs itself and compares them as AD does (without regard to case), so a
    group in the wanted state is never rewritten.
  - One group, given by O(name), O(members) and O(state), or many in O(groups), in one connection
    and one modify operation per group that changes. The groups are read with one search, and so
    are the members (past 200 of them, one paged read of every account and group of the domain);
    a group in the wanted state costs no further search and no write.
  - Fails, before anything is written, when a group or a member does not exist. In check mode a
    missing member is reported as added instead, since an earlier task that creates it wrote
    nothing in check mode.
options:
  search_base:
    description: Where groups and members are looked for. The domain if unset.
    type: str
  groups:
    description: The groups. Mutually exclusive with O(name).
    type: list
    elements: dict
    suboptions:
      name:
        description: The group's C(sAMAccountName), or its DN.
        type: str
        required: true
      members:
        description: C(sAMAccountName)s of the members.
        type: list
        elements: str
        default: []
      state:
        description:
          - V(exact) makes the members exactly O(groups[].members) (an empty list empties the group);
            V(present) adds the missing ones; V(absent) removes them.
        type: str
        choices: [exact, present, absent]
        default: exact
  name:
    description: A single group's C(sAMAccountName), or its DN.
    type: str
  members:
    description: See O(groups[].members).
    type: list
    elements: str
    default: []
  state:
    description: See O(groups[].state).
    type: str
    choices: [exact, present, absent]
    default: exact
extends_documentation_fragment:
  - action_common_attributes
  - samba_ldap
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Each changed group's members (user names; DNs for members that are not users named here).
  platform:
    platforms: posix
notes:
  - Needs python-ldap where it runs (Debian C(python3-ldap)).
  - With V(exact), members that are not in O(members) are removed whatever they are (users,
    groups, computers), so use it only for groups whose members are managed here.
requirements:
  - python-ldap
seealso:
  - module: ad_user
  - module: community.general.ldap_attrs
author:
  - Gemensam IT
"""

EXAMPLES = r"""
- name: Make SOD-Personal exactly these people
  ad_group_members:
    server_uri: ldaps://dc1.stad.stockholm.test
    ca_path: /usr/local/share/ca-certificates/gemensam-city-ca.crt
    bind_dn: administrator@STAD.STOCKHOLM.TEST
    bind_pw: "{{ directory_admin_password }}"
    name: SOD-Personal
    members: [asa.oberg, annakarin.stromlindq]

- name: Reconcile many groups in one connection
  ad_group_members:
    server_uri: ldaps://dc1.stad.stockholm.test
    ca_path: /usr/local/share/ca-certificates/gemensam-city-ca.crt
    bind_dn: administrator@STAD.STOCKHOLM.TEST
    bind_pw: "{{ directory_admin_password }}"
    groups:
      - {name: SOD-Avd-forskola, members: [maud.johansson]}
      - {name: Servicedesk-Agenter, members: [asa.oberg], state: present}
"""

RETURN = r"""
groups:
  description: One result per group, in the order given.
  returned: always
  type: list
  elements: dict
  sample:
    - name: SOD-Personal
      distinguished_name: CN=SOD-Personal,OU=Groups,OU=SOD,OU=Organisationer,DC=stad,DC=stockholm,DC=test
      changed: true
      added: [asa.oberg]
      removed: []
added:
  description: Members added, by group (only groups that changed).
  returned: always
  type: dict
  sample: {"SOD-Personal": ["asa.oberg"]}
removed:
  description: Members removed, by group (only groups that changed).
  returned: always
  type: dict
  sample: {"SOD-Avd-forskola": ["bo.lind"]}
"""

GROUP_OPTIONS: dict[str, dict[str, Any]] = {
    "name": {"type": "str"},
    "members": {"type": "list", "elements": "str", "default": []},
    "state": {"type": "str", "choices": ["exact", "present", "absent"], "default": "exact"},
}


def argument_spec() -> dict[str, Any]:
    spec: dict[str, Any] = {**CONNECTION_ARGUMENT_SPEC, **{k: dict(v) for k, v in GROUP_OPTIONS.items()}}
    suboptions = {k: dict(v) for k, v in GROUP_OPTIONS.items()}
    suboptions["name"]["required"] = True
    spec["groups"] = {"type": "list", "elements": "dict", "options": suboptions}
    return spec


def is_dn(name: str) -> bool:
    return "=" in name and "," in name


def find_groups(directory: Directory, names: list[str]) -> dict[str, Any]:
    """name as given → the group's entry, for every group that exists."""
    found = {}
    for name in (n for n in names if is_dn(n)):
        entry = directory.entry(name, ["sAMAccountName", "member", "objectClass"])
        if entry is not None and "group" in [c.lower() for c in entry.all("objectClass")]:
            found[name] = entry
    by_name = {(e.get("sAMAccountName") or "").casefold(): e
               for e in directory.lookup("group", {"sAMAccountName": [n for n in names if not is_dn(n)]},
                                         ["sAMAccountName", "member"])}
    for name in (n for n in names if not is_dn(n)):
        if name.casefold() in by_name:
            found[name] = by_name[name.casefold()]
    return found


def run(module: AnsibleModule) -> dict[str, Any]:
    params = module.params
    groups = params["groups"] if params["groups"] is not None else [
        {"name": params["name"], "members": params["members"], "state": params["state"]}]
    with Directory(params, check_mode=module.check_mode) as directory:
        return reconcile(module, directory, groups)


def reconcile(module: AnsibleModule, directory: Directory, groups: list[dict[str, Any]]) -> dict[str, Any]:
    ldap = directory.ldap
    problems = []
    seen: dict[str, int] = {}
    for index, group in enumerate(groups):
        first = seen.setdefault(group["name"].casefold(), index)
        if first != index:
            problems.append(f"{group['name']}: given twice (groups[{first}] and groups[{index}])")
    entries = find_groups(directory, [g["name"] for g in groups])
    problems.extend(f"{g['name']}: no such group" for g in groups if g["name"] not in entries)

    member_names = sorted({m for g in groups for m in g["members"]}, key=str.casefold)
    # One search for the members; past SEARCH_CHUNK of them it reads every account and group
    # of the domain, which also names the members that are not named here.
    principals = directory.lookup("*", {"sAMAccountName": member_names}, ["sAMAccountName"])
    members = {(e.get("sAMAccountName") or "").casefold(): e.dn for e in principals}
    missing = [m for m in member_names if m.casefold() not in members]
    if missing and not module.check_mode:
        problems.append(f"no such members: {', '.join(missing)}")
    if problems:
        module.fail_json(msg=f"{len(problems)} problems; nothing was written:\n" + "\n".join(problems),
                         errors=problems)
    if missing:
        module.warn(f"check mode: {len(missing)} members do not exist yet and are shown as added: "
                    + ", ".join(missing[:10]) + (", ..." if len(missing) > 10 else ""))

    names_by_dn = {normalise_dn(members[name.casefold()]): name.casefold()
                   for name in member_names if name.casefold() in members}
    read = {normalise_dn(e.dn): e.get("sAMAccountName") for e in principals if e.get("sAMAccountName")}
    currents = {group["name"]: {normalise_dn(dn): dn
                                for dn in directory.values_of(entries[group["name"]], "member")}
                for group in groups}
    # Members that are not named here are shown by their names too, where they have one.
    for current in currents.values():
        names_by_dn.update({key: read[key] for key in current if key not in names_by_dn and key in read})
    unnamed = {dn for current in currents.values() for key, dn in current.items() if key not in names_by_dn}
    for found in directory.find("*", "distinguishedName", unnamed, ["sAMAccountName"]) if unnamed else []:
        if found.get("sAMAccountName"):
            names_by_dn[normalise_dn(found.dn)] = found.get("sAMAccountName")
    results, before, after = [], {}, {}
    for group in groups:
        entry = entries[group["name"]]
        current = currents[group["name"]]
        wanted = {}  # normalised DN (or the name of a missing member in check mode) → DN or name
        for name in group["members"]:
            dn = members.get(name.casefold(), name)
            wanted[normalise_dn(dn) if name.casefold() in members else f"missing:{name}"] = dn
        if group["state"] == "absent":
            add, remove = [], [key for key in wanted if key in current]
        else:
            add = [key for key in wanted if key not in current]
            remove = [key for key in current if key not in wanted] if group["state"] == "exact" else []

        def label(key: str, current: dict[str, str] = current) -> str:
            if key.startswith("missing:"):
                return key.split(":", 1)[1]
            return names_by_dn.get(key, current.get(key, key))

        changes = []
        if add:
            existing = [wanted[k].encode() for k in add if not k.startswith("missing:")]
            changes.append((ldap.MOD_ADD, "member", existing))
        if remove:
            changes.append((ldap.MOD_DELETE, "member", [current[k].encode() for k in remove]))
        changes = [change for change in changes if change[2]]
        if add or remove:
            directory.modify(entry.dn, changes)
            key = group["name"]
            before[key] = sorted((label(k) for k in current), key=str.casefold)
            after[key] = sorted((label(k) for k in (set(current) - set(remove)) | set(add)), key=str.casefold)
        results.append({"name": group["name"], "distinguished_name": entry.dn, "changed": bool(add or remove),
                        "added": sorted((label(k) for k in add), key=str.casefold),
                        "removed": sorted((label(k) for k in remove), key=str.casefold)})

    result: dict[str, Any] = {
        "changed": any(r["changed"] for r in results),
        "groups": results,
        "added": {r["name"]: r["added"] for r in results if r["added"]},
        "removed": {r["name"]: r["removed"] for r in results if r["removed"]},
    }
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("groups", "name")],
        required_one_of=[("groups", "name")],
        supports_check_mode=True,
    )
    try:
        module.exit_json(**run(module))
    except DirectoryError as error:
        module.fail_json(msg=str(error))


if __name__ == "__main__":
    main()
