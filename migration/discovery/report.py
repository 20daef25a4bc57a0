"""A committee's inventory as Markdown, for the servicedesk and the people planning its
wave: staff and departments, sites and networks, the old servers and devices with their
fate, what each switch and PC reported, the applications found, and every discrepancy
with the city data and every value refused from a device.

Device values have passed discovery_model (printable, bounded); here they are also
escaped for Markdown, so a description cannot open a link or break a table.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "module_utils"))

import city_model
import discovery_model

# What could open a link, an HTML tag, code or emphasis, or end a table cell.
_MARKDOWN = re.compile(r"([\\`*\[\]<>|~])")


def md(value: Any) -> str:
    return _MARKDOWN.sub(r"\\\1", str(value))


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def render(organisation: dict[str, Any], discovery: dict[str, Any], city: city_model.City) -> str:
    wave = city.waves.get(organisation["wave"], {})
    lines = [f"# Inventory: {md(organisation['name'])} ({md(organisation['code'])})", "",
             f"Wave {organisation['wave']}" + (f", starting {wave['start']}" if "start" in wave else "")
             + f". Staff: {organisation['staff']}, workstations: {organisation['workstations']}.", "",
             "## Departments", ""]
    lines += [f"- {md(department['name'])}" for department in organisation["departments"]] + [""]
    lines += ["## Sites and networks", ""]
    lines += table(["Site", "Name", "Network", "CIDR"],
                   [[s["id"], s["name"], s["network"], s["cidr"]] for s in organisation["sites"]])
    lines += ["## Old servers and devices (organisation file)", ""]
    found = {device["name"] for kind in discovery_model.LEGACY_DEVICE_KINDS
             for device in discovery.get(kind, [])}
    lines += table(["Name", "Role", "OS", "Fate", "Site", "Address", "Discovered"],
                   [[d["name"], d["role"], d["os"], d["fate"], d["site"], d["address"],
                     "yes" if d["name"] in found else "no"] for d in organisation.get("legacy_servers", [])])
    for switch in discovery.get("switches", []):
        lines += switch_section(switch)
    for server in discovery.get("file_servers", []):
        lines += file_server_section(server)
    for server in discovery.get("mail_servers", []):
        lines += mail_server_section(server)
    for server in discovery.get("print_servers", []):
        lines += print_server_section(server)
    lines += pcs_section(discovery.get("pcs", []))
    lines += ["## Discrepancies with the city data", ""]
    lines += [f"- {md(text)}" for text in discovery.get("discrepancies", [])] or ["None found.", ""]
    refused = [(device["name"], problem) for kind in (*discovery_model.LEGACY_DEVICE_KINDS, "pcs")
               for device in discovery.get(kind, []) for problem in device.get("problems", [])]
    lines += ["", "## Values refused from devices", ""]
    lines += [f"- {md(problem)}" for _name, problem in refused] or ["None."]
    return "\n".join(lines).rstrip() + "\n"


def switch_section(switch: dict[str, Any]) -> list[str]:
    lines = [f"## Switch {md(switch['name'])} ({md(switch['address'])})", ""]
    for label, key in (("Host name", "hostname"), ("Model", "model"), ("Serial", "serial"),
                       ("Software", "software"), ("Image", "software_image")):
        lines.append(f"- {label}: {md(switch.get(key, '(not read)'))}")
    if "seconds" in switch:
        lines.append(f"- Read in {switch['seconds']:.1f} s")
    lines += ["", "### VLANs", ""]
    lines += table(["VLAN", "Name"], [[v["id"], v.get("name", "")] for v in switch.get("vlans", [])])
    lines += ["### Addresses", ""]
    lines += table(["Interface", "Address"],
                   [[a["interface"], a["address"]] for a in switch.get("addresses", [])])
    macs = Counter(entry["port"] for entry in switch.get("macs", []))
    connected = [i for i in switch.get("interfaces", []) if i.get("status") == "connected"]
    lines += [f"### Connected ports ({len(connected)} of {len(switch.get('interfaces', []))})", ""]
    lines += table(["Port", "Description", "VLAN", "MACs"],
                   [[i["name"], i.get("description", ""), i.get("vlan", ""), macs.get(i["name"], 0)]
                    for i in connected])
    return lines


def file_server_section(server: dict[str, Any]) -> list[str]:
    lines = [f"## File server {md(server['name'])} ({md(server['address'])})", "",
             f"NetBIOS name {md(server.get('netbios_name', '?'))}, OS version "
             f"{md(server.get('os_version', '?'))}.", "", "### Shares", ""]
    columns = ["Share", "Comment", "Files", "Folders", "Bytes", "Oldest", "Newest", "Names to rename"]
    keys = ["name", "comment", "files", "folders", "bytes", "oldest", "newest", "refused_names"]
    lines += table(columns, [[share.get(key, "?") for key in keys] for share in server.get("shares", [])])
    lines += [f"### Local accounts ({len(server.get('users', []))})", ""]
    lines += table(["Account", "Full name", "Description"],
                   [[user["name"], user.get("full_name", ""), user.get("description", "")]
                    for user in server.get("users", [])])
    lines += ["### Local groups", ""]
    lines += table(["Group", "Members"],
                   [[group["name"], len(group.get("members", []))] for group in server.get("groups", [])])
    return lines


def mail_server_section(server: dict[str, Any]) -> list[str]:
    mailboxes = server.get("mailboxes", [])
    lines = [f"## Mail server {md(server['name'])} ({md(server['address'])})", "",
             f"{len(mailboxes)} mailboxes opened, {sum(m.get('messages', 0) for m in mailboxes)} messages, "
             f"{sum(m.get('bytes', 0) for m in mailboxes)} bytes"
             + (f", read in {server['seconds']:.1f} s" if "seconds" in server else "") + ".", ""]
    columns = ["Account", "Folders", "Messages", "Bytes", "Oldest", "Newest"]
    lines += table(columns, [[m["account"], len(m.get("folders", [])), m.get("messages", "?"),
                              m.get("bytes", "?"), m.get("oldest", ""), m.get("newest", "")]
                             for m in sorted(mailboxes, key=lambda m: -m.get("bytes", 0))])
    return lines


def print_server_section(server: dict[str, Any]) -> list[str]:
    queues = server.get("queues", [])
    lines = [f"## Print server {md(server['name'])} ({md(server['address'])})", "",
             f"{len(queues)} queues" + (f", read in {server['seconds']:.1f} s" if "seconds" in server else "")
             + ".", ""]
    lines += table(["Queue", "Printer (device)", "Driver", "Location", "Jobs waiting"],
                   [[q["name"], q.get("device_uri", "?"), q.get("driver", ""), q.get("location", ""),
                     q.get("jobs", "?")] for q in queues])
    return lines


def pcs_section(pcs: list[dict[str, Any]]) -> list[str]:
    if not pcs:
        return []
    lines = ["## PCs", ""]
    lines += table(["Name", "Manufacturer", "Model", "Serial", "OS", "Programs"],
                   [[pc["name"], pc.get("manufacturer", ""), pc.get("model", ""), pc.get("serial", ""),
                     " ".join(filter(None, [pc.get("os", ""), pc.get("service_pack", "")])),
                     len(pc.get("software", []))] for pc in pcs])
    programs = Counter((program["name"], program.get("version", "")) for pc in pcs
                       for program in pc.get("software", []))
    lines += ["### Applications found on the PCs", ""]
    lines += table(["Program", "Version", "PCs"],
                   [[name, version, count] for (name, version), count in sorted(programs.items())])
    return lines
