"""A fake python-ldap: the `ldap` module the ad_* modules import, backed by a dict of entries.

Only the boundary is faked: what the modules call on python-ldap (initialize, set_option,
simple_bind_s, search_s, search_ext with result3 and the paged-results control, add_s,
modify_s, rename_s, delete_s, unbind_s) and its constants and errors. Searches understand
the filters the modules send (&, |, =, =*), match values without regard to case as AD does
for the attributes involved, return AD's range retrieval for `member` when a group has more
than RANGE members, and answer a paged search PAGE entries at a time. Every write is
recorded in `writes`, so a test can assert that check mode wrote nothing, and every search
(each page) in `searches`.
"""

from __future__ import annotations

import re
import types
from typing import Any

BASE = "DC=stad,DC=stockholm,DC=test"


class LDAPError(Exception):
    pass


class NO_SUCH_OBJECT(LDAPError):
    pass


class ALREADY_EXISTS(LDAPError):
    pass


class CONSTRAINT_VIOLATION(LDAPError):
    pass


def key(dn: str) -> str:
    return ",".join(part.strip().lower() for part in re.split(r"(?<!\\),", dn))


def parse_filter(text: str) -> Any:
    """'(&(a=b)(|(c=*)(d=e)))' → ('&', [('=', 'a', 'b'), ('|', [...])])."""
    position = 0

    def node() -> Any:
        nonlocal position
        assert text[position] == "(", text[position:]
        position += 1
        if text[position] in "&|":
            operator = text[position]
            position += 1
            children = []
            while text[position] == "(":
                children.append(node())
            position += 1
            return (operator, children)
        end = text.index(")", position)
        attribute, value = text[position:end].split("=", 1)
        position = end + 1
        value = re.sub(r"\\([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), value)
        return ("=", attribute.lower(), value)

    return node()


def matches(tree: Any, attributes: dict[str, list[bytes]], dn: str) -> bool:
    if tree[0] == "&":
        return all(matches(child, attributes, dn) for child in tree[1])
    if tree[0] == "|":
        return any(matches(child, attributes, dn) for child in tree[1])
    _, name, value = tree
    if name == "distinguishedname":
        return key(value) == key(dn)
    values = [v.decode().lower() for k, vs in attributes.items() if k.lower() == name for v in vs]
    if value == "*":
        return bool(values)
    return value.lower() in values


class Server:
    """The directory: DN → attributes (name → list of bytes), and the writes made."""

    RANGE = 1500
    # Entries per page of a paged search, at most what the client asks for.
    PAGE = 1000

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, dict[str, list[bytes]]]] = {}
        self.writes: list[tuple[str, Any]] = []
        self.searches: list[tuple[str, str]] = []
        self._pending: dict[int, Any] = {}
        self.binds: list[tuple[str, str]] = []
        self.options: dict[Any, Any] = {}
        self.uri: str | None = None

    # Test set-up

    def put(self, dn: str, **attributes: Any) -> None:
        values = {
            name: [
                v.encode() if isinstance(v, str) else v
                for v in (value if isinstance(value, list) else [value])
            ]
            for name, value in attributes.items()
        }
        self.entries[key(dn)] = (dn, values)

    def user(self, dn: str, sam: str, uac: int = 512, **attributes: Any) -> None:
        cn = re.match(r"CN=((?:\\.|[^,])*)", dn).group(1)
        self.put(
            dn,
            objectClass=["top", "person", "organizationalPerson", "user"],
            cn=cn,
            sAMAccountName=sam,
            userAccountControl=str(uac),
            **attributes,
        )

    def group(self, dn: str, sam: str, members: list[str] | None = None) -> None:
        attributes: dict[str, Any] = {"objectClass": ["top", "group"], "sAMAccountName": sam}
        if members:
            attributes["member"] = members
        self.put(dn, **attributes)

    def get(self, dn: str) -> dict[str, list[str]]:
        return {
            name: [
                v.decode("utf-8") if name.lower() != "unicodepwd" else v.decode("utf-16-le") for v in values
            ]
            for name, values in self.entries[key(dn)][1].items()
        }

    def has(self, dn: str) -> bool:
        return key(dn) in self.entries

    # python-ldap's connection

    def set_option(self, option: Any, value: Any) -> None:
        self.options[option] = value

    def simple_bind_s(self, who: str, password: str) -> None:
        self.binds.append((who, password))

    def unbind_s(self) -> None:
        pass

    def search_s(self, base: str, scope: int, filterstr: str, attrlist: list[str]) -> list[Any]:
        self.searches.append((base, filterstr))
        return self._search(base, scope, filterstr, attrlist)

    def search_ext(self, base: str, scope: int, filterstr: str, attrlist: list[str],
                   serverctrls: list[Any] | None = None) -> int:
        """A search whose answer result3 gives; with the paged-results control, one page."""
        self.searches.append((base, filterstr))
        paging = next((c for c in serverctrls or [] if c.controlType == PAGED_RESULTS), None)
        try:
            results = self._search(base, scope, filterstr, attrlist)
        except LDAPError as error:
            results = error
        message = len(self.searches)
        if paging is None or isinstance(results, LDAPError):
            self._pending[message] = (results, [])
            return message
        start = int(paging.cookie or b"0")
        size = min(paging.size, self.PAGE)
        end = start + size
        cookie = str(end).encode() if end < len(results) else b""
        self._pending[message] = (results[start:end], [SimplePagedResultsControl(False, size, cookie)])
        return message

    def result3(self, msgid: int) -> tuple[int, list[Any], int, list[Any]]:
        results, controls = self._pending.pop(msgid)
        if isinstance(results, LDAPError):
            raise results
        return (RES_SEARCH_RESULT, results, msgid, controls)

    def _search(self, base: str, scope: int, filterstr: str, attrlist: list[str]) -> list[Any]:
        if base == "" and scope == SCOPE_BASE:
            return [("", {"defaultNamingContext": [BASE.encode()]})]
        if scope == SCOPE_BASE:
            if key(base) not in self.entries:
                raise NO_SUCH_OBJECT({"desc": "No such object"})
            candidates = [self.entries[key(base)]]
        else:
            candidates = [entry for k, entry in self.entries.items() if k.endswith(key(base))]
        tree = parse_filter(filterstr)
        results = []
        for dn, attributes in candidates:
            if matches(tree, attributes, dn):
                results.append((dn, self._select(attributes, attrlist)))
        return results

    def _select(self, attributes: dict[str, list[bytes]], attrlist: list[str]) -> dict[str, list[bytes]]:
        selected = {}
        for wanted in attrlist:
            name, _, ranged = wanted.partition(";range=")
            for actual, values in attributes.items():
                if actual.lower() != name.lower():
                    continue
                low = int(ranged.split("-")[0]) if ranged else 0
                if len(values) > self.RANGE or ranged:
                    high = low + self.RANGE - 1
                    end = "*" if high >= len(values) - 1 else str(high)
                    selected[f"{actual};range={low}-{end}"] = values[low : high + 1]
                else:
                    selected[actual] = list(values)
        return selected

    def add_s(self, dn: str, modlist: list[tuple[str, list[bytes]]]) -> None:
        if key(dn) in self.entries:
            raise ALREADY_EXISTS({"desc": "Already exists"})
        self.writes.append(("add", dn))
        self.entries[key(dn)] = (dn, {name: list(values) for name, values in modlist})

    def modify_s(self, dn: str, modlist: list[tuple[int, str, list[bytes] | None]]) -> None:
        if key(dn) not in self.entries:
            raise NO_SUCH_OBJECT({"desc": "No such object"})
        self.writes.append(("modify", dn, modlist))
        attributes = self.entries[key(dn)][1]
        for operation, name, values in modlist:
            actual = next((a for a in attributes if a.lower() == name.lower()), name)
            if operation == MOD_REPLACE:
                attributes[actual] = list(values or [])
            elif operation == MOD_ADD:
                attributes.setdefault(actual, []).extend(values or [])
            elif values is None:
                attributes.pop(actual, None)
            else:
                remove = {key(v.decode()) for v in values}
                attributes[actual] = [v for v in attributes.get(actual, []) if key(v.decode()) not in remove]

    def rename_s(self, dn: str, newrdn: str, newsuperior: str | None = None, delold: int = 1) -> None:
        self.writes.append(("rename", dn, newrdn, newsuperior))
        old_dn, attributes = self.entries.pop(key(dn))
        parent = newsuperior or old_dn.split(",", 1)[1]
        new_dn = f"{newrdn},{parent}"
        self.entries[key(new_dn)] = (new_dn, attributes)

    def delete_s(self, dn: str) -> None:
        self.writes.append(("delete", dn))
        del self.entries[key(dn)]


