"""The rule by which a name that the old file server allowed, and the new one does not,
is renamed on the way (issue 11, Files). Each renamed path is listed with its old name.

The new side is Samba on Linux, used by Windows clients, so a name must be one Windows
can open: composed Unicode (NFC; an old Mac client may have written decomposed å), no
control character, none of \\ / : * ? " < > |, no trailing dot or space, not a device
name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with or without an extension), and at most
255 bytes of UTF-8, which is what the new file system allows.

A character of the private-use range U+F001-U+F07F is one of those refused characters in
disguise: where Windows servers keep a Mac client's "?" or ":" (Services for Macintosh,
Samba's vfs_catia, the old stand-in), and the new server's Windows clients would show a box.

The rule, in that order: compose to NFC; replace each refused character (and each of that
private-use range) with "_"; replace
a trailing dot or space with "_"; add "_" to a device name's stem; cut the stem (never
the extension) to fit 255 bytes at a character boundary. Two names of one folder that
become the same (Windows compares without case: the old stand-in may hold "Rapport.doc"
beside "rapport.doc") get " (2)", " (3)"... before the extension, in the old names'
sorted order, so the result does not depend on the order the old server listed them in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_NAME_BYTES = 255
REFUSED = re.compile(r'[\x00-\x1f\x7f\\/:*?"<>|\uf001-\uf07f]')
DEVICE = re.compile(r"(con|prn|aux|nul|com[1-9]|lpt[1-9])\Z", re.IGNORECASE)


def split_extension(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 16:
        return name, ""
    return stem, "." + extension


def cut(stem: str, extension: str) -> str:
    """The stem shortened until stem and extension fit MAX_NAME_BYTES."""
    room = MAX_NAME_BYTES - len(extension.encode("utf-8"))
    encoded = stem.encode("utf-8")
    if len(encoded) <= room:
        return stem + extension
    return encoded[:room].decode("utf-8", errors="ignore").rstrip(" .") + extension


def new_name(name: str) -> str:
    """The name as the new server keeps it (the name itself if it is allowed)."""
    if not name or name in (".", ".."):
        raise ValueError(f"{name!r} is not a file name")
    composed = REFUSED.sub("_", unicodedata.normalize("NFC", name))
    if composed[-1] in ". ":
        composed = composed[:-1] + "_"
    stem, extension = split_extension(composed)
    if DEVICE.match(stem.rstrip(" ")):
        stem += "_"
    return cut(stem, extension)


def numbered(name: str, number: int) -> str:
    stem, extension = split_extension(name)
    return cut(stem, f" ({number}){extension}")


def rename_folder(names: Iterable[str]) -> dict[str, str]:
    """Old name → new name for the entries of one folder; each new name is unique there,
    compared as Windows compares (without case). An allowed name keeps itself unless an
    earlier allowed name differs from it only in case."""
    old_names = sorted(set(names))
    taken: set[str] = set()
    renamed: dict[str, str] = {}
    for name in old_names:
        if new_name(name) == name and name.casefold() not in taken:
            taken.add(name.casefold())
            renamed[name] = name
    for name in old_names:
        if name in renamed:
            continue
        candidate, number = new_name(name), 1
        while candidate.casefold() in taken:
            number += 1
            candidate = numbered(new_name(name), number)
        taken.add(candidate.casefold())
        renamed[name] = candidate
    return renamed
