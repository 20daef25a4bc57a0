"""What a committee's old print server (`role: print` in `legacy_servers`) held, made from
the city data: the queues the migration must map onto the sites' new queues.

Rules:

- Every printer of the organisation's sites had a queue on the old server, named the
  old way (`ROSENLUND-01-LJ4250`: the site, a number, the model), with an old model's
  driver and the old location text. The old server printed to each printer over a
  Standard TCP/IP port (`socket://<address>:9100`) whatever protocol the new queue uses:
  the printer is the same, its address is what both sides share.
- The organisation's first printer also had a PostScript queue beside its PCL one: two
  old queues, one new queue.
- `scrapped` queues print to an address of the first site where no printer of the
  city data is: the printer is gone, and the migration must hold its queue.

The same city data gives the same queues.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Mapping
from typing import Any

from migration.discovery.print_server import printer_address

# (short name in the queue's name, driver the old server used): drivers of CUPS's sample.drv,
# none of them a new queue's.
OLD_MODELS = (
    ("LJ4250", "drv:///sample.drv/laserjet.ppd"),
    ("DJ990", "drv:///sample.drv/deskjet.ppd"),
    ("LJ2100", "drv:///sample.drv/laserjet.ppd"),
)
POSTSCRIPT = ("PS", "drv:///sample.drv/generic.ppd")
SCRAPPED_FROM = 60  # the first host number of a scrapped printer's address in the first site


def site_word(organisation_id: str, site_id: str) -> str:
    """`sod_rosenlund` → `ROSENLUND`, in the letters an old queue name could hold."""
    word = site_id.removeprefix(organisation_id[:3] + "_")
    folded = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() else "-" for c in folded).upper()


def old_queues(organisation: Mapping[str, Any], *, scrapped: int = 1) -> list[dict[str, str]]:
    queues = []
    printers = [(site, printer) for site in sorted(organisation.get("sites", []), key=lambda s: s["id"])
                for printer in sorted(site.get("printers") or [], key=lambda p: p["name"])]
    for number, (site, printer) in enumerate(printers):
        model, driver = OLD_MODELS[number % len(OLD_MODELS)]
        word = site_word(organisation["id"], site["id"])
        queue = {
            "name": f"{word}-{number + 1:02d}-{model}",
            "driver": driver,
            "location": f"{site['name']}, {printer['location']}",
            "info": f"{model} {site['name']}",
            "device_uri": f"socket://{printer_address(printer['device_uri'])}:9100",
        }
        queues.append(queue)
        if number == 0:
            queues.append(dict(queue, name=f"{word}-{number + 1:02d}-{POSTSCRIPT[0]}", driver=POSTSCRIPT[1],
                               info=f"{model} PostScript {site['name']}"))
    if scrapped and printers:
        site = printers[0][0]
        taken = {printer_address(p["device_uri"]) for _, p in printers}
        network = ipaddress.ip_network(site["cidr"])
        hosts = (str(network.network_address + n) for n in range(SCRAPPED_FROM, network.num_addresses - 1))
        word = site_word(organisation["id"], site["id"])
        for number, address in enumerate((a for a in hosts if a not in taken), start=1):
            if number > scrapped:
                break
            queues.append({
                "name": f"{word}-X{number}-LJ5",
                "driver": OLD_MODELS[0][1],
                "location": f"{site['name']}, skrivaren är skrotad",
                "info": f"LJ5 {site['name']}",
                "device_uri": f"socket://{address}:9100",
            })
    return queues


def old_print_server(organisation: Mapping[str, Any], *, scrapped: int = 1) -> dict[str, Any]:
    server = next(s for s in organisation.get("legacy_servers", []) if s["role"] == "print")
    return {"server": server["name"], "queues": old_queues(organisation, scrapped=scrapped)}
