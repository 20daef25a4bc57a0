"""A small valid city to copy and break one thing at a time, and how to run Ansible on it.

Three organisations (two on stage 1, one on stage 2), a school on the EDU net, four
service hosts and six workstations. Tests run with the fixture's directory as working
directory, so that messages name files as `data/organisations/sodermalm.yml`.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "module_utils"))

# The ansible commands of the Python that runs the tests (the project's venv).
BIN = Path(sys.executable).parent

TRANSFER = {
    "period": {"start": "2009-01-01", "end": "2010-12-31"},
    "waves": [
        {"number": 1, "start": "2009-03-02", "stage": 1},
        {"number": 2, "start": "2010-03-01", "stage": 2},
    ],
}

ORGANISATIONS = {
    "sodermalm": {
        "id": "sodermalm",
        "name": "Södermalms stadsdelsnämnd",
        "code": "SOD",
        "kind": "district",
        "stage": 1,
        "wave": 1,
        "staff": 3400,
        "workstations": 3,
        "sites": [
            {"id": "sod_rosenlund", "name": "Södermalms stadsdelsförvaltning",
             "address": "Rosenlundsgatan 60, 118 63 Stockholm", "network": "admin", "cidr": "10.18.0.0/24"},
            {"id": "sod_katarina", "name": "Förskoleområde Katarina",
             "address": "Katarina Bangata 59, 116 39 Stockholm", "network": "admin", "cidr": "10.18.1.0/24"},
        ],
        "departments": [{"id": "aldreomsorg", "name": "Äldreomsorg"},
                        {"id": "forskola", "name": "Förskola"}],
        "legacy_servers": [{"name": "sod-fs01", "role": "file", "os": "Novell NetWare 6.5", "fate": "retire",
                            "site": "sod_rosenlund", "address": "10.18.0.10"}],
    },
    "utbildning": {
        "id": "utbildning",
        "name": "Utbildningsnämnden",
        "code": "UTB",
        "kind": "board",
        "stage": 1,
        "wave": 1,
        "staff": 9500,
        "workstations": 2,
        "sites": [
            {"id": "utb_hantverkargatan", "name": "Utbildningsförvaltningen",
             "address": "Hantverkargatan 2 F, 112 21 Stockholm", "network": "admin", "cidr": "10.30.0.0/24"},
            {"id": "utb_sodermalmsskolan", "name": "Södermalmsskolan",
             "address": "Bondegatan 12, 116 23 Stockholm", "network": "edu", "cidr": "172.16.0.0/24"},
        ],
        "departments": [{"id": "grundskola", "name": "Grundskoleavdelningen"}],
    },
    "kulturnamnden": {
        "id": "kulturnamnden",
        "name": "Kulturnämnden",
        "code": "KUL",
        "kind": "board",
        "stage": 2,
        "wave": 2,
        "staff": 1600,
        "workstations": 1,
        "sites": [
            {"id": "kul_kulturhuset", "name": "Kulturförvaltningen, Kulturhuset",
             "address": "Sergels torg 3, 111 57 Stockholm", "network": "admin", "cidr": "10.41.0.0/24"},
        ],
        "departments": [{"id": "stadsbiblioteket", "name": "Stadsbiblioteket"}],
    },
}

SERVICE_HOSTS = {
    "datacentres": [{"id": "central", "name": "Stadens centrala datacenter", "network": "10.0.0.0/16"}],
    "hosts": [
        {"name": "dc1", "datacentre": "central", "address": "10.0.1.11", "services": ["dc"], "serves": "all"},
        {"name": "fs1", "datacentre": "central", "address": "10.0.1.21", "services": ["file", "print"],
         "serves": ["sodermalm", "utbildning"]},
        {"name": "fs2", "datacentre": "central", "address": "10.0.1.22", "services": ["file", "print"],
         "serves": ["kulturnamnden"]},
        {"name": "mail1", "datacentre": "central", "address": "10.0.1.41",
         "services": ["mail", "app", "servicedesk", "log", "mirror"], "serves": "all"},
    ],
}

HEADER = ["hostname", "serial", "model", "site", "network", "assigned_user", "purchase_date"]
REGISTER = {
    "sodermalm": [
        ["sod-ws-00001", "CZC7451ABC", "HP Compaq dc7800", "sod_rosenlund", "admin", "Åsa Öberg",
         "2008-02-14"],
        ["sod-ws-00002", "7XK2B3J", "Dell OptiPlex 755", "sod_katarina", "admin", "", "2007-09-03"],
        ["sod-lt-00001", "L3-A1B2C3D", "Lenovo ThinkPad T61", "sod_rosenlund", "admin", "Björn Ström",
         "2007-11-20"],
    ],
    "utbildning": [
        ["utb-ws-00001", "CZC6123XYZ", "HP Compaq dc7700", "utb_hantverkargatan", "admin", "Märta Ek",
         "2006-08-15"],
        ["utb-ws-00002", "YK6123456", "Fujitsu Siemens Esprimo P5915", "utb_sodermalmsskolan", "edu", "",
         "2006-06-01"],
    ],
    "kulturnamnden": [
        ["kul-ws-00001", "4HJ8K2L", "Dell OptiPlex GX620", "kul_kulturhuset", "admin", "Göran Ångström",
         "2005-04-11"],
    ],
}


class CityFixture:
    """A data dir (`data/`) and a plugin configuration (`city.yml`) under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.config = root / "city.yml"

    def write(self) -> CityFixture:
        self.write_yaml("transfer.yml", TRANSFER)
        for organisation_id, organisation in ORGANISATIONS.items():
            self.write_yaml(f"organisations/{organisation_id}.yml", organisation)
        self.write_yaml("service_hosts.yml", SERVICE_HOSTS)
        for organisation_id, rows in REGISTER.items():
            self.write_rows(organisation_id, [HEADER, *rows])
        self.write_config({"plugin": "city"})
        return self

    def write_config(self, config: dict[str, Any]) -> None:
        dump_yaml(self.config, config)

    def write_yaml(self, relative: str, data: Any) -> None:
        dump_yaml(self.data / relative, data)

    def write_text(self, relative: str, text: str) -> None:
        path = self.data / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def edit_yaml(self, relative: str, change: Callable[[Any], None]) -> None:
        path = self.data / relative
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        dump_yaml(path, data)

    def rows(self, organisation_id: str) -> list[list[str]]:
        with (self.data / "register" / f"{organisation_id}.csv").open(encoding="utf-8", newline="") as handle:
            return list(csv.reader(handle))

    def write_rows(self, organisation_id: str, rows: list[list[str]]) -> None:
        path = self.data / "register" / f"{organisation_id}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)

    def edit_rows(self, organisation_id: str, change: Callable[[list[list[str]]], None]) -> None:
        rows = self.rows(organisation_id)
        change(rows)
        self.write_rows(organisation_id, rows)


def dump_yaml(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def run_ansible(command: str, *arguments: str, env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    """Runs an ansible command of the venv from the repository, so that its ansible.cfg
    (plugin paths, enabled inventory plugins) applies."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    environment.pop("GEMENSAM_SERVICE_NETWORK", None)
    environment.update({"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                        "ANSIBLE_FORCE_COLOR": "0", **(env or {})})
    return subprocess.run([str(BIN / command), *arguments], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=120, check=False)
