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
the file, the key path or register row, and what is wrong. Register rows are numbered
from 1 after the header line (row N is line N + 1 of the file).
"""

from __future__ import annotations

import csv
import datetime
import difflib
import ipaddress
import itertools
import os
import re
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
LEGACY_ROLES = ("file", "mail", "print", "app", "dc", "other")
LEGACY_FATES = ("rebaseline", "retire")
SERVICE_GROUPS = {
    "dc": "domain_controllers",
    "file": "file_servers",
    "print": "print_servers",
    "mail": "mail_servers",
    "app": "app_servers",
    "servicedesk": "servicedesk_servers",
    "log": "log_servers",
}
SERVES_ALL = "all"
# A site's network keeps three addresses from its clients: network, gateway, broadcast.
RESERVED_SITE_ADDRESSES = 3

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*\Z")
ORGANISATION_CODE = re.compile(r"[A-Z]{2,5}\Z")
# Workstations and servers join one AD domain: NetBIOS limits names to 15 characters.
HOSTNAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,13}[a-z0-9])?\Z")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
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
    """Problems found so far, each located by file and by key path or row."""

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
# The schema machinery: a check takes (value, key path, reporter) and returns the
# normalised value, or None after reporting why the value is invalid.

Check = Callable[[Any, str, Reporter], Any]


class Invalid(Exception):
    """A value breaks the rule of its field; the message says how."""


def describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if value is None:
        return "null (an empty value)"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def key_path(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


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
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        return f"unknown key ({hint})"


def list_of(item: Check) -> Check:
    """A non-empty list; invalid items stay as None so that indexes keep their meaning."""

    def check(value: Any, where: str, report: Reporter) -> list[Any] | None:
        if not isinstance(value, list):
            report(where, f"expected a list, got {describe(value)}")
            return None
        if not value:
            report(where, "must not be empty")
            return None
        return [item(element, f"{where}[{index}]", report) for index, element in enumerate(value)]

    return check


def text(value: Any) -> str:
    if not isinstance(value, str):
        hint = " (quote it if you meant the word)" if isinstance(value, bool) else ""
        raise Invalid(f"expected a string, got {describe(value)}{hint}")
    if not value.strip():
        raise Invalid("must not be empty")
    return value


def identifier(value: Any) -> str:
    if not IDENTIFIER.match(text(value)):
        raise Invalid(f"{value!r} is not a valid id (lowercase ASCII letters, digits and '_', "
                      "starting with a letter)")
    return value


def organisation_code(value: Any) -> str:
    if not ORGANISATION_CODE.match(text(value)):
        raise Invalid(f"{value!r} is not a valid organisation code (2 to 5 uppercase ASCII letters)")
    return value


def hostname(value: Any) -> str:
    if not HOSTNAME.match(text(value)):
        raise Invalid(f"{value!r} is not a valid host name (lowercase ASCII letters, digits and '-', "
                      "at most 15 characters)")
    return value


def whole_number(minimum: int) -> Callable[[Any], int]:
    def rule(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"expected an integer, got {describe(value)}")
        if value < minimum:
            raise Invalid(f"{value} is less than {minimum}")
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
        return ipaddress.ip_network(text(value))
    except ValueError:
        pass
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise Invalid(f"{value} is not a valid network") from None
    raise Invalid(f"{value} is not a valid network (host bits are set)")


def ip_address(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text(value))
    except ValueError:
        raise Invalid(f"{value} is not a valid IP address") from None


def printer_queue(value: Any) -> str:
    if not PRINTER_QUEUE.match(text(value)):
        raise Invalid(f"{value!r} is not a valid printer queue name (lowercase ASCII letters, digits and "
                      "'-', starting with a letter, at most 63 characters)")
    return value


def printer_driver(value: Any) -> str:
    if not PRINTER_DRIVER.match(text(value)):
        raise Invalid(f"{value!r} is not a driver reference ('everywhere' or a model from `lpinfo -m`, "
                      "without spaces)")
    return value


def device_uri(value: Any) -> str:
    """A printer's device URI: an allowed scheme and a host."""
    parts = urllib.parse.urlsplit(text(value))
    if parts.scheme not in PRINTER_URI_SCHEMES:
        raise Invalid(f"{value!r} has scheme {parts.scheme or 'none'!r}, expected one of "
                      f"{', '.join(PRINTER_URI_SCHEMES)}")
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise Invalid(f"{value!r} has an invalid port") from None
    if not host or any(character.isspace() for character in value):
        raise Invalid(f"{value!r} is not a valid device URI (expected {parts.scheme}://HOST...)")
    return value


