# Gemensam IT: the servicedesk's orders, checked and worked out before anything changes.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an order (new user, mover, leaver, new workstation, new functional mailbox)
is to do, worked out from the order file, the city's organisations and what the
directory holds now, or an OrderError that names the file, the key and what is wrong.

Nothing here touches a host: the playbooks in playbooks/orders/ read the directory,
call plan_order() through the order_check module, and change things only when it
returns. The accounts an order makes carry `employeeType: Beställning #<ticket>`, so
that running the same order again finds its own work instead of a duplicate, and so
that the personnel exports' people (who have no such mark) are left to HR's data.
A computer's mark is the last part of its description and is compared whole
(description_parts): ticket 1 never takes the computer of ticket 12.

An order is read by read_order(), every value the string written, and checked in two
steps: first every field by its rule (RULES: the personnel exports' rules for names,
employee ids and departments; ASCII identifiers), all problems in one OrderError;
then against the city and the directory, stopping at the first problem. Nothing is
returned, and so nothing is changed, until both have passed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from email.utils import formataddr
from typing import Any

import yaml

try:
    from ansible.module_utils import city_names
    from ansible.module_utils.city_model import Invalid
    from ansible.module_utils.personnel import (
        MAX_USERNAME_LENGTH,
        ascii_pattern,
        department_problem,
        employee_id_rule,
        excerpt,
        free_text,
        numbered,
        person_name,
        string,
        title_rule,
        username_base,
        username_rule,
    )
except ImportError:  # the unit tests have module_utils on sys.path
    import city_names  # type: ignore[no-redef]
    from city_model import Invalid  # type: ignore[no-redef]
    from personnel import (  # type: ignore[no-redef]
        MAX_USERNAME_LENGTH,
        ascii_pattern,
        department_problem,
        employee_id_rule,
        excerpt,
        free_text,
        numbered,
        person_name,
        string,
        title_rule,
        username_base,
        username_rule,
    )

KINDS = ("new_user", "mover", "leaver", "new_workstation", "new_functional_mailbox")
ORDER_MARK = "Beställning #"
# An order file is a handful of lines; anything much larger is not one.
MAX_ORDER_BYTES = 64 * 1024
MAX_MEMBERS = 200
_TICKET = re.compile(r"[1-9][0-9]{0,8}\Z")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}\Z")
_MAILBOX_ID = re.compile(r"[a-z0-9]{2,20}\Z")
_SERIAL = re.compile(r"[A-Za-z0-9-]{4,40}\Z")
_FIELD_NAME = re.compile(r"[a-z_]{1,40}\Z")


