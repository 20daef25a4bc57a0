#!/usr/bin/env python3
"""Moves one old share onto the new file server; runs there, as root (issue 11, Files).

    python3 file_mover.py '<the job as JSON>'

It reaches the old server only as a Windows client would, with Samba's clients over SMB1:

    smbclient //old/share -c 'showacls on; recurse on; ls'   every folder and file with its
                                                            size, write time, owner and ACL
    rpcclient -c 'lookupsids ...'                           the names of the SIDs found
    smbclient //old/share < 'get "\\path" "staging/N"' ...   the files that are not yet here

and puts each file in place on the new side (its name by file_names.py's rule), with its
old write time, its owner and ACL translated through the plan's account and group mapping
(translate()), atomically: a file is fetched into a staging folder on the same file system,
given its time, owner and ACL there, and renamed into place, so a kill leaves no file half
written or open to the wrong people. What has been placed is recorded, per file with the
SHA-256 of the bytes the old server sent, in a manifest (JSON lines, appended and synced per
batch). A file is fetched again when the manifest lacks it, or its size or write time on the
old server changed since (the cut-over), or the new copy differs. A file the mover placed
that is gone from the old server since (deleted there between runs) is removed on the new
side too, when the new copy is still as it was placed; one that was changed on the new side
is kept and named. Only what a listing showed gone counts: a folder the listing could not
read deletes nothing.

Afterwards every file of the old share is verified on the new side: there, with the old
size and write time, and with the SHA-256 the manifest recorded when it was fetched. Each
difference is named.

The job (JSON, the one argument; it holds no secret): server, address, auth_file (an
smbclient authentication file of the old server's administrator), share, kind ("folder":
the share into `target`; "homes": each top folder, an old account's home, into
`target`/<its person>), target, group (the new share's group: whom the old "Everyone" means
there), homes {old account: new user}, accounts {old account: new user}, groups {old group:
{"group": new} or {"users": [...]}}, state (the folder for the staging area and the
manifests). It prints one JSON object: the
counts, renamed names, dropped access and problems.
"""

from __future__ import annotations

import datetime
import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import time

try:
    from migration import file_names
except ImportError:  # beside it on the new file server
    import file_names  # type: ignore[no-redef]

SMB1 = ["--option=client min protocol=NT1", "--option=client max protocol=NT1"]
BATCH = 400
TIMEOUT = 3600
MAX_PROBLEMS = 50
READ_DATA, WRITE_DATA = 0x1, 0x2
# Principals whose access the new share's own rules replace: the old server's admins and
# system, and the creator placeholders of inheritable entries.
DROPPED_SIDS = ("S-1-5-18", "S-1-5-32-544", "S-1-3-0", "S-1-3-1", "S-1-5-32-551")
# "Everyone" on the old share means everyone who may open the new one: its group.
EVERYONE_SIDS = ("S-1-1-0", "S-1-5-11", "S-1-5-32-545")
INHERIT_ONLY = "IO"
PWD = "Current directory is "
# smbclient's print of a security descriptor with showacls on.
ACE_TYPE = re.compile(r"^\t\ttype: ACCESS (?P<type>ALLOWED|DENIED)\b.*flags: (?P<flags>0x[0-9a-fA-F]+)")
ACE_MASK = re.compile(r"^\t\tPermissions: (?P<mask>0x[0-9a-fA-F]+):")
ACE_SID = re.compile(r"^\t\tSID: (?P<sid>S-[0-9-]+)\s*$")
OWNER_SID = re.compile(r"^\tOwner SID:\t(?P<sid>S-[0-9-]+)\s*$")


class Entry:
    """A folder or file of the old share, as the listing gave it; each ACE is (SID, ALLOWED
    or DENIED, INHERIT_ONLY or "", access "rw", "r", "w" or "")."""

    __slots__ = ("aces", "folder", "mtime", "owner", "path", "size")

    def __init__(self, path: str, folder: bool, size: int, mtime: int) -> None:
        self.path, self.folder, self.size, self.mtime = path, folder, size, mtime
        self.owner = ""
        self.aces: list[tuple[str, str, str, str]] = []


def access_of(mask: str) -> str:
    bits = int(mask, 16)
    return ("r" if bits & READ_DATA else "") + ("w" if bits & WRITE_DATA else "")


