"""LDAP access to a Samba (or any Active Directory) domain controller for the ad_* modules.

The modules run on the domain controller and bind over LDAPS to its own name, as the
directory role's tree does: Samba refuses simple binds without TLS, and AD only accepts
passwords (unicodePwd) over an encrypted connection.

python-ldap is imported when a connection is opened, never at import time, so the unit
tests put a fake `ldap` module in sys.modules and the module documentation can be read
where python-ldap is not installed. Everything else here is plain Python: escaping of
filters and DN values (RFC 4515, RFC 4514), DN comparison, userAccountControl bits and
the password encoding.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterable, Mapping
from typing import Any

# userAccountControl bits (MS-ADTS 2.2.16).
ACCOUNTDISABLE = 0x0002
NORMAL_ACCOUNT = 0x0200

# Active Directory answers at most MaxPageSize (1000) entries to one search; queries that
# name entries are cut into chunks well below that.
SEARCH_CHUNK = 200
# Entries per page of a paged search (community.general.ldap_search's page_size in tasks/people.yml).
PAGE_SIZE = 500

CONNECTION_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "server_uri": {"type": "str", "required": True},
    "bind_dn": {"type": "str", "required": True},
    "bind_pw": {"type": "str", "required": True, "no_log": True},
    "ca_path": {"type": "path"},
    "validate_certs": {"type": "bool", "default": True},
    "search_base": {"type": "str"},
}


class DirectoryError(Exception):
    """A problem the module reports as its failure message."""


def import_ldap() -> Any:
    try:
        return importlib.import_module("ldap")
    except ImportError as error:
        raise DirectoryError("python-ldap is required on the host the module runs on "
                             "(Debian: python3-ldap)") from error


# ---------------------------------------------------------------------------
# Plain helpers


def escape_filter(value: str) -> str:
    """A value for an LDAP filter (RFC 4515)."""
    out = []
    for character in value:
        if character in "*()\\\0":
            out.append(f"\\{ord(character):02x}")
        else:
            out.append(character)
    return "".join(out)


def escape_rdn(value: str) -> str:
    """A value for an RDN (RFC 4514): 'Öberg, Åsa' → 'Öberg\\, Åsa'."""
    escaped = "".join(f"\\{c}" if c in ',+"\\<>;=' else c for c in value)
    if escaped.startswith((" ", "#")):
        escaped = "\\" + escaped
    if escaped.endswith(" ") and not escaped.endswith("\\ "):
        escaped = escaped[:-1] + "\\ "
    return escaped


def _strip_blanks(rdn: str) -> str:
    """rdn without the blanks around it; an escaped blank at its end ('CN=x\\ ') stays."""
    rdn = rdn.lstrip()
    while rdn.endswith(" "):
        backslashes = len(rdn[:-1]) - len(rdn[:-1].rstrip("\\"))
        if backslashes % 2:
            break
        rdn = rdn[:-1]
    return rdn


def split_dn(dn: str) -> list[str]:
    """The RDNs of a DN, split at unescaped commas, still escaped."""
    parts, current, escaped = [], [], False
    for character in dn:
        if escaped:
            current.append(character)
            escaped = False
        elif character == "\\":
            current.append(character)
            escaped = True
        elif character == ",":
            parts.append(_strip_blanks("".join(current)))
            current = []
        else:
            current.append(character)
    if current or parts:
        parts.append(_strip_blanks("".join(current)))
    return parts


def unescape_dn_value(value: str) -> str:
    """An RDN's value as it reads (RFC 4514): '\\,' → ',' and '\\3B' → ';'. Samba writes some
    characters as a hex pair (';', '=', CR, LF) where escape_rdn writes a backslash and the
    character; multi-byte pairs ('\\C3\\A5') are UTF-8."""
    out = bytearray()
    position = 0
    while position < len(value):
        character = value[position]
        pair = value[position + 1:position + 3]
        if character == "\\" and len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
            out.append(int(pair, 16))
            position += 3
        elif character == "\\" and pair:
            out.extend(pair[0].encode("utf-8"))
            position += 2
        else:
            out.extend(character.encode("utf-8"))
            position += 1
    return out.decode("utf-8", errors="replace")


def normalise_dn(dn: str) -> str:
    """A DN for comparison: AD compares DNs without regard to case, blanks around RDNs or how
    a value's special characters are escaped ('\\;' or '\\3B')."""
    normalised = []
    for rdn in split_dn(dn):
        kind, equals, value = rdn.partition("=")
        if not equals:
            normalised.append(rdn.casefold())
            continue
        value = escape_rdn(unescape_dn_value(_strip_blanks(value)))
        normalised.append(f"{kind.strip().casefold()}={value.casefold()}")
    return ",".join(normalised)


def parent_dn(dn: str) -> str:
    return ",".join(split_dn(dn)[1:])


