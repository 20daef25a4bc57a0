#!/usr/bin/env python3
"""Prints how long `ansible-inventory --list` takes over the whole city, beside the same
call on a one-host inventory measured in the same run (the floor: Python and Ansible
starting up), and the ratio. Also prints `--graph`, which builds the same inventory but
resolves no host variables, to tell the plugin's share from ansible-inventory's own
per-host work. Prints only; asserts nothing.

    python bench/inventory_list.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CITY = REPO / "inventory/stockholm"
REGISTER = CITY / "data/register"


def main() -> int:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    arguments.add_argument("--repeat", type=int, default=1, help="runs of each call; the fastest counts")
    repeat = arguments.parse_args().repeat
    if not any(REGISTER.glob("*.csv")):
        print(f"no asset register in {REGISTER.relative_to(REPO)}: run `make register` first",
              file=sys.stderr)
        return 1
    command = ansible_inventory()
    print(f"load average at start: {' '.join(f'{load:.1f}' for load in os.getloadavg())} "
          f"({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as scratch:
        listing = Path(scratch) / "city.json"
        city_wall, city_cpu = best_of(repeat, [command, "-i", str(CITY), "--list", "--output", str(listing)])
        hosts = len(json.loads(listing.read_text(encoding="utf-8"))["_meta"]["hostvars"])
        graph_wall, graph_cpu = best_of(repeat, [command, "-i", str(CITY), "--graph"])
        one_host = Path(scratch) / "one_host.yml"
        one_host.write_text("---\nall:\n  hosts:\n    bench-host: {}\n", encoding="utf-8")
        floor_wall, floor_cpu = best_of(repeat, [command, "-i", str(one_host), "--list"])
    print(f"ansible-inventory -i inventory/stockholm --list:  {city_wall:6.2f} s (cpu {city_cpu:6.2f} s), "
          f"{hosts} hosts")
    print(f"ansible-inventory -i inventory/stockholm --graph: {graph_wall:6.2f} s (cpu {graph_cpu:6.2f} s), "
          "no host variables resolved")
    print(f"ansible-inventory -i <one host> --list:           {floor_wall:6.2f} s (cpu {floor_cpu:6.2f} s), "
          "floor")
    print(f"ratio city --list / floor: {city_wall / floor_wall:.1f}")
    return 0


def ansible_inventory() -> str:
    beside_python = Path(sys.executable).parent / "ansible-inventory"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("ansible-inventory") or "ansible-inventory"


def best_of(repeat: int, command: list[str]) -> tuple[float, float]:
    """The fastest wall time of `repeat` runs, and the CPU time (user + system) of that run."""
    runs = [timed(command) for _ in range(max(repeat, 1))]
    return min(runs)


def timed(command: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


if __name__ == "__main__":
    sys.exit(main())
