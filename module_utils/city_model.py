"""The city's data under one declared schema: load it, validate it, model it.

Every file below an inventory's data dir is described here and nowhere else:

    transfer.yml              the transfer period and its waves
    organisations/<id>.yml    one organisation: committee, board, company or central office
    service_hosts.yml         the datacentres and the consolidated service hosts
    register/<id>.csv         the asset register of one organisation (generated, not committed)

Pure Python (standard library and PyYAML): the inventory plugin, the city_validate
module (which AnsiballZ ships to its target) and the tools import it unchanged.

Problems are collected rather than raised one by one, so that a single run reports
every mistake that is cheap to find. CityDataError carries them sorted; each names
the file, the key path or the line of a CSV file (the header is line 1; blank lines are
skipped but keep their number), and what is wrong.

What a message echoes of a bad value is an excerpt (`excerpt`): escaped as Python's
repr escapes it, so control characters show as \x1b or \u200b, and cut at
MAX_ECHO characters. A value that breaks a rule of the form "ASCII letters, digits..."
has its first offending character named by position and code point, so that a Cyrillic
ES (U+0421) in an organisation code is told from the Latin C it looks like.

Text fields (every string of the schema and every column of the register) must be
strings (YAML's implicit integers, booleans and dates are refused where a string
belongs), must not be empty unless said so, must hold printable characters only (no
control, format or line-separator characters, `str.isprintable`), and have the maximum
length given in the schema beside them.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import difflib
import io
import ipaddress
import itertools
import os
import re
import sys
import unicodedata
import urllib.parse
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import yaml

MAX_REPORTED_ERRORS = 20

TRANSFER_FILE = "transfer.yml"
ORGANISATIONS_DIR = "organisations"
REGISTER_DIR = "register"
SERVICE_HOSTS_FILE = "service_hosts.yml"

# Defaults of the `city` inventory plugin's configuration; its DOCUMENTATION repeats
# them (a unit test keeps the two equal) and the module and tools read configs with them.
PLUGIN_NAME = "city"
DEFAULT_DATA_DIR = "data"
DEFAULT_SERVICE_HOSTS = "data/service_hosts.yml"
SERVICE_NETWORK_ENV = "GEMENSAM_SERVICE_NETWORK"

REGISTER_HEADER = ("hostname", "serial", "model", "site", "network", "assigned_user", "purchase_date")
ORGANISATION_KINDS = ("district", "board", "company", "central")
STAGES = (1, 2)
NETWORK_KINDS = ("admin", "edu")
ADDRESS_PLAN = {
    "admin": ipaddress.ip_network("10.0.0.0/8"),
    "edu": ipaddress.ip_network("172.16.0.0/12"),
}
LEGACY_ROLES = ("file", "mail", "print", "app", "dc", "switch", "other")
LEGACY_FATES = ("rebaseline", "retire")
SERVICE_GROUPS = {
    "dc": "domain_controllers",
    "file": "file_servers",
    "print": "print_servers",
    "mail": "mail_servers",
    "app": "app_servers",
    "servicedesk": "servicedesk_servers",
    "log": "log_servers",
    "mirror": "mirror_servers",
}
SERVES_ALL = "all"
# The port of the package mirror (apt-cacher-ng) on a `mirror` host; roles/package_mirror's
# `package_mirror_port` default says the same (tests/unit/test_package_mirror_urls.py).
PACKAGE_MIRROR_PORT = 3142
# A site's network keeps three addresses from its clients: network, gateway, broadcast.
RESERVED_SITE_ADDRESSES = 3

# Limits of the schema's fields, each the longest value the field may hold. Values in the
# city are far shorter; the limits keep a pasted document or a runaway export out of group
# names, hostvars and the directory. Fields of a fixed shape (ids, codes, host names, queue
# names) have their limit in their pattern.
MAX_ID_LENGTH = 40            # ids of organisations, sites, departments, datacentres (group names)
MAX_NAME_LENGTH = 120         # names of organisations, sites, departments, datacentres; printer locations
MAX_ADDRESS_LENGTH = 200      # a site's postal address, on one line
MAX_OS_LENGTH = 80            # a legacy server's operating system
MAX_DRIVER_LENGTH = 255       # a printer driver reference
MAX_URI_LENGTH = 255          # a printer's device URI
MAX_NETWORK_LENGTH = 50       # a network or an address as text (an IPv6 network takes at most 43)
MAX_SERIAL_LENGTH = 40        # register: serial
MAX_MODEL_LENGTH = 80         # register: model
MAX_PERSON_LENGTH = 120       # register: assigned_user (a full name)
MAX_PATH_LENGTH = 4096        # plugin configuration: a path (PATH_MAX of Linux)
MAX_EXPRESSION_LENGTH = 1000  # plugin configuration: a Jinja expression or a group name part
MAX_COUNT = 100_000           # staff and workstations of one organisation (the city has 60,000)
MAX_WAVE = 99                 # wave numbers
MAX_HOST_INDEX = 2**32        # a service host's index in its datacentre network
# What a message echoes of a value, at most (see `excerpt`).
MAX_ECHO = 60

IDENTIFIER = re.compile(rf"[a-z][a-z0-9_]{{0,{MAX_ID_LENGTH - 1}}}\Z")
ORGANISATION_CODE = re.compile(r"[A-Z]{2,5}\Z")
# Workstations and servers join one AD domain: NetBIOS limits names to 15 characters.
HOSTNAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,13}[a-z0-9])?\Z")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
# A CUPS queue name that every client (IPP, Windows point-and-print, lpr) accepts unquoted.
PRINTER_QUEUE = re.compile(r"[a-z][a-z0-9-]{0,62}\Z")
# How the print server reaches a printer: raw TCP (JetDirect), IPP or LPD. Anything else
# (usb:, file:, smb: to an old Windows print server) has no place in the consolidated service.
PRINTER_URI_SCHEMES = ("socket", "ipp", "ipps", "lpd")
# A driver reference: `everywhere` (IPP Everywhere) or what `lpinfo -m` lists.
PRINTER_DRIVER = re.compile(r"\S+\Z")


# ---------------------------------------------------------------------------
# Errors


class CityDataError(Exception):
    """The city data is invalid; `errors` holds every problem found, sorted."""

    def __init__(self, errors: Iterable[str], limit: int = MAX_REPORTED_ERRORS) -> None:
        self.errors = sorted(errors, key=natural_sort_key)
        shown = self.errors[:limit]
        hidden = len(self.errors) - len(shown)
        if hidden:
            shown.append(f"... and {plural(hidden, 'more error')}")
        super().__init__("\n".join(shown))


def natural_sort_key(text: str) -> list[Any]:
    """Sort 'row 9' before 'row 10' and 'sites[2]' before 'sites[10]'."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


class Problems:
    """Problems found so far, each located by file and by key path or line."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, file: str, where: str, what: str) -> None:
        self.messages.append(f"{file}: {where}: {what}" if where else f"{file}: {what}")

    def reporter(self, file: str) -> Reporter:
        return lambda where, what: self.add(file, where, what)

    def raise_if_any(self) -> None:
        if self.messages:
            raise CityDataError(self.messages)


Reporter = Callable[[str, str], None]


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def display_path(path: Path | str) -> str:
    """The path relative to the working directory when it lies below it, else absolute."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith(os.pardir) else relative


# ---------------------------------------------------------------------------
# Echoing values in messages: short, escaped, look-alikes named


def excerpt(value: str, limit: int = MAX_ECHO) -> str:
    """The value quoted and escaped as repr does (control and invisible characters show as
    \\x1b, \\u200b...), at most `limit` characters of the escaped text between the quotes,
    with '...' after the closing quote when cut."""
    cut = value[:limit]
    while len(repr(cut)) > limit + 2:
        cut = cut[:-1]
    return repr(cut) + ("..." if len(cut) < len(value) else "")


def shown(value: str) -> str:
    """The value bare when it is short and printable, as most valid values are; else an
    excerpt, so that what a message echoes is never long and never holds a raw control."""
    if len(value) <= MAX_ECHO and value.isprintable():
        return value
    return excerpt(value)


def shown_number(value: int | float) -> str:
    digits = str(value)
    return digits if len(digits) <= MAX_ECHO else f"{digits[:MAX_ECHO]}..."


_UNNAMED = {"Cc": "a control character", "Cs": "a surrogate", "Co": "a private-use character",
            "Cn": "an unassigned code point"}


def code_point(character: str) -> str:
    """'U+0421 CYRILLIC CAPITAL LETTER ES'; control characters have no name in Unicode."""
    name = unicodedata.name(character, "")
    if name:
        return f"U+{ord(character):04X} {name}"
    return f"U+{ord(character):04X} ({_UNNAMED.get(unicodedata.category(character), 'unnamed')})"


def character_at(value: str, index: int) -> str:
    return f"character {index + 1} is {code_point(value[index])}"


