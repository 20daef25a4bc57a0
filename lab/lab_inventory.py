"""The lab's inventory as plain Python data, for the summary and the end-to-end tests.

ansible-core 2.19 writes values that an inventory plugin set (untrusted data) as
{"__ansible_unsafe": value} in `ansible-inventory --list`; they are unwrapped here.
"""

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _plain(value):
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class LabInventory:
    def __init__(self, source="inventory/lab"):
        listing = subprocess.run(
            ["ansible-inventory", "-i", source, "--list"],
            cwd=REPO, check=True, capture_output=True, text=True,
        ).stdout
        self._groups = _plain(json.loads(listing))
        self.hostvars = self._groups.pop("_meta")["hostvars"]

    def members(self, group):
        """Hosts of a group and of its child groups, in inventory order, as groups[] gives them."""
        entry = self._groups.get(group, {})
        found = list(entry.get("hosts", []))
        for child in entry.get("children", []):
            found += [host for host in self.members(child) if host not in found]
        return found

    @property
    def group_names(self):
        return list(self._groups)
