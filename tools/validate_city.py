#!/usr/bin/env python3
"""Validates the city data and prints what it holds, or every problem found.

Each PATH is an inventory dir (its city.yml / *.city.yml configurations are read as the
inventory plugin reads them), one such configuration file, or a data dir (its register is
validated when it has been generated). Exits 1 when any data is invalid.

    python tools/validate_city.py inventory/stockholm inventory/lab
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))

import city_model


def main() -> int:
    arguments = parse_arguments()
    valid = True
    for source in arguments.paths:
        try:
            for label, city in load(source):
                print(f"{label}: {city.summary()}")
        except city_model.CityDataError as error:
            valid = False
            print_errors(source, error, arguments.max_errors)
    return 0 if valid else 1


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="an inventory dir, a city plugin configuration or a data dir")
    parser.add_argument("--max-errors", type=int, default=city_model.MAX_REPORTED_ERRORS,
                        help="how many errors to print per PATH; 0 prints them all (default: %(default)s)")
    return parser.parse_args()


def load(source: Path) -> list[tuple[str, city_model.City]]:
    """Every city that SOURCE stands for, each with the name to report it under."""
    configs = city_model.find_plugin_configs(source)
    if configs:
        return [(city_model.display_path(config), city_model.load_from_config(
            city_model.read_plugin_config(config))) for config in configs]
    if (source / city_model.ORGANISATIONS_DIR).is_dir():
        register = (source / city_model.REGISTER_DIR).is_dir()
        return [(city_model.display_path(source), city_model.load_city(
            source, register=register, service_network=os.environ.get(city_model.SERVICE_NETWORK_ENV)))]
    raise city_model.CityDataError([
        f"{city_model.display_path(source)}: neither a city plugin configuration (city.yml or "
        "*.city.yml), nor a directory holding one, nor a data dir (with organisations/)"])


def print_errors(source: Path, error: city_model.CityDataError, limit: int) -> None:
    shown = error.errors if limit <= 0 else error.errors[:limit]
    count = len(error.errors)
    print(f"{city_model.display_path(source)}: {count} problem{'' if count == 1 else 's'}", file=sys.stderr)
    for message in shown:
        print(f"  {message}", file=sys.stderr)
    if len(shown) < len(error.errors):
        print(f"  ... and {len(error.errors) - len(shown)} more (--max-errors 0 shows them all)",
              file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