def parse_time(text: str) -> int:
    moment = datetime.datetime.strptime(text.strip(), "%a %b %d %H:%M:%S %Y")
    return int(moment.replace(tzinfo=datetime.UTC).timestamp())


def sections(text: str) -> dict[str, str]:
    """Folder -> the SHA-256 of its part of a plain `recurse on; ls` (names, attributes,
    sizes and times of what it holds; without the free-space lines), the root first. A
    folder whose part is unchanged since the last run is not read again with its ACLs.
    The lines naming each folder are the only ones that start with a backslash."""
    parts: dict[str, list[str]] = {"": []}
    current = ""
    for line in text.split("\n"):
        if line.startswith("\\"):
            current = line[1:].replace("\\", "/")
            parts.setdefault(current, [])
        elif line.strip() and "blocks of size" not in line:
            parts[current].append(line)
    return {folder: hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()
            for folder, lines in parts.items()}


class ListingCache:
    """The last complete run's listing of a share: each folder's signature and every entry
    with its ACL, so that the next run reads again only the folders that changed."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.signatures: dict[str, str] = {}
        self.entries: list[Entry] = []
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as stream:
                saved = json.load(stream)
        except (FileNotFoundError, json.JSONDecodeError):
            return
        self.signatures = saved["signatures"]
        for path_, folder, size, mtime, owner, aces in saved["entries"]:
            entry = Entry(path_, folder, size, mtime)
            entry.owner, entry.aces = owner, [tuple(ace) for ace in aces]
            self.entries.append(entry)

    def save(self, signatures: dict[str, str], entries: list[Entry]) -> None:
        saved = {"signatures": signatures,
                 "entries": [[e.path, e.folder, e.size, e.mtime, e.owner, e.aces] for e in entries]}
        with open(self.path + ".new", "w", encoding="utf-8", errors="surrogateescape") as stream:
            json.dump(saved, stream, ensure_ascii=True)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(self.path + ".new", self.path)


def pwd_folder(line: str) -> str:
    """The folder of pwd's line: Current directory is \\\\server\\share\\folder\\ -> folder."""
    return line[len(PWD):].lstrip("\\").split("\\", 2)[-1].rstrip("\\").replace("\\", "/")


def parse_listing(text: str) -> list[Entry]:
    """smbclient's `showacls on` then, per folder, `cd`, `pwd` and `ls` (TZ=UTC): pwd's line
    names the folder; per entry FILENAME, MODE, SIZE, MTIME and its security descriptor
    (each ACE's type, flags, permissions and SID, then the owner's SID)."""
    entries: list[Entry] = []
    folder = ""
    current: Entry | None = None
    fields: dict[str, str] = {}
    ace: dict[str, str] = {}
    for line in text.split("\n"):
        if line.startswith(PWD):
            folder = pwd_folder(line)
            current = None
            continue
        key, separator, value = line.partition(":")
        if key in ("FILENAME", "MODE", "SIZE") and separator and not line.startswith("\t"):
            fields[key] = value
            current = None
        elif key == "MTIME" and "FILENAME" in fields:
            name = fields["FILENAME"]
            if name not in (".", ".."):
                current = Entry(f"{folder}/{name}" if folder else name, "D" in fields.get("MODE", ""),
                                int(fields.get("SIZE", "0")), parse_time(value))
                entries.append(current)
            fields = {}
        elif current is None:
            continue
        elif (found := ACE_TYPE.match(line)) is not None:
            ace = {"type": "ALLOWED" if found["type"] == "ALLOWED" else "DENIED", "flags": found["flags"]}
        elif (found := ACE_MASK.match(line)) is not None and ace:
            ace["mask"] = found["mask"]
        elif (found := ACE_SID.match(line)) is not None and "mask" in ace:
            flags = int(ace["flags"], 16)
            current.aces.append((found["sid"], ace["type"], INHERIT_ONLY if flags & 0x08 else "",
                                 access_of(ace["mask"])))
            ace = {}
        elif (found := OWNER_SID.match(line)) is not None:
            current.owner = found["sid"]
    return entries


