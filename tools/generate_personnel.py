#!/usr/bin/env python3
"""Generates personnel exports as HR delivers them, the same every time.

One CSV per organisation (module_utils/personnel.py describes the columns), with Swedish
names drawn by Faker's sv_SE locale from a fixed seed, departments taken from the
organisation's data and titles that fit the department. By default it writes the lab's
organisations (those named in inventory/lab/lab.city.yml), COUNT people each, to
inventory/lab/data/personnel/; those files are committed. A few people are planted among
them so that the lab shows what the user name scheme must handle: the same name in two
organisations and twice in one, hyphenated names, é and ü, and leavers.

    python tools/generate_personnel.py [--count N] [--seed N]
    python tools/generate_personnel.py --org sodermalm --count 1000 --out /tmp/sodermalm.csv

Each organisation draws from its own seed, so one organisation's file is the same whether
it is written alone (--org) or with the others.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import random
import sys
import zlib
from pathlib import Path
from typing import NamedTuple

from faker import Faker

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "module_utils"))

import city_model  # noqa: E402  (found through the path set just above)
import personnel  # noqa: E402

DEFAULT_DATA_DIR = REPO / "inventory/stockholm/data"
DEFAULT_LAB_CONFIG = REPO / "inventory/lab/lab.city.yml"
DEFAULT_OUT = REPO / "inventory/lab/data/personnel"

# Employment started between these dates; leavers left during the transfer period.
FIRST_START = datetime.date(1972, 8, 1)
LAST_START = datetime.date(2009, 12, 31)
LAST_END = datetime.date(2010, 12, 31)
LEAVER_SHARE = 0.04

# Titles by department id, the most common first; a department not listed gets GENERAL.
TITLES = {
    "administration": ("Handläggare", "Administratör", "Assistent", "Ekonom", "Controller",
                       "HR-konsult", "Registrator", "Avdelningschef"),
    "aldreomsorg": ("Undersköterska", "Vårdbiträde", "Sjuksköterska", "Biståndshandläggare",
                    "Arbetsterapeut", "Sjukgymnast", "Enhetschef"),
    "individ_familjeomsorg": ("Socialsekreterare", "Familjebehandlare", "Utredare",
                              "Handläggare", "Enhetschef"),
    "forskola": ("Barnskötare", "Förskollärare", "Kock", "Förskolechef"),
    "stod_service": ("Stödassistent", "Personlig assistent", "Boendestödjare", "LSS-handläggare",
                     "Enhetschef"),
    "stadsmiljo": ("Handläggare", "Parkingenjör", "Landskapsarkitekt", "Projektledare",
                   "Avdelningschef"),
    "kultur_fritid": ("Fritidsledare", "Bibliotekarie", "Kultursekreterare", "Enhetschef"),
    "arbete_integration": ("Arbetsmarknadskonsulent", "Handläggare", "Studie- och yrkesvägledare",
                           "Enhetschef"),
    "forvaltningsstab": ("Handläggare", "Administratör", "Controller", "Kommunikatör", "Jurist",
                         "Stabschef"),
    "grundskola": ("Lärare", "Fritidspedagog", "Elevassistent", "Speciallärare", "Rektor"),
    "gymnasieskola": ("Gymnasielärare", "Studie- och yrkesvägledare", "Bibliotekarie", "Rektor"),
    "vuxenutbildning": ("Lärare i svenska för invandrare", "Lärare", "Studie- och yrkesvägledare",
                        "Rektor"),
    "skolutveckling": ("Utvecklingsledare", "Utredare", "IT-pedagog", "Projektledare"),
    "elevhalsa": ("Specialpedagog", "Skolsköterska", "Kurator", "Skolpsykolog", "Skolläkare"),
}
GENERAL = ("Handläggare", "Utredare", "Administratör", "Assistent", "Projektledare", "Enhetschef")


class Planted(NamedTuple):
    given_name: str
    surname: str
    department: str
    title: str
    end_date: datetime.date | None = None


# People every lab file holds, by organisation: "Åsa Öberg" in two organisations, "Björn
# Ström" twice in one, hyphenated given names and surnames, é and ü, and two leavers.
PLANTED = {
    "sodermalm": (
        Planted("Åsa", "Öberg", "aldreomsorg", "Undersköterska"),
        Planted("Anna-Karin", "Ström-Lindqvist", "individ_familjeomsorg", "Socialsekreterare"),
        Planted("Göran", "Ångström", "administration", "Registrator", datetime.date(2010, 6, 30)),
    ),
    "bromma": (
        Planted("Åsa", "Öberg", "forskola", "Förskollärare"),
        Planted("Jan-Åke", "Nyström", "stadsmiljo", "Projektledare"),
    ),
    "utbildning": (
        Planted("Björn", "Ström", "grundskola", "Lärare"),
        Planted("Björn", "Ström", "elevhalsa", "Kurator"),
        Planted("Renée", "Müller", "gymnasieskola", "Gymnasielärare"),
        Planted("Märta", "Ek", "vuxenutbildning", "Lärare", datetime.date(2009, 12, 31)),
    ),
}


def main() -> int:
    arguments = parse_arguments()
    city = city_model.load_city(arguments.data_dir, register=False)
    if arguments.org:
        if arguments.org not in city.organisations:
            sys.exit(f"unknown organisation {arguments.org}")
        out = arguments.out or DEFAULT_OUT / f"{arguments.org}.csv"
        write(out, organisation_rows(city.organisations[arguments.org], arguments.count, arguments.seed))
        print(f"wrote {arguments.count} people of {arguments.org} to {city_model.display_path(out)}")
        return 0
    organisation_ids = city_model.read_plugin_config(arguments.config).organisations or []
    out_dir = arguments.out or DEFAULT_OUT
    out_dir.mkdir(parents=True, exist_ok=True)
    for organisation_id in organisation_ids:
        rows = organisation_rows(city.organisations[organisation_id], arguments.count, arguments.seed)
        write(out_dir / f"{organisation_id}.csv", rows)
    for path in sorted(out_dir.glob("*.csv")):
        if path.stem not in organisation_ids:
            path.unlink()
            print(f"removed {city_model.display_path(path)}: not an organisation of the lab")
    print(f"wrote {arguments.count} people each of {', '.join(organisation_ids)} to "
          f"{city_model.display_path(out_dir)}")
    return 0


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help="the city data dir (default: inventory/stockholm/data)")
    parser.add_argument("--config", type=Path, default=DEFAULT_LAB_CONFIG,
                        help="the plugin configuration naming the organisations (default: the lab's)")
    parser.add_argument("--org", help="write this organisation only, to the file --out names")
    parser.add_argument("--count", type=int, default=50, help="people per organisation (default: 50)")
    parser.add_argument("--out", type=Path,
                        help="the directory to write (default: inventory/lab/data/personnel), "
                             "or the file with --org (default: that directory's <org>.csv)")
    parser.add_argument("--seed", type=int, default=2009,
                        help="the seed that every organisation's own seed derives from")
    arguments = parser.parse_args()
    if arguments.count < 1:
        parser.error("--count must be at least 1")
    return arguments


def organisation_rows(organisation: dict, count: int, seed: int) -> list[list[str]]:
    """COUNT rows of one organisation, in employee-id order."""
    organisation_seed = seed ^ zlib.crc32(organisation["id"].encode())
    rng = random.Random(organisation_seed)
    fake = Faker("sv_SE")
    fake.seed_instance(organisation_seed)
    departments = [department["id"] for department in organisation["departments"]]
    planted = list(PLANTED.get(organisation["id"], ()))[:count]
    people = planted + [drawn_person(fake, rng, departments) for _ in range(count - len(planted))]
    rng.shuffle(people)
    # Six-digit personnel numbers of the city's payroll; each organisation draws its own.
    employee_ids = sorted(rng.sample(range(100000, 1000000), count))
    rows = []
    for employee_id, person in zip(employee_ids, people, strict=True):
        if person.department not in departments:
            raise SystemExit(f"planted department {person.department} is not one of {organisation['id']}")
        start = random_date(rng, FIRST_START, LAST_START)
        end = person.end_date
        if end is None and rng.random() < LEAVER_SHARE:
            end = random_date(rng, max(start, datetime.date(2009, 1, 1)), LAST_END)
        if end is not None and end < start:
            start = random_date(rng, FIRST_START, end)
        rows.append([str(employee_id), person.given_name, person.surname, organisation["id"],
                     person.department, person.title, start.isoformat(),
                     end.isoformat() if end else ""])
    return rows


def drawn_person(fake: Faker, rng: random.Random, departments: list[str]) -> Planted:
    department = rng.choice(departments)
    titles = TITLES.get(department, GENERAL)
    # The first title is the most common, a chief the rarest.
    title = rng.choices(titles, weights=range(len(titles), 0, -1))[0]
    return Planted(fake.first_name(), fake.last_name(), department, title)


def random_date(rng: random.Random, first: datetime.date, last: datetime.date) -> datetime.date:
    return first + datetime.timedelta(days=rng.randrange((last - first).days + 1))


def write(path: Path, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(personnel.PERSONNEL_HEADER)
        writer.writerows(rows)


if __name__ == "__main__":
    sys.exit(main())