def serves(value: Any, where: str, report: Reporter) -> str | list[str] | None:
    if value == SERVES_ALL:
        return SERVES_ALL
    if not isinstance(value, list):
        report(where, f"expected '{SERVES_ALL}' or a list of organisation ids, got {describe(value)}")
        return None
    return list_of(leaf(identifier))(value, where, report)


# ---------------------------------------------------------------------------
# The schema of every file

PERIOD = Record({"start": leaf(iso_date), "end": leaf(iso_date)})
WAVE = Record({
    "number": leaf(whole_number(1)),
    "start": leaf(iso_date),
    "stage": leaf(one_of(*STAGES)),
})
TRANSFER = Record({"period": PERIOD, "waves": list_of(WAVE)})

PRINTER = Record({
    "name": leaf(printer_queue),
    "location": leaf(text),
    "driver": leaf(printer_driver),
    "device_uri": leaf(device_uri),
})
SITE = Record({
    "id": leaf(identifier),
    "name": leaf(text),
    "address": leaf(text),
    "network": leaf(one_of(*NETWORK_KINDS)),
    "cidr": leaf(network),
    "printers": list_of(PRINTER),
}, optional=["printers"])
DEPARTMENT = Record({"id": leaf(identifier), "name": leaf(text)})
LEGACY_SERVER = Record({
    "name": leaf(hostname),
    "role": leaf(one_of(*LEGACY_ROLES)),
    "os": leaf(text),
    "fate": leaf(one_of(*LEGACY_FATES)),
    "site": leaf(identifier),
    "address": leaf(ip_address),
})
ORGANISATION = Record({
    "id": leaf(identifier),
    "name": leaf(text),
    "code": leaf(organisation_code),
    "kind": leaf(one_of(*ORGANISATION_KINDS)),
    "stage": leaf(one_of(*STAGES)),
    "wave": leaf(whole_number(1)),
    "staff": leaf(whole_number(0)),
    "workstations": leaf(whole_number(0)),
    "sites": list_of(SITE),
    "departments": list_of(DEPARTMENT),
    "legacy_servers": list_of(LEGACY_SERVER),
}, optional=["legacy_servers"])