def run(argv: list[str], stdin: bytes | None = None, check: bool = True) -> str:
    result = subprocess.run(argv, input=stdin, capture_output=True, timeout=TIMEOUT, check=False,
                            env={**os.environ, "TZ": "UTC", "LC_ALL": "C.UTF-8"})
    output = result.stdout.decode("utf-8", "surrogateescape")
    if not check:
        return output + result.stderr.decode("utf-8", "replace")
    if result.returncode != 0:
        lines = (output + result.stderr.decode("utf-8", "replace")).strip().splitlines()
        raise MoveError(f"{argv[0]}: {lines[-1] if lines else result.returncode}")
    return output


class MoveError(Exception):
    pass


def smb_path(path: str) -> str:
    """A path of the share as SMB names it: \\folder\\file, the root \\."""
    return "\\" + path.replace("/", "\\")


def quoted(text: str) -> str:
    if '"' in text or "\n" in text:
        raise MoveError(f"{text!r}: smbclient's commands cannot name it (a quote or line break)")
    return f'"{text}"'


class Translation:
    """Old principals (by SID) to the new side's numeric ids, as the plan maps them."""

    def __init__(self, job: dict, names: dict[str, str]) -> None:
        self.job, self.names = job, names
        self.dropped: dict[str, str] = {}
        self.share_gid = grp.getgrnam(job["group"]).gr_gid if job.get("group") else None

    def user_id(self, user: str) -> int:
        try:
            return pwd.getpwnam(user).pw_uid
        except KeyError:
            raise MoveError(f"the new user {user!r} is not known to this file server") from None

    def group_id(self, group: str) -> int:
        try:
            return grp.getgrnam(group).gr_gid
        except KeyError:
            raise MoveError(f"the new group {group!r} is not known to this file server") from None

    def principal(self, sid: str) -> list[tuple[str, int]]:
        """[("user"|"group", id)] for an old SID; [] when its access is not carried over."""
        if sid in DROPPED_SIDS:
            return []
        if sid in EVERYONE_SIDS:
            return [("group", self.share_gid)] if self.share_gid is not None else []
        name = self.names.get(sid, "")
        if name in self.job["accounts"]:
            return [("user", self.user_id(self.job["accounts"][name]))]
        mapped = self.job["groups"].get(name)
        if mapped and "group" in mapped:
            return [("group", self.group_id(mapped["group"]))]
        if mapped:
            return [("user", self.user_id(user)) for user in mapped["users"]]
        self.dropped.setdefault(name or sid, "no person or group on the new side (held or unknown)")
        return []


def translate(entry: Entry, translation: Translation,
              home: tuple[int, int] | None) -> tuple[int, int, list[str]]:
    """(owner uid, group gid, ACL entries for setfacl) of an old folder or file; in a home
    (`home`: the new home folder's owner and group) an owner the plan does not map is the
    home's person."""
    x = "x" if entry.folder else "-"
    owner_ids = translation.principal(entry.owner) if entry.owner else []
    owner = next((i for kind, i in owner_ids if kind == "user"), home[0] if home else 0)
    group = home[1] if home else (translation.share_gid if translation.share_gid is not None else 0)
    rights: dict[tuple[str, int], str] = {}
    denied = False
    for sid, kind, flags, access in entry.aces:
        if flags == INHERIT_ONLY:
            continue
        if kind != "ALLOWED":
            denied = True
            continue
        for principal in translation.principal(sid):
            rights[principal] = "".join(sorted(set(rights.get(principal, "")) | set(access), key="rw".index))
    if denied:
        # A deny entry has no POSIX form: the item keeps its owner's access only.
        translation.dropped.setdefault(entry.path, "a deny entry: only its owner keeps access")
        rights = {("user", owner): rights.get(("user", owner), "rw")}

    def bits(access: str) -> str:
        readable = "r" in access
        return ("r" if readable else "-") + ("w" if "w" in access else "-") + (x if readable else "-")

    lines = [f"user::{bits(rights.pop(('user', owner), ''))}",
             f"group::{bits(rights.pop(('group', group), ''))}"]
    lines += [f"{kind}:{i}:{bits(access)}" for (kind, i), access in sorted(rights.items())]
    lines += [f"mask::rw{x}", "other::---"]
    if entry.folder:
        lines += [f"default:{line}" for line in lines]
    return owner, group, lines


def acl_escape(path: str) -> str:
    """A path as a getfacl dump writes it: whitespace, backslashes and other bytes as octal."""
    return "".join(chr(b) if 0x21 <= b < 0x7f and b != 0x5c else f"\\{b:03o}"
                   for b in path.encode("utf-8", "surrogateescape"))