SCOPE_BASE, SCOPE_ONELEVEL, SCOPE_SUBTREE = 0, 1, 2
MOD_ADD, MOD_DELETE, MOD_REPLACE = 0, 1, 2
RES_SEARCH_RESULT = 101
PAGED_RESULTS = "1.2.840.113556.1.4.319"


class SimplePagedResultsControl:
    """ldap.controls.SimplePagedResultsControl: the page size asked for, and the cookie."""

    controlType = PAGED_RESULTS

    def __init__(self, criticality: bool = False, size: int = 10, cookie: str | bytes = "") -> None:
        self.criticality = criticality
        self.size = size
        self.cookie = cookie.encode() if isinstance(cookie, str) else cookie


def module(server: Server) -> types.ModuleType:
    """An `ldap` module whose initialize() returns `server`."""
    fake = types.ModuleType("ldap")
    fake.LDAPError = LDAPError
    fake.NO_SUCH_OBJECT = NO_SUCH_OBJECT
    fake.ALREADY_EXISTS = ALREADY_EXISTS
    fake.CONSTRAINT_VIOLATION = CONSTRAINT_VIOLATION
    fake.SCOPE_BASE, fake.SCOPE_ONELEVEL, fake.SCOPE_SUBTREE = SCOPE_BASE, SCOPE_ONELEVEL, SCOPE_SUBTREE
    fake.MOD_ADD, fake.MOD_DELETE, fake.MOD_REPLACE = MOD_ADD, MOD_DELETE, MOD_REPLACE
    fake.controls = types.SimpleNamespace(SimplePagedResultsControl=SimplePagedResultsControl)
    for number, name in enumerate(
        [
            "OPT_X_TLS_CACERTFILE",
            "OPT_X_TLS_REQUIRE_CERT",
            "OPT_X_TLS_NEVER",
            "OPT_PROTOCOL_VERSION",
            "OPT_REFERRALS",
        ]
    ):
        setattr(fake, name, f"option-{number}-{name}")

    def initialize(uri: str) -> Server:
        server.uri = uri
        return server

    fake.initialize = initialize
    fake.set_option = server.set_option
    return fake
