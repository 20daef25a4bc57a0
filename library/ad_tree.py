#!/usr/bin/python
# Gemensam IT: a tree of OUs and groups in Active Directory (Samba AD DC) over LDAPS.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.samba_ldap import (
    CONNECTION_ARGUMENT_SPEC,
    Directory,
    DirectoryError,
    Entry,
    normalise_dn,
    parent_dn,
    split_dn,
)

DOCUMENTATION = r"""
module: ad_tree
short_description: Ensure a tree of organisational units and groups in Active Directory in one search
description:
  - Creates the OUs and groups of O(entries) that do not exist and keeps the description (and a
    group's C(mail), where given) of those that do, in an Active Directory domain (written for
    Samba's AD DC) over LDAP, normally LDAPS to the domain controller the module runs on.
  - The directory is read once, with one paged search of O(search_base) for its OUs and groups,
    and compared in Python; only what differs is written. An entry is found by its DN, compared as
    AD does (without regard to case, blanks around RDNs or how special characters are escaped).
  - Missing entries are created parents first (fewer RDNs first), whatever their order in
    O(entries). A new group is a group of O(group_type) with its C(sAMAccountName).
  - Everything is checked before anything is written. A DN given twice or outside O(search_base),
    a group without O(entries[].sam_account_name), a C(sAMAccountName) given twice or, for a new
    group, already held by another group, or a new entry whose parent neither exists nor is in
    O(entries) fails the task with nothing written.
  - OUs and groups under O(search_base) that are not in O(entries) are left as they are; nothing
    is ever removed, moved or renamed.
options:
  search_base:
    description:
      - Where the existing OUs and groups are read, with one subtree search (paged). The domain (the
        root DSE's C(defaultNamingContext)) if unset; it must hold every entry of O(entries).
    type: str
  entries:
    description:
      - The OUs and groups, each with its DN. Parents that are not listed must exist.
      - The keys are those C(roles/directory/templates/tree.yml.j2) renders.
    type: list
    elements: dict
    required: true
    suboptions:
      dn:
        description: The entry's DN, its RDN values escaped (RFC 4514).
        type: str
        required: true
      class:
        description: Its object class.
        type: str
        required: true
        choices: [organizationalUnit, group]
      description:
        description:
          - C(description), kept exactly this (compared case-sensitively, as written). An empty
            string removes it.
        type: str
        required: true
      sam_account_name:
        description:
          - A group's C(sAMAccountName), required for a group. Written when the group is created;
            an existing group's is not changed.
        type: str
        aliases: [sam]
      mail:
        description:
          - A group's C(mail) (a functional mailbox's address), kept exactly this. Unset leaves the
            attribute as it is; an empty string removes it.
        type: str
  group_type:
    description:
      - C(groupType) of the groups created; an existing group's is not changed. The default is a
        global security group (C(ADS_GROUP_TYPE_GLOBAL_GROUP | ADS_GROUP_TYPE_SECURITY_ENABLED)).
    type: int
    default: -2147483646
extends_documentation_fragment:
  - action_common_attributes
  - samba_ldap
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Per DN, the managed attributes of every entry created or changed, before and after.
  platform:
    platforms: posix
notes:
  - Needs python-ldap where it runs (Debian C(python3-ldap)).
  - Group members are not managed here (see M(ad_group_members)).
  - A new entry's parent must exist or be in O(entries); the module checks this before it writes.
requirements:
  - python-ldap
seealso:
  - module: ad_group_members
  - module: ad_user
  - module: community.general.ldap_entry
author:
  - Gemensam IT
"""