# ---------------------------------------------------------------------------
# The schema machinery: a check takes (value, key path, reporter) and returns the
# normalised value, or None after reporting why the value is invalid.

Check = Callable[[Any, str, Reporter], Any]


class Invalid(Exception):
    """A value breaks the rule of its field; the message says how."""


class ImplicitDate(str):
    """An unquoted scalar that YAML 1.1 reads as a date or timestamp (2009-03-02).

    The city's YAML reader keeps it as its text, so that a date field checks it like any
    other value, and marks it, so that a field that must be a string refuses it as the
    date that YAML's other readers (Ansible, yamllint) see in it."""


def describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if value is None:
        return "null (an empty value)"
    if isinstance(value, int):
        return f"integer {shown_number(value)}"
    if isinstance(value, float):
        return f"number {shown_number(value)}"
    if isinstance(value, ImplicitDate):
        return f"date {shown(value)}"
    if isinstance(value, str):
        return f"string {excerpt(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


# A key that a key path shows bare; any other is shown as an excerpt or described.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,60}\Z")


def key_path(where: str, key: Any) -> str:
    if isinstance(key, str) and not isinstance(key, ImplicitDate):
        name = key if _PLAIN_KEY.match(key) else excerpt(key)
    else:
        name = f"({describe(key)})"
    return f"{where}.{name}" if where else name


def leaf(rule: Callable[[Any], Any]) -> Check:
    """A check for a single value from a rule that raises Invalid."""

    def check(value: Any, where: str, report: Reporter) -> Any:
        try:
            return rule(value)
        except Invalid as problem:
            report(where, str(problem))
            return None

    return check


class Record:
    """A mapping with declared keys, each with its check; unknown keys are errors."""

    def __init__(self, fields: dict[str, Check], optional: Iterable[str] = ()) -> None:
        self.fields = fields
        self.optional = frozenset(optional)

    def __call__(self, value: Any, where: str, report: Reporter) -> dict[str, Any] | None:
        if not isinstance(value, Mapping):
            report(where, f"expected a mapping, got {describe(value)}")
            return None
        for key in value:
            if key not in self.fields:
                report(key_path(where, key), self.unknown_key(key))
        result: dict[str, Any] = {}
        for key, check in self.fields.items():
            if key in value:
                checked = check(value[key], key_path(where, key), report)
                if checked is not None:
                    result[key] = checked
            elif key not in self.optional:
                report(where, f"missing key '{key}'")
        return result

    def unknown_key(self, key: Any) -> str:
        known = list(self.fields)
        close = difflib.get_close_matches(str(key)[:MAX_ECHO], known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        return f"unknown key ({hint})"


def list_of(item: Check, *, empty: bool = False) -> Check:
    """A list, non-empty unless `empty`; invalid items stay as None so that indexes keep
    their meaning."""

    def check(value: Any, where: str, report: Reporter) -> list[Any] | None:
        if not isinstance(value, list):
            report(where, f"expected a list, got {describe(value)}")
            return None
        if not value and not empty:
            report(where, "must not be empty")
            return None
        return [item(element, f"{where}[{index}]", report) for index, element in enumerate(value)]

    return check


def mapping_of(key_rule: Callable[[Any], Any], value: Check) -> Check:
    """A mapping of any keys that pass `key_rule`, each value checked by `value`."""

    def check(mapping: Any, where: str, report: Reporter) -> dict[Any, Any] | None:
        if not isinstance(mapping, Mapping):
            report(where, f"expected a mapping, got {describe(mapping)}")
            return None
        result = {}
        for key, element in mapping.items():
            at = key_path(where, key)
            try:
                key_rule(key)
            except Invalid as problem:
                report(at, f"key: {problem}")
                continue
            checked = value(element, at, report)
            if checked is not None:
                result[key] = checked
        return result

    return check


def text(value: Any, max_length: int = MAX_NAME_LENGTH, *, empty: bool = False,
         allowed: str = "") -> str:
    """A string of printable characters (and those in `allowed`), at most `max_length` long,
    not blank unless `empty`."""
    if not isinstance(value, str) or isinstance(value, ImplicitDate):
        hint = (" (quote it if you meant the word)" if isinstance(value, bool)
                else " (quote it if you meant the text)" if isinstance(value, (int, float, ImplicitDate))
                else "")
        raise Invalid(f"expected a string, got {describe(value)}{hint}")
    if not empty and not value.strip():
        raise Invalid("must not be empty")
    if not value.isprintable():
        index = next((index for index, character in enumerate(value)
                      if not character.isprintable() and character not in allowed), None)
        if index is not None:
            raise Invalid(f"{excerpt(value)} holds a character that is not printable text: "
                          f"{character_at(value, index)}")
    if len(value) > max_length:
        raise Invalid(f"{excerpt(value)} is {len(value)} characters long, at most {max_length}")
    return value


def bounded(max_length: int, *, empty: bool = False) -> Callable[[Any], str]:
    """The rule of a free-text field: `text` with the field's maximum length."""

    def rule(value: Any) -> str:
        return text(value, max_length, empty=empty)

    return rule


class Token:
    """The rule of a value of fixed ASCII shape, such as an id or a host name.

    A refusal names the first character that is not ASCII by position and code point: a
    look-alike (a Cyrillic ES, a Greek OMICRON, an Arabic-Indic digit) reads the same on screen as
    the ASCII character it imitates, and would otherwise leave the reader puzzled."""

    def __init__(self, what: str, pattern: re.Pattern[str], explanation: str) -> None:
        self.what = what
        self.pattern = pattern
        self.explanation = explanation

    def __call__(self, value: Any) -> str:
        # The pattern holds the length limit, and the explanation says it.
        if self.pattern.match(text(value, sys.maxsize)):
            return value
        foreign = next((index for index, character in enumerate(value) if not character.isascii()), None)
        hint = f": {character_at(value, foreign)}" if foreign is not None else ""
        raise Invalid(f"{excerpt(value)} is not a valid {self.what} ({self.explanation}){hint}")


identifier = Token("id", IDENTIFIER, "lowercase ASCII letters, digits and '_', starting with a letter, "
                                     f"at most {MAX_ID_LENGTH} characters")
organisation_code = Token("organisation code", ORGANISATION_CODE, "2 to 5 uppercase ASCII letters")
hostname = Token("host name", HOSTNAME, "lowercase ASCII letters, digits and '-', at most 15 characters")
printer_queue = Token("printer queue name", PRINTER_QUEUE, "lowercase ASCII letters, digits and '-', "
                                                           "starting with a letter, at most 63 characters")


def whole_number(minimum: int, maximum: int) -> Callable[[Any], int]:
    def rule(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"expected an integer, got {describe(value)}")
        if value < minimum:
            raise Invalid(f"{shown_number(value)} is less than {minimum}")
        if value > maximum:
            raise Invalid(f"{shown_number(value)} is more than {maximum}")
        return value

    return rule


def one_of(*choices: Any) -> Callable[[Any], Any]:
    def rule(value: Any) -> Any:
        if isinstance(value, bool) or not any(type(value) is type(c) and value == c for c in choices):
            raise Invalid(f"expected one of {', '.join(map(str, choices))}, got {describe(value)}")
        return value

    return rule


def iso_date(value: Any) -> datetime.date:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise Invalid(f"expected a date as YYYY-MM-DD, got {describe(value)}")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{value} is not a valid date") from None


def network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text(value, MAX_NETWORK_LENGTH))
    except ValueError:
        pass
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise Invalid(f"{shown(value)} is not a valid network") from None
    raise Invalid(f"{shown(value)} is not a valid network (host bits are set)")


def ip_address(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text(value, MAX_NETWORK_LENGTH))
    except ValueError:
        raise Invalid(f"{shown(value)} is not a valid IP address") from None


def printer_driver(value: Any) -> str:
    if not PRINTER_DRIVER.match(text(value, MAX_DRIVER_LENGTH)):
        raise Invalid(f"{excerpt(value)} is not a driver reference ('everywhere' or a model from "
                      "`lpinfo -m`, without spaces)")
    return value


def device_uri(value: Any) -> str:
    """A printer's device URI: an allowed scheme and a host."""
    try:
        parts = urllib.parse.urlsplit(text(value, MAX_URI_LENGTH))
    except ValueError:
        raise Invalid(f"{excerpt(value)} is not a valid device URI") from None
    if parts.scheme not in PRINTER_URI_SCHEMES:
        raise Invalid(f"{excerpt(value)} has scheme {excerpt(parts.scheme or 'none')}, expected one of "
                      f"{', '.join(PRINTER_URI_SCHEMES)}")
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise Invalid(f"{excerpt(value)} has an invalid port") from None
    if not host or any(character.isspace() for character in value):
        raise Invalid(f"{excerpt(value)} is not a valid device URI (expected {parts.scheme}://HOST...)")
    return value


