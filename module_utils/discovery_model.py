"""What discovery found on a committee's old estate, under one declared schema.

    <data dir>/discovery/<organisation id>.yml    (or the lab's state dir: generated, not committed)

Every value in it came from a device that the city does not control: an old switch's
descriptions and host name, a PC's registry. They are untrusted input, checked with the
city model's machinery (module_utils/city_model.py) and its rules: strings of printable
characters only (no control, format or line-separator characters), each with a maximum
length; names of a fixed shape as tokens; numbers in a range. A value that breaks a rule
is left out of the record and the problem, naming the device, the key path and a short
escaped excerpt, is kept in the record's `problems` — the rest of the device is still
recorded, since one hostile description should not hide a switch.

Fields the city data gives (the device's declared name and address) are required; what
the device reports is optional, as a refused value leaves its key out.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import city_model
from city_model import Invalid, Problems, Record, Reporter, Token, bounded, leaf, list_of, whole_number

DISCOVERY_DIR = "discovery"

MAX_DESCRIPTION_LENGTH = 240   # an IOS interface description
MAX_VERSION_LENGTH = 80        # a software version
MAX_SOFTWARE_NAME_LENGTH = 255 # a Windows Uninstall key's DisplayName as Programs and Features shows it
MAX_VENDOR_LENGTH = 120        # a manufacturer or publisher
MAX_PROBLEM_LENGTH = 500       # a message about a refused value (its excerpt is short and escaped)
MAX_LIST_LENGTH = 10_000       # VLANs, interfaces, MAC entries, installed programs of one device
MAX_SECONDS = 86_400.0

DEVICE_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})\Z")
INTERFACE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9/.:-]{0,63}\Z")
VLAN_NAME = re.compile(r"[\x21-\x7e]{1,32}\Z")
MAC = re.compile(r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}\Z")
SERIAL = re.compile(r"[A-Za-z0-9-]{1,40}\Z")
INTERFACE_STATES = ("connected", "notconnect", "disabled", "err-disabled", "inactive", "up", "down")

device_hostname = Token("device host name", DEVICE_HOSTNAME,
                        "ASCII letters, digits, '.', '_' and '-', at most 63 characters")
interface_name = Token("interface name", INTERFACE_NAME,
                       "ASCII letters, digits, '/', '.', ':' and '-', at most 64 characters")
vlan_name = Token("VLAN name", VLAN_NAME, "visible ASCII characters, at most 32")
mac_address = Token("MAC address", MAC, "Cisco's dotted form, 0014.22ab.cdef")
serial = Token("serial number", SERIAL, "ASCII letters, digits and '-', at most 40 characters")


def interface_address(value: Any) -> str:
    """An address with its prefix (10.18.0.2/22), kept as text."""
    try:
        ipaddress.ip_interface(city_model.text(value, city_model.MAX_NETWORK_LENGTH))
    except ValueError:
        raise Invalid(f"{city_model.shown(value)} is not an address with a prefix") from None
    return value


def seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_SECONDS:
        raise Invalid(f"expected a duration in seconds, got {city_model.describe(value)}")
    return float(value)


def list_of_at_most(item: Any, limit: int = MAX_LIST_LENGTH) -> Any:
    """A possibly empty list of at most `limit` items; refused items, and records that lost
    a required value, are dropped (their problem is reported), so that what is kept is
    valid as a whole."""
    check = list_of(item, empty=True)
    required = set(item.fields) - item.optional if isinstance(item, Record) else set()

    def checked(value: Any, where: str, report: Reporter) -> list[Any] | None:
        if isinstance(value, list) and len(value) > limit:
            report(where, f"{len(value)} items, at most {limit}")
            return None
        items = check(value, where, report)
        if items is None:
            return None
        return [element for element in items
                if element is not None and not (required and required - element.keys())]

    return checked


VLAN = Record({"id": leaf(whole_number(1, 4094)), "name": leaf(vlan_name)}, optional=["name"])
INTERFACE = Record({
    "name": leaf(interface_name),
    "description": leaf(bounded(MAX_DESCRIPTION_LENGTH, empty=True)),
    "status": leaf(city_model.one_of(*INTERFACE_STATES)),
    "vlan": leaf(bounded(20)),   # a number, "trunk" or "routed"
}, optional=["description", "status", "vlan"])
ADDRESS = Record({"interface": leaf(interface_name), "address": leaf(interface_address)})
MAC_ENTRY = Record({"vlan": leaf(whole_number(1, 4094)), "mac": leaf(mac_address),
                    "port": leaf(interface_name)})
PROBLEMS = list_of_at_most(leaf(bounded(MAX_PROBLEM_LENGTH)))

SWITCH = Record({
    "name": leaf(city_model.hostname),        # declared in the organisation file
    "address": leaf(city_model.ip_address),   # declared
    "hostname": leaf(device_hostname),
    "model": leaf(bounded(city_model.MAX_MODEL_LENGTH)),
    "serial": leaf(serial),
    "software": leaf(bounded(MAX_VERSION_LENGTH)),
    "software_image": leaf(bounded(MAX_VERSION_LENGTH)),
    "vlans": list_of_at_most(VLAN),
    "interfaces": list_of_at_most(INTERFACE),
    "addresses": list_of_at_most(ADDRESS),
    "macs": list_of_at_most(MAC_ENTRY),
    "seconds": leaf(seconds),
    "problems": PROBLEMS,
}, optional=["hostname", "model", "serial", "software", "software_image", "vlans", "interfaces",
             "addresses", "macs", "seconds", "problems"])

PROGRAM = Record({
    "name": leaf(bounded(MAX_SOFTWARE_NAME_LENGTH)),
    "version": leaf(bounded(MAX_VERSION_LENGTH, empty=True)),
    "publisher": leaf(bounded(MAX_VENDOR_LENGTH, empty=True)),
    "installed": leaf(bounded(8, empty=True)),   # YYYYMMDD as the Uninstall key holds it, or empty
}, optional=["version", "publisher", "installed"])
PC = Record({
    "name": leaf(city_model.hostname),        # from the register
    "hostname": leaf(device_hostname),
    "manufacturer": leaf(bounded(MAX_VENDOR_LENGTH)),
    "model": leaf(bounded(city_model.MAX_MODEL_LENGTH)),
    "serial": leaf(bounded(city_model.MAX_SERIAL_LENGTH)),
    "memory_mb": leaf(whole_number(0, 1 << 24)),
    "os": leaf(bounded(city_model.MAX_OS_LENGTH)),
    "os_version": leaf(bounded(MAX_VERSION_LENGTH)),
    "service_pack": leaf(bounded(MAX_VERSION_LENGTH, empty=True)),
    "software": list_of_at_most(PROGRAM),
    "seconds": leaf(seconds),
    "problems": PROBLEMS,
}, optional=["hostname", "manufacturer", "model", "serial", "memory_mb", "os", "os_version",
             "service_pack", "software", "seconds", "problems"])

MAX_SHARE_NAME_LENGTH = 80    # a Windows share name
MAX_ACCOUNT_NAME_LENGTH = 256 # a Windows 2003 local account's or group's name
MAX_COUNT = 1 << 40
SHARE = Record({
    "name": leaf(bounded(MAX_SHARE_NAME_LENGTH)),
    "comment": leaf(bounded(MAX_DESCRIPTION_LENGTH, empty=True)),
    "files": leaf(whole_number(0, MAX_COUNT)),
    "folders": leaf(whole_number(0, MAX_COUNT)),
    "bytes": leaf(whole_number(0, MAX_COUNT)),
    "oldest": leaf(bounded(10)),     # YYYY-MM-DD of the oldest write
    "newest": leaf(bounded(10)),
    "refused_names": leaf(whole_number(0, MAX_COUNT)),   # names the new server refuses
}, optional=["comment", "files", "folders", "bytes", "oldest", "newest", "refused_names"])
ACCOUNT = Record({
    "name": leaf(bounded(MAX_ACCOUNT_NAME_LENGTH)),
    "full_name": leaf(bounded(MAX_ACCOUNT_NAME_LENGTH, empty=True)),
    "description": leaf(bounded(MAX_DESCRIPTION_LENGTH, empty=True)),
}, optional=["full_name", "description"])
GROUP = Record({
    "name": leaf(bounded(MAX_ACCOUNT_NAME_LENGTH)),
    "members": list_of_at_most(leaf(bounded(MAX_ACCOUNT_NAME_LENGTH))),
}, optional=["members"])
FILE_SERVER = Record({
    "name": leaf(city_model.hostname),        # declared in the organisation file
    "address": leaf(city_model.ip_address),   # declared
    "netbios_name": leaf(device_hostname),
    "os_version": leaf(bounded(MAX_VERSION_LENGTH)),
    "shares": list_of_at_most(SHARE),
    "users": list_of_at_most(ACCOUNT),
    "groups": list_of_at_most(GROUP),
    "seconds": leaf(seconds),
    "problems": PROBLEMS,
}, optional=["netbios_name", "os_version", "shares", "users", "groups", "seconds", "problems"])

MAX_FOLDER_NAME_LENGTH = 255   # a folder's path in a mailbox, decoded
FOLDER = Record({
    "name": leaf(bounded(MAX_FOLDER_NAME_LENGTH)),
    "messages": leaf(whole_number(0, MAX_COUNT)),
    "bytes": leaf(whole_number(0, MAX_COUNT)),
})
MAILBOX = Record({
    "account": leaf(bounded(MAX_ACCOUNT_NAME_LENGTH)),
    "folders": list_of_at_most(FOLDER),
    "messages": leaf(whole_number(0, MAX_COUNT)),
    "bytes": leaf(whole_number(0, MAX_COUNT)),
    "oldest": leaf(bounded(10)),     # YYYY-MM-DD of the oldest arrival
    "newest": leaf(bounded(10)),
}, optional=["folders", "messages", "bytes", "oldest", "newest"])
MAIL_SERVER = Record({
    "name": leaf(city_model.hostname),        # declared in the organisation file
    "address": leaf(city_model.ip_address),   # declared
    "mailboxes": list_of_at_most(MAILBOX),
    "seconds": leaf(seconds),
    "problems": PROBLEMS,
}, optional=["mailboxes", "seconds", "problems"])

MAX_QUEUE_NAME_LENGTH = 127   # an IPP printer-name
MAX_URI_LENGTH = 1023          # an IPP uri
QUEUE = Record({
    "name": leaf(bounded(MAX_QUEUE_NAME_LENGTH)),
    "device_uri": leaf(bounded(MAX_URI_LENGTH)),
    "driver": leaf(bounded(MAX_DESCRIPTION_LENGTH, empty=True)),    # printer-make-and-model
    "location": leaf(bounded(MAX_DESCRIPTION_LENGTH, empty=True)),
    "info": leaf(bounded(MAX_DESCRIPTION_LENGTH, empty=True)),
    "jobs": leaf(whole_number(0, MAX_COUNT)),                         # queued-job-count
}, optional=["device_uri", "driver", "location", "info", "jobs"])
PRINT_SERVER = Record({
    "name": leaf(city_model.hostname),        # declared in the organisation file
    "address": leaf(city_model.ip_address),   # declared
    "queues": list_of_at_most(QUEUE),
    "seconds": leaf(seconds),
    "problems": PROBLEMS,
}, optional=["queues", "seconds", "problems"])

# The kinds of device in a discovery file that the organisation file declares as legacy_servers.
LEGACY_DEVICE_KINDS = ("switches", "file_servers", "mail_servers", "print_servers")

DISCOVERY = Record({
    "organisation": leaf(city_model.identifier),
    "switches": list_of_at_most(SWITCH),
    "pcs": list_of_at_most(PC),
    "file_servers": list_of_at_most(FILE_SERVER),
    "mail_servers": list_of_at_most(MAIL_SERVER),
    "print_servers": list_of_at_most(PRINT_SERVER),
    "discrepancies": PROBLEMS,
}, optional=["switches", "pcs", "file_servers", "mail_servers", "print_servers", "discrepancies"])


def checked(schema: Record, raw: dict[str, Any], label: str) -> dict[str, Any]:
    """The record with every refused value left out and the problems (each naming `label`,
    the key path and what is wrong) added to its `problems`."""
    problems = Problems()
    record = schema(raw, "", problems.reporter(label)) or {}
    found = record.get("problems", []) + problems.messages
    if found:
        record["problems"] = [message[:MAX_PROBLEM_LENGTH] for message in found]
    return record


def discovery_path(directory: Path | str, organisation_id: str) -> Path:
    return Path(directory) / f"{organisation_id}.yml"


def load_discovery(path: Path | str, city: city_model.City) -> dict[str, Any]:
    """Reads a discovery file and validates it against the schema and the city: the
    organisation exists and every device is one the city declares. Raises CityDataError."""
    path = Path(path)
    problems = Problems()
    label = city_model.display_path(path)
    report = problems.reporter(label)
    data = city_model.read_yaml(path, report)
    record = DISCOVERY(data, "", report) if data is not None else None
    if record and "organisation" in record:
        organisation = city.organisations.get(record["organisation"])
        if organisation is None:
            report("organisation", f"unknown organisation {record['organisation']}")
        else:
            declared = {device["name"] for device in organisation.get("legacy_servers", [])}
            registered = {w.hostname for w in city.workstations if w.organisation == organisation["id"]}
            for kind in LEGACY_DEVICE_KINDS:
                for index, device in enumerate(record.get(kind, [])):
                    if device.get("name") not in declared:
                        report(f"{kind}[{index}].name", f"{device.get('name')} is not a legacy device of "
                                                        f"{organisation['id']}")
            if city.register_loaded:
                for index, pc in enumerate(record.get("pcs", [])):
                    if pc.get("name") not in registered:
                        report(f"pcs[{index}].name", f"{pc.get('name')} is not in the register of "
                                                     f"{organisation['id']}")
    problems.raise_if_any()
    return record or {}