EXAMPLES = r"""
- name: Ensure the city's OUs and groups
  ad_tree:
    server_uri: ldaps://dc1.stad.stockholm.test
    ca_path: /usr/local/share/ca-certificates/gemensam-city-ca.crt
    bind_dn: administrator@STAD.STOCKHOLM.TEST
    bind_pw: "{{ directory_admin_password }}"
    search_base: DC=stad,DC=stockholm,DC=test
    entries:
      - {dn: "OU=Organisationer,DC=stad,DC=stockholm,DC=test", class: organizationalUnit,
         description: Stadens organisationer}
      - {dn: "OU=SOD,OU=Organisationer,DC=stad,DC=stockholm,DC=test", class: organizationalUnit,
         description: Södermalms stadsdelsnämnd}
      - {dn: "OU=Groups,OU=SOD,OU=Organisationer,DC=stad,DC=stockholm,DC=test", class: organizationalUnit,
         description: "Södermalms stadsdelsnämnd: grupper"}
      - {dn: "CN=SOD-Brevlada-registrator,OU=Groups,OU=SOD,OU=Organisationer,DC=stad,DC=stockholm,DC=test",
         class: group, sam: SOD-Brevlada-registrator, mail: sod-registrator@stockholm.se,
         description: Registraturens funktionsbrevlåda i Södermalms stadsdelsnämnd}

- name: The tree the directory role renders
  ad_tree:
    server_uri: "{{ __directory_ldap_uri }}"
    ca_path: "{{ __directory_ldap_ca }}"
    bind_dn: "{{ __directory_admin_principal }}"
    bind_pw: "{{ directory_admin_password }}"
    search_base: "{{ __directory_base_dn }}"
    group_type: "{{ __directory_group_type }}"
    entries: "{{ __directory_tree }}"
"""

RETURN = r"""
created:
  description: DNs of the entries created (in check mode, that would be), parents first.
  returned: always
  type: list
  elements: str
  sample: ["OU=EDU,OU=UTB,OU=Organisationer,DC=stad,DC=stockholm,DC=test"]
updated:
  description: DNs of the existing entries whose description or mail was changed, with the attributes changed.
  returned: always
  type: dict
  sample: {"OU=SOD,OU=Organisationer,DC=stad,DC=stockholm,DC=test": ["description"]}
counts:
  description: How many entries were created, updated and left unchanged.
  returned: always
  type: dict
  sample: {"created": 1, "updated": 1, "unchanged": 745}
"""

CLASSES = ("organizationalUnit", "group")
# What is read of every OU and group under the search base.
READ = ["objectClass", "description", "mail", "sAMAccountName"]
ENTRY_OPTIONS: dict[str, dict[str, Any]] = {
    "dn": {"type": "str", "required": True},
    "class": {"type": "str", "required": True, "choices": list(CLASSES)},
    "description": {"type": "str", "required": True},
    "sam_account_name": {"type": "str", "aliases": ["sam"]},
    "mail": {"type": "str"},
}


def argument_spec() -> dict[str, Any]:
    return {
        **CONNECTION_ARGUMENT_SPEC,
        "entries": {"type": "list", "elements": "dict", "required": True,
                    "options": {name: dict(option) for name, option in ENTRY_OPTIONS.items()}},
        "group_type": {"type": "int", "default": -2147483646},
    }


def managed(entry: dict[str, Any]) -> dict[str, str]:
    """The attributes kept current on an existing entry: its description, a group's mail if given."""
    attributes = {"description": entry["description"]}
    if entry["class"] == "group" and entry.get("mail") is not None:
        attributes["mail"] = entry["mail"]
    return attributes


def shown(found: Entry, attributes: list[str]) -> dict[str, Any]:
    """The current values of attributes, as the diff shows them (one value as a string)."""
    state: dict[str, Any] = {}
    for attribute in attributes:
        values = found.all(attribute)
        if values:
            state[attribute] = values[0] if len(values) == 1 else values
    return state


def check(directory: Directory, entries: list[dict[str, Any]], existing: dict[str, Entry],
          groups_by_sam: dict[str, Entry]) -> list[str]:
    """Problems with the entries asked for, each naming the entry; empty if none."""
    problems = []
    base = normalise_dn(directory.base)
    wanted = {normalise_dn(entry["dn"]) for entry in entries}
    seen: dict[str, int] = {}
    sams: dict[str, int] = {}
    parents: dict[str, tuple[int, str]] = {}
    for index, entry in enumerate(entries):
        name = f"entries[{index}] {entry['dn']!r}"
        key = normalise_dn(entry["dn"])
        outside = not key.endswith("," + base)
        if outside:
            problems.append(f"{name}: not under the search base {directory.base}")
        first = seen.setdefault(key, index)
        if first != index:
            problems.append(f"{name}: the same DN as entries[{first}]")
        if entry["class"] != "group":
            if entry.get("sam_account_name") or entry.get("mail") is not None:
                problems.append(f"{name}: only a group has sam_account_name or mail")
        elif not entry.get("sam_account_name"):
            problems.append(f"{name}: a group needs sam_account_name")
        else:
            sam = entry["sam_account_name"]
            other = sams.setdefault(sam.casefold(), index)
            holder = groups_by_sam.get(sam.casefold())
            if other != index:
                problems.append(f"{name}: sAMAccountName {sam!r} is also entries[{other}]'s")
            elif key not in existing and holder is not None:
                problems.append(f"{name}: sAMAccountName {sam!r} is held by {holder.dn}")
        parent = normalise_dn(parent_dn(entry["dn"]))
        if not outside and key not in existing and parent not in existing and parent not in wanted \
                and parent != base:
            parents.setdefault(parent, (index, parent_dn(entry["dn"])))
    # A parent that is neither an OU nor a group (a container such as CN=Users) is looked up.
    for index, dn in parents.values():
        if directory.entry(dn, ["objectClass"]) is None:
            problems.append(f"entries[{index}] {entries[index]['dn']!r}: its parent {dn} does not exist")
    return problems


