"""The rule for a text field of an accepted plan (`<id>-plan.json`), shared by the checks of
migration/move.py and migration/move_printers.py: a string of printable characters, not
empty, at most `length` characters."""

from __future__ import annotations

from typing import Any


def text(value: Any, length: int = 256) -> bool:
    return isinstance(value, str) and value.isprintable() and 0 < len(value) <= length