def serves(value: Any, where: str, report: Reporter) -> str | list[str] | None:
    if value == SERVES_ALL:
        return SERVES_ALL
    if not isinstance(value, list):
        report(where, f"expected '{SERVES_ALL}' or a list of organisation ids, got {describe(value)}")
        return None
    return list_of(leaf(identifier))(value, where, report)


# ---------------------------------------------------------------------------
# The schema of every file. Every string is checked by `text` (printable, not blank) or a
# Token, with the limit of its kind (the MAX_*_LENGTH constants above); numbers have a range.

PERIOD = Record({"start": leaf(iso_date), "end": leaf(iso_date)})
WAVE = Record({
    "number": leaf(whole_number(1, MAX_WAVE)),
    "start": leaf(iso_date),
    "stage": leaf(one_of(*STAGES)),
})
TRANSFER = Record({"period": PERIOD, "waves": list_of(WAVE)})

PRINTER = Record({
    "name": leaf(printer_queue),                    # at most 63 characters
    "location": leaf(bounded(MAX_NAME_LENGTH)),     # 120
    "driver": leaf(printer_driver),                 # 255
    "device_uri": leaf(device_uri),                 # 255
})
SITE = Record({
    "id": leaf(identifier),                         # 40
    "name": leaf(bounded(MAX_NAME_LENGTH)),         # 120
    "address": leaf(bounded(MAX_ADDRESS_LENGTH)),   # 200
    "network": leaf(one_of(*NETWORK_KINDS)),
    "cidr": leaf(network),
    "printers": list_of(PRINTER),
}, optional=["printers"])
DEPARTMENT = Record({"id": leaf(identifier), "name": leaf(bounded(MAX_NAME_LENGTH))})
LEGACY_SERVER = Record({
    "name": leaf(hostname),                         # 15
    "role": leaf(one_of(*LEGACY_ROLES)),
    "os": leaf(bounded(MAX_OS_LENGTH)),             # 80
    "fate": leaf(one_of(*LEGACY_FATES)),
    "site": leaf(identifier),
    "address": leaf(ip_address),
    # The day it was shut down for good, once its committee's move was verified
    # (migration/retire.py writes it).
    "retired": leaf(iso_date),
}, optional=["retired"])
ORGANISATION = Record({
    "id": leaf(identifier),
    "name": leaf(bounded(MAX_NAME_LENGTH)),
    "code": leaf(organisation_code),                # 2 to 5
    "kind": leaf(one_of(*ORGANISATION_KINDS)),
    "stage": leaf(one_of(*STAGES)),
    "wave": leaf(whole_number(1, MAX_WAVE)),
    "staff": leaf(whole_number(0, MAX_COUNT)),
    "workstations": leaf(whole_number(0, MAX_COUNT)),
    "sites": list_of(SITE),
    "departments": list_of(DEPARTMENT),
    "legacy_servers": list_of(LEGACY_SERVER),
}, optional=["legacy_servers"])

DATACENTRE = Record({
    "id": leaf(identifier),
    "name": leaf(bounded(MAX_NAME_LENGTH)),
    "network": leaf(network),
})
SERVICE_HOST = Record({
    "name": leaf(hostname),
    "datacentre": leaf(identifier),
    "address": leaf(ip_address),
    "host_index": leaf(whole_number(1, MAX_HOST_INDEX)),
    "services": list_of(leaf(one_of(*SERVICE_GROUPS))),
    "serves": serves,
}, optional=["address", "host_index"])
SERVICE_HOSTS = Record({"datacentres": list_of(DATACENTRE), "hosts": list_of(SERVICE_HOST)})

# The register's columns (REGISTER_HEADER), checked row by row in _RegisterFile: hostname
# (15), serial (MAX_SERIAL_LENGTH, 40), model (MAX_MODEL_LENGTH, 80), site (an id, 40),
# network (admin or edu), assigned_user (MAX_PERSON_LENGTH, 120, may be empty),
# purchase_date (YYYY-MM-DD).


# ---------------------------------------------------------------------------
# The model


class Workstation(NamedTuple):
    hostname: str
    organisation: str
    site: str
    network: str
    serial: str
    model: str
    assigned_user: str
    purchase_date: str


@dataclass
class City:
    """The validated city. Records are the schema's dicts, with networks, addresses
    and dates as ipaddress and datetime objects; see the *_as_vars helpers for JSON."""

    data_dir: Path
    period: dict[str, datetime.date]
    waves: dict[int, dict[str, Any]]
    organisations: dict[str, dict[str, Any]]
    datacentres: dict[str, dict[str, Any]]
    service_hosts: list[dict[str, Any]]
    workstations: list[Workstation] = field(default_factory=list)
    register_loaded: bool = False

    def sites(self) -> Iterable[tuple[str, dict[str, Any]]]:
        for organisation_id, organisation in self.organisations.items():
            for site in organisation["sites"]:
                yield organisation_id, site

    def served_by(self, host: dict[str, Any]) -> list[str]:
        """The included organisations a service host serves, sorted."""
        if host["serves"] == SERVES_ALL:
            return sorted(self.organisations)
        return sorted(set(host["serves"]) & set(self.organisations))

    def counts(self) -> dict[str, int]:
        sites = list(self.sites())
        return {
            "organisations": len(self.organisations),
            "sites": len(sites),
            "networks": len(sites) + len(self.datacentres),
            "service_hosts": len(self.service_hosts),
            "workstations": len(self.workstations),
        }

    def summary(self) -> str:
        counts = self.counts()
        register = "" if self.register_loaded else " (register not loaded)"
        return (f"{counts['organisations']} organisations, {counts['sites']} sites, "
                f"{counts['networks']} networks, {counts['service_hosts']} service hosts, "
                f"{counts['workstations']} workstations{register}")


def organisations_as_vars(city: City) -> dict[str, dict[str, Any]]:
    """`city_organisations`: the included organisations, JSON-serialisable."""
    return {org_id: _organisation_as_vars(org, city.waves) for org_id, org in city.organisations.items()}


def _organisation_as_vars(org: dict[str, Any], waves: dict[int, dict[str, Any]]) -> dict[str, Any]:
    sites = [dict(site, cidr=str(site["cidr"]),
                  printers=[dict(printer) for printer in site.get("printers", [])])
             for site in org["sites"]]
    return {
        "code": org["code"],
        "name": org["name"],
        "kind": org["kind"],
        "stage": org["stage"],
        "wave": org["wave"],
        "wave_date": waves[org["wave"]]["start"].isoformat(),
        "sites": sites,
        "networks": {kind: [s["cidr"] for s in sites if s["network"] == kind] for kind in NETWORK_KINDS},
        "departments": [dict(department) for department in org["departments"]],
        "staff": org["staff"],
        "workstations": org["workstations"],
        "legacy_servers": [dict(server, address=str(server["address"]),
                                **({"retired": server["retired"].isoformat()} if "retired" in server else {}))
                           for server in org.get("legacy_servers", [])],
    }


# The keys of `city_networks`: the sites' networks by kind, the datacentres' and all of them.
CITY_NETWORK_GROUPS = (*NETWORK_KINDS, "service", "all")


def networks_as_vars(city: City) -> dict[str, list[str]]:
    """`city_networks`: the networks of the included organisations' sites by kind (admin,
    edu), the datacentres' service networks, and `all` of them, each as the fewest CIDRs
    that cover exactly the same addresses. The one source of every allow list."""
    networks: dict[str, list[Any]] = {kind: [] for kind in CITY_NETWORK_GROUPS}
    for _organisation_id, site in city.sites():
        networks[site["network"]].append(site["cidr"])
    networks["service"] = [datacentre["network"] for datacentre in city.datacentres.values()]
    networks["all"] = [net for kind in (*NETWORK_KINDS, "service") for net in networks[kind]]
    return {kind: collapse_networks(nets) for kind, nets in networks.items()}


def package_mirror_url(host: dict[str, Any]) -> str:
    """The apt proxy URL of a `mirror` service host, by address: it works before any name
    resolves (an image build, a first boot, a server before the directory's DNS)."""
    address = host["address"]
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{shown}:{PACKAGE_MIRROR_PORT}"


def package_mirrors_as_vars(city: City) -> tuple[dict[str, str], dict[str, str]]:
    """`city_package_mirror_url` of each service host and of each included organisation's
    workstations: the one place that says which package mirror serves whom.

    A service host uses the first `mirror` host (in file order) of its own datacentre; a
    mirror host itself fetches from Debian directly (it cannot install itself through
    itself). An organisation's workstations use the first mirror host that serves the
    organisation. Empty where no mirror host applies: apt then goes to Debian directly."""
    mirrors = [host for host in city.service_hosts if "mirror" in host["services"]]
    hosts = {}
    for host in city.service_hosts:
        local = [mirror for mirror in mirrors if mirror["datacentre"] == host["datacentre"]]
        use = local[0] if local and "mirror" not in host["services"] else None
        hosts[host["name"]] = package_mirror_url(use) if use else ""
    organisations = {}
    for organisation_id in city.organisations:
        serving = [mirror for mirror in mirrors if organisation_id in city.served_by(mirror)]
        organisations[organisation_id] = package_mirror_url(serving[0]) if serving else ""
    return hosts, organisations


