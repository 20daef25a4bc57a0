"""migration/old_*_server/build.py: the bundles the lab's stand-ins unpack are the same
bytes for the same input, and their JSON says what their tar holds."""

from __future__ import annotations

import hashlib
import json
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from migration.old_file_server import build as file_build  # noqa: E402
from migration.old_mail_server import build as mail_build  # noqa: E402

DATA = REPO / "inventory/stockholm/data"
PERSONNEL = [REPO / "inventory/lab/data/personnel/sodermalm.csv"]


def built_twice(build, count: int, tmp_path: Path) -> tuple[Path, dict]:
    """The bundle's tar, built twice into two folders and the same bytes both times, and its JSON."""
    first = build("sodermalm", count, DATA, PERSONNEL, tmp_path / "a")
    second = build("sodermalm", count, DATA, PERSONNEL, tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert first.with_suffix(".json").read_bytes() == second.with_suffix(".json").read_bytes()
    return first, json.loads(first.with_suffix(".json").read_text(encoding="utf-8"))


def test_the_file_servers_bundle_is_reproducible_and_its_json_matches_the_tar(tmp_path):
    first, record = built_twice(file_build.build, 60, tmp_path)
    with tarfile.open(first) as archive:
        members = {m.name.removeprefix("files/"): m for m in archive.getmembers() if m.isfile()}
        paths = {f"{f['share']}/{f['path']}" for f in record["files"]}
        assert set(members) == set(record["manifest"]) == paths
        for file in record["files"]:
            member = members[f"{file['share']}/{file['path']}"]
            assert (member.size, member.mtime) == (file["size"], file["mtime"])
            data = archive.extractfile(member).read()
            assert hashlib.sha256(data).hexdigest() == record["manifest"][f"{file['share']}/{file['path']}"]
    # Every folder that holds a file has its access.
    folders = {(f["share"], f["path"]) for f in record["folders"]}
    for file in record["files"]:
        parts = file["path"].split("/")
        assert all((file["share"], "/".join(parts[:depth])) in folders for depth in range(1, len(parts)))


def test_the_mail_servers_bundle_is_reproducible_and_holds_every_message(tmp_path):
    first, record = built_twice(mail_build.build, 120, tmp_path)
    with tarfile.open(first) as archive:
        files = [m for m in archive.getmembers() if m.isfile()]
    messages = [m for box in record["mailboxes"] for m in box["messages"]]
    assert len(files) == len(messages) > 100
    assert sorted(m.mtime for m in files) == sorted(m["date"] for m in messages)
    assert all("/Maildir/" in m.name and "/cur/" in m.name for m in files)
