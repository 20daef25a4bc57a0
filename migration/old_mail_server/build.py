#!/usr/bin/env python3
"""Builds what the stand-in for a committee's old mail server serves: a tar of its
mailboxes as Maildirs (each message dated by its arrival) and a JSON file of its accounts,
folders and each mailbox's Message-IDs, from the city data and the personnel export.

    migration/old_mail_server/build.py --organisation sodermalm --messages 20000 \\
        --personnel inventory/lab/data/personnel/sodermalm.csv --out .lab/gemensam/legacy

The role legacy_mail_server unpacks them on the lab host. The same input gives the same
two files, byte for byte.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "module_utils"))

from migration.old_file_server.build import cli, old_accounts_city  # noqa: E402
from migration.old_mail_server import content  # noqa: E402


def write_tar(server: content.OldMailServer, target: Path) -> None:
    """Every mailbox under mail/<account>/Maildir, with cur/new/tmp of each folder."""
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as archive:
        def folder(name: str) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o700, content.FIRST_YEAR_EPOCH
            archive.addfile(info)

        folder("mail")
        for mailbox in server.mailboxes:
            root = f"mail/{mailbox.account}"
            folder(root)
            folder(f"{root}/Maildir")
            for name in server.folders():
                path = "/".join(part for part in (f"{root}/Maildir", content.maildir_folder(name)) if part)
                if path != f"{root}/Maildir":
                    folder(path)
                for part in ("cur", "new", "tmp"):
                    folder(f"{path}/{part}")
            for number, message in enumerate(mailbox.messages):
                info = tarfile.TarInfo(f"{root}/Maildir/{content.maildir_file(server, message, number)}")
                info.size, info.mode, info.mtime = len(message.data), 0o600, message.date
                archive.addfile(info, io.BytesIO(message.data))


def description(server: content.OldMailServer) -> dict:
    return {
        "server": server.name,
        "folders": list(server.folders()),
        "mailboxes": [{"account": box.account, "address": box.address, "full_name": box.full_name,
                       "messages": [{"folder": m.folder, "message_id": m.message_id, "date": m.date,
                                     "flags": list(m.flags), "size": len(m.data)} for m in box.messages]}
                      for box in server.mailboxes],
    }


def build(organisation_id: str, messages: int, data_dir: Path, personnel_files: list[Path],
          out: Path) -> Path:
    organisation, had_accounts = old_accounts_city(data_dir, organisation_id, personnel_files)
    server = content.old_mail_server(organisation, had_accounts, messages=messages)
    out.mkdir(parents=True, exist_ok=True)
    tar = out / f"{server.name}.tar"
    write_tar(server, tar)
    text = json.dumps(description(server), ensure_ascii=False, indent=1) + "\n"
    (out / f"{server.name}.json").write_text(text, encoding="utf-8")
    return tar


def main() -> int:
    return cli(__doc__.split("\n\n")[0], "messages", 20000, build)


if __name__ == "__main__":
    sys.exit(main())