def restore(items: list[tuple[str, int, int, list[str]]]) -> None:
    """Owner, group and ACL of many paths in one setfacl --restore."""
    if not items:
        return
    dump = "".join(f"# file: {acl_escape(path)}\n# owner: {owner}\n# group: {group}\n"
                   + "\n".join(lines) + "\n\n" for path, owner, group, lines in items)
    run(["setfacl", "--restore=-"], stdin=dump.encode("ascii"))


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class Manifest:
    """new path -> {old, size, mtime, sha256} (or {old, deleted: true}), as JSON lines
    appended per batch; the last line of a path counts."""

    def __init__(self, path: str) -> None:
        self.path, self.entries = path, {}
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="surrogateescape") as stream:
                for line in stream:
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut by a kill: its files are fetched again
                    self.entries[record["new"]] = record

    def add(self, records: list[dict]) -> None:
        with open(self.path, "a", encoding="utf-8", errors="surrogateescape") as stream:
            for record in records:
                stream.write(json.dumps(record, ensure_ascii=True) + "\n")
                self.entries[record["new"]] = record
            stream.flush()
            os.fsync(stream.fileno())


def new_paths(entries: list[Entry], job: dict) -> tuple[dict[str, str], list[tuple[str, str]], list[str]]:
    """Old path -> new path (relative to the target), the renamed ones, and the paths held
    (a home of an account the plan holds)."""
    children: dict[str, list[str]] = {}
    for entry in entries:
        parent, _, name = entry.path.rpartition("/")
        children.setdefault(parent, []).append(name)
    renames = {parent: file_names.rename_folder(names) for parent, names in children.items()}
    mapped: dict[str, str] = {}
    renamed, held = [], []
    for entry in sorted(entries, key=lambda e: e.path.count("/")):
        parent, _, name = entry.path.rpartition("/")
        if job["kind"] == "homes" and not parent:
            user = job["homes"].get(name)
            if user is None:
                held.append(entry.path)
                continue
            mapped[entry.path] = user
            continue
        if parent and parent not in mapped:
            continue  # under a held home
        new_name = renames[parent][name]
        mapped[entry.path] = f"{mapped[parent]}/{new_name}" if parent else new_name
        if new_name != name:
            renamed.append((entry.path, mapped[entry.path]))
    return mapped, renamed, held


def gone_from_old_server(old: str, present: set[str], listed: set[str]) -> bool:
    """Whether the listing shows the old path gone: the deepest folder above it that is still
    there was listed, and holds neither it nor the folder it was in. A folder that is there
    but could not be listed (its section missing) shows nothing."""
    ancestor = old.rpartition("/")[0]
    while ancestor and ancestor not in present:
        ancestor = ancestor.rpartition("/")[0]
    return old not in present and ancestor in listed


def remove_deleted(manifest: Manifest, present: set[str], listed: set[str],
                   target: str) -> tuple[list[str], list[str]]:
    """Removes on the new side what the mover placed and the old server no longer has, when
    the new copy is as placed (its size and write time); (removed, kept because changed on
    the new side), as old paths. Each removal is recorded in the manifest."""
    removed, kept, records = [], [], []
    for new, record in sorted(manifest.entries.items()):
        if record.get("deleted") or not gone_from_old_server(record["old"], present, listed):
            continue
        path = os.path.join(target, new)
        try:
            found = os.stat(path)
        except FileNotFoundError:
            found = None
        if found is not None and (found.st_size, int(found.st_mtime)) != (record["size"], record["mtime"]):
            kept.append(f"{record['old']} ({new})")
            continue
        if found is not None:
            os.remove(path)
        removed.append(record["old"])
        records.append({"new": new, "old": record["old"], "deleted": True})
    manifest.add(records)
    return removed, kept


