"""The lab's inventory as plain Python data, for the summary and the end-to-end tests: the
same reading of `ansible-inventory --list` that the migration uses (migration/new_side.py)."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from migration.new_side import CityInventory  # noqa: E402


class LabInventory:
    def __init__(self, source="inventory/lab"):
        inventory = CityInventory.read(REPO / source)
        self._inventory = inventory
        self.hostvars = inventory.hostvars

    def members(self, group):
        """Hosts of a group and of its child groups, in inventory order, as groups[] gives them."""
        return self._inventory.members(group)

    @property
    def group_names(self):
        return list(self._inventory.groups)
