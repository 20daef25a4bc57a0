"""Jinja filters over the city model's names (module_utils/city_names.py), so that every
role, template and task reads a name derived from the city from the one place that makes it:

    "{{ directory_organisations | city_names(__directory_base_dn, directory_mail_domain,
                                              directory_functional_mailboxes) }}"
        -> {id: {code, groups: {staff: 'SOD-Personal', ...}, departments, schools,
                 mailboxes, common_share, dn, admin_dn, users_dn, group_dns, ...}}
    "{{ organisation | city_organisation_names }}"     one organisation's names
    "{{ directory_realm | city_base_dn }}"             DC=lab,DC=gemensam,DC=test
    "{{ __directory_base_dn | city_directory_dns }}"   {base, organisations, city}: the OUs
    "{{ city_ca_trust_name | default(none) | city_ca_trust_path }}"
    "{{ 'mailbox_group_infix' | city_name_part }}"     Brevlada

Without a base DN the names have no DNs, and without a mail domain the mailboxes no
address: the file, print and servicedesk roles need neither.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# Ansible puts module_utils on the path of modules only, not of controller plugins
# (plugins/inventory/city.py does the same).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "module_utils"))

import city_names as names  # found through the path set just above

# The parts of the scheme a role hands to a script on its host, which searches for names
# rather than making them (roles/mail_server's mail-functional-mailboxes).
NAME_PARTS = {"mailbox_group_infix": names.MAILBOX_GROUP_INFIX}


def _mailbox_ids(mailboxes: Iterable[Any] | None) -> list[str]:
    """Mailbox ids, from ids or from {id, description} (directory_functional_mailboxes)."""
    return [str(box["id"]) if isinstance(box, Mapping) else str(box) for box in mailboxes or []]


def city_names(organisations: Mapping[str, Mapping[str, Any]], base_dn: str | None = None,
               mail_domain: str | None = None, mailboxes: Iterable[Any] | None = None) -> dict[str, Any]:
    """The names of each organisation of an id -> organisation map (city_organisations)."""
    return names.city_names(organisations, base_dn or None, mail_domain or None, _mailbox_ids(mailboxes))


def city_organisation_names(organisation: Mapping[str, Any], base_dn: str | None = None,
                            mail_domain: str | None = None,
                            mailboxes: Iterable[Any] | None = None) -> dict[str, Any]:
    """The names of one organisation."""
    return names.organisation_names(organisation, base_dn or None, mail_domain or None,
                                    _mailbox_ids(mailboxes))


def city_base_dn(domain: str) -> str:
    return names.base_dn(str(domain))


def city_directory_dns(base_dn: str) -> dict[str, str]:
    """The domain's DN and the OUs under it: the organisations' and the city-wide one."""
    return {"base": str(base_dn), "organisations": names.organisations_dn(str(base_dn)),
            "city": names.city_dn(str(base_dn))}


def city_ca_trust_path(name: str | None = None) -> str:
    return names.ca_trust_path(str(name) if name else None)


def city_name_part(part: str) -> str:
    try:
        return NAME_PARTS[str(part)]
    except KeyError:
        raise ValueError(f"city_name_part: unknown part {part!r} (known: {', '.join(NAME_PARTS)})") from None


class FilterModule:
    def filters(self) -> dict:
        return {
            "city_names": city_names,
            "city_organisation_names": city_organisation_names,
            "city_base_dn": city_base_dn,
            "city_directory_dns": city_directory_dns,
            "city_ca_trust_path": city_ca_trust_path,
            "city_name_part": city_name_part,
        }