def move(job: dict) -> dict:
    started = time.monotonic()
    share_url = f"//{job['address']}/{job['share']}"
    auth = ["-A", job["auth_file"], *SMB1]
    state = job["state"]
    os.makedirs(state, mode=0o700, exist_ok=True)
    cache = ListingCache(os.path.join(state, f"{job['server']}-{job['share']}.listing"))
    phases: dict[str, float] = {}

    def phase(name: str) -> None:
        phases[name] = round(time.monotonic() - started - sum(phases.values()), 3)

    signatures = sections(run(["smbclient", share_url, *auth, "-c", "recurse on; ls"]))
    phase("listing")
    changed = [folder for folder, sign in signatures.items() if cache.signatures.get(folder) != sign]
    kept_folders = set(signatures) - set(changed)
    entries = [entry for entry in cache.entries if entry.path.rpartition("/")[0] in kept_folders]
    fresh: list[Entry] = []
    # The folders whose content this run has: from the cache, or listed now (a folder whose
    # `cd` failed prints no pwd line of its own).
    read_folders = set(kept_folders)
    if changed:
        script = ["showacls on"]
        for folder in changed:
            script += [f"cd {quoted(smb_path(folder))}", "pwd", "ls"]
        listing = run(["smbclient", share_url, *auth], "\n".join(script).encode("utf-8"))
        fresh = parse_listing(listing)
        read_folders |= {pwd_folder(line) for line in listing.split("\n") if line.startswith(PWD)}
        entries += fresh
    phase("acls")
    sids = sorted({e.owner for e in entries if e.owner} | {ace[0] for e in entries for ace in e.aces})
    names: dict[str, str] = {}
    if sids:
        looked_up = run(["rpcclient", job["address"], *auth, "-c", "lookupsids " + " ".join(sids)])
        for sid, name in re.findall(r"^(S-[0-9-]+) (.+) \(\d+\)$", looked_up, re.MULTILINE):
            names[sid] = name.split("\\", 1)[-1]
    translation = Translation(job, names)
    mapped, renamed, held = new_paths(entries, job)
    target = job["target"]
    manifest = Manifest(os.path.join(state, f"{job['server']}-{job['share']}.manifest"))
    staging = os.path.join(state, "staging")
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging, mode=0o700)
    problems: list[str] = []
    homes: dict[str, tuple[int, int]] = {}
    if job["kind"] == "homes":
        for user in set(mapped.values()) & set(job["homes"].values()):
            try:
                found = os.stat(os.path.join(target, user))
                homes[user] = (found.st_uid, found.st_gid)
            except FileNotFoundError:
                problems.append(f"{user}: has no home folder on the new server")

    def home_of(new: str) -> tuple[int, int] | None:
        return homes.get(new.split("/")[0]) if job["kind"] == "homes" else None

    folders = [e for e in entries if e.folder and e.path in mapped]
    files = [e for e in entries if not e.folder and e.path in mapped]
    if job["kind"] == "homes":
        files = [e for e in files if mapped[e.path].split("/")[0] in homes]
        folders = [e for e in folders if mapped[e.path].split("/")[0] in homes and "/" in mapped[e.path]]
    # Folders first, each new or changed one with its translated owner and ACL (a home's top
    # folder is the new one's).
    for folder in folders:
        os.makedirs(os.path.join(target, mapped[folder.path]), mode=0o700, exist_ok=True)
    listed_now = {id(entry) for entry in fresh}
    restore([(os.path.join(target, mapped[f.path]), *translate(f, translation, home_of(mapped[f.path])))
             for f in folders if id(f) in listed_now])

    def unchanged(entry: Entry) -> bool:
        record = manifest.entries.get(mapped[entry.path])
        if record is None or record.get("deleted") \
                or (record["size"], record["mtime"]) != (entry.size, entry.mtime):
            return False
        try:
            found = os.stat(os.path.join(target, mapped[entry.path]))
        except FileNotFoundError:
            return False
        return found.st_size == entry.size and int(found.st_mtime) == entry.mtime

    phase("translation")
    to_fetch = [e for e in files if not unchanged(e)]
    needed = sum(e.size for e in to_fetch)
    free = shutil.disk_usage(state).free
    if needed > free:
        raise MoveError(f"the new side has {free} bytes free where {needed} are needed; nothing fetched")
    fetched = fetched_bytes = 0
    fetched_now: set[str] = set()
    for start in range(0, len(to_fetch), BATCH):
        batch = to_fetch[start:start + BATCH]
        script, asked = [], []
        for number, entry in enumerate(batch):
            try:
                local = os.path.join(staging, str(number))
                script.append(f"get {quoted(smb_path(entry.path))} {quoted(local)}")
                asked.append((number, entry))
            except MoveError as error:
                problems.append(f"{entry.path}: {error}")
        said = run(["smbclient", share_url, *auth], "\n".join(script).encode("utf-8"), check=False)
        placed, records = [], []
        for number, entry in asked:
            staged = os.path.join(staging, str(number))
            try:
                size = os.stat(staged).st_size
            except FileNotFoundError:
                reason = next((line.strip() for line in said.splitlines()
                               if "NT_STATUS" in line and entry.path.rsplit("/", 1)[-1] in line), "")
                problems.append(f"{entry.path}: not fetched ({reason or 'smbclient wrote nothing'})")
                continue
            if size != entry.size:
                problems.append(f"{entry.path}: fetched {size} bytes, the old server lists {entry.size}")
                continue
            digest = sha256(staged)
            os.utime(staged, (entry.mtime, entry.mtime))
            new = mapped[entry.path]
            placed.append((staged, entry, new, *translate(entry, translation, home_of(new))))
            records.append({"new": new, "old": entry.path, "size": entry.size, "mtime": entry.mtime,
                            "sha256": digest})
        restore([(staged, owner, group, lines) for staged, _, _, owner, group, lines in placed])
        for staged, entry, new, *_ in placed:
            os.replace(staged, os.path.join(target, new))
            fetched_now.add(new)
            fetched += 1
            fetched_bytes += entry.size
        manifest.add(records)
    phase("fetch")
    # Folders get their old write times last: placing files changed them.
    for folder in sorted(folders, key=lambda f: -f.path.count("/")):
        os.utime(os.path.join(target, mapped[folder.path]), (folder.mtime, folder.mtime))
    shutil.rmtree(staging, ignore_errors=True)
    removed, kept = remove_deleted(manifest, {e.path for e in entries}, read_folders & set(signatures),
                                   target)
    phase("deletions")
    problems += verify(files, mapped, manifest, target, fetched_now)
    phase("verification")
    if not problems:
        cache.save(signatures, entries)
    listed = sorted(mapped[e.path] for e in files)
    manifest_text = "".join(f"{new}\t{manifest.entries.get(new, {}).get('sha256', '')}\n" for new in listed)
    return {"files": len(files), "bytes": sum(e.size for e in files), "folders": len(folders),
            "fetched": fetched, "fetched_bytes": fetched_bytes, "renamed": renamed, "held": held,
            "deleted": removed, "kept_changed": kept,
            "dropped": sorted(f"{k}: {v}" for k, v in translation.dropped.items()),
            "problems": problems[:MAX_PROBLEMS], "problem_count": len(problems),
            "sha256": hashlib.sha256(manifest_text.encode("utf-8", "surrogateescape")).hexdigest(),
            "seconds": round(time.monotonic() - started, 3), "phases": phases}


