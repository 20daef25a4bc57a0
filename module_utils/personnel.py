"""People from the personnel exports: read them, validate them, give them user names.

HR exports one CSV file per organisation, named <organisation id>.csv, UTF-8, with the
columns of PERSONNEL_HEADER (in any order; `end_date` may be empty, so may `title`).
Values are read with surrounding blanks stripped. Blank lines are skipped.

Validation follows city_model: every problem is collected, and one CityDataError lists
them all, each naming the file, the line of the file (the header is line 1) and what is
wrong. Nothing is returned until every file and the existing user names have been
checked, so a caller that gets people back can write them all, and one that gets the
error has written nothing.

User names (sAMAccountName, at most 20 characters, lower case ASCII):

    The base name is "<given name>.<surname>": the first of the given names and the whole
    surname, each folded to ASCII (å, ä → a, ö → o, é → e, ü → u, ß → ss, æ → ae, ø → o)
    with everything but the letters a-z dropped, so "Anna-Karin Ström-Lindqvist" gives
    "annakarin.stromlindqvist" and "Lars af Klint" gives "lars.afklint". A base longer than
    20 characters keeps only the first part of a hyphenated given name ("anna.stromlindqvist")
    and is then cut to 20. A name already in the directory is kept unchanged for ever, so a
    change of department, organisation or surname never renames anyone. A new person gets the
    base, or base2, base3, ... (cut so that the whole stays within 20), taking the first not
    already held by anyone in the directory or given to a new person with a lower employee id;
    new people are named in employee-id order, so the outcome is deterministic. Bases contain
    no digits, so a numbered name can never be someone else's base.

Fields: a given name and a surname have letters (with their accents), spaces, hyphens
and apostrophes only, at most 64 characters each (the directory's limit); an employee
id is 1 to 20 ASCII letters, digits, '-' and '_'. These rules (person_name,
employee_id_rule, department_problem, ...) are the servicedesk's orders' too
(module_utils/orders.py); a message quotes at most an escaped excerpt of a bad value and
names an offending character by position and code point.

Status, against `today`: "future" when start_date is after today (the person gets a user
name and a mail address now, and their account is created disabled; the first run on or
after the start date sees them "active" and enables it), "leaver" when end_date is before
today (the end date is the last working day; the account is disabled, never deleted, and
the name is never given to anyone else), otherwise "active". A leaver who has no user name
in the directory never had an account: they get none (username and mail are None) and
take no name from the people who stay.
"""

from __future__ import annotations

import collections
import datetime
import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    from ansible.module_utils.city_model import (
        Invalid,
        Problems,
        Reporter,
        code_point,
        describe,
        display_path,
        excerpt,
        iso_date,
        natural_sort_key,
        read_csv,
        shown,
    )
except ImportError:  # the tools and the unit tests put module_utils itself on the path
    from city_model import (  # type: ignore[no-redef]
        Invalid,
        Problems,
        Reporter,
        code_point,
        describe,
        display_path,
        excerpt,
        iso_date,
        natural_sort_key,
        read_csv,
        shown,
    )

PERSONNEL_HEADER = ("employee_id", "given_name", "surname", "organisation", "department", "title",
                    "start_date", "end_date")
OPTIONAL_COLUMNS = frozenset({"title", "end_date"})
DEFAULT_MAIL_DOMAIN = "stockholm.se"
# sAMAccountName, the pre-Windows 2000 logon name, has room for 20 characters.
MAX_USERNAME_LENGTH = 20
EMPLOYEE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,19}\Z")
STATUSES = ("active", "future", "leaver")
EXISTING_USERNAMES = "existing_usernames"

# Letters that Unicode does not decompose into an ASCII letter and a mark (U+0131 is the
# dotless i of Turkish).
_TRANSLITERATIONS = str.maketrans({
    "ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "\u0131": "i",
})
_NAME_PARTS = re.compile(r"[-\u2010\u2011\u2012\u2013\u2014]")


# ---------------------------------------------------------------------------
# The rules of a person's fields, one per field, for the personnel exports and for the
# servicedesk's orders (module_utils/orders.py) alike. Each takes the value and returns
# it, or raises Invalid with a message that quotes at most an escaped excerpt of it.