def first_rdn(dn: str) -> str:
    return split_dn(dn)[0]


def same_dn(one: str, other: str) -> bool:
    return normalise_dn(one) == normalise_dn(other)


def encode_password(password: str) -> bytes:
    """unicodePwd: the password in double quotes, UTF-16LE (MS-ADTS 3.1.1.3.1.5.2)."""
    return f'"{password}"'.encode("utf-16-le")


def account_control(current: int | None, enabled: bool) -> int:
    """userAccountControl with the ACCOUNTDISABLE bit as wanted and NORMAL_ACCOUNT set;
    every other bit is kept as it is."""
    value = NORMAL_ACCOUNT if current is None else current | NORMAL_ACCOUNT
    return (value & ~ACCOUNTDISABLE) | (0 if enabled else ACCOUNTDISABLE)


def text(values: Iterable[bytes] | None) -> list[str]:
    return [value.decode("utf-8") if isinstance(value, bytes) else str(value) for value in values or []]


def chunks(items: list[Any], size: int = SEARCH_CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Entry:
    """A search result with case-insensitive attribute names and text values."""

    def __init__(self, dn: str, attributes: Mapping[str, Iterable[bytes]]) -> None:
        self.dn = dn
        self.attributes = {name.lower(): text(values) for name, values in attributes.items()}

    def get(self, name: str) -> str | None:
        values = self.attributes.get(name.lower())
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return self.attributes.get(name.lower(), [])


# ---------------------------------------------------------------------------
# The connection


class Directory:
    """A bound connection to a domain controller.

    `check_mode` turns every write into a no-op that is still counted in `writes`, so that
    callers report what would change the same way in both modes."""

    def __init__(self, params: Mapping[str, Any], check_mode: bool = False) -> None:
        self.params = params
        self.check_mode = check_mode
        self.ldap = import_ldap()
        self.writes: list[tuple[str, str]] = []
        self.connection = self._bind()
        self.base = params.get("search_base") or self._default_naming_context()

    @property
    def encrypted(self) -> bool:
        return self.params["server_uri"].lower().startswith(("ldaps://", "ldapi://"))

    def _bind(self) -> Any:
        ldap = self.ldap
        params = self.params
        try:
            if params.get("ca_path"):
                ldap.set_option(ldap.OPT_X_TLS_CACERTFILE, params["ca_path"])
            if not params.get("validate_certs", True):
                ldap.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_NEVER)
            connection = ldap.initialize(params["server_uri"])
            connection.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
            # AD hands out referrals to other partitions; follow none of them.
            connection.set_option(ldap.OPT_REFERRALS, 0)
            connection.simple_bind_s(params["bind_dn"], params["bind_pw"])
        except ldap.LDAPError as error:
            raise DirectoryError(f"Cannot bind to {params['server_uri']} as {params['bind_dn']}: "
                                 f"{describe(error)}") from error
        return connection

    def _default_naming_context(self) -> str:
        results = self.search("", "(objectClass=*)", ["defaultNamingContext"], scope="base")
        base = results[0].get("defaultNamingContext") if results else None
        if not base:
            raise DirectoryError("The server's root DSE names no defaultNamingContext: set search_base")
        return base

    def search(self, base: str, ldap_filter: str, attributes: list[str],
               scope: str = "subtree") -> list[Entry]:
        ldap = self.ldap
        scopes = {"base": ldap.SCOPE_BASE, "onelevel": ldap.SCOPE_ONELEVEL, "subtree": ldap.SCOPE_SUBTREE}
        try:
            results = self.connection.search_s(base, scopes[scope], ldap_filter, attributes)
        except ldap.NO_SUCH_OBJECT:
            return []
        except ldap.LDAPError as error:
            raise DirectoryError(f"Search of {base or 'the root DSE'} for {ldap_filter} failed: "
                                 f"{describe(error)}") from error
        # Referrals come back with a DN of None.
        return [Entry(dn, attrs) for dn, attrs in results if dn is not None]

    def search_paged(self, base: str, ldap_filter: str, attributes: list[str],
                     scope: str = "subtree", page_size: int = PAGE_SIZE) -> list[Entry]:
        """Every entry a search finds, however many: AD answers at most MaxPageSize (1000)
        entries to a search without the paged-results control (RFC 2696)."""
        ldap = self.ldap
        scopes = {"base": ldap.SCOPE_BASE, "onelevel": ldap.SCOPE_ONELEVEL, "subtree": ldap.SCOPE_SUBTREE}
        controls = getattr(ldap, "controls", None) or importlib.import_module("ldap.controls")
        paging = controls.SimplePagedResultsControl(True, size=page_size, cookie="")
        found: list[Entry] = []
        try:
            while True:
                message = self.connection.search_ext(base, scopes[scope], ldap_filter, attributes,
                                                     serverctrls=[paging])
                _, results, _, answered = self.connection.result3(message)
                # Referrals come back with a DN of None.
                found.extend(Entry(dn, attrs) for dn, attrs in results if dn is not None)
                cookie = next((control.cookie for control in answered
                               if control.controlType == paging.controlType), None)
                if not cookie:
                    return found
                paging.cookie = cookie
        except ldap.NO_SUCH_OBJECT:
            return found
        except ldap.LDAPError as error:
            raise DirectoryError(f"Search of {base or 'the root DSE'} for {ldap_filter} failed: "
                                 f"{describe(error)}") from error

    def find(self, object_class: str, attribute: str, values: Iterable[str],
             attributes: list[str]) -> list[Entry]:
        """Entries of the class whose attribute has one of the values, in chunked searches."""
        wanted = sorted(set(values))
        found: list[Entry] = []
        for chunk in chunks(wanted):
            alternatives = "".join(f"({attribute}={escape_filter(value)})" for value in chunk)
            ldap_filter = f"(&(objectClass={object_class})(|{alternatives}))"
            found.extend(self.search(self.base, ldap_filter, attributes))
        return found

    def lookup(self, object_class: str, keys: Mapping[str, Iterable[str]],
               attributes: list[str]) -> list[Entry]:
        """Entries of the class that have one of the values of any of the key attributes, in one
        search whatever their number: a filter naming them while they fit in one (SEARCH_CHUNK
        values), else one paged read of every entry of the class under the base that has a key
        attribute. The second answer is a superset (callers index it by the key attributes); it
        costs one pass over the class where the first would cost a search per chunk, each a scan
        of the domain where an attribute (employeeID) is not indexed."""
        wanted = {attribute: sorted(set(values)) for attribute, values in keys.items()}
        alternatives = [f"({attribute}={escape_filter(value)})"
                        for attribute, values in wanted.items() for value in values]
        if not alternatives:
            return []
        if len(alternatives) <= SEARCH_CHUNK:
            return self.search(self.base, f"(&(objectClass={object_class})(|{''.join(alternatives)}))",
                               attributes)
        present = "".join(f"({attribute}=*)" for attribute in wanted)
        return self.search_paged(self.base, f"(&(objectClass={object_class})(|{present}))", attributes)

    def entry(self, dn: str, attributes: list[str]) -> Entry | None:
        results = self.search(dn, "(objectClass=*)", attributes, scope="base")
        return results[0] if results else None

    def values_of(self, entry: Entry, attribute: str) -> list[str]:
        """All values of a multi-valued attribute, also when the server returns them in ranges
        (AD's range retrieval: 'member;range=0-1499')."""
        name = attribute.lower()
        ranged = [key for key in entry.attributes if key.startswith(name + ";range=")]
        if not ranged:
            return entry.all(attribute)
        values: list[str] = []
        key = ranged[0]
        while True:
            values.extend(entry.attributes[key])
            low_high = key.split("=", 1)[1]
            high = low_high.split("-", 1)[1]
            if high == "*":
                return values
            more = self.entry(entry.dn, [f"{attribute};range={int(high) + 1}-*"])
            keys = [k for k in (more.attributes if more else {}) if k.startswith(name + ";range=")]
            if not keys:
                return values
            entry, key = more, keys[0]

    # Writes: recorded, and skipped in check mode.

    def _write(self, action: str, dn: str, call: Any, *args: Any) -> None:
        self.writes.append((action, dn))
        if self.check_mode:
            return
        try:
            call(*args)
        except self.ldap.LDAPError as error:
            raise DirectoryError(f"Cannot {action} {dn}: {describe(error)}") from error

    def add(self, dn: str, attributes: Mapping[str, list[bytes]]) -> None:
        self._write("add", dn, self.connection.add_s, dn, list(attributes.items()))

    def modify(self, dn: str, changes: list[tuple[int, str, list[bytes] | None]]) -> None:
        if changes:
            self._write("modify", dn, self.connection.modify_s, dn, changes)

    def move(self, dn: str, new_rdn: str, new_parent: str) -> None:
        self._write("move", dn, self.connection.rename_s, dn, new_rdn, new_parent, True)

    def delete(self, dn: str) -> None:
        self._write("delete", dn, self.connection.delete_s, dn)

    def close(self) -> None:
        # Closing is best effort: the work is done.
        with contextlib.suppress(Exception):
            self.connection.unbind_s()

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def describe(error: Exception) -> str:
    """python-ldap's errors carry a dict with 'desc' and often 'info' (Samba's reason)."""
    detail = error.args[0] if error.args else error
    if isinstance(detail, dict):
        parts = [str(detail.get("desc", "")), str(detail.get("info", ""))]
        return ": ".join(part for part in parts if part) or repr(error)
    return str(detail)