def run(module: AnsibleModule) -> dict[str, Any]:
    with Directory(module.params, check_mode=module.check_mode) as directory:
        return reconcile(module, directory)


def reconcile(module: AnsibleModule, directory: Directory) -> dict[str, Any]:
    ldap = directory.ldap
    entries: list[dict[str, Any]] = module.params["entries"]
    group_type = str(module.params["group_type"]).encode()

    found = directory.search_paged(directory.base, "(|(objectClass=organizationalUnit)(objectClass=group))",
                                   READ)
    existing = {normalise_dn(entry.dn): entry for entry in found}
    groups_by_sam = {(entry.get("sAMAccountName") or "").casefold(): entry for entry in found
                     if entry.get("sAMAccountName")}
    problems = check(directory, entries, existing, groups_by_sam)
    if problems:
        module.fail_json(msg=f"{len(problems)} problems; nothing was written:\n" + "\n".join(problems),
                         errors=problems)

    before: dict[str, dict[str, Any]] = {}
    after: dict[str, dict[str, Any]] = {}
    created: list[str] = []
    updated: dict[str, list[str]] = {}
    additions: list[tuple[int, int, dict[str, Any]]] = []
    for index, entry in enumerate(entries):
        current = existing.get(normalise_dn(entry["dn"]))
        if current is None:
            additions.append((len(split_dn(entry["dn"])), index, entry))
            continue
        wanted = managed(entry)
        changes, changed = [], []
        for attribute, value in wanted.items():
            values = current.all(attribute)
            if values == ([value] if value else []):
                continue
            changed.append(attribute)
            if value:
                changes.append((ldap.MOD_REPLACE, attribute, [value.encode()]))
            else:
                changes.append((ldap.MOD_DELETE, attribute, None))
        if changes:
            directory.modify(current.dn, changes)
            updated[current.dn] = changed
            before[current.dn] = shown(current, changed)
            after[current.dn] = {attribute: wanted[attribute] for attribute in changed if wanted[attribute]}

    # Parents first: an entry has more RDNs than its parent. Among equals, the order given.
    for _, _, entry in sorted(additions, key=lambda addition: addition[:2]):
        attributes: dict[str, list[bytes]] = {"objectClass": [entry["class"].encode()]}
        state: dict[str, Any] = {"objectClass": entry["class"]}
        if entry["description"]:
            attributes["description"] = [entry["description"].encode()]
            state["description"] = entry["description"]
        if entry["class"] == "group":
            attributes["sAMAccountName"] = [entry["sam_account_name"].encode()]
            attributes["groupType"] = [group_type]
            state.update(sAMAccountName=entry["sam_account_name"], groupType=int(group_type))
            if entry.get("mail"):
                attributes["mail"] = [entry["mail"].encode()]
                state["mail"] = entry["mail"]
        directory.add(entry["dn"], attributes)
        created.append(entry["dn"])
        before[entry["dn"]] = {}
        after[entry["dn"]] = state

    result: dict[str, Any] = {
        "changed": bool(created or updated),
        "created": created,
        "updated": updated,
        "counts": {"created": len(created), "updated": len(updated),
                   "unchanged": len(entries) - len(created) - len(updated)},
    }
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        module.exit_json(**run(module))
    except DirectoryError as error:
        module.fail_json(msg=str(error))


if __name__ == "__main__":
    main()
