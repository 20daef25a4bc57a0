#!/usr/bin/env python3
"""Builds what the stand-in for a committee's old file server serves: a tar of its files
(with their dates) and a JSON file of its accounts, groups, shares and each file's owner
and access, from the city data and the committee's personnel export.

    migration/old_file_server/build.py --organisation sodermalm --files 3000 \\
        --personnel inventory/lab/data/personnel/sodermalm.csv --out .lab/gemensam/legacy

The role legacy_file_server unpacks them on the lab host. The same input gives the same
two files, byte for byte, so the role can tell from a checksum whether anything changed.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "module_utils"))
import city_model  # noqa: E402
import personnel  # noqa: E402

from migration.old_file_server import content  # noqa: E402

# The day the old servers' state is taken as of: the first wave's start. People who
# started later never had an old account.
AS_OF = datetime.date(2009, 1, 1)


def description(server: content.OldFileServer, workgroup: str) -> dict:
    return {
        "server": server.name,
        "workgroup": workgroup,
        "users": [{"name": u.name, "full_name": u.full_name, "description": u.description}
                  for u in server.users],
        "groups": [{"name": g.name, "members": list(g.members)} for g in server.groups],
        "shares": [{"name": s.name, "comment": s.comment, "group": s.group} for s in server.shares],
        "folders": [{"share": f.share, "path": f.path, "owner": f.owner, "acl": [list(e) for e in f.acl]}
                    for f in server.folders()],
        "files": [{"share": f.share, "path": f.path, "owner": f.owner, "acl": [list(e) for e in f.acl],
                   "size": f.size, "mtime": f.mtime} for f in server.files],
    }


def write_tar(server: content.OldFileServer, target: Path) -> dict[str, str]:
    """The files under files/<share>/<path>, dated; returns share/path → SHA-256."""
    manifest: dict[str, str] = {}
    folders: set[str] = set()
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as archive:
        for file in server.files:
            name = f"files/{file.share}/{file.path}"
            parts = name.split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                if folder not in folders:
                    folders.add(folder)
                    info = tarfile.TarInfo(folder)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, content.FIRST_YEAR_EPOCH
                    archive.addfile(info)
            data = b"".join(content.content(server, file))
            manifest[f"{file.share}/{file.path}"] = hashlib.sha256(data).hexdigest()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, file.mtime
            archive.addfile(info, io.BytesIO(data))
    return manifest


def build(organisation_id: str, files: int, data_dir: Path, personnel_files: list[Path], out: Path) -> Path:
    organisation, had_accounts = old_accounts_city(data_dir, organisation_id, personnel_files)
    server = content.old_file_server(organisation, had_accounts, files=files)
    out.mkdir(parents=True, exist_ok=True)
    tar = out / f"{server.name}.tar"
    manifest = write_tar(server, tar)
    record = description(server, organisation["code"]) | {"manifest": manifest}
    (out / f"{server.name}.json").write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n",
                                             encoding="utf-8")
    return tar


def old_accounts_city(data_dir: Path, organisation_id: str, personnel_files: list[Path]):
    """The organisation's data and the people who had an account on its old servers."""
    city = city_model.load_city(data_dir, register=False)
    if organisation_id not in city.organisations:
        raise SystemExit(f"build: no organisation {organisation_id!r} in {data_dir}")
    people = personnel.load_people(personnel_files, city.organisations, today=AS_OF)
    had_accounts = [p for p in people if datetime.date.fromisoformat(p["start_date"]) <= AS_OF]
    return city.organisations[organisation_id], had_accounts


def cli(description: str, count: str, default: int, build_bundle) -> int:
    """The command line of a build: --organisation, --<count>, --personnel, --out."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--organisation", required=True, help="the organisation's id, e.g. sodermalm")
    parser.add_argument(f"--{count}", type=int, default=default,
                        help=f"about how many {count} (default {default})")
    parser.add_argument("--data-dir", type=Path, default=REPO / "inventory/stockholm/data")
    parser.add_argument("--personnel", type=Path, action="append", required=True,
                        help="the organisation's personnel export (more than once for several)")
    parser.add_argument("--out", type=Path, required=True, help="the folder for <server>.tar and .json")
    args = parser.parse_args()
    try:
        tar = build_bundle(args.organisation, getattr(args, count), args.data_dir, args.personnel, args.out)
    except city_model.CityDataError as error:
        print(f"build: {error}", file=sys.stderr)
        return 1
    print(tar)
    return 0


def main() -> int:
    return cli(__doc__.split("\n\n")[0], "files", 3000, build)


if __name__ == "__main__":
    sys.exit(main())
