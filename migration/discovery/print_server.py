"""Reads an old print server's queues over IPP, as a client on the network can: each
queue's name, the printer it prints to (its device URI), driver (make and model),
location, description and the jobs waiting — never a shell.

One CUPS-Get-Printers request (migration/discovery/ipp.py) lists every queue. That is
CUPS's operation: the lab's stand-in is CUPS. A real Windows Server 2003 answers IPP only
per printer (`http://<server>/printers/<queue>/.printer`, Internet Printing in IIS) and
does not name the device; against one, the queue list and each queue's port
(`IP_<address>`) come from `rpcclient -c 'enumprinters 2'` instead. That path is not
built (see migration/README.md).

Nothing the server says is trusted: the record goes through discovery_model.PRINT_SERVER,
which leaves out a value with control characters or beyond its length and names it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "module_utils"))
import discovery_model

from migration.discovery import ipp

IPP_PORT = 631
# IPP attribute → the discovery record's key.
ATTRIBUTES = {
    "printer-name": "name",
    "device-uri": "device_uri",
    "printer-make-and-model": "driver",
    "printer-location": "location",
    "printer-info": "info",
    "queued-job-count": "jobs",
}


def printer_address(device_uri: str) -> str:
    """The printer's own address in a queue's device URI (`socket://10.18.0.50:9100`,
    `ipp://10.18.0.51/ipp/print`): what an old queue and a new one for the same printer
    share, whatever protocol each speaks. Empty when the URI names none."""
    try:
        return (urlsplit(device_uri).hostname or "").lower()
    except ValueError:
        return ""


def site_queues(organisation: dict[str, Any]) -> list[dict[str, str]]:
    """The new queues of the organisation's sites, as the city data declares them: each
    queue's name (`target`), its site and its printer's address, by site and then name."""
    return [{"target": printer["name"], "site": site["id"], "printer": printer_address(printer["device_uri"])}
            for site in organisation.get("sites", [])
            for printer in sorted(site.get("printers") or [], key=lambda p: p["name"])]


def queue_record(printer: dict[str, Any]) -> dict[str, Any]:
    return {key: printer[attribute] for attribute, key in ATTRIBUTES.items() if attribute in printer}


Printers = Callable[..., list[dict[str, Any]]]


def discover_print_server(device: dict[str, Any], host: str, port: int = IPP_PORT,
                          get_printers: Printers = ipp.get_printers) -> dict[str, Any]:
    """The checked record of one old print server (`device`: its legacy_servers entry)."""
    started = time.monotonic()
    raw: dict[str, Any] = {"name": device["name"], "address": str(device["address"])}
    try:
        raw["queues"] = sorted((queue_record(p) for p in get_printers(host, port)),
                               key=lambda q: str(q.get("name", "")))
    except (OSError, ipp.IppError) as error:
        raw["problems"] = [f"{device['name']}: not read over IPP at {host}:{port}: "
                           f"{type(error).__name__}: {error}"]
    raw["seconds"] = round(time.monotonic() - started, 3)
    return discovery_model.checked(discovery_model.PRINT_SERVER, raw, device["name"])