def verify(files: list[Entry], mapped: dict[str, str], manifest: Manifest, target: str,
           fetched_now: set[str]) -> list[str]:
    """Every old file on the new side with its old size and write time, as the manifest
    recorded it when it was fetched; each file fetched in this run also with the SHA-256 of
    the bytes the old server sent, read back from where it now is."""
    problems = []
    for entry in files:
        new = mapped[entry.path]
        record = manifest.entries.get(new)
        path = os.path.join(target, new)
        if record is None or record.get("deleted") or not os.path.exists(path):
            problems.append(f"{entry.path}: missing on the new side ({new})")
        elif (record["size"], record["mtime"]) != (entry.size, entry.mtime):
            problems.append(f"{entry.path}: changed on the old server since it was fetched")
        elif os.stat(path).st_size != entry.size or int(os.stat(path).st_mtime) != entry.mtime:
            problems.append(f"{entry.path}: size or write time differ on the new side ({new})")
        elif new in fetched_now and sha256(path) != record["sha256"]:
            problems.append(f"{entry.path}: its SHA-256 differs on the new side ({new})")
    return problems


def main() -> int:
    job = json.loads(sys.argv[1])
    try:
        result = move(job)
    except (MoveError, OSError, subprocess.TimeoutExpired) as error:
        print(json.dumps({"error": str(error)}))
        return 1
    print(json.dumps(result, ensure_ascii=True))
    return 0 if not result["problem_count"] else 1


if __name__ == "__main__":
    sys.exit(main())
