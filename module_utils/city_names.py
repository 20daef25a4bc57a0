# Gemensam IT: the names the city model gives its organisations.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every name derived from the city, made here and nowhere else.

An organisation of the city data (code SOD, its departments, its sites) is named in the
directory, on the file servers, the print servers, the mail servers and in the
servicedesk by one scheme:

    groups        SOD-Personal, SOD-Fil-Las, SOD-Fil-Skriv, SOD-Skrivaradmin
    departments   SOD-Avd-<department id>                     (a group and a share)
    mailboxes     SOD-Brevlada-<id>, address sod-<id>@<mail domain>
    schools       UTB-<site id without its organisation's prefix>-Elever, -Personal
    shares        SOD-Gemensam, SOD-<department id>, UTB-<school>
    directory     OU=SOD,OU=Organisationer,<base DN>; an organisation with schools (sites on
                  the EDU network) has OU=Admin and OU=EDU under it, a school
                  OU=<site name>,OU=EDU,...; OU=Users, OU=Groups and OU=Computers below
    base DN       DC=lab,DC=gemensam,DC=test for the realm LAB.GEMENSAM.TEST
    city CA       /usr/local/share/ca-certificates/<trust name>.crt

`organisation_names` computes all of it for one organisation; the roles read it through the
filter plugin plugins/filter/city.py, module_utils/orders.py calls it directly, and
the scripts that run on hosts are handed the names by their role. A value placed in a DN
is escaped by samba_ldap.escape_rdn (RFC 4514), the one RDN escaping of the repository.

Plain Python: the order_check module (packed by AnsiballZ as ansible.module_utils.city_names),
the filter plugins and the unit tests import it unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

try:
    from ansible.module_utils.samba_ldap import escape_rdn
except ImportError:  # the filter plugins and the unit tests have module_utils on sys.path
    from samba_ldap import escape_rdn  # type: ignore[no-redef]

# The directory's layout: the OUs under the domain, and under each organisation.
ORGANISATIONS_OU = "Organisationer"
CITY_OU = "Gemensam IT"
ADMIN_OU = "Admin"
EDU_OU = "EDU"
USERS_OU = "Users"
GROUPS_OU = "Groups"
COMPUTERS_OU = "Computers"
SCHOOL_STAFF_OU = "Staff"
SCHOOL_STUDENTS_OU = "Students"

# The groups every organisation gets, by what they are for: <code>-<suffix>. The staff
# group holds every person of the organisation (home directories, the common share,
# printing, the servicedesk's queue); readers and writers open the common share; printer
# administrators administer the organisation's queues.
ORGANISATION_GROUPS = {
    "staff": "Personal",
    "file_read": "Fil-Las",
    "file_write": "Fil-Skriv",
    "printer_admins": "Skrivaradmin",
}
# <code>-<prefix><department id>
DEPARTMENT_GROUP_PREFIX = "Avd-"
# <code>-<infix>-<mailbox id>, whose address is <code in lower case>-<mailbox id>@<domain>
MAILBOX_GROUP_INFIX = "Brevlada"
# A school's groups, <code>-<school>-<suffix>; the pupils' group owns the school share's files.
SCHOOL_GROUPS = {"pupils": "Elever", "staff": "Personal"}
# The shares' names after the code, and their folders under the file server's root.
COMMON_SHARE = "Gemensam"
DEPARTMENTS_FOLDER = "Avdelningar"
SCHOOLS_FOLDER = "Skolor"
# Everybody's home folder, <root>/hem/<user> (the file_server role's __file_server_home_root).
HOMES_FOLDER = "hem"

# The city's CA in a Debian host's trust store (update-ca-certificates reads this folder).
CA_TRUST_DIR = "/usr/local/share/ca-certificates"
CA_TRUST_NAME = "gemensam-city-ca"


# ---------------------------------------------------------------------------
# The domain


def base_dn(domain: str) -> str:
    """The domain's DN from its realm or DNS domain: LAB.GEMENSAM.TEST -> DC=lab,DC=gemensam,DC=test."""
    return ",".join(f"DC={escape_rdn(label)}" for label in domain.lower().split("."))


def dns_domain(dn: str) -> str:
    """The DNS domain of a domain's DN (base_dn read backwards)."""
    return ".".join(part[3:] for part in dn.split(","))


def organisations_dn(base: str) -> str:
    """The OU under the domain that holds one OU per organisation."""
    return f"OU={escape_rdn(ORGANISATIONS_OU)},{base}"


def city_dn(base: str) -> str:
    """The OU under the domain that holds the city-wide groups and the services' accounts."""
    return f"OU={escape_rdn(CITY_OU)},{base}"


def child_dn(attribute: str, value: str, parent: str) -> str:
    """An entry's DN: attribute=value (escaped) under parent."""
    return f"{attribute}={escape_rdn(value)},{parent}"


# ---------------------------------------------------------------------------
# An organisation's names


def organisation_group(code: str, kind: str) -> str:
    """One of the groups every organisation gets (a key of ORGANISATION_GROUPS)."""
    return f"{code}-{ORGANISATION_GROUPS[kind]}"


def department_group(code: str, department_id: str) -> str:
    return f"{code}-{DEPARTMENT_GROUP_PREFIX}{department_id}"


def mailbox_group(code: str, mailbox_id: str) -> str:
    return f"{code}-{MAILBOX_GROUP_INFIX}-{mailbox_id}"


