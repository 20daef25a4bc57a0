#!/usr/bin/env python3
"""Prints how long `ansible-inventory --list` takes over the city's inventory sources, each
beside a floor measured in the same run. Prints only; asserts nothing.

- the servers (`-i inventory/stockholm`): what every play on the servers loads.
- the whole city (`-i inventory/stockholm -i inventory/stockholm/workstations`, about
  60,000 hosts), beside the same hosts, groups and variables as one static YAML inventory
  (made from `ansible-inventory --list --export` of the whole city in this run, `!unsafe`
  kept where the plugin marks a value untrusted), whose --list prints the same. That
  floor is ansible-core's own cost of so many hosts; the goal is the plugin at or under it.
- `--graph` of the whole city, which builds the same inventory but resolves no host
  variables, to tell building the hosts from ansible-inventory's per-host work.
- a one-host inventory: Python and Ansible starting up.

    python bench/inventory_list.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SERVERS = REPO / "inventory/stockholm"
WORKSTATIONS = SERVERS / "workstations"
REGISTER = SERVERS / "data/register"


class Unsafe(str):
    """A string that ansible-inventory printed as untrusted, written back as `!unsafe`."""


def represent_unsafe(dumper: yaml.CSafeDumper, value: Unsafe) -> yaml.ScalarNode:
    # Ansible reads `!unsafe 2009-01-01` (or `!unsafe "10"`) as what the plain text would
    # be, a date or a number: such strings are written as quoted plain strings instead.
    if yaml.resolver.Resolver().resolve(yaml.ScalarNode, str(value), (True, False)) != STRING_TAG:
        return dumper.represent_str(str(value))
    return dumper.represent_scalar("!unsafe", str(value))


STRING_TAG = "tag:yaml.org,2002:str"
yaml.add_representer(Unsafe, represent_unsafe, Dumper=yaml.CSafeDumper)


def main() -> int:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    arguments.add_argument("--repeat", type=int, default=1,
                           help="runs of each call; min and median are printed (default: %(default)s)")
    repeat = arguments.parse_args().repeat
    if not any(REGISTER.glob("*.csv")):
        print(f"no asset register in {REGISTER.relative_to(REPO)}: run `make register` first",
              file=sys.stderr)
        return 1
    command = ansible_inventory()
    city = ["-i", str(SERVERS), "-i", str(WORKSTATIONS)]
    print(f"load average at start: {' '.join(f'{load:.1f}' for load in os.getloadavg())} "
          f"({os.cpu_count()} cores); {repeat} run(s) each, min / median")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        servers_json, city_json, static_json = (scratch / name for name in ("servers.json", "city.json",
                                                                           "static.json"))
        servers = runs(repeat, [command, "-i", str(SERVERS), "--list", "--output", str(servers_json)])
        whole = runs(repeat, [command, *city, "--list", "--output", str(city_json)])
        graph = runs(repeat, [command, *city, "--graph"])
        static = scratch / "static" / "city_static.yml"
        written = write_static(command, city, static)
        floor = runs(repeat, [command, "-i", str(static), "--list", "--output", str(static_json)])
        one_host = scratch / "one_host.yml"
        one_host.write_text("---\nall:\n  hosts:\n    bench-host: {}\n", encoding="utf-8")
        startup = runs(repeat, [command, "-i", str(one_host), "--list"])
        server_hosts = len(hostvars(servers_json))
        city_listing, static_listing = load(city_json), load(static_json)
    # Compared without the marks of untrusted strings, which the few date- and number-like
    # strings cannot keep in YAML (see represent_unsafe).
    same = "the same" if plain(city_listing) == plain(static_listing) else "NOT the same"
    print(f"ansible-inventory -i inventory/stockholm --list: {shown(servers)}, {server_hosts} hosts "
          "(every play on the servers loads this; goal: a small share of the 5 s to the first task)")
    print(f"whole city --list (servers + workstations):      {shown(whole)}, "
          f"{len(city_listing['_meta']['hostvars'])} hosts (goal: at or under the floor below)")
    print(f"  static YAML of the same --list (floor):         {shown(floor)}, {same} output; "
          f"writing it took {written:.1f} s, not counted")
    print(f"  ratio plugin / floor: {min(w for w, _ in whole) / min(w for w, _ in floor):.2f}")
    print(f"whole city --graph:                              {shown(graph)}, no host variables resolved")
    print(f"ansible-inventory -i <one host> --list:          {shown(startup)}, start-up floor")
    return 0


def write_static(command: str, sources: list[str], target: Path) -> float:
    """The inventory of `sources` as one static YAML file: groups with their hosts, children
    and variables (group_vars included, as --export resolves them), hosts with their own."""
    started = time.perf_counter()
    exported = subprocess.run([command, *sources, "--list", "--export"], cwd=REPO, check=True,
                              capture_output=True, text=True).stdout
    listing = json.loads(exported, object_hook=unsafe_strings)
    host_vars = listing.pop("_meta")["hostvars"]
    placed: set[str] = set()
    groups: dict[str, Any] = {}
    for name, group in listing.items():
        entry: dict[str, Any] = {}
        if group.get("vars"):
            entry["vars"] = group["vars"]
        if group.get("children"):
            entry["children"] = dict.fromkeys(group["children"])
        if group.get("hosts"):
            entry["hosts"] = {host: None if host in placed else host_vars.get(host) or None
                              for host in group["hosts"]}
            placed.update(group["hosts"])
        groups[name] = entry or None
    target.parent.mkdir(parents=True)
    with target.open("w", encoding="utf-8") as handle:
        yaml.dump(groups, handle, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False)
    return time.perf_counter() - started


def unsafe_strings(mapping: dict[str, Any]) -> Any:
    if set(mapping) == {"__ansible_unsafe"}:
        return Unsafe(mapping["__ansible_unsafe"])
    return mapping


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def hostvars(path: Path) -> dict[str, Any]:
    return load(path)["_meta"]["hostvars"]


def ansible_inventory() -> str:
    beside_python = Path(sys.executable).parent / "ansible-inventory"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("ansible-inventory") or "ansible-inventory"


def runs(repeat: int, command: list[str]) -> list[tuple[float, float]]:
    return [timed(command) for _ in range(max(repeat, 1))]


def shown(measured: list[tuple[float, float]]) -> str:
    """min / median wall time, and the CPU time (user + system) of the fastest run."""
    fastest = min(measured)
    median = statistics.median(wall for wall, _ in measured)
    return f"{fastest[0]:6.2f} / {median:6.2f} s (cpu {fastest[1]:6.2f} s)"


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