DATACENTRE = Record({"id": leaf(identifier), "name": leaf(text), "network": leaf(network)})
SERVICE_HOST = Record({
    "name": leaf(hostname),
    "datacentre": leaf(identifier),
    "address": leaf(ip_address),
    "host_index": leaf(whole_number(1)),
    "services": list_of(leaf(one_of(*SERVICE_GROUPS))),
    "serves": serves,
}, optional=["address", "host_index"])
SERVICE_HOSTS = Record({"datacentres": list_of(DATACENTRE), "hosts": list_of(SERVICE_HOST)})


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
        "legacy_servers": [dict(server, address=str(server["address"]))
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


class _CityYamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The safe loader (libyaml's when there is one) rejecting repeated keys, which PyYAML
    silently overwrites, and leaving dates as text, so that the schema reports a bad date
    like any other value."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            first_lines: dict[Any, int] = {}
            for key_node, _value_node in node.value:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, Hashable):
                    continue
                if key in first_lines:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {first_lines[key]})",
                        key_node.start_mark)
                first_lines[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_CityYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: Path, report: Reporter) -> Any:
    """The YAML document in `path`, or None after reporting why there is none."""
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as problem:
        report("", f"not valid UTF-8 (byte {problem.start})")
        return None
    except OSError as problem:
        report("", f"cannot be read: {problem.strerror}")
        return None
    try:
        document = yaml.load(content, Loader=_CityYamlLoader)
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        is_syntax = not isinstance(problem, yaml.constructor.ConstructorError)
        report(where, f"YAML syntax error: {problem.problem}" if is_syntax else str(problem.problem))
        return None
    except yaml.YAMLError as problem:
        report("", f"YAML syntax error: {problem}")
        return None
    if document is None:
        report("", "file is empty")
    return document


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
        if not IDENTIFIER.match(path.stem):
            report("", f"file name {path.name!r} is not a valid organisation id "
                       "(lowercase ASCII letters, digits and '_', starting with a letter)")
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
        return f"unknown organisation {file_stem}: a register file is named <organisation id>.csv{hint}"

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
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as handle:
                return self.read(csv.reader(handle))
        except UnicodeDecodeError as problem:
            self.report("", f"not valid UTF-8 (byte {problem.start})")
        except csv.Error as problem:
            self.report("", f"malformed CSV: {problem}")
        return []

    def read(self, reader: Iterable[list[str]]) -> list[Workstation]:
        header = next(iter(reader), None)
        if header is None:
            self.report("", "file is empty")
            return []
        if tuple(header) != REGISTER_HEADER:
            self.report("header", f"expected {','.join(REGISTER_HEADER)}, got {','.join(header)}")
            return []
        workstations = []
        row_number = 0
        for row_number, row in enumerate(reader, start=1):
            workstation = self.check_row(row_number, row)
            if workstation is not None:
                workstations.append(workstation)
        if not row_number and self.organisation.get("workstations"):
            self.report("", f"no rows, but the organisation declares "
                            f"{plural(self.organisation['workstations'], 'workstation')}")
        return workstations

    def check_row(self, row_number: int, row: list[str]) -> Workstation | None:
        if len(row) != len(REGISTER_HEADER):
            if row:
                self.report(f"row {row_number}", f"expected {len(REGISTER_HEADER)} columns, got {len(row)}")
            return None
        name, serial, model, site_id, network_kind, assigned_user, purchase_date = row
        problems = [problem for problem in (
            self.check_hostname(name, row_number),
            self.check_serial(serial, row_number),
            None if model.strip() else "model is empty",
            self.check_site(site_id, network_kind),
            self.check_purchase_date(purchase_date),
        ) if problem]
        for problem in problems:
            self.report(f"row {row_number}", problem)
        if problems:
            return None
        self.per_site[site_id] = self.per_site.get(site_id, 0) + 1
        return Workstation(name, self.organisation["id"], site_id, network_kind, serial, model,
                           assigned_user, purchase_date)

    def check_hostname(self, name: str, row_number: int) -> str | None:
        if not HOSTNAME.match(name):
            return (f"{name!r} is not a valid host name (lowercase ASCII letters, digits and '-', "
                    "at most 15 characters)")
        first = self.loader.claim_hostname(name, f"{self.label} row {row_number}")
        if first:
            return f"duplicate hostname {name} (first at {first})"
        if not name.startswith(self.prefix):
            return f"hostname {name} does not start with the organisation's prefix {self.prefix}"
        return None

    def check_serial(self, serial: str, row_number: int) -> str | None:
        if not serial.strip():
            return "serial is empty"
        first = first_claim(self.serials, serial, f"{self.label} row {row_number}")
        return f"duplicate serial {serial} (first at {first})" if first else None

    def check_site(self, site_id: str, network_kind: str) -> str | None:
        entry = self.loader.sites.get(site_id)
        owner = entry.owner if entry else None
        if owner != self.organisation["id"]:
            return self.loader.unknown_site_message(site_id, self.organisation["id"], owner)
        site_network = entry.site.get("network")
        if site_network and network_kind != site_network:
            return f"network {network_kind!r} does not match the {site_network} network of site {site_id}"
        return None

    def check_purchase_date(self, purchase_date: str) -> str | None:
        try:
            iso_date(purchase_date)
        except Invalid as problem:
            return f"purchase_date: {problem}"
        if purchase_date > self.today:
            return f"purchase_date: {purchase_date} is in the future"
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


def resolve_config_path(config_path: Path | str, value: str) -> Path:
    """A path option: absolute as given, else relative to the configuration file."""
    path = Path(os.path.expanduser(str(value)))
    return Path(os.path.normpath(path if path.is_absolute() else Path(config_path).parent / path))


def read_plugin_config(config_path: Path | str,
                       environ: Mapping[str, str] | None = None) -> PluginConfig:
    """Reads a plugin configuration the way the plugin does, for the module and the tools.

    The file's `service_network` wins over the GEMENSAM_SERVICE_NETWORK variable."""
    config_path = Path(config_path)
    problems = Problems()
    report = problems.reporter(display_path(config_path))
    document = read_yaml(config_path, report)
    problems.raise_if_any()
    if not isinstance(document, Mapping) or document.get("plugin") != PLUGIN_NAME:
        raise CityDataError([f"{display_path(config_path)}: not a configuration of the "
                             f"'{PLUGIN_NAME}' inventory plugin (plugin: {PLUGIN_NAME})"])
    environ = os.environ if environ is None else environ
    return PluginConfig(
        path=config_path,
        data_dir=resolve_config_path(config_path, document.get("data_dir") or DEFAULT_DATA_DIR),
        service_hosts=resolve_config_path(config_path,
                                          document.get("service_hosts") or DEFAULT_SERVICE_HOSTS),
        register=_boolean(document.get("register", True)),
        service_network=document.get("service_network") or environ.get(SERVICE_NETWORK_ENV) or None,
        organisations=document.get("organisations") or None,
        sites=document.get("sites") or None,
    )


def _boolean(value: Any) -> bool:
    """Ansible's reading of a boolean option, for configs read outside Ansible."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


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
