#!/usr/bin/env python3
"""Prints the apt proxy URL of the city's package mirror, as the inventory gives it to hosts
(module_utils/city_model.py, package_mirrors_as_vars): for a workstation image build,

    workstation_image/build --proxy "$(tools/package_mirror_url.py inventory/lab/lab.city.yml)"

Without --organisation: the mirror of the service hosts (of the first datacentre that has
one), which a build on the datacentre's network reaches. With it: the mirror that serves
that organisation's workstations. Prints an empty line when no mirror host applies (build
straight from Debian). Exits 1 with the problems when the city data is invalid.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))

import city_model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path, help="a city plugin configuration (city.yml or *.city.yml)")
    parser.add_argument("--organisation", help="print the mirror of this organisation's workstations")
    arguments = parser.parse_args()
    try:
        config = city_model.read_plugin_config(arguments.config)
        city = city_model.load_from_config(dataclasses.replace(config, register=False))
    except city_model.CityDataError as error:
        print("\n".join(error.errors), file=sys.stderr)
        return 1
    hosts, organisations = city_model.package_mirrors_as_vars(city)
    if arguments.organisation is None:
        print(next((url for url in hosts.values() if url), ""))
        return 0
    if arguments.organisation not in organisations:
        known = ", ".join(sorted(organisations))
        print(f"{city_model.display_path(arguments.config)}: --organisation: unknown organisation "
              f"{city_model.excerpt(arguments.organisation)} (included: {known})", file=sys.stderr)
        return 1
    print(organisations[arguments.organisation])
    return 0


if __name__ == "__main__":
    sys.exit(main())