# The directory's limits (rangeUpper of givenName and sn, of title), so that the directory
# never refuses a value the rules let through halfway through a change.
MAX_NAME_LENGTH = 64
MAX_TITLE_LENGTH = 128
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,19}\Z")
EMPLOYEE_ID_RULE = "1 to 20 ASCII letters, digits, '-' and '_', starting with a letter or digit"
USERNAME_RULE = "1 to 20 ASCII letters, digits, '.', '-' and '_', starting with a letter or digit"
NAME_RULE = "a name has letters, spaces, hyphens and apostrophes only"
_APOSTROPHES = "'\u2019\u02bc"
_HYPHENS = "-\u2010\u2011\u2012\u2013\u2014"
# A value a message may show unquoted.
_PLAIN_WORD = re.compile(r"[\w-]{1,40}\Z")
# Scripts whose letters look like Latin ones: a name mixing them is most likely a look-alike.
_LOOKALIKE_SCRIPTS = frozenset({"LATIN", "GREEK", "CYRILLIC"})


def string(value: Any) -> str:
    """A string; YAML's numbers, booleans and the like are refused, not converted."""
    if isinstance(value, str):
        return value
    scalar = value is None or isinstance(value, (bool, int, float, datetime.date))
    raise Invalid(f"must be a string, got {describe(value)}{' — quote it' if scalar else ''}")


def _bad_character(value: str, index: int, rule: str) -> Invalid:
    return Invalid(f"{excerpt(value)} has {code_point(value[index])} at character {index + 1}; {rule}")


def ascii_only(value: str, rule: str) -> str:
    """The value if it is ASCII; else the first other character, which is most likely a
    look-alike (Cyrillic U+0430, fullwidth U+FF53, superscript U+00B2), named with its position."""
    for index, character in enumerate(value):
        if not character.isascii():
            raise _bad_character(value, index, f"not ASCII ({rule})")
    return value


def ascii_pattern(pattern: re.Pattern[str], rule: str) -> Any:
    """A rule: a string, ASCII, matching `pattern` (`rule` says what it allows)."""

    def check(value: Any) -> str:
        ascii_only(string(value), rule)
        if not pattern.match(value):
            raise Invalid(f"{excerpt(value)} is not valid ({rule})")
        return value

    return check


employee_id_rule = ascii_pattern(EMPLOYEE_ID, EMPLOYEE_ID_RULE)
username_rule = ascii_pattern(USERNAME, USERNAME_RULE)


def person_name(value: Any) -> str:
    """A given name or a surname: letters (with their accents), spaces, hyphens and
    apostrophes ("Anna-Karin", "Lars af Klint", "O'Brien", "Åsa"), at most 64 characters.
    Commas, line breaks, control characters, digits and other punctuation are refused (a
    name goes into mail headers and the directory), and so is a name that mixes Latin
    letters with Greek or Cyrillic ones, which look alike."""
    value = string(value)
    if len(value) > MAX_NAME_LENGTH:
        raise Invalid(f"{excerpt(value)} is {len(value)} characters long (at most {MAX_NAME_LENGTH})")
    scripts: list[tuple[int, str]] = []
    previous = ""
    for index, character in enumerate(value):
        category = unicodedata.category(character)
        if character == " " or character in _HYPHENS or character in _APOSTROPHES:
            pass
        elif category.startswith("L"):
            script = unicodedata.name(character, "").split(" ")[0]
            if script in _LOOKALIKE_SCRIPTS:
                scripts.append((index, script))
        elif category.startswith("M") and unicodedata.category(previous or " ").startswith(("L", "M")):
            pass  # an accent written as a combining mark after its letter
        else:
            raise _bad_character(value, index, NAME_RULE)
        previous = character
    counts = collections.Counter(script for _index, script in scripts)
    if len(counts) > 1:
        main = counts.most_common(1)[0][0]
        index, script = next((i, s) for i, s in scripts if s != main)
        raise _bad_character(value, index, f"a {script.title()} letter among {main.title()} ones "
                                           "(a look-alike?)")
    return value


def free_text(maximum: int) -> Any:
    """A rule: a string of printable characters (no line breaks, no control or invisible
    characters; spaces are the only blanks), at most `maximum` characters."""

    def check(value: Any) -> str:
        value = string(value)
        if len(value) > maximum:
            raise Invalid(f"{excerpt(value)} is {len(value)} characters long (at most {maximum})")
        for index, character in enumerate(value):
            if not character.isprintable():
                raise _bad_character(value, index, "only printable characters on one line")
        return value

    return check


title_rule = free_text(MAX_TITLE_LENGTH)


