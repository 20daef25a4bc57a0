"""The old accounts of a committee, matched to the directory's people (issue 11, People).

An old account is matched by employee id when the old system recorded one, else by its
full name against the personnel export, and only among the committee's own people. The
name rule: the words of both names folded to the letters a-z (personnel.fold: "Åsa
Lindström", "ÅSA  LINDSTRÖM" and "Lindström, Åsa" are the same name) and compared whole,
never a part. An account that does not reach exactly one person who has, or will have, a
directory account is held with its reason: nothing is dropped without a line saying why.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))
import personnel

# Accounts every Windows 2000/2003 server and Exchange 2003 has, which are nobody's (and
# root, as which the lab's stand-in lists its Administrator).
BUILT_IN = re.compile(
    r"(administrator|guest|root|krbtgt|helpassistant|support_388945a0|tsinternetuser"
    r"|iusr_.*|iwam_.*|aspnet|sql.*svc|exchange.*|smtp.*|systemmailbox.*)\Z",
    re.IGNORECASE,
)
MAX_FIELD_LENGTH = 256


@dataclass(frozen=True)
class OldAccount:
    """A local account as discovery read it from an old server."""

    server: str
    name: str
    full_name: str = ""
    employee_id: str = ""


@dataclass(frozen=True)
class Matched:
    account: OldAccount
    employee_id: str
    username: str
    rule: str  # "employee id" or "name"


@dataclass(frozen=True)
class Held:
    account: OldAccount
    reason: str


@dataclass(frozen=True)
class AccountMap:
    matched: tuple[Matched, ...]
    held: tuple[Held, ...]

    def username_of(self, server: str, name: str) -> str | None:
        """The new user name of an old account; the old server compares names without case."""
        for match in self.matched:
            if match.account.server == server and match.account.name.casefold() == name.casefold():
                return match.username
        return None


def checked_text(value: Any, field: str, account: str) -> str:
    """What an old server said, as a string that is safe to compare and to print."""
    if not isinstance(value, str):
        raise ValueError(f"old account {account!r}: {field} must be a string, got {type(value).__name__}")
    if len(value) > MAX_FIELD_LENGTH:
        raise ValueError(f"old account {account!r}: {field} is longer than {MAX_FIELD_LENGTH} characters")
    for index, character in enumerate(value):
        if unicodedata.category(character) in ("Cc", "Cf", "Zl", "Zp"):
            raise ValueError(f"old account {account!r}: {field} has the control character "
                             f"U+{ord(character):04X} at position {index + 1}")
    return value


# How the old servers recorded an employee id in an account's description.
EMPLOYEE_ID_IN_DESCRIPTION = re.compile(r"\bAnst\.?\s?nr\.?:?\s*([A-Za-z0-9][A-Za-z0-9_-]{0,19})\b",
                                        re.IGNORECASE)


def old_account(server: str, fields: Mapping[str, Any]) -> OldAccount:
    """An account as discovery recorded it: an employee id given, or written in the
    description as the old servers did ("Anst.nr 100001")."""
    name = checked_text(fields.get("name"), "name", str(fields.get("name"))[:40])
    if not name.strip():
        raise ValueError(f"an old account of {server} has an empty name")
    return OldAccount(
        server=checked_text(server, "server", name),
        name=name,
        full_name=checked_text(fields.get("full_name", ""), "full_name", name),
        employee_id=(checked_text(fields.get("employee_id", ""), "employee_id", name).strip()
                     or employee_id_in(checked_text(fields.get("description", ""), "description", name))),
    )


def employee_id_in(description: str) -> str:
    found = EMPLOYEE_ID_IN_DESCRIPTION.search(description)
    return found[1] if found else ""


def name_key(full_name: str) -> str:
    """The name rule: 'Lindström, Åsa' → 'asa lindstrom'."""
    if full_name.count(",") == 1:
        surname, given = full_name.split(",")
        full_name = f"{given} {surname}"
    words = (personnel.fold(word) for word in full_name.split())
    return " ".join(word for word in words if word)


def map_accounts(accounts: Iterable[OldAccount], people: Iterable[Mapping[str, Any]],
                 organisation: str) -> AccountMap:
    """Match every old account of `organisation`'s servers to one of its people.

    `people` are personnel.load_people's records (employee_id, given_name, surname,
    organisation, username, status)."""
    everyone = {person["employee_id"]: person for person in people}
    own = [person for person in everyone.values() if person["organisation"] == organisation]
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for person in own:
        by_name.setdefault(name_key(f"{person['given_name']} {person['surname']}"), []).append(person)

    matched: list[Matched] = []
    held: list[Held] = []
    for account in sorted(accounts, key=lambda a: (a.server, a.name.casefold())):
        if BUILT_IN.match(account.name):
            held.append(Held(account, "a built-in or service account of the old server, not a person"))
            continue
        if account.employee_id:
            person = everyone.get(account.employee_id)
            rule = "employee id"
            if person is None:
                held.append(Held(account, f"employee id {account.employee_id} is in no personnel export"))
                continue
            if person["organisation"] != organisation:
                held.append(Held(account, f"employee id {account.employee_id} is a person of "
                                          f"{person['organisation']}, not of {organisation}"))
                continue
        else:
            key = name_key(account.full_name)
            candidates = by_name.get(key, []) if key else []
            rule = "name"
            if not key:
                held.append(Held(account, "the old account has neither an employee id nor a full name"))
                continue
            if not candidates:
                held.append(Held(account, f"no person of {organisation} is named {account.full_name!r}"))
                continue
            if len(candidates) > 1:
                ids = ", ".join(sorted(p["employee_id"] for p in candidates))
                held.append(Held(account, f"{len(candidates)} people of {organisation} are named "
                                          f"{account.full_name!r} (employee ids {ids})"))
                continue
            person = candidates[0]
        if person["status"] == "leaver" or not person.get("username"):
            held.append(Held(account, f"{person['given_name']} {person['surname']} "
                                      f"({person['employee_id']}) has left and has no account"))
            continue
        matched.append(Matched(account, person["employee_id"], person["username"], rule))
    return AccountMap(tuple(matched), tuple(held))
