"""The printers' part of a committee's move: each old print queue is mapped onto the site's
new queue for the same printer (the accepted plan decides which, migration/plan.py).

Nothing is copied: the printer stays where it is, and the new print server already has its
queue from the city data (the print_server role). The move checks over IPP that every new
queue the plan names is on the print server that serves the committee and accepts jobs,
writes each mapping to the ledger (step `printers`), and writes the mapping, the held
queues and why, beside the ledger (`<id>-<run>.printers.txt`), for the servicedesk and the
workstations' printer connections.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from migration import ledger
from migration.discovery import ipp
from migration.discovery.print_server import IPP_PORT, site_queues
from migration.plan_fields import text

MAX_QUEUE = 127


def check_printer_decisions(decided: dict[str, Any], organisation: dict[str, Any], label: str) -> None:
    """The plan's printers and held_printers, against the organisation; ValueError names the key."""
    servers = {s["name"] for s in organisation.get("legacy_servers", []) if s["role"] == "print"}
    new_queues = {(q["target"], q["site"], q["printer"]) for q in site_queues(organisation)}
    seen = set()
    for index, mapped in enumerate(decided["printers"] if isinstance(decided["printers"], list) else [None]):
        where = f"{label}: printers[{index}]"
        if not isinstance(mapped, dict) or set(mapped) != {"server", "queue", "printer", "target", "site"}:
            raise ValueError(f"{where}: expected server, queue, printer, target and site")
        if mapped["server"] not in servers:
            raise ValueError(f"{where}.server: not an old print server of {organisation['id']}")
        if not text(mapped["queue"], MAX_QUEUE):
            raise ValueError(f"{where}.queue: expected a queue name")
        if (mapped["target"], mapped["site"], mapped["printer"]) not in new_queues:
            raise ValueError(f"{where}.target: not the queue of that site and printer in the city data")
        if (mapped["server"], mapped["queue"]) in seen:
            raise ValueError(f"{where}: {mapped['server']}/{mapped['queue']} is listed twice")
        seen.add((mapped["server"], mapped["queue"]))
    held = decided["held_printers"]
    for index, entry in enumerate(held if isinstance(held, list) else [None]):
        if not isinstance(entry, dict) or set(entry) != {"server", "queue", "reason"} or not all(
                text(entry[key]) for key in entry):
            raise ValueError(f"{label}: held_printers[{index}]: expected server, queue and reason as text")


def map_printers(run: ledger.Ledger, decided: dict[str, Any], print_host: str, address: str,
                 report: Path, get_printers: Callable[..., list[dict[str, Any]]] = ipp.get_printers) -> bool:
    """Every old queue of the plan checked against the new print server; False when a new
    queue is missing, refuses jobs, or the server does not answer."""
    for entry in decided["held_printers"]:
        run.write("printers", f"{entry['server']}/{entry['queue']}", "held", message=entry["reason"])
    try:
        found = {p["printer-name"]: p for p in get_printers(address, IPP_PORT)
                 if isinstance(p.get("printer-name"), str)}
        problem = ""
    except (OSError, ipp.IppError) as error:
        found, problem = {}, f"{print_host} did not answer over IPP: {type(error).__name__}: {error}"
    all_mapped = True
    lines = [f"Old queues and their new queues on {print_host}:"]
    for mapped in decided["printers"]:
        item = f"{mapped['server']}/{mapped['queue']}"
        queue = found.get(mapped["target"])
        if queue is None or not queue.get("printer-is-accepting-jobs", False):
            all_mapped = False
            why = problem or (f"{mapped['target']} is not on {print_host}" if queue is None
                              else f"{mapped['target']} on {print_host} does not accept jobs")
            run.write("printers", item, "failed", message=why)
            continue
        run.write("printers", item, "done", message=f"{mapped['target']} on {print_host}")
        lines.append(f"{item} -> {mapped['target']} (site {mapped['site']}, printer {mapped['printer']})")
    lines += ["", "Held:"] + [f"{h['server']}/{h['queue']}: {h['reason']}" for h in decided["held_printers"]]
    report.write_text("\n".join(ledger.printable(line) for line in lines) + "\n", encoding="utf-8")
    return all_mapped