def department_problem(department_id: str, organisation_id: str,
                       organisation: Mapping[str, Any]) -> str | None:
    """What is wrong with a department id of an organisation, or None if it has it."""
    departments = {str(d["id"]): d.get("name", "") for d in organisation.get("departments") or [] if d}
    if department_id in departments:
        return None
    shown = department_id if _PLAIN_WORD.match(department_id) else excerpt(department_id)
    by_name = [key for key, name in departments.items() if name.casefold() == department_id.casefold()]
    if by_name:
        hint = f" (use its id '{by_name[0]}')"
    else:
        close = difflib.get_close_matches(department_id, list(departments), n=1)
        hint = (f" (did you mean '{close[0]}'?)" if close
                else f" (departments: {', '.join(departments)})")
        foreign = next((i for i, character in enumerate(department_id) if not character.isascii()), None)
        if foreign is not None:
            hint += (f"; character {foreign + 1}, {code_point(department_id[foreign])}, is not ASCII"
                     " (a look-alike?)")
    return f"unknown department {shown} of organisation {organisation_id}{hint}"


# ---------------------------------------------------------------------------
# User names


def fold(text: str) -> str:
    """Lower case ASCII letters only: 'Ström-Öberg' → 'stromoberg'."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_TRANSLITERATIONS))
    return "".join(character for character in decomposed if "a" <= character <= "z")


def username_base(given_name: str, surname: str) -> str:
    """The name a new person is offered first (see the module's docstring).

    Raises ValueError when either name has no letter that folds to a-z."""
    given_parts: list[str] = []
    for word in given_name.split():
        given_parts = [part for part in map(fold, _NAME_PARTS.split(word)) if part]
        if given_parts:
            break
    family = fold(surname)
    if not given_parts:
        raise ValueError(f"given_name {given_name!r} has no letter a user name can be made of")
    if not family:
        raise ValueError(f"surname {surname!r} has no letter a user name can be made of")
    base = f"{''.join(given_parts)}.{family}"
    if len(base) > MAX_USERNAME_LENGTH:
        base = f"{given_parts[0]}.{family}"
    return base[:MAX_USERNAME_LENGTH].rstrip(".")


def numbered(base: str, number: int) -> str:
    """base2, base3, ...: the base cut so that base and number fit in 20 characters."""
    suffix = str(number)
    return base[:MAX_USERNAME_LENGTH - len(suffix)].rstrip(".") + suffix


def assign_usernames(people: Iterable[Mapping[str, Any]],
                     existing: Mapping[str, str] | None = None) -> dict[str, str]:
    """employee_id → user name for every person in `people` (each with employee_id,
    given_name and surname).

    `existing` maps employee ids to the names they hold in the directory: those people keep
    them, and no one else is given any of them, whether or not its holder is in `people`.
    Everyone else is named in employee-id order: the base, or the lowest numbered form of it
    that is free. Names are compared without regard to case, as the directory does."""
    existing = existing or {}
    taken = {name.lower() for name in existing.values()}
    usernames: dict[str, str] = {}
    new_people = []
    for person in people:
        if person["employee_id"] in existing:
            usernames[person["employee_id"]] = existing[person["employee_id"]]
        else:
            new_people.append(person)
    next_number: dict[str, int] = {}
    for person in sorted(new_people, key=lambda p: natural_sort_key(p["employee_id"])):
        base = username_base(person["given_name"], person["surname"])
        number = next_number.get(base, 1)
        candidate = base if number == 1 else numbered(base, number)
        while candidate in taken:
            number += 1
            candidate = numbered(base, number)
        next_number[base] = number + 1
        taken.add(candidate)
        usernames[person["employee_id"]] = candidate
    return usernames


# ---------------------------------------------------------------------------
# Reading the exports


@dataclass(frozen=True)
class PersonnelRow:
    """One valid row of a personnel export."""

    employee_id: str
    given_name: str
    surname: str
    organisation: str
    department: str
    title: str
    start_date: datetime.date
    end_date: datetime.date | None
    file: str
    line: int

    def status(self, today: datetime.date) -> str:
        if self.start_date > today:
            return "future"
        if self.end_date is not None and self.end_date < today:
            return "leaver"
        return "active"


class PersonnelReader:
    """Validates personnel files against the organisations of the city, collecting problems."""

    def __init__(self, organisations: Mapping[str, Mapping[str, Any]],
                 problems: Problems | None = None) -> None:
        self.organisations = organisations
        self.problems = problems or Problems()
        # employee id → (file, line) of its first row
        self.employee_ids: dict[str, tuple[str, int]] = {}
        self.rows: list[PersonnelRow] = []

    def read_files(self, paths: Iterable[Path | str]) -> list[PersonnelRow]:
        for path in paths:
            self.read_file(Path(path))
        return self.rows

    def read_file(self, path: Path) -> None:
        _PersonnelFile(self, path).read()

    def check_existing(self, existing: Any, source: str = EXISTING_USERNAMES) -> None:
        """The names the directory already holds: strings, each held by one person only."""
        report = self.problems.reporter(source)
        if not isinstance(existing, Mapping):
            report("", "expected a mapping of employee id to user name")
            return
        holders: dict[str, str] = {}
        for employee_id, username in existing.items():
            if not isinstance(username, str) or not username.strip():
                report(str(employee_id), f"expected a user name, got {username!r}")
                continue
            first = holders.setdefault(username.lower(), str(employee_id))
            if first != str(employee_id):
                report(str(employee_id), f"user name {username} is also held by employee {first}")

    def claim_employee_id(self, employee_id: str, file: str, line: int) -> str | None:
        """Where the id was first seen, if a row before this one has it."""
        first = self.employee_ids.setdefault(employee_id, (file, line))
        if first == (file, line):
            return None
        first_file, first_line = first
        return f"line {first_line}" if first_file == file else f"{first_file} line {first_line}"


class _PersonnelFile:
    """One organisation's export, checked line by line."""

    def __init__(self, reader: PersonnelReader, path: Path) -> None:
        self.reader = reader
        self.path = path
        self.file = display_path(path)
        self.report: Reporter = reader.problems.reporter(self.file)
        self.organisation_id = path.stem if path.stem in reader.organisations else None

    def read(self) -> None:
        if self.organisation_id is None:
            self.report("", self.unknown_file_organisation())
        # A title may wrap onto a second line inside its quotes: HR's exports do that.
        read = read_csv(self.path, self.report, line_breaks=True)
        if read is None:
            return
        if not read.records:
            self.report("", "file is empty (expected the header line "
                            f"{','.join(PERSONNEL_HEADER)})")
            return
        header, *rows = read.records
        columns = self.check_header(header.line, header.fields) if header.fields is not None else None
        if columns is None:
            return
        for row in rows:
            if row.fields is not None:
                self.check_row(row.line, row.fields, columns)

    def unknown_file_organisation(self) -> str:
        stem = self.path.stem
        close = difflib.get_close_matches(stem, list(self.reader.organisations), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown organisation {stem}: a personnel file is named <organisation id>.csv{hint}"

    def check_header(self, line: int, header: list[str]) -> dict[str, int] | None:
        """Column name → index, or None after reporting what is wrong with the header."""
        names = [name.strip() for name in header]
        problems = []
        missing = [name for name in PERSONNEL_HEADER if name not in names]
        if missing:
            problems.append(f"missing {'column' if len(missing) == 1 else 'columns'} {', '.join(missing)}")
        for name in names:
            if name not in PERSONNEL_HEADER:
                close = difflib.get_close_matches(name, missing, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                problems.append(f"unknown column {excerpt(name)}{hint}")
        for name in sorted({name for name in names if name in PERSONNEL_HEADER and names.count(name) > 1}):
            problems.append(f"column {name} appears more than once")
        if problems:
            self.report(f"line {line}", f"header: {'; '.join(problems)} "
                                        f"(expected {','.join(PERSONNEL_HEADER)})")
            return None
        return {name: names.index(name) for name in PERSONNEL_HEADER}

    def check_row(self, line: int, row: list[str], columns: dict[str, int]) -> None:
        where = f"line {line}"
        if len(row) != len(PERSONNEL_HEADER):
            self.report(where, f"expected {len(PERSONNEL_HEADER)} columns, got {len(row)}")
            return
        values = {name: row[index].strip() for name, index in columns.items()}
        problems = [f"{name} is empty" for name in PERSONNEL_HEADER
                    if not values[name] and name not in OPTIONAL_COLUMNS]
        employee_id = values["employee_id"]
        if employee_id:
            problems.extend(self.check_employee_id(employee_id, line))
        names_valid = True
        for name, rule in (("given_name", person_name), ("surname", person_name)):
            if values[name]:
                try:
                    rule(values[name])
                except Invalid as problem:
                    problems.append(f"{name} {problem}")
                    names_valid = False
        if values["given_name"] and values["surname"] and names_valid:
            try:
                username_base(values["given_name"], values["surname"])
            except ValueError as problem:
                problems.append(str(problem))
        organisation = self.check_organisation(values["organisation"], problems)
        if organisation is not None and values["department"]:
            problem = self.check_department(values["department"], organisation)
            if problem:
                problems.append(problem)
        start_date = self.date(values, "start_date", problems)
        end_date = self.date(values, "end_date", problems)
        if start_date and end_date and end_date < start_date:
            problems.append(f"end_date {end_date} is before start_date {start_date}")
        for problem in problems:
            self.report(where, problem)
        if problems:
            return
        self.reader.rows.append(PersonnelRow(
            employee_id=employee_id, given_name=values["given_name"], surname=values["surname"],
            organisation=values["organisation"], department=values["department"], title=values["title"],
            start_date=start_date, end_date=end_date, file=self.file, line=line))

    def check_employee_id(self, employee_id: str, line: int) -> list[str]:
        try:
            employee_id_rule(employee_id)
        except Invalid as problem:
            return [f"employee_id {problem}"]
        first = self.reader.claim_employee_id(employee_id, self.file, line)
        return [f"duplicate employee_id {employee_id} (first at {first})"] if first else []

    def check_organisation(self, organisation_id: str, problems: list[str]) -> Mapping[str, Any] | None:
        """The row's organisation if it is known, after adding any problem with it."""
        if not organisation_id:
            return None
        organisation = self.reader.organisations.get(organisation_id)
        if organisation is None:
            close = difflib.get_close_matches(organisation_id, list(self.reader.organisations), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"unknown organisation {shown(organisation_id)}{hint}")
        elif self.organisation_id is not None and organisation_id != self.organisation_id:
            problems.append(f"organisation {shown(organisation_id)} differs from the file's organisation "
                            f"{self.organisation_id} (one file per organisation)")
        return organisation

    def check_department(self, department_id: str, organisation: Mapping[str, Any]) -> str | None:
        return department_problem(department_id, organisation["id"], organisation)

    @staticmethod
    def date(values: dict[str, str], name: str, problems: list[str]) -> datetime.date | None:
        if not values[name]:
            return None
        try:
            return iso_date(values[name])
        except Invalid as problem:
            problems.append(f"{name}: {problem}")
            return None


# ---------------------------------------------------------------------------
# People


def person_record(row: PersonnelRow, username: str | None, *, today: datetime.date,
                  mail_domain: str = DEFAULT_MAIL_DOMAIN) -> dict[str, Any]:
    """A person as the roles get them: JSON values only, dates as ISO text."""
    return {
        "employee_id": row.employee_id,
        "given_name": row.given_name,
        "surname": row.surname,
        "display_name": f"{row.given_name} {row.surname}",
        "organisation": row.organisation,
        "department": row.department,
        "title": row.title,
        "start_date": row.start_date.isoformat(),
        "end_date": row.end_date.isoformat() if row.end_date else None,
        "username": username,
        "mail": f"{username}@{mail_domain}" if username else None,
        "status": row.status(today),
    }


def load_people(paths: Iterable[Path | str], organisations: Mapping[str, Mapping[str, Any]], *,
                existing: Mapping[str, str] | None = None, today: datetime.date | None = None,
                mail_domain: str = DEFAULT_MAIL_DOMAIN) -> list[dict[str, Any]]:
    """Every person in the files, in employee-id order, with user name, mail and status.

    `organisations` is the city's (City.organisations); `existing` maps employee ids to the
    user names the directory holds. Raises CityDataError listing every problem in the files
    and in `existing` before returning anything."""
    existing = {} if existing is None else existing
    today = today or datetime.date.today()
    reader = PersonnelReader(organisations)
    rows = reader.read_files(paths)
    reader.check_existing(existing)
    reader.problems.raise_if_any()
    # Ansible may hand over numeric employee ids as integers (YAML keys).
    existing = {str(employee_id): username for employee_id, username in existing.items()}
    # Leavers without an account never get one, so they take no name from those who stay.
    named = [row for row in rows if row.status(today) != "leaver" or row.employee_id in existing]
    usernames = assign_usernames(
        [{"employee_id": r.employee_id, "given_name": r.given_name, "surname": r.surname} for r in named],
        existing)
    rows = sorted(rows, key=lambda row: natural_sort_key(row.employee_id))
    return [person_record(row, usernames.get(row.employee_id), today=today, mail_domain=mail_domain)
            for row in rows]


def status_counts(people: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for person in people:
        counts[person["status"]] += 1
    return counts
