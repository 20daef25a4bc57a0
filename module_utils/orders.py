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
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

try:
    from ansible.module_utils.personnel import MAX_USERNAME_LENGTH, numbered, username_base
except ImportError:  # the unit tests have module_utils on sys.path
    from personnel import MAX_USERNAME_LENGTH, numbered, username_base  # type: ignore[no-redef]

KINDS = ("new_user", "mover", "leaver", "new_workstation", "new_functional_mailbox")
ORDER_MARK = "Beställning #"
STAFF_SUFFIX = "Personal"
MAILBOX_GROUP_INFIX = "-Brevlada-"
_MAILBOX_ID = re.compile(r"^[a-z0-9]{2,20}$")
_SERIAL = re.compile(r"^[A-Za-z0-9-]{4,40}$")

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


def _rdn(value: str) -> str:
    return re.sub(r'([,+"\\<>;=])', r"\\\1", value)


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
        organisations_ou: str,
        department_prefix: str,
    ) -> None:
        self.source = source
        self.order = order
        self.organisations = organisations
        self.accounts = list(accounts)
        self.computers = list(computers)
        self.profiles = {profile["id"]: profile for profile in profiles}
        self.base_dn = base_dn
        self.mail_domain = mail_domain
        self.orgs_dn = f"OU={_rdn(organisations_ou)},{base_dn}"
        self.department_prefix = department_prefix

    def fail(self, key: str | None, message: str) -> OrderError:
        where = f"{self.source}: {key}" if key else self.source
        return OrderError(f"{where}: {message}")

    # -- fields --------------------------------------------------------------

    def check_fields(self, kind: str) -> None:
        if not isinstance(self.order, Mapping):
            raise self.fail(None, "the order must be a mapping of fields")
        known = FIELDS[kind]
        unknown = sorted(set(self.order) - set(known))
        if unknown:
            raise self.fail(unknown[0], f"is not a field of a {kind} order (its fields: {', '.join(known)})")
        for field, required in known.items():
            value = self.order.get(field)
            if required and (value is None or (isinstance(value, str) and not value.strip())):
                raise self.fail(field, f"is required for a {kind} order")
        ticket = self.order["ticket"]
        if isinstance(ticket, bool) or not str(ticket).isdigit() or int(ticket) < 1:
            raise self.fail("ticket", f"must be a ticket number, not {ticket!r}")

    def text(self, field: str) -> str:
        value = self.order.get(field)
        return "" if value is None else str(value).strip()

    @property
    def ticket(self) -> int:
        return int(self.order["ticket"])

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

    def admin_dn(self, org: Mapping[str, Any]) -> str:
        org_dn = f"OU={_rdn(org['code'])},{self.orgs_dn}"
        has_schools = any(site.get("network") == "edu" for site in org.get("sites") or [])
        return f"OU=Admin,{org_dn}" if has_schools else org_dn

    def department(self, org: Mapping[str, Any], field: str = "department") -> str:
        wanted = self.text(field)
        ids = [str(dept["id"]) for dept in org.get("departments") or []]
        if wanted not in ids:
            raise self.fail(
                field, f"{org['name']} has no department {wanted!r} (its departments: {', '.join(ids)})"
            )
        return wanted

    def org_groups(self, org: Mapping[str, Any], department: str) -> list[str]:
        return [f"{org['code']}-{STAFF_SUFFIX}", f"{org['code']}-{self.department_prefix}{department}"]

    def is_org_group(self, name: str) -> bool:
        """A staff or department group of any organisation: what a person's place is."""
        for org in self.organisations.values():
            code = str(org["code"])
            if name.casefold() == f"{code}-{STAFF_SUFFIX}".casefold():
                return True
            if name.casefold().startswith(f"{code}-{self.department_prefix}".casefold()):
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
        department = self.department(org)
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
        return self.result(
            "new_user",
            org_id,
            org,
            exists=holder is not None,
            user={
                "sam_account_name": username,
                "name": username,
                "path": f"OU=Users,{self.admin_dn(org)}",
                "upn": f"{username}@{'.'.join(part[3:] for part in self.base_dn.split(','))}",
                "firstname": given_name,
                "surname": surname,
                "display_name": f"{given_name} {surname}",
                "email": f"{username}@{self.mail_domain}",
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
        department = self.department(org)
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
                "path": f"OU=Users,{self.admin_dn(org)}",
                "department": next(d["name"] for d in org["departments"] if str(d["id"]) == department),
                "company": org["name"],
            },
            groups=[{"name": g, "members": [username], "state": "present"} for g in wanted]
            + [{"name": g, "members": [username], "state": "absent"} for g in leave],
        )

    def _organisation_of(self, account: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
        dn = _first(account.get("dn")).casefold()
        for org_id, org in self.organisations.items():
            if dn.endswith(f",OU={_rdn(org['code'])},{self.orgs_dn}".casefold()):
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
        if not _SERIAL.match(serial):
            raise self.fail("serial", f"{serial!r} is not a serial number (4-40 letters, digits and dashes)")
        assigned = self.text("assigned_user")
        if assigned and self.account_by_name(assigned) is None:
            raise self.fail("assigned_user", f"the directory has no account {assigned!r}")
        mark = order_mark(self.ticket)
        prefix = f"{str(org['code']).lower()}-{profile['kind']}-"
        mine = next((c for c in self.computers if mark in _first(c.get("description"))), None)
        if mine is not None:
            hostname = _first(mine.get("cn")).lower()
        else:
            same_serial = next(
                (
                    c
                    for c in self.computers
                    if f"serienummer {serial}".casefold() in _first(c.get("description")).casefold()
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
        if site.get("network") == "edu":
            school_dn = f"OU={_rdn(site['name'])},OU=EDU,OU={_rdn(org['code'])},{self.orgs_dn}"
            path = f"OU=Computers,{school_dn}"
        else:
            path = f"OU=Computers,{self.admin_dn(org)}"
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
        if not _MAILBOX_ID.match(mailbox_id):
            raise self.fail("id", f"{mailbox_id!r} must be 2-20 lower-case letters a-z and digits")
        members = self.order.get("members") or []
        if not isinstance(members, list):
            raise self.fail("members", "must be a list of user names")
        for member in members:
            if self.account_by_name(str(member)) is None:
                raise self.fail("members", f"the directory has no account {member!r}")
        name = f"{org['code']}{MAILBOX_GROUP_INFIX}{mailbox_id}"
        return self.result(
            "new_functional_mailbox",
            org_id,
            org,
            group={
                "name": name,
                "dn": f"CN={_rdn(name)},OU=Groups,{self.admin_dn(org)}",
                "mail": f"{str(org['code']).lower()}-{mailbox_id}@{self.mail_domain}",
                "description": self.text("description"),
                "members": [str(m) for m in members],
            },
        )


def plan_order(kind: str, order: Mapping[str, Any], **context: Any) -> dict[str, Any]:
    """The plan of one order of `kind` (see KINDS), or OrderError."""
    if kind not in KINDS:
        raise OrderError(f"unknown kind of order {kind!r} (known: {', '.join(KINDS)})")
    planner = Planner(order=order, **context)
    planner.check_fields(kind)
    return getattr(planner, kind)()
