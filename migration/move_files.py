"""Moving a committee's files: each old share, as the accepted plan places it, onto the file
server that serves the committee, by migration/file_mover.py run there as root.

The mover and the rule it renames by (file_names.py) are copied to a folder of mode 0700 in
the SSH user's home on the file server, with the job and the old server's smbclient
authentication file; they are removed after the run. What the mover does per share, and
how it verifies, is in its docstring.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration import file_mover

HERE = Path(__file__).resolve().parent
AUTH_KEYS = ("username", "password", "domain")
# Where the mover keeps its staging area and manifests, under the file server's root: on
# the shares' file system (a rename into place is atomic) and in no share.
STATE_FOLDER = ".flytt"
TARGET = re.compile(r"[A-Za-z0-9ÅÄÖåäö_-]+(/[A-Za-z0-9ÅÄÖåäö_-]+)*\Z")


class FileMoveError(Exception):
    """A share not moved, or moved but not verified; the message names it."""


def checked_auth_file(path: Path) -> bytes:
    """An smbclient authentication file (username, password, domain = lines), checked."""
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FileMoveError(f"{label}: {error}") from None
    found = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, separator, value = (part.strip() for part in line.partition("="))
        if not separator or key not in AUTH_KEYS or not value or not value.isprintable() or len(value) > 256:
            raise FileMoveError(f"{label}: line {number}: expected one of {', '.join(AUTH_KEYS)} = "
                                "a printable value of at most 256 characters")
        found[key] = value
    if "username" not in found or "password" not in found:
        raise FileMoveError(f"{label}: expected username and password")
    return "".join(f"{key} = {value}\n" for key, value in found.items()).encode("utf-8")


def checked_target(target: str) -> str:
    if not TARGET.match(target):
        raise FileMoveError(f"target {target!r}: expected a relative path of plain names")
    return target


def job(share: dict[str, Any], decided: dict[str, Any], address: str, root: str,
        folder: str) -> dict[str, Any]:
    """What the mover is told for one share of the plan."""
    server = share["server"]
    accounts = {a["account"]: a["user"] for a in decided["accounts"] if a["server"] == server}
    groups = {g["group"]: ({"group": g["new_group"]} if g["new_group"] else {"users": g["users"]})
              for g in decided["groups"] if g["server"] == server}
    return {"server": server, "address": address, "auth_file": f"{folder}/{server}.auth",
            "share": share["share"], "kind": share["kind"],
            "target": f"{root}/{checked_target(share['target'])}", "group": share["group"],
            "homes": accounts if share["kind"] == "homes" else {}, "accounts": accounts, "groups": groups,
            "state": f"{root}/{STATE_FOLDER}/{decided['organisation']}"}


@dataclass(frozen=True)
class Moved:
    files: int
    bytes: int
    fetched: int
    fetched_bytes: int
    renamed: list[tuple[str, str]]
    held: list[str]
    dropped: list[str]
    sha256: str
    seconds: float
    phases: dict[str, float]  # seconds of the listing, ACLs, translation, fetch, deletions, verification
    deleted: list[str]        # old paths gone from the old server since: removed on the new side
    kept_changed: list[str]   # gone from the old server, but changed on the new side: kept


def install(remote: Any, folder: str, auth: dict[str, bytes]) -> None:
    """The mover, its renaming rule and each old server's authentication into `folder`."""
    for name in ("file_mover.py", "file_names.py"):
        remote.put_private((HERE / name).read_bytes(), f"{folder}/{name}")
    for server, content in auth.items():
        remote.put_private(content, f"{folder}/{server}.auth")


def move_share(remote: Any, folder: str, task: dict[str, Any]) -> Moved:
    """Runs the mover for one share; FileMoveError names what went wrong."""
    where = f"{task['server']}/{task['share']}"
    result = remote.run(["python3", f"{folder}/file_mover.py", json.dumps(task, ensure_ascii=True)],
                        timeout=file_mover.TIMEOUT)
    try:
        said = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise FileMoveError(f"{where}: the mover failed: {(result.stdout + result.stderr)[-500:]}") from None
    if "error" in said:
        raise FileMoveError(f"{where}: {said['error']}")
    if said["problem_count"]:
        more = said["problem_count"] - len(said["problems"])
        raise FileMoveError(f"{where}: {said['problem_count']} files not moved or not verified: "
                            + "; ".join(said["problems"][:10]) + (f"; and {more} more" if more > 0 else ""))
    return Moved(said["files"], said["bytes"], said["fetched"], said["fetched_bytes"],
                 [tuple(pair) for pair in said["renamed"]], said["held"], said["dropped"], said["sha256"],
                 said["seconds"], said["phases"], said["deleted"], said["kept_changed"])


def report(moved: dict[str, Moved]) -> str:
    """The names renamed on the way, the homes held and the access not carried over, per share."""
    lines = []
    for where, share in moved.items():
        lines.append(f"## {where}: {share.files} files, {share.bytes} bytes")
        lines += [f"renamed: {old} -> {new}" for old, new in share.renamed]
        lines += [f"held (an account the plan holds): {path}" for path in share.held]
        lines += [f"access not carried over: {text}" for text in share.dropped]
        lines += [f"deleted on the old server since the last run, removed: {path}" for path in share.deleted]
        lines += [f"deleted on the old server, changed on the new one, kept: {path}"
                  for path in share.kept_changed]
        lines.append("")
    return "\n".join(lines)
