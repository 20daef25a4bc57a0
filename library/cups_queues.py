#!/usr/bin/python
# Gemensam IT: the print server's CUPS queues, as one declared set.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import re
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: cups_queues
short_description: Keep a CUPS server's managed print queues exactly as declared
description:
  - Creates, updates and removes CUPS queues with C(lpadmin) so that the queues this module
    manages are exactly O(queues). Reads the current state first (C(lpstat -v), C(lpstat -l -p),
    C(lpstat -a), C(lpoptions -p)) and changes only what differs, one C(lpadmin) call per queue.
  - A queue it creates carries the server-side option C(gemensam-driver) (stored in
    C(printers.conf) as C(Option gemensam-driver ...)) holding the driver it was created with.
    That option marks the queue as managed and lets a later run see a changed driver, which
    CUPS itself does not report (only the PPD's make and model).
  - With O(purge), managed queues that are not in O(queues) are removed. Queues without the
    marker (made by hand or by a package) are never removed; a declared queue of the same name
    is taken over.
options:
  queues:
    description: The queues that should exist.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Queue name.
        type: str
        required: true
      device_uri:
        description: Device URI, for example V(socket://10.18.0.50:9100) or V(file:///var/spool/x.out).
        type: str
        required: true
      driver:
        description:
          - Driver, as C(lpadmin -m) takes it; V(everywhere) queries an IPP Everywhere printer,
            which must then be reachable.
        type: str
        required: true
      location:
        description: Printer location (C(printer-location)).
        type: str
        default: ''
      info:
        description: Description shown to users (C(printer-info)).
        type: str
        default: ''
      shared:
        description: Whether the queue is shared with clients on the network.
        type: bool
        default: true
      allowed_users:
        description:
          - Users and C(@groups) allowed to print (C(requesting-user-name-allowed)); empty allows all.
        type: list
        elements: str
        default: []
  purge:
    description: Remove managed queues that are not in O(queues).
    type: bool
    default: true
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - Runs on the CUPS server as root; needs C(lpadmin), C(lpstat) and C(lpoptions) (cups-client).
  - A V(file:) device needs C(FileDevice Yes) in C(cups-files.conf).
  - Queues are always left enabled and accepting jobs.
author:
  - Gemensam IT
"""

EXAMPLES = r"""
- name: Keep the queues of Södermalm
  cups_queues:
    queues:
      - name: sod-rosenlund-p1
        device_uri: socket://10.18.0.50:9100
        driver: drv:///sample.drv/generic.ppd
        location: Rosenlundsgatan 60, plan 3, kopieringsrummet
        info: Södermalms stadsdelsförvaltning
        allowed_users: ["@SOD-Personal"]
"""

RETURN = r"""
created:
  description: Queues created.
  returned: always
  type: list
  elements: str
  sample: [sod-rosenlund-p1]
updated:
  description: Existing queues changed, each with the names of the properties that differed.
  returned: always
  type: dict
  sample: {sod-gotgatan-p1: [device_uri, location]}
removed:
  description: Managed queues removed because they are no longer declared.
  returned: always
  type: list
  elements: str
  sample: [sod-gammal-p9]
queues:
  description: The managed queues after the run (as they would be, in check mode), by name.
  returned: always
  type: dict
"""

MARKER = "gemensam-driver"
PROPERTIES = ("device_uri", "driver", "location", "info", "shared", "allowed_users", "enabled")
LOCALE = {"LC_ALL": "C", "LANG": "C"}
NO_DESTINATIONS = "No destinations added"


class CupsError(Exception):
    pass


def run(module: AnsibleModule, *arguments: str, allow_empty: bool = False) -> str:
    rc, out, err = module.run_command(list(arguments), environ_update=LOCALE)
    if rc != 0:
        if allow_empty and NO_DESTINATIONS in err + out:
            return ""
        raise CupsError(f"{' '.join(arguments)} failed (rc {rc}): {(err or out).strip()}")
    return out


def parse_devices(text: str) -> dict[str, str]:
    """`lpstat -v`: queue -> device URI. lpstat drops the scheme of file: URIs."""
    devices = {}
    for line in text.splitlines():
        match = re.match(r"device for (\S+): (.*)$", line)
        if match:
            uri = match.group(2).strip()
            devices[match.group(1)] = uri if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", uri) else f"file:{uri}"
    return devices


def parse_long_status(text: str) -> dict[str, dict[str, Any]]:
    """`lpstat -l -p`: per queue, its description, location, enabled state and user lists."""
    printers: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    section: str | None = None
    for line in text.splitlines():
        match = re.match(r"printer (\S+) (is idle|now printing|disabled)", line)
        if match:
            current = {"enabled": match.group(2) != "disabled", "info": "", "location": "",
                       "allowed": [], "denied": []}
            printers[match.group(1)] = current
            section = None
            continue
        if current is None:
            continue
        stripped = line.strip()
        field = re.match(r"\t(Description|Location): ?(.*)$", line)
        if field:
            current["info" if field.group(1) == "Description" else "location"] = field.group(2)
            section = None
        elif line.startswith("\tUsers allowed:"):
            section = "allowed"
        elif line.startswith("\tUsers denied:"):
            section = "denied"
        elif line.startswith("\t\t") and section:
            current[section].append(stripped)
        else:
            section = None
    return printers


def parse_accepting(text: str) -> dict[str, bool]:
    return {match.group(1): match.group(2) is None
            for match in re.finditer(r"^(\S+) (not )?accepting requests", text, re.MULTILINE)}


def option_value(options: str, name: str) -> str | None:
    """One value of `lpoptions -p`: values without spaces only, which is all that is read here."""
    match = re.search(rf"(?:^| ){re.escape(name)}=(\S*)", options)
    return match.group(1) if match else None


def current_queues(module: AnsibleModule) -> dict[str, dict[str, Any]]:
    """Every queue on the server, managed or not (`driver` is None when unmanaged)."""
    devices = parse_devices(run(module, "lpstat", "-v", allow_empty=True))
    if not devices:
        return {}
    status = parse_long_status(run(module, "lpstat", "-l", "-p", allow_empty=True))
    accepting = parse_accepting(run(module, "lpstat", "-a", allow_empty=True))
    queues = {}
    for name, device_uri in devices.items():
        options = run(module, "lpoptions", "-p", name)
        state = status.get(name, {})
        # A deny list is never wanted: it reads as a difference from any allow list.
        denied = [f"(denied) {user}" for user in state.get("denied", [])]
        allowed = [user for user in state.get("allowed", []) if user != "(all)"]
        queues[name] = {
            "device_uri": device_uri,
            "driver": option_value(options, MARKER),
            "location": state.get("location", ""),
            "info": state.get("info", ""),
            "shared": option_value(options, "printer-is-shared") == "true",
            "allowed_users": sorted(allowed) + denied,
            "enabled": bool(state.get("enabled")) and accepting.get(name, False),
        }
    return queues


def desired(queue: dict[str, Any]) -> dict[str, Any]:
    return {"device_uri": queue["device_uri"], "driver": queue["driver"], "location": queue["location"],
            "info": queue["info"], "shared": queue["shared"], "allowed_users": sorted(queue["allowed_users"]),
            "enabled": True}


def lpadmin_arguments(name: str, want: dict[str, Any], differing: list[str]) -> list[str]:
    """The lpadmin call that sets the differing properties (all of them for a new queue)."""
    arguments = ["lpadmin", "-p", name]
    if "device_uri" in differing:
        arguments += ["-v", want["device_uri"]]
    if "driver" in differing:
        arguments += ["-m", want["driver"], "-o", f"{MARKER}-default={want['driver']}"]
    if "location" in differing:
        arguments += ["-L", want["location"]]
    if "info" in differing:
        arguments += ["-D", want["info"]]
    if "shared" in differing:
        arguments += ["-o", f"printer-is-shared={'true' if want['shared'] else 'false'}"]
    if "allowed_users" in differing:
        arguments += ["-u", "allow:" + (",".join(want["allowed_users"]) or "all")]
    if "enabled" in differing or "driver" in differing:
        arguments.append("-E")
    return arguments


def plan(queues: list[dict[str, Any]], current: dict[str, dict[str, Any]], purge: bool
         ) -> tuple[list[str], dict[str, list[str]], list[str], list[list[str]]]:
    """What to create, update and remove, and the commands that do it."""
    created, updated, commands = [], {}, []
    for queue in queues:
        name, want = queue["name"], desired(queue)
        have = current.get(name)
        if have is None:
            created.append(name)
            commands.append(lpadmin_arguments(name, want, list(PROPERTIES)))
            continue
        differing = [key for key in PROPERTIES if have.get(key) != want[key]]
        if differing:
            updated[name] = differing
            commands.append(lpadmin_arguments(name, want, differing))
    declared = {queue["name"] for queue in queues}
    removed = sorted(name for name, have in current.items()
                     if purge and have["driver"] is not None and name not in declared)
    commands += [["lpadmin", "-x", name] for name in removed]
    return created, updated, removed, commands


def main() -> None:
    queue_options = {
        "name": {"type": "str", "required": True},
        "device_uri": {"type": "str", "required": True},
        "driver": {"type": "str", "required": True},
        "location": {"type": "str", "default": ""},
        "info": {"type": "str", "default": ""},
        "shared": {"type": "bool", "default": True},
        "allowed_users": {"type": "list", "elements": "str", "default": []},
    }
    module = AnsibleModule(
        argument_spec={
            "queues": {"type": "list", "elements": "dict", "required": True, "options": queue_options},
            "purge": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    queues = module.params["queues"]
    names = [queue["name"] for queue in queues]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        module.fail_json(msg=f"queues: duplicate queue names: {', '.join(duplicates)}")
    try:
        # In check mode on a host where CUPS is not installed yet, every queue is to be created.
        installed = module.get_bin_path("lpstat") is not None or not module.check_mode
        current = current_queues(module) if installed else {}
        created, updated, removed, commands = plan(queues, current, module.params["purge"])
        if not module.check_mode:
            for command in commands:
                run(module, *command)
    except CupsError as problem:
        module.fail_json(msg=str(problem))
    before = {name: have for name, have in current.items() if have["driver"] is not None or name in names}
    after = {name: have for name, have in before.items() if name not in removed}
    after.update({queue["name"]: desired(queue) for queue in queues})
    result: dict[str, Any] = {
        "changed": bool(commands), "created": created, "updated": updated, "removed": removed,
        "queues": dict(sorted(after.items())),
    }
    if module._diff:
        result["diff"] = {"before": dict(sorted(before.items())), "after": dict(sorted(after.items()))}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