def collapse_networks(networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> list[str]:
    """The fewest CIDRs covering exactly these networks, IPv4 first, in address order."""
    by_version: dict[int, list[Any]] = {4: [], 6: []}
    for net in networks:
        by_version[net.version].append(net)
    return [str(net) for version in (4, 6) for net in ipaddress.collapse_addresses(by_version[version])]


def transfer_period_as_vars(city: City) -> dict[str, str]:
    """`city_transfer_period`: the start and end of the transfer, as ISO dates."""
    return {"start": city.period["start"].isoformat(), "end": city.period["end"].isoformat()}


# ---------------------------------------------------------------------------
# Reading files


_MERGE_TAG = "tag:yaml.org,2002:merge"


class _CityYamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The safe loader (libyaml's when there is one) rejecting repeated keys, which PyYAML
    silently overwrites, and reading unquoted dates as ImplicitDate text, so that the schema
    reports a bad date like any other value and a date where a string belongs.

    A merge key (`<<: *printer`) is YAML: the keys it brings may be overridden by the
    mapping's own keys, as YAML says. Only the mapping's own keys, the merge key among
    them, must not repeat; the line of each is its own, not that of the anchor."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            first_lines: dict[Any, int] = {}
            for key_node, _value_node in node.value:
                key = "<<" if key_node.tag == _MERGE_TAG else self.construct_object(key_node, deep=deep)
                if not isinstance(key, Hashable):
                    continue
                if key in first_lines:
                    shown_key = excerpt(key) if isinstance(key, str) else describe(key)
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {shown_key} (first at line {first_lines[key]})",
                        key_node.start_mark)
                first_lines[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_implicit_date(self, node: yaml.Node) -> ImplicitDate:
        return ImplicitDate(self.construct_scalar(node))

    def construct_bounded_int(self, node: yaml.Node) -> int:
        """Python refuses to read integers of more than 4300 digits: say so with the line."""
        try:
            return self.construct_yaml_int(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"an integer of {len(node.value)} characters is too long",
                node.start_mark) from None


_CityYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _CityYamlLoader.construct_implicit_date)
_CityYamlLoader.add_constructor("tag:yaml.org,2002:int", _CityYamlLoader.construct_bounded_int)


def read_yaml(path: Path, report: Reporter) -> Any:
    """The YAML document in `path`, or None after reporting why there is none."""
    try:
        content = path.read_bytes()
    except OSError as problem:
        report("", f"cannot be read: {problem.strerror}")
        return None
    text, bad_lines = decode_lines(content, report)
    if bad_lines:
        return None
    try:
        document = yaml.load(text, Loader=_CityYamlLoader)
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        is_syntax = not isinstance(problem, yaml.constructor.ConstructorError)
        report(where, f"YAML syntax error: {problem.problem}" if is_syntax else str(problem.problem))
        return None
    except yaml.YAMLError as problem:
        report("", f"YAML syntax error: {problem}")
        return None
    except RecursionError:
        report("", "YAML nested too deeply")
        return None
    if document is None:
        report("", "file is empty")
    return document


# ---------------------------------------------------------------------------
# Reading CSV files: the asset register here, the personnel exports in personnel.py

# Windows-1252 bytes of å, ä, ö, é, ü and their capitals: a file that is not UTF-8 because
# of them was most likely exported as Windows-1252 (Latin-1).
_LATIN1_LETTERS = frozenset(b"\xe5\xe4\xf6\xe9\xfc\xc5\xc4\xd6\xc9\xdc")


class CsvRecord(NamedTuple):
    """One record of a CSV file: the line of the file it starts on (the header is line 1),
    and its fields, or None when it cannot be used (its problem is reported already)."""

    line: int
    fields: list[str] | None


class CsvFile(NamedTuple):
    """The records of a CSV file, and whether it was read to its end (malformed quoting
    stops the reading: the records after it are unknown)."""

    records: list[CsvRecord]
    complete: bool


def read_csv(path: Path, report: Reporter, *, line_breaks: bool = False) -> CsvFile | None:
    """The records of a UTF-8 CSV file (a byte-order mark allowed), blank lines skipped.

    Lines are the file's own: a blank line is not a record but keeps its number. Reported
    by line: bytes that are not UTF-8 (the record on that line comes back without fields),
    malformed quoting (the reading stops there) and, unless `line_breaks`, a line break
    inside a quoted field (the record comes back without fields): one stray quote would
    otherwise join the lines after it into one field, silently. None when the file cannot
    be read."""
    try:
        content = path.read_bytes()
    except OSError as problem:
        report("", f"cannot be read: {problem.strerror}")
        return None
    text, bad_lines = decode_lines(content, report)
    # newline="\n": the lines csv counts are those split at \n, as the file's lines are
    # counted everywhere else; a \r\n ending stays a line end for csv.
    reader = csv.reader(io.StringIO(text, newline="\n"), strict=True)
    records: list[CsvRecord] = []
    end = 0
    try:
        for fields in reader:
            start, end = end + 1, reader.line_num
            if not fields or (start == end and len(fields) == 1 and not fields[0].strip()):
                continue
            if bad_lines and bad_lines.intersection(range(start, end + 1)):
                records.append(CsvRecord(start, None))
            elif end > start and not line_breaks:
                report(f"line {start}", "line break inside a quoted field "
                                        f"(the record runs on to line {end})")
                records.append(CsvRecord(start, None))
            else:
                records.append(CsvRecord(start, fields))
    except csv.Error as problem:
        start = end + 1
        runs_on = f" (the record runs on to line {reader.line_num})" if reader.line_num > start else ""
        report(f"line {start}", f"malformed CSV: {problem}{runs_on}")
        return CsvFile(records, complete=False)
    return CsvFile(records, complete=True)


def decode_lines(content: bytes, report: Reporter) -> tuple[str, set[int]]:
    """The text of a UTF-8 file, and the numbers of its lines that are not UTF-8, each
    reported with the line, the bad byte's place in it and in the file."""
    try:
        return content.decode("utf-8-sig"), set()
    except UnicodeDecodeError:
        pass
    decoded: list[str] = []
    bad_lines: set[int] = set()
    bad_bytes: set[int] = set()
    offset = 0
    for number, raw in enumerate(content.split(b"\n"), start=1):
        skip = len(codecs.BOM_UTF8) if number == 1 and raw.startswith(codecs.BOM_UTF8) else 0
        try:
            decoded.append(raw[skip:].decode("utf-8"))
        except UnicodeDecodeError as problem:
            at = skip + problem.start
            bad_bytes.add(raw[at])
            bad_lines.add(number)
            report(f"line {number}", f"not valid UTF-8 (byte 0x{raw[at]:02X}, byte {at + 1} of the line, "
                                     f"byte {offset + at + 1} of the file)")
            decoded.append(raw[skip:].decode("utf-8", errors="replace"))
        offset += len(raw) + 1
    if bad_bytes & _LATIN1_LETTERS:
        report("", f"not UTF-8 on {plural(len(bad_lines), 'line')}: it looks like Windows-1252 (Latin-1); "
                   "export the file as UTF-8")
    return "\n".join(decoded), bad_lines


# ---------------------------------------------------------------------------
# Loading and validating a data dir


class _SiteEntry(NamedTuple):
    owner: str
    site: dict[str, Any]
    file: str
    where: str
    reference: str


class _Network(NamedTuple):
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    owner: str
    file: str
    where: str
    reference: str


def first_claim(claims: dict[str, str], key: str, reference: str) -> str | None:
    """Records who claims `key`; returns the first claimant if another got there before."""
    first = claims.setdefault(key, reference)
    return None if first is reference else first


class _Loader:
    """Validates one data dir, file by file, then across files."""

    def __init__(self, data_dir: Path, today: datetime.date) -> None:
        self.data_dir = data_dir
        self.today = today
        self.problems = Problems()
        self.hostnames: dict[str, str] = {}
        self.networks: list[_Network] = []
        self.sites: dict[str, _SiteEntry] = {}
        self.printer_queues: dict[str, str] = {}
        # Organisations whose file could not be read: their problem is reported once, and
        # references to them elsewhere are not reported again as unknown.
        self.unreadable: set[str] = set()
        # Wave numbers in transfer.yml, invalid waves included; None if it could not be read.
        self.declared_waves: set[int] | None = None

    def label(self, path: Path) -> str:
        """How a reference to another file reads: relative to the data dir when inside it."""
        try:
            return path.relative_to(self.data_dir).as_posix()
        except ValueError:
            return display_path(path)

    def claim_hostname(self, name: str, reference: str) -> str | None:
        return first_claim(self.hostnames, name, reference)

    def claim_network(self, entry: _Network) -> None:
        self.networks.append(entry)

    # -- transfer.yml ------------------------------------------------------

    def load_transfer(self) -> tuple[dict[str, Any] | None, dict[int, dict[str, Any]]]:
        path = self.data_dir / TRANSFER_FILE
        file = display_path(path)
        report = self.problems.reporter(file)
        if not path.is_file():
            report("", "missing file: the transfer period and its waves")
            return None, {}
        document = read_yaml(path, report)
        transfer = TRANSFER(document, "", report) if document is not None else None
        if transfer is None:
            return None, {}
        self.declared_waves = {wave["number"] for wave in transfer.get("waves") or []
                               if wave is not None and "number" in wave}
        period = transfer.get("period")
        if period is not None and {"start", "end"} <= period.keys() and period["end"] < period["start"]:
            report("period.end", f"{period['end']} is before period.start {period['start']}")
            period = None
        complete_period = period if period and {"start", "end"} <= period.keys() else None
        return complete_period, self.check_waves(transfer.get("waves") or [], complete_period, report)

    def check_waves(self, waves: list[Any], period: dict[str, Any] | None,
                    report: Reporter) -> dict[int, dict[str, Any]]:
        by_number: dict[int, dict[str, Any]] = {}
        index_of: dict[int, int] = {}
        for index, wave in enumerate(waves):
            if wave is None or {"number", "start", "stage"} - wave.keys():
                continue
            number, where = wave["number"], f"waves[{index}]"
            if number in by_number:
                report(f"{where}.number", f"duplicate wave {number} (first at waves[{index_of[number]}])")
                continue
            if period and not period["start"] <= wave["start"] <= period["end"]:
                report(f"{where}.start", f"{wave['start']} is outside the transfer period "
                                         f"{period['start']} to {period['end']}")
            by_number[number], index_of[number] = wave, index
        self.check_wave_order(by_number, index_of, report)
        return by_number

    @staticmethod
    def check_wave_order(waves: dict[int, dict[str, Any]], index_of: dict[int, int],
                         report: Reporter) -> None:
        numbers = sorted(waves)
        for earlier, later in itertools.pairwise(numbers):
            where = f"waves[{index_of[later]}]"
            if waves[later]["start"] < waves[earlier]["start"]:
                report(f"{where}.start", f"wave {later} starts {waves[later]['start']}, "
                                         f"before wave {earlier} ({waves[earlier]['start']})")
            if waves[later]["stage"] < waves[earlier]["stage"]:
                report(f"{where}.stage", f"wave {later} is stage {waves[later]['stage']} but follows "
                                         f"wave {earlier} of stage {waves[earlier]['stage']}")

    # -- organisations/<id>.yml --------------------------------------------

    def load_organisations(self, waves: dict[int, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        directory = self.data_dir / ORGANISATIONS_DIR
        if not directory.is_dir():
            self.problems.add(display_path(directory), "", "missing directory: one file per organisation")
            return {}
        organisations: dict[str, dict[str, Any]] = {}
        codes: dict[str, str] = {}
        paths = sorted(directory.glob("*.yml"))
        if not paths:
            self.problems.add(display_path(directory), "", "no organisation files (<id>.yml)")
        for path in paths:
            organisation = self.load_organisation(path)
            if organisation is None:
                self.unreadable.add(path.stem)
                continue
            report = self.problems.reporter(display_path(path))
            self.check_code(organisation, codes, path, report)
            self.check_wave(organisation, waves, report)
            organisations[path.stem] = organisation
        for path in paths:
            if path.stem in organisations:
                self.check_legacy_servers(organisations[path.stem], path)
        return organisations

    def load_organisation(self, path: Path) -> dict[str, Any] | None:
        report = self.problems.reporter(display_path(path))
        document = read_yaml(path, report)
        if document is None:
            return None
        organisation = ORGANISATION(document, "", report)
        if organisation is None:
            return None
        try:
            identifier(path.stem)
        except Invalid as problem:
            report("", f"file name: {problem}")
            return None
        if organisation.get("id", path.stem) != path.stem:
            report("id", f"{organisation['id']!r} does not match the file name ({path.stem})")
        organisation["id"] = path.stem
        self.check_sites(organisation, path, report)
        self.check_departments(organisation, report)
        return organisation

    def check_code(self, organisation: dict[str, Any], codes: dict[str, str], path: Path,
                   report: Reporter) -> None:
        code = organisation.get("code")
        if code is None:
            return
        if code in codes:
            report("code", f"duplicate organisation code {code} (first in {codes[code]})")
        else:
            codes[code] = self.label(path)

    def check_wave(self, organisation: dict[str, Any], waves: dict[int, dict[str, Any]],
                   report: Reporter) -> None:
        number = organisation.get("wave")
        if number is None or self.declared_waves is None:
            return
        if number not in self.declared_waves:
            known = ", ".join(map(str, sorted(self.declared_waves))) or "none"
            report("wave", f"unknown wave {number} (waves in {TRANSFER_FILE}: {known})")
            organisation.pop("wave")
        elif number in waves and "stage" in organisation and waves[number]["stage"] != organisation["stage"]:
            report("stage", f"organisation is stage {organisation['stage']} but wave {number} "
                            f"is a stage {waves[number]['stage']} wave")

    def check_sites(self, organisation: dict[str, Any], path: Path, report: Reporter) -> None:
        for index, site in enumerate(organisation.get("sites") or []):
            if site is None or "id" not in site:
                continue
            where = f"sites[{index}]"
            reference = f"{self.label(path)} {where}"
            first = self.sites.get(site["id"])
            if first is not None:
                report(f"{where}.id", f"duplicate site id {site['id']} (first in {first.reference})")
                continue
            self.sites[site["id"]] = _SiteEntry(organisation["id"], site, display_path(path), where,
                                                reference)
            self.check_printers(organisation, site, where, path, report)
            if {"network", "cidr"} - site.keys():
                continue
            plan = ADDRESS_PLAN[site["network"]]
            if site["cidr"].version != plan.version or not site["cidr"].subnet_of(plan):
                report(f"{where}.cidr", f"{site['cidr']} is outside the {site['network']} "
                                        f"address plan {plan}")
            self.claim_network(_Network(site["cidr"], f"site {site['id']} ({organisation['id']})",
                                        display_path(path), f"{where}.cidr", f"{reference}.cidr"))

    def check_printers(self, organisation: dict[str, Any], site: dict[str, Any], where: str, path: Path,
                       report: Reporter) -> None:
        """Queue names are unique across the city and carry the organisation's prefix; a
        printer reached over raw TCP by address stands on its site's network."""
        prefix = f"{organisation['code'].lower()}-" if "code" in organisation else None
        for index, printer in enumerate(site.get("printers") or []):
            if printer is None:
                continue
            at = f"{where}.printers[{index}]"
            name = printer.get("name")
            if name is not None:
                first = first_claim(self.printer_queues, name, f"{self.label(path)} {at}")
                if first:
                    report(f"{at}.name", f"duplicate printer queue {name} (first in {first})")
                elif prefix and not name.startswith(prefix):
                    report(f"{at}.name", f"printer queue {name} does not start with the organisation's "
                                         f"prefix {prefix}")
            if "device_uri" in printer and "cidr" in site:
                self.check_printer_address(printer["device_uri"], site, f"{at}.device_uri", report)

    @staticmethod
    def check_printer_address(uri: str, site: dict[str, Any], where: str, report: Reporter) -> None:
        parts = urllib.parse.urlsplit(uri)
        if parts.scheme != "socket":
            return
        try:
            address = ipaddress.ip_address(parts.hostname or "")
        except ValueError:
            return
        if address not in site["cidr"]:
            report(where, f"{address} is outside the network {site['cidr']} of site {site['id']}")

    @staticmethod
    def check_departments(organisation: dict[str, Any], report: Reporter) -> None:
        first_index: dict[str, int] = {}
        for index, department in enumerate(organisation.get("departments") or []):
            if department is None or "id" not in department:
                continue
            department_id = department["id"]
            if department_id in first_index:
                report(f"departments[{index}].id", f"duplicate department id {department_id} "
                                                   f"(first at departments[{first_index[department_id]}])")
            else:
                first_index[department_id] = index

    def check_legacy_servers(self, organisation: dict[str, Any], path: Path) -> None:
        report = self.problems.reporter(display_path(path))
        for index, server in enumerate(organisation.get("legacy_servers") or []):
            if server is None:
                continue
            where = f"legacy_servers[{index}]"
            if "name" in server:
                first = self.claim_hostname(server["name"], f"{self.label(path)} {where}")
                if first:
                    report(f"{where}.name", f"duplicate hostname {server['name']} (first at {first})")
            if {"site", "address"} <= server.keys():
                self.check_address_at_site(organisation["id"], server, where, report)

    def check_address_at_site(self, organisation_id: str, server: dict[str, Any], where: str,
                              report: Reporter) -> None:
        entry = self.sites.get(server["site"])
        owner = entry.owner if entry else None
        if owner != organisation_id:
            report(f"{where}.site", self.unknown_site_message(server["site"], organisation_id, owner))
        elif "cidr" in entry.site and server["address"] not in entry.site["cidr"]:
            site = entry.site
            report(f"{where}.address", f"{server['address']} is outside the network {site['cidr']} "
                                       f"of site {site['id']}")

    def unknown_site_message(self, site_id: str, organisation_id: str, owner: str | None) -> str:
        if owner is not None:
            return f"site {site_id} belongs to {owner}, not to {organisation_id}"
        own_sites = [candidate for candidate, entry in self.sites.items() if entry.owner == organisation_id]
        close = difflib.get_close_matches(site_id, own_sites, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown site {site_id} of organisation {organisation_id}{hint}"

    # -- service_hosts.yml -------------------------------------------------

    def load_service_hosts(self, path: Path, service_network: str | None,
                           organisations: dict[str, dict[str, Any]]
                           ) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
        file = display_path(path)
        report = self.problems.reporter(file)
        if not path.is_file():
            report("", "missing file: the datacentres and their service hosts")
            return {}, []
        document = read_yaml(path, report)
        declared = SERVICE_HOSTS(document, "", report) if document is not None else None
        if not declared or None in declared.get("datacentres", [None]):
            return {}, []
        datacentres = self.check_datacentres(declared["datacentres"], service_network, path, report)
        hosts = [self.check_service_host(host, f"hosts[{index}]", datacentres, organisations, path, report)
                 for index, host in enumerate(declared.get("hosts") or []) if host is not None]
        complete = "hosts" in declared and None not in declared["hosts"] and None not in hosts
        hosts = [host for host in hosts if host is not None]
        self.check_service_addresses(hosts, report)
        if complete and not self.unreadable:
            self.check_coverage(hosts, organisations, report)
        return datacentres, hosts

    def check_datacentres(self, declared: list[dict[str, Any]], service_network: str | None,
                          path: Path, report: Reporter) -> dict[str, dict[str, Any]]:
        if service_network is not None:
            declared = self.override_network(declared, service_network, report)
        datacentres: dict[str, dict[str, Any]] = {}
        for index, datacentre in enumerate(declared):
            if {"id", "network"} - datacentre.keys():
                continue
            where = f"datacentres[{index}]"
            if datacentre["id"] in datacentres:
                report(f"{where}.id", f"duplicate datacentre id {datacentre['id']}")
                continue
            datacentres[datacentre["id"]] = datacentre
            self.claim_network(_Network(datacentre["network"], f"datacentre {datacentre['id']}",
                                        display_path(path), f"{where}.network",
                                        f"{self.label(path)} {where}.network"))
        return datacentres

    @staticmethod
    def override_network(declared: list[dict[str, Any]], service_network: str,
                         report: Reporter) -> list[dict[str, Any]]:
        """The lab sets its subnet from outside: it replaces the one datacentre's network."""
        try:
            replacement = network(service_network)
        except Invalid as problem:
            report("", f"service_network ({SERVICE_NETWORK_ENV}): {problem}")
            return declared
        if len(declared) != 1:
            report("datacentres", f"service_network ({SERVICE_NETWORK_ENV}) can replace the network "
                                  f"of a single datacentre, but {len(declared)} are declared")
            return declared
        return [dict(declared[0], network=replacement)]

    def check_service_host(self, host: dict[str, Any], where: str,
                           datacentres: dict[str, dict[str, Any]],
                           organisations: dict[str, dict[str, Any]], path: Path,
                           report: Reporter) -> dict[str, Any] | None:
        if "name" in host:
            first = self.claim_hostname(host["name"], f"{self.label(path)} {where}")
            if first:
                report(f"{where}.name", f"duplicate hostname {host['name']} (first at {first})")
        self.check_services_unique(host, where, report)
        serves_known = self.check_serves(host, where, organisations, report)
        datacentre = datacentres.get(host.get("datacentre"))
        if "datacentre" in host and datacentre is None:
            known = ", ".join(sorted(datacentres)) or "none"
            report(f"{where}.datacentre", f"unknown datacentre {host['datacentre']} (declared: {known})")
        address = self.service_address(host, where, datacentre, report)
        if address is None or not serves_known or {"name", "services", "serves"} - host.keys():
            return None
        return dict(host, address=address, datacentre_network=datacentre["network"])

    @staticmethod
    def check_services_unique(host: dict[str, Any], where: str, report: Reporter) -> None:
        services = [service for service in host.get("services") or [] if service is not None]
        for service in sorted({s for s in services if services.count(s) > 1}):
            report(f"{where}.services", f"service {service} is listed more than once")

    def check_serves(self, host: dict[str, Any], where: str, organisations: dict[str, dict[str, Any]],
                     report: Reporter) -> bool:
        """Whether every organisation the host serves is known."""
        if not isinstance(host.get("serves"), list):
            return True
        known = True
        for index, organisation_id in enumerate(host["serves"]):
            if organisation_id is None or organisation_id in organisations:
                continue
            known = False
            if organisation_id not in self.unreadable:
                close = difflib.get_close_matches(organisation_id, list(organisations), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                report(f"{where}.serves[{index}]", f"unknown organisation {organisation_id}{hint}")
        return known

    @staticmethod
    def service_address(host: dict[str, Any], where: str, datacentre: dict[str, Any] | None,
                        report: Reporter) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        if ("address" in host) == ("host_index" in host):
            report(where, "give exactly one of 'address' and 'host_index'")
            return None
        if datacentre is None:
            return None
        cidr = datacentre["network"]
        if "host_index" in host:
            usable = cidr.num_addresses - 2
            if host["host_index"] > usable:
                report(f"{where}.host_index", f"{host['host_index']} is outside {cidr} "
                                              f"({usable} usable addresses)")
                return None
            return cidr[host["host_index"]]
        address = host["address"]
        if address not in cidr:
            report(f"{where}.address", f"{address} is outside the network {cidr} "
                                       f"of datacentre {datacentre['id']}")
            return None
        if cidr.num_addresses > 2 and address in (cidr.network_address, cidr.broadcast_address):
            report(f"{where}.address", f"{address} is the network or broadcast address of {cidr}")
            return None
        return address

    @staticmethod
    def check_service_addresses(hosts: list[dict[str, Any]], report: Reporter) -> None:
        first_host: dict[Any, str] = {}
        for host in hosts:
            first = first_host.setdefault(host["address"], host["name"])
            if first != host["name"]:
                report("hosts", f"{host['name']} and {first} share the address {host['address']}")

    @staticmethod
    def check_coverage(hosts: list[dict[str, Any]], organisations: dict[str, dict[str, Any]],
                       report: Reporter) -> None:
        """One common IT service: every organisation needs a host for every service."""
        for service in SERVICE_GROUPS:
            served: set[str] = set()
            for host in hosts:
                if service in host["services"]:
                    served |= set(organisations) if host["serves"] == SERVES_ALL else set(host["serves"])
            unserved = sorted(set(organisations) - served)
            if unserved:
                report("hosts", f"no '{service}' host serves {', '.join(unserved)}")

    # -- register/<id>.csv -------------------------------------------------

    def load_register(self, register_dir: Path, organisations: dict[str, dict[str, Any]]
                      ) -> list[Workstation]:
        if not register_dir.is_dir():
            self.problems.add(display_path(register_dir), "",
                              "missing asset register: run `make register` to generate it")
            return []
        paths = {path.stem: path for path in sorted(register_dir.glob("*.csv"))}
        for organisation_id in sorted(set(organisations) - set(paths) - self.unreadable):
            self.problems.add(display_path(register_dir / f"{organisation_id}.csv"), "",
                              f"missing register file of organisation {organisation_id} "
                              "(run `make register`)")
        workstations: list[Workstation] = []
        per_site: dict[str, int] = {}
        serials: dict[str, str] = {}
        for organisation_id, path in paths.items():
            organisation = organisations.get(organisation_id)
            if organisation_id in self.unreadable:
                continue
            if organisation is None:
                self.problems.add(display_path(path), "", self.unknown_register_owner(organisation_id,
                                                                                     organisations))
                continue
            workstations.extend(_RegisterFile(self, path, organisation, per_site, serials).rows())
        self.check_site_capacity(per_site)
        return workstations

    @staticmethod
    def unknown_register_owner(file_stem: str, organisations: dict[str, dict[str, Any]]) -> str:
        close = difflib.get_close_matches(file_stem, list(organisations), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return (f"unknown organisation {shown(file_stem)}: a register file is named "
                f"<organisation id>.csv{hint}")

    def check_site_capacity(self, per_site: dict[str, int]) -> None:
        for site_id, count in per_site.items():
            entry = self.sites[site_id]
            if "cidr" not in entry.site:
                continue
            capacity = max(entry.site["cidr"].num_addresses - RESERVED_SITE_ADDRESSES, 0)
            if count > capacity:
                self.problems.add(entry.file, f"{entry.where}.cidr",
                                  f"{entry.site['cidr']} has room for {plural(capacity, 'workstation')}, "
                                  f"but the register puts {count} at site {site_id}")

    # -- across files ------------------------------------------------------

    def check_overlaps(self) -> None:
        """One sweep over the networks sorted by first address finds every overlap."""
        entries = sorted(self.networks, key=lambda e: (e.network.version, e.network.network_address,
                                                       e.network.prefixlen))
        widest: _Network | None = None
        for entry in entries:
            if (widest is not None and widest.network.version == entry.network.version
                    and entry.network.network_address <= widest.network.broadcast_address):
                self.problems.add(entry.file, entry.where,
                                  f"{entry.network} of {entry.owner} overlaps {widest.network} "
                                  f"of {widest.owner} ({widest.reference})")
            if (widest is None or widest.network.version != entry.network.version
                    or entry.network.broadcast_address > widest.network.broadcast_address):
                widest = entry


class _RegisterFile:
    """One organisation's register file, checked row by row on the fast path."""

    def __init__(self, loader: _Loader, path: Path, organisation: dict[str, Any],
                 per_site: dict[str, int], serials: dict[str, str]) -> None:
        self.loader = loader
        self.path = path
        self.label = loader.label(path)
        self.organisation = organisation
        self.prefix = f"{organisation['code'].lower()}-" if "code" in organisation else ""
        self.per_site = per_site
        self.serials = serials
        self.report = loader.problems.reporter(display_path(path))
        self.today = loader.today.isoformat()

    def rows(self) -> list[Workstation]:
        read = read_csv(self.path, self.report)
        if read is None:
            return []
        if not read.records:
            self.report("", "file is empty")
            return []
        header, *rows = read.records
        if header.fields is None or not self.check_header(header):
            return []
        workstations = []
        for row in rows:
            if row.fields is not None:
                workstation = self.check_row(row.line, row.fields)
                if workstation is not None:
                    workstations.append(workstation)
        if read.complete:
            self.check_count(len(rows))
        return workstations

    def check_header(self, header: CsvRecord) -> bool:
        fields = header.fields or []
        if tuple(fields) == REGISTER_HEADER:
            return True
        expected = ",".join(REGISTER_HEADER)
        if len(fields) != len(REGISTER_HEADER):
            problem = f"expected {len(REGISTER_HEADER)} columns ({expected}), got {len(fields)}"
        else:
            index = next(i for i, name in enumerate(REGISTER_HEADER) if fields[i] != name)
            problem = (f"column {index + 1} is {excerpt(fields[index])}, expected {REGISTER_HEADER[index]} "
                       f"(the header is {expected})")
        self.report(f"line {header.line}", f"header: {problem}")
        return False

    def check_count(self, rows: int) -> None:
        """Every row is a workstation, so the organisation's declared count must match."""
        declared = self.organisation.get("workstations")
        if declared is None or rows == declared:
            return
        found = plural(rows, "row") if rows else "no rows"
        self.report("", f"{found}, but the organisation declares {plural(declared, 'workstation')}")

    def check_row(self, line: int, row: list[str]) -> Workstation | None:
        where = f"line {line}"
        if len(row) != len(REGISTER_HEADER):
            self.report(where, f"expected {len(REGISTER_HEADER)} columns, got {len(row)}")
            return None
        name, serial, model, site_id, network_kind, assigned_user, purchase_date = row
        problems = [problem for problem in (
            self.check_hostname(name, line),
            self.check_serial(serial, line),
            column_problem("model", model, MAX_MODEL_LENGTH),
            self.check_site(site_id, network_kind),
            column_problem("assigned_user", assigned_user, MAX_PERSON_LENGTH, empty=True),
            self.check_purchase_date(purchase_date),
        ) if problem]
        for problem in problems:
            self.report(where, problem)
        if problems:
            return None
        self.per_site[site_id] = self.per_site.get(site_id, 0) + 1
        return Workstation(name, self.organisation["id"], site_id, network_kind, serial, model,
                           assigned_user, purchase_date)

    def check_hostname(self, name: str, line: int) -> str | None:
        if not HOSTNAME.match(name):
            return column_problem("hostname", name, rule=hostname)
        first = self.loader.claim_hostname(name, f"{self.label} line {line}")
        if first:
            return f"duplicate hostname {name} (first at {first})"
        if not name.startswith(self.prefix):
            return f"hostname {name} does not start with the organisation's prefix {self.prefix}"
        return None

    def check_serial(self, serial: str, line: int) -> str | None:
        problem = column_problem("serial", serial, MAX_SERIAL_LENGTH)
        if problem:
            return problem
        first = first_claim(self.serials, serial, f"{self.label} line {line}")
        return f"duplicate serial {shown(serial)} (first at {first})" if first else None

    def check_site(self, site_id: str, network_kind: str) -> str | None:
        if not IDENTIFIER.match(site_id):
            return column_problem("site", site_id, rule=identifier)
        entry = self.loader.sites.get(site_id)
        owner = entry.owner if entry else None
        if owner != self.organisation["id"]:
            return self.loader.unknown_site_message(site_id, self.organisation["id"], owner)
        site_network = entry.site.get("network")
        if site_network and network_kind != site_network:
            return (f"network {excerpt(network_kind)} does not match the {site_network} network "
                    f"of site {site_id}")
        return None

    def check_purchase_date(self, purchase_date: str) -> str | None:
        try:
            iso_date(purchase_date)
        except Invalid as problem:
            return f"purchase_date: {problem}"
        if purchase_date > self.today:
            return f"purchase_date: {purchase_date} is in the future"
        return None


def column_problem(column: str, value: str, max_length: int = MAX_NAME_LENGTH, *, empty: bool = False,
                   rule: Callable[[str], Any] | None = None) -> str | None:
    """What is wrong with one value of a CSV row, by `rule` or else as text, or None."""
    if not empty and not value.strip():
        return f"{column} is empty"
    # The fast path: most values are short printable text.
    if rule is None and len(value) <= max_length and value.isprintable():
        return None
    try:
        (rule or bounded(max_length, empty=empty))(value)
    except Invalid as problem:
        return f"{column}: {problem}"
    return None


def load_city(data_dir: Path | str, *, service_hosts: Path | str | None = None,
              service_network: str | None = None, register: bool = True,
              register_dir: Path | str | None = None,
              today: datetime.date | None = None) -> City:
    """Loads and validates a whole data dir; raises CityDataError listing every problem."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CityDataError([f"{display_path(data_dir)}: data directory does not exist"])
    loader = _Loader(data_dir, today or datetime.date.today())
    period, waves = loader.load_transfer()
    organisations = loader.load_organisations(waves)
    service_hosts_path = Path(service_hosts) if service_hosts else data_dir / SERVICE_HOSTS_FILE
    datacentres, hosts = loader.load_service_hosts(service_hosts_path, service_network, organisations)
    workstations: list[Workstation] = []
    if register:
        workstations = loader.load_register(Path(register_dir or data_dir / REGISTER_DIR), organisations)
    loader.check_overlaps()
    loader.problems.raise_if_any()
    return City(data_dir=data_dir, period=period or {}, waves=waves, organisations=organisations,
                datacentres=datacentres, service_hosts=hosts, workstations=workstations,
                register_loaded=register)


# ---------------------------------------------------------------------------
# Choosing part of the city (the lab) and reading plugin configurations


def select(city: City, organisations: list[str] | None = None, sites: list[str] | None = None,
           source: str = "") -> City:
    """The part of the city named by the plugin's `organisations` and `sites` options.

    An empty or missing `organisations` keeps them all. An included organisation with any
    of its sites listed in `sites` keeps only those sites (and their workstations)."""
    problems = Problems()
    report = problems.reporter(source or "selection")
    included = list(organisations or city.organisations)
    for index, organisation_id in enumerate(included):
        if organisation_id not in city.organisations:
            report(f"organisations[{index}]", f"unknown organisation {organisation_id}")
    site_owner = {site["id"]: org_id for org_id, site in city.sites()}
    for index, site_id in enumerate(sites or []):
        owner = site_owner.get(site_id)
        if owner is None:
            report(f"sites[{index}]", f"unknown site {site_id}")
        elif owner not in included:
            report(f"sites[{index}]", f"site {site_id} belongs to {owner}, which is not included")
    problems.raise_if_any()
    kept = {org_id: _keep_listed_sites(city.organisations[org_id], set(sites or ()))
            for org_id in sorted(included)}
    kept_sites = {site["id"] for org in kept.values() for site in org["sites"]}
    return replace(city, organisations=kept,
                   workstations=[w for w in city.workstations if w.site in kept_sites])


# The old servers the lab can stand in for (roles legacy_file_server, legacy_mail_server,
# legacy_print_server).
LAB_LEGACY_ROLES = ("file", "mail", "print")


def lab_legacy_hosts(city: City, declared: Mapping[str, int] | None,
                     source: str = "") -> list[dict[str, Any]]:
    """The included organisations' legacy servers that the lab runs (the plugin's
    `legacy_hosts`: name -> index in the one datacentre's network), each the organisation
    file's record with its lab `address`, `organisation` and `datacentre_network`; its
    declared `address` stays as `legacy_address`. CityDataError names every name that is no
    included organisation's legacy server, a retired one, a role with no stand-in, and a
    clashing address."""
    if not declared:
        return []
    problems = Problems()
    report = problems.reporter(source or "legacy_hosts")
    servers = {server["name"]: (org_id, server) for org_id, org in city.organisations.items()
               for server in org.get("legacy_servers", [])}
    if len(city.datacentres) != 1:
        report("legacy_hosts", "the lab's old servers need exactly one datacentre network to run in")
        problems.raise_if_any()
    network = next(iter(city.datacentres.values()))["network"]
    taken = {host["address"]: host["name"] for host in city.service_hosts}
    hosts = []
    for name, index in declared.items():
        where = f"legacy_hosts.{name}"
        if name not in servers:
            known = ", ".join(sorted(servers)) or "none"
            report(where, f"not a legacy server of the included organisations (theirs: {known})")
            continue
        organisation_id, server = servers[name]
        if "retired" in server:
            report(where, f"retired on {server['retired']}: the lab does not run an old server that is off")
            continue
        if server["role"] not in LAB_LEGACY_ROLES:
            report(where, f"the lab has no stand-in for an old {server['role']} server "
                          f"(it has: {', '.join(LAB_LEGACY_ROLES)})")
            continue
        if index > network.num_addresses - 2:
            report(where, f"{index} is outside {network} ({network.num_addresses - 2} usable addresses)")
            continue
        address = network[index]
        if address in taken:
            report(where, f"{address} is already {taken[address]}'s address")
            continue
        taken[address] = name
        hosts.append(dict(server, organisation=organisation_id, legacy_address=str(server["address"]),
                          address=address, datacentre_network=network))
    problems.raise_if_any()
    return hosts


def _keep_listed_sites(organisation: dict[str, Any], listed: set[str]) -> dict[str, Any]:
    own_listed = [site for site in organisation["sites"] if site["id"] in listed]
    if not own_listed:
        return organisation
    kept_ids = {site["id"] for site in own_listed}
    legacy = [server for server in organisation.get("legacy_servers", []) if server["site"] in kept_ids]
    return dict(organisation, sites=own_listed, legacy_servers=legacy)


@dataclass(frozen=True)
class PluginConfig:
    """What a `city` plugin configuration asks for, with its paths resolved."""

    path: Path
    data_dir: Path
    service_hosts: Path
    register: bool = True
    service_network: str | None = None
    organisations: list[str] | None = None
    sites: list[str] | None = None
    legacy_hosts: dict[str, int] | None = None


def resolve_config_path(config_path: Path | str, value: str) -> Path:
    """A path option: absolute as given, else relative to the configuration file."""
    path = Path(os.path.expanduser(str(value)))
    return Path(os.path.normpath(path if path.is_absolute() else Path(config_path).parent / path))


# What Ansible takes for true and false in an option of type bool, as text.
BOOLEAN_WORDS = {
    **dict.fromkeys(("true", "yes", "on", "y", "t", "1"), True),
    **dict.fromkeys(("false", "no", "off", "n", "f", "0"), False),
}


def ansible_boolean(value: Any) -> bool:
    """An option of type bool: true or false, or a word that Ansible reads as one. Anything
    else is refused: Ansible itself reads any other text (`maybe`) as false, silently."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and not isinstance(value, ImplicitDate) and value.lower() in BOOLEAN_WORDS:
        return BOOLEAN_WORDS[value.lower()]
    raise Invalid(f"expected true or false, got {describe(value)}")


def expression(value: Any) -> str:
    """A Jinja expression of the constructed options: text that may run over several lines."""
    return text(value, MAX_EXPRESSION_LENGTH, allowed="\n\r\t")


def network_option(value: Any) -> str:
    network(value)
    return value


# The options of the `city` inventory plugin (its DOCUMENTATION, with those of Ansible's
# `constructed` fragment from `strict` on; a unit test keeps the two equal). The plugin and
# read_plugin_config check a configuration against it before anything reads an option:
# Ansible's own reading only warns about a repeated key, ignores an unknown one, and makes
# of a value what the option's type can make of it.
KEYED_GROUP = Record({
    "key": leaf(expression),
    "prefix": leaf(bounded(MAX_EXPRESSION_LENGTH, empty=True)),
    "separator": leaf(bounded(MAX_EXPRESSION_LENGTH, empty=True)),
    "parent_group": leaf(bounded(MAX_EXPRESSION_LENGTH)),
    "default_value": leaf(bounded(MAX_EXPRESSION_LENGTH, empty=True)),
    "trailing_separator": leaf(ansible_boolean),
}, optional=["prefix", "separator", "parent_group", "default_value", "trailing_separator"])
PLUGIN_CONFIG = Record({
    "plugin": leaf(one_of(PLUGIN_NAME)),
    "data_dir": leaf(bounded(MAX_PATH_LENGTH)),
    "organisations": list_of(leaf(identifier), empty=True),
    "sites": list_of(leaf(identifier), empty=True),
    "register": leaf(ansible_boolean),
    "servers": leaf(ansible_boolean),
    "service_hosts": leaf(bounded(MAX_PATH_LENGTH)),
    "service_network": leaf(network_option),
    "strict": leaf(ansible_boolean),
    "compose": mapping_of(bounded(MAX_EXPRESSION_LENGTH), leaf(expression)),
    "groups": mapping_of(bounded(MAX_EXPRESSION_LENGTH), leaf(expression)),
    "keyed_groups": list_of(KEYED_GROUP, empty=True),
    "use_extra_vars": leaf(ansible_boolean),
    "leading_separator": leaf(ansible_boolean),
    "legacy_hosts": mapping_of(hostname, leaf(whole_number(1, MAX_HOST_INDEX))),
}, optional=["data_dir", "organisations", "sites", "register", "servers", "service_hosts",
             "service_network", "strict", "compose", "groups", "keyed_groups", "use_extra_vars",
             "leading_separator", "legacy_hosts"])


def read_plugin_options(config_path: Path | str) -> dict[str, Any]:
    """The options a `city` plugin configuration sets, checked against PLUGIN_CONFIG.

    Raises CityDataError naming the file and the key of every repeated key, unknown key
    and value of the wrong type."""
    config_path = Path(config_path)
    problems = Problems()
    report = problems.reporter(display_path(config_path))
    document = read_yaml(config_path, report)
    problems.raise_if_any()
    if not isinstance(document, Mapping) or document.get("plugin") != PLUGIN_NAME:
        raise CityDataError([f"{display_path(config_path)}: not a configuration of the "
                             f"'{PLUGIN_NAME}' inventory plugin (plugin: {PLUGIN_NAME})"])
    options = PLUGIN_CONFIG(document, "", report)
    if options and options.get("servers") is False and options.get("register") is False:
        report("servers", "false, and register is false too: this source would hold no host")
    problems.raise_if_any()
    return options or {}


def read_plugin_config(config_path: Path | str,
                       environ: Mapping[str, str] | None = None) -> PluginConfig:
    """Reads a plugin configuration the way the plugin does, for the module and the tools.

    The file's `service_network` wins over the GEMENSAM_SERVICE_NETWORK variable."""
    config_path = Path(config_path)
    options = read_plugin_options(config_path)
    environ = os.environ if environ is None else environ
    return PluginConfig(
        path=config_path,
        data_dir=resolve_config_path(config_path, options.get("data_dir", DEFAULT_DATA_DIR)),
        service_hosts=resolve_config_path(config_path, options.get("service_hosts", DEFAULT_SERVICE_HOSTS)),
        register=options.get("register", True),
        service_network=options.get("service_network") or environ.get(SERVICE_NETWORK_ENV) or None,
        organisations=options.get("organisations") or None,
        sites=options.get("sites") or None,
        legacy_hosts=options.get("legacy_hosts") or None,
    )


def load_from_config(config: PluginConfig) -> City:
    """Loads, validates and selects the city exactly as the inventory plugin does."""
    city = load_city(config.data_dir, service_hosts=config.service_hosts,
                     service_network=config.service_network, register=config.register)
    return select(city, config.organisations, config.sites, source=display_path(config.path))


def is_plugin_config_name(name: str) -> bool:
    """The file names the plugin accepts: city.yml or anything ending in .city.yml."""
    return name == "city.yml" or name.endswith(".city.yml")


def find_plugin_configs(source: Path | str) -> list[Path]:
    """The plugin configurations an inventory source stands for (a file or a directory)."""
    source = Path(source)
    if source.is_dir():
        return sorted(path for path in source.iterdir()
                      if path.is_file() and is_plugin_config_name(path.name))
    return [source] if source.is_file() and is_plugin_config_name(source.name) else []