def mailbox_address(code: str, mailbox_id: str, mail_domain: str) -> str:
    return f"{code.lower()}-{mailbox_id}@{mail_domain}"


def school_key(site_id: str) -> str:
    """A school's part of its names: its site id without the organisation's prefix
    (utb_sodermalmsskolan -> sodermalmsskolan)."""
    return re.sub(r"^[^_]*_", "", site_id)


def school_group(code: str, site_id: str, kind: str) -> str:
    return f"{code}-{school_key(site_id)}-{SCHOOL_GROUPS[kind]}"


def schools(organisation: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The organisation's sites on the EDU network, by id."""
    return sorted((site for site in organisation.get("sites") or [] if site.get("network") == "edu"),
                  key=lambda site: site["id"])


def organisation_names(organisation: Mapping[str, Any], base: str | None = None,
                       mail_domain: str | None = None, mailboxes: Iterable[str] = ()) -> dict[str, Any]:
    """Every name of one organisation (a value of the inventory's city_organisations: code,
    departments, sites):

        code, groups {staff, file_read, file_write, printer_admins},
        departments {id: {group, share}}, common_share {name, path},
        schools {site id: {id, name, key, groups {pupils, staff}, share {name, path}}},
        mailboxes {id: {group}}

    with `mail_domain`, each mailbox's `address`; with the domain's DN `base`, the DNs:
    `dn` (the organisation's OU), `admin_dn` (where its users, groups and computers are:
    OU=Admin under it when it has schools, else the OU itself), `edu_dn` (None without
    schools), `users_dn`, `groups_dn`, `computers_dn`, each school's `dn`, `staff_dn`,
    `students_dn` and `computers_dn`, and `group_dns` {group name: DN} of every group.
    Share paths are relative to the file server's root."""
    code = str(organisation["code"])
    names: dict[str, Any] = {
        "code": code,
        "groups": {kind: organisation_group(code, kind) for kind in ORGANISATION_GROUPS},
        "common_share": {"name": f"{code}-{COMMON_SHARE}", "path": f"{code}/{COMMON_SHARE}"},
        "departments": {
            str(department["id"]): {
                "group": department_group(code, str(department["id"])),
                "share": {"name": f"{code}-{department['id']}",
                          "path": f"{code}/{DEPARTMENTS_FOLDER}/{department['id']}"},
            }
            for department in organisation.get("departments") or []
        },
        "schools": {
            site["id"]: {
                "id": site["id"],
                "name": site["name"],
                "key": school_key(site["id"]),
                "groups": {kind: school_group(code, site["id"], kind) for kind in SCHOOL_GROUPS},
                "share": {"name": f"{code}-{school_key(site['id'])}",
                          "path": f"{code}/{SCHOOLS_FOLDER}/{school_key(site['id'])}"},
            }
            for site in schools(organisation)
        },
        "mailboxes": {mailbox_id: {"group": mailbox_group(code, mailbox_id)} for mailbox_id in mailboxes},
    }
    if mail_domain is not None:
        for mailbox_id, mailbox in names["mailboxes"].items():
            mailbox["address"] = mailbox_address(code, mailbox_id, mail_domain)
    if base is not None:
        _add_dns(names, base)
    return names


def _add_dns(names: dict[str, Any], base: str) -> None:
    dn = child_dn("OU", names["code"], organisations_dn(base))
    has_schools = bool(names["schools"])
    admin_dn = child_dn("OU", ADMIN_OU, dn) if has_schools else dn
    groups_dn = child_dn("OU", GROUPS_OU, admin_dn)
    names.update(
        dn=dn,
        admin_dn=admin_dn,
        edu_dn=child_dn("OU", EDU_OU, dn) if has_schools else None,
        users_dn=child_dn("OU", USERS_OU, admin_dn),
        groups_dn=groups_dn,
        computers_dn=child_dn("OU", COMPUTERS_OU, admin_dn),
    )
    group_dns = {name: child_dn("CN", name, groups_dn) for name in names["groups"].values()}
    group_dns.update((mailbox["group"], child_dn("CN", mailbox["group"], groups_dn))
                     for mailbox in names["mailboxes"].values())
    group_dns.update((department["group"], child_dn("CN", department["group"], groups_dn))
                     for department in names["departments"].values())
    for school in names["schools"].values():
        school_dn = child_dn("OU", school["name"], names["edu_dn"])
        school.update(dn=school_dn,
                      staff_dn=child_dn("OU", SCHOOL_STAFF_OU, school_dn),
                      students_dn=child_dn("OU", SCHOOL_STUDENTS_OU, school_dn),
                      computers_dn=child_dn("OU", COMPUTERS_OU, school_dn))
        group_dns.update((name, child_dn("CN", name, school_dn)) for name in school["groups"].values())
    names["group_dns"] = group_dns
    for mailbox in names["mailboxes"].values():
        mailbox["dn"] = group_dns[mailbox["group"]]


def city_names(organisations: Mapping[str, Mapping[str, Any]], base: str | None = None,
               mail_domain: str | None = None, mailboxes: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """organisation_names of every organisation, by id."""
    mailboxes = list(mailboxes)
    return {org_id: organisation_names(org, base, mail_domain, mailboxes)
            for org_id, org in organisations.items()}


# ---------------------------------------------------------------------------
# The city's CA


def ca_trust_path(name: str | None = None) -> str:
    """The city CA's certificate in a host's trust store; `name` empty or None is the default."""
    return f"{CA_TRUST_DIR}/{name or CA_TRUST_NAME}.crt"