def _members(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise Invalid("must be a list of user names")
    if len(value) > MAX_MEMBERS:
        raise Invalid(f"has {len(value)} user names (at most {MAX_MEMBERS})")
    members = []
    for index, member in enumerate(value):
        try:
            members.append(username_rule(string(member).strip()))
        except Invalid as problem:
            raise Invalid(f"item {index + 1}: {problem}") from None
    return members


# Every field of every order, with its rule: the rules of a person's fields are the
# personnel exports' own (module_utils/personnel.py); identifiers are ASCII, so that a
# look-alike (Cyrillic U+0430, fullwidth U+FF53, superscript U+00B2) is named, not matched
# or crashed on.
RULES: dict[str, Callable[[Any], Any]] = {
    "ticket": ascii_pattern(_TICKET, "a ticket number: 1 to 9 ASCII digits, not starting with 0"),
    "organisation": ascii_pattern(_TOKEN, "an organisation's id or code"),
    "given_name": person_name,
    "surname": person_name,
    "employee_id": employee_id_rule,
    "department": ascii_pattern(_TOKEN, "a department's id"),
    "title": title_rule,
    "username": username_rule,
    "assigned_user": username_rule,
    "site": ascii_pattern(_TOKEN, "a site's id"),
    "profile": ascii_pattern(_TOKEN, "an image profile's id"),
    "serial": ascii_pattern(_SERIAL, "a serial number: 4-40 letters, digits and dashes"),
    "model": free_text(64),
    "id": ascii_pattern(_MAILBOX_ID, "2-20 lower-case letters a-z and digits"),
    "description": free_text(200),
    "members": _members,
}

FIELDS: dict[str, dict[str, bool]] = {
    # field -> required
    "new_user": {
        "ticket": True,
        "organisation": True,
        "given_name": True,
        "surname": True,
        "employee_id": True,
        "department": True,
        "title": False,
    },
    "mover": {"ticket": True, "username": True, "department": True, "organisation": False},
    "leaver": {"ticket": True, "username": True},
    "new_workstation": {
        "ticket": True,
        "organisation": True,
        "site": True,
        "profile": True,
        "serial": True,
        "model": True,
        "assigned_user": False,
    },
    "new_functional_mailbox": {
        "ticket": True,
        "organisation": True,
        "id": True,
        "description": True,
        "members": False,
    },
}


class OrderError(ValueError):
    """An order that cannot be carried out, with the reason a person can act on."""


def order_mark(ticket: int) -> str:
    return f"{ORDER_MARK}{ticket}"


def description_parts(description: str) -> list[str]:
    """The parts of a computer's description, as the orders write it: "Profil <profile>,
    serienummer <serial>, Beställning #<ticket>". A part is compared whole, never searched
    for: "Beställning #1" is not a part of "..., Beställning #12"."""
    return [part.strip() for part in description.split(",")]


class _OrderLoader(yaml.BaseLoader):
    """YAML with every scalar a string, as written: `employee_id: 0123` is "0123", not 83,
    and `surname: No` is "No", not false. Repeated keys and aliases are refused. (The
    BaseLoader constructs strings, lists and mappings only: no tag makes an object.)"""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "an order has no aliases (*name)", self.peek_event().start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _value in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"{key!r} appears twice (first at line {seen[key]})", key_node.start_mark
                    )
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def read_order(path: str, source: str | None = None) -> Any:
    """The order in the file at `path`, every value a string (or a list of strings), or
    OrderError naming the file (`source`, the path by default) and what is wrong."""
    source = source or path
    try:
        with open(path, "rb") as stream:
            content = stream.read(MAX_ORDER_BYTES + 1)
    except OSError as error:
        raise OrderError(f"{source}: cannot read the order: {error.strerror}") from None
    if len(content) > MAX_ORDER_BYTES:
        raise OrderError(f"{source}: the order is larger than {MAX_ORDER_BYTES // 1024} KiB: not an order")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise OrderError(f"{source}: the order is not valid UTF-8 (byte {error.start + 1})") from None
    try:
        order = yaml.load(text, Loader=_OrderLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise OrderError(f"{source}: the order is not valid YAML{where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise OrderError(f"{source}: the order is not valid YAML: {error}") from None
    if order is None or order == "":
        raise OrderError(f"{source}: the order is empty")
    return order


def _first(value: Any) -> str:
    """An LDAP attribute as ldap_search returns it: a string, a list, or missing."""
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def _all(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    return [] if value in (None, "") else [str(value)]


def _cn(dn: str) -> str:
    match = re.match(r"(?i)^CN=((?:\\.|[^,])*),", dn)
    return re.sub(r"\\(.)", r"\1", match.group(1)) if match else ""


class Planner:
    """Works out one order against the city and the directory (see plan_order)."""

    def __init__(
        self,
        *,
        source: str,
        order: Mapping[str, Any],
        organisations: Mapping[str, Mapping[str, Any]],
        accounts: Iterable[Mapping[str, Any]],
        computers: Iterable[Mapping[str, Any]],
        profiles: Iterable[Mapping[str, Any]],
        base_dn: str,
        mail_domain: str,
    ) -> None:
        self.source = source
        self.order = order
        self.organisations = organisations
        self.accounts = list(accounts)
        self.computers = list(computers)
        self.profiles = {profile["id"]: profile for profile in profiles}
        self.base_dn = base_dn
        self.mail_domain = mail_domain
        # The order's values after check_fields: stripped strings, members a list of them.
        self.values: dict[str, Any] = {}

    def fail(self, key: str | None, message: str) -> OrderError:
        where = f"{self.source}: {key}" if key else self.source
        return OrderError(f"{where}: {message}")

    # -- fields --------------------------------------------------------------

    def check_fields(self, kind: str) -> None:
        """Every field against its rule (RULES), all problems in one OrderError, before the
        order is looked up in the city and the directory."""
        if not isinstance(self.order, Mapping):
            raise self.fail(None, "the order must be a mapping of fields")
        known = FIELDS[kind]
        problems: list[tuple[str, str]] = []
        for key in self.order:
            if key not in known:
                shown = key if isinstance(key, str) and _FIELD_NAME.match(key) else excerpt(str(key))
                problems.append((shown, f"is not a field of a {kind} order (its fields: {', '.join(known)})"))
        values: dict[str, Any] = {}
        for field, required in known.items():
            value = self.order.get(field)
            if isinstance(value, str):
                value = value.strip()
            if value is None or value == "":
                if required:
                    problems.append((field, f"is required for a {kind} order"))
                continue
            try:
                values[field] = RULES[field](value)
            except Invalid as problem:
                problems.append((field, str(problem)))
        if problems:
            raise OrderError("\n".join(f"{self.source}: {field}: {message}" for field, message in problems))
        self.values = values

    def text(self, field: str) -> str:
        return self.values.get(field, "")

    @property
    def ticket(self) -> int:
        return int(self.values["ticket"])

    # -- the city --------------------------------------------------------------

    def organisation(
        self, field: str = "organisation", value: str | None = None
    ) -> tuple[str, Mapping[str, Any]]:
        wanted = value if value is not None else self.text(field)
        if wanted in self.organisations:
            return wanted, self.organisations[wanted]
        for org_id, org in self.organisations.items():
            if str(org.get("code", "")).casefold() == wanted.casefold():
                return org_id, org
        raise self.fail(
            field, f"unknown organisation {wanted!r} (known: {', '.join(sorted(self.organisations))})"
        )

    def names(self, org: Mapping[str, Any]) -> dict[str, Any]:
        """The organisation's groups and DNs, as the city model names them (city_names)."""
        return city_names.organisation_names(org, self.base_dn, self.mail_domain)

    def department(self, org_id: str, org: Mapping[str, Any], field: str = "department") -> str:
        wanted = self.text(field)
        problem = department_problem(wanted, org_id, org)
        if problem:
            raise self.fail(field, problem)
        return wanted

    def org_groups(self, org: Mapping[str, Any], department: str) -> list[str]:
        code = str(org["code"])
        return [city_names.organisation_group(code, "staff"), city_names.department_group(code, department)]

    def is_org_group(self, name: str) -> bool:
        """A staff or department group of any organisation: what a person's place is."""
        for org in self.organisations.values():
            code = str(org["code"])
            if name.casefold() == city_names.organisation_group(code, "staff").casefold():
                return True
            # Any department's group, also of a department the city no longer has.
            if name.casefold().startswith(city_names.department_group(code, "").casefold()):
                return True
        return False

    # -- the directory ---------------------------------------------------------

    def account_by_name(self, username: str) -> Mapping[str, Any] | None:
        for account in self.accounts:
            if _first(account.get("sAMAccountName")).casefold() == username.casefold():
                return account
        return None

    def ordered_account(self, field: str = "username") -> Mapping[str, Any]:
        """The account an order may change: one an order made, not one of HR's people."""
        username = self.text(field)
        account = self.account_by_name(username)
        if account is None:
            raise self.fail(field, f"the directory has no account {username!r}")
        if not _first(account.get("employeeType")).startswith(ORDER_MARK):
            raise self.fail(
                field,
                f"{username} comes from a personnel export: HR's data changes that account, not an order",
            )
        return account

    def taken_usernames(self) -> set[str]:
        return {_first(account.get("sAMAccountName")).casefold() for account in self.accounts}

    # -- the orders ------------------------------------------------------------

    def result(self, kind: str, org_id: str, org: Mapping[str, Any], **details: Any) -> dict[str, Any]:
        """A plan: what every order has (kind, ticket, organisation) and its own details."""
        return {"kind": kind, "ticket": self.ticket, "organisation": org_id, "code": org["code"], **details}

    def new_user(self) -> dict[str, Any]:
        org_id, org = self.organisation()
        department = self.department(org_id, org)
        employee_id = self.text("employee_id")
        given_name, surname = self.text("given_name"), self.text("surname")
        mark = order_mark(self.ticket)
        holder = next(
            (a for a in self.accounts if _first(a.get("employeeID")).casefold() == employee_id.casefold()),
            None,
        )
        if holder is not None and _first(holder.get("employeeType")) != mark:
            raise self.fail(
                "employee_id",
                f"{employee_id} already has the account {_first(holder.get('sAMAccountName'))}"
                " (a duplicate person)",
            )
        if holder is not None:
            username = _first(holder.get("sAMAccountName"))
        else:
            try:
                base = username_base(given_name, surname)
            except ValueError as error:
                raise self.fail(
                    "given_name" if "given_name" in str(error) else "surname", str(error)
                ) from None
            taken = self.taken_usernames()
            username, number = base, 1
            while username.casefold() in taken:
                number += 1
                username = numbered(base, number)
        assert len(username) <= MAX_USERNAME_LENGTH
        email = f"{username}@{self.mail_domain}"
        return self.result(
            "new_user",
            org_id,
            org,
            exists=holder is not None,
            # The welcome mail's recipient, one address: the name RFC 2047-encoded (or
            # quoted), so that nothing in it can add a recipient or a header line.
            mail_to=formataddr((f"{given_name} {surname}", email)),
            user={
                "sam_account_name": username,
                "name": username,
                "path": self.names(org)["users_dn"],
                "upn": f"{username}@{city_names.dns_domain(self.base_dn)}",
                "firstname": given_name,
                "surname": surname,
                "display_name": f"{given_name} {surname}",
                "email": email,
                "employee_id": employee_id,
                "employee_type": mark,
                "title": self.text("title") or None,
                "department": next(d["name"] for d in org["departments"] if str(d["id"]) == department),
                "company": org["name"],
                "enabled": True,
            },
            groups=[
                {"name": group, "members": [username], "state": "present"}
                for group in self.org_groups(org, department)
            ],
        )

    def mover(self) -> dict[str, Any]:
        account = self.ordered_account()
        username = _first(account.get("sAMAccountName"))
        if self.text("organisation"):
            org_id, org = self.organisation()
        else:
            org_id, org = self._organisation_of(account)
        department = self.department(org_id, org)
        wanted = self.org_groups(org, department)
        current = [_cn(dn) for dn in _all(account.get("memberOf"))]
        leave = [
            g for g in current if self.is_org_group(g) and g.casefold() not in {w.casefold() for w in wanted}
        ]
        return self.result(
            "mover",
            org_id,
            org,
            user={
                "sam_account_name": username,
                "path": self.names(org)["users_dn"],
                "department": next(d["name"] for d in org["departments"] if str(d["id"]) == department),
                "company": org["name"],
            },
            groups=[{"name": g, "members": [username], "state": "present"} for g in wanted]
            + [{"name": g, "members": [username], "state": "absent"} for g in leave],
        )

    def _organisation_of(self, account: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
        dn = _first(account.get("dn")).casefold()
        for org_id, org in self.organisations.items():
            if dn.endswith(f",{self.names(org)['dn']}".casefold()):
                return org_id, org
        raise self.fail(
            "username", f"{_first(account.get('sAMAccountName'))} is in no organisation's OU ({dn})"
        )

    def leaver(self) -> dict[str, Any]:
        account = self.ordered_account()
        username = _first(account.get("sAMAccountName"))
        org_id, org = self._organisation_of(account)
        current = [_cn(dn) for dn in _all(account.get("memberOf"))]
        return self.result(
            "leaver",
            org_id,
            org,
            user={"sam_account_name": username, "enabled": False},
            groups=[
                {"name": g, "members": [username], "state": "absent"} for g in current if self.is_org_group(g)
            ],
        )

    def new_workstation(self) -> dict[str, Any]:
        org_id, org = self.organisation()
        site_id = self.text("site")
        site = next((s for s in org.get("sites") or [] if s["id"] == site_id), None)
        if site is None:
            ids = ", ".join(s["id"] for s in org.get("sites") or [])
            raise self.fail("site", f"{org['name']} has no site {site_id!r} (its sites: {ids})")
        profile_id = self.text("profile")
        profile = self.profiles.get(profile_id)
        if profile is None:
            raise self.fail(
                "profile",
                f"unknown image profile {profile_id!r} (profiles: {', '.join(sorted(self.profiles))})",
            )
        if profile["network"] != site.get("network", "admin"):
            raise self.fail(
                "profile",
                f"{profile_id} is for the {profile['network']} network, "
                f"but {site_id} is on the {site.get('network', 'admin')} network",
            )
        serial = self.text("serial")
        assigned = self.text("assigned_user")
        if assigned and self.account_by_name(assigned) is None:
            raise self.fail("assigned_user", f"the directory has no account {assigned!r}")
        mark = order_mark(self.ticket)
        prefix = f"{str(org['code']).lower()}-{profile['kind']}-"
        mine = next(
            (c for c in self.computers if mark in description_parts(_first(c.get("description")))), None
        )
        if mine is not None:
            hostname = _first(mine.get("cn")).lower()
        else:
            same_serial = next(
                (
                    c
                    for c in self.computers
                    if f"serienummer {serial}".casefold()
                    in (part.casefold() for part in description_parts(_first(c.get("description"))))
                ),
                None,
            )
            if same_serial is not None:
                raise self.fail(
                    "serial", f"{serial} is already registered as {_first(same_serial.get('cn'))}"
                )
            numbers = [
                int(m.group(1))
                for c in self.computers
                if (m := re.match(re.escape(prefix) + r"(\d+)$", _first(c.get("cn")).lower()))
            ]
            hostname = f"{prefix}{max(numbers, default=0) + 1:05d}"
        names = self.names(org)
        if site.get("network") == "edu":
            path = names["schools"][site_id]["computers_dn"]
        else:
            path = names["computers_dn"]
        return self.result(
            "new_workstation",
            org_id,
            org,
            exists=mine is not None,
            computer={
                "name": hostname.upper(),
                "dn": f"CN={hostname.upper()},{path}",
                "sam_account_name": f"{hostname.upper()}$",
                "description": f"Profil {profile_id}, serienummer {serial}, {mark}",
            },
            asset={
                "name": hostname,
                "description": f"{site['name']}: {profile['name']}",
                "fields": {
                    "Organisation": org["code"],
                    "Plats": site_id,
                    "Profil": profile_id,
                    "Serienummer": serial,
                    "Modell": self.text("model"),
                    "Användare": assigned,
                },
            },
        )

    def new_functional_mailbox(self) -> dict[str, Any]:
        org_id, org = self.organisation()
        mailbox_id = self.text("id")
        members = self.values.get("members", [])
        for member in members:
            if self.account_by_name(member) is None:
                raise self.fail("members", f"the directory has no account {member!r}")
        names = city_names.organisation_names(org, self.base_dn, self.mail_domain, [mailbox_id])
        mailbox = names["mailboxes"][mailbox_id]
        return self.result(
            "new_functional_mailbox",
            org_id,
            org,
            group={
                "name": mailbox["group"],
                "dn": mailbox["dn"],
                "mail": mailbox["address"],
                "description": self.text("description"),
                "members": members,
            },
        )


def plan_order(kind: str, order: Mapping[str, Any], **context: Any) -> dict[str, Any]:
    """The plan of one order of `kind` (see KINDS), or OrderError."""
    if kind not in KINDS:
        raise OrderError(f"unknown kind of order {kind!r} (known: {', '.join(KINDS)})")
    planner = Planner(order=order, **context)
    planner.check_fields(kind)
    return getattr(planner, kind)()
