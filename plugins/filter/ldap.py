"""Jinja filters for building LDAP filters and DNs in tasks and templates.

`ldap_escape_filter` is module_utils/samba_ldap.py's escape_filter (RFC 4515): the
ad_* modules and the roles' `net ads search -P` filters escape values the same way.
`ldap_escape_rdn` is its escape_rdn (RFC 4514), the one RDN escaping of the repository,
which the city model's DNs (module_utils/city_names.py) are made with too.

    "(sAMAccountName={{ name | ldap_escape_filter }})"
    "(memberOf={{ dn | ldap_escape_filter }})"   # a DN's own '\\,' becomes '\\5c,'
    "CN={{ name | ldap_escape_rdn }},{{ parent_dn }}"
"""

from __future__ import annotations

import sys
from pathlib import Path

# Ansible puts module_utils on the path of modules only, not of controller plugins
# (plugins/inventory/city.py does the same).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "module_utils"))

import samba_ldap  # found through the path set just above


def ldap_escape_filter(value: object) -> str:
    """value as an assertion value of an LDAP filter: '*', '(', ')', '\\' and NUL escaped."""
    return samba_ldap.escape_filter(str(value))


def ldap_escape_rdn(value: object) -> str:
    """value as the value of an RDN: ',+"\\<>;=' escaped, and a leading '#' or space and a
    trailing space."""
    return samba_ldap.escape_rdn(str(value))


class FilterModule:
    def filters(self) -> dict:
        return {"ldap_escape_filter": ldap_escape_filter, "ldap_escape_rdn": ldap_escape_rdn}
