#!/usr/bin/env python3
"""Builds what the stand-in for a committee's old print server serves: a JSON file of its
queues (name, driver, location, description, device URI), from the city data.

    migration/old_print_server/build.py --organisation sodermalm --scrapped 1 \\
        --personnel inventory/lab/data/personnel/sodermalm.csv --out .lab/gemensam/legacy

The role legacy_print_server creates the queues on the lab host. The personnel export is
read like the other old servers' builds, though queues name no person. The same input
gives the same file, byte for byte.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "module_utils"))

from migration.old_file_server.build import cli, old_accounts_city  # noqa: E402
from migration.old_print_server import content  # noqa: E402


def build(organisation_id: str, scrapped: int, data_dir: Path, personnel_files: list[Path],
          out: Path) -> Path:
    organisation, _ = old_accounts_city(data_dir, organisation_id, personnel_files)
    server = content.old_print_server(organisation, scrapped=scrapped)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{server['server']}.json"
    target.write_text(json.dumps(server, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return target


def main() -> int:
    return cli(__doc__.split("\n\n")[0], "scrapped", 1, build)


if __name__ == "__main__":
    sys.exit(main())
