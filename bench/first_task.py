#!/usr/bin/env python3
"""Prints how long an operator waits from `ansible-playbook -i inventory/stockholm ...
--limit sodermalm` to its first task, beside the goal (5 s). Prints only; asserts nothing.

site.yml itself cannot be run to its first task from here: for --limit sodermalm that task
is fact gathering on production's servers (the validation play runs on localhost, which
--limit sodermalm leaves out). So two figures are printed, each a part of the wait:

- bench/first_task.yml (a play on the servers, no facts, one debug task on the controller)
  timed from start to the line of its first task: loading the inventory, the play's hosts,
  starting the strategy and the first task's variables.
- `site.yml --limit sodermalm --list-tasks`: loading the inventory and parsing every
  playbook and role of site.yml, without starting a play.

Each is measured with the servers' source (what the operator's command reads) and, for
comparison, with the workstations' source beside it (the whole city, about 60,000 hosts,
which is what inventory/stockholm held before the two were split).

    python bench/first_task.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SERVERS = ["-i", "inventory/stockholm"]
WHOLE_CITY = [*SERVERS, "-i", "inventory/stockholm/workstations"]
LIMIT = ["--limit", "sodermalm"]
GOAL = 5.0


def main() -> int:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    arguments.add_argument("--repeat", type=int, default=3, help="runs of each call (default: %(default)s)")
    repeat = max(arguments.parse_args().repeat, 1)
    if not any((REPO / "inventory/stockholm/data/register").glob("*.csv")):
        print("no asset register: run `make register` first", file=sys.stderr)
        return 1
    playbook = ansible_playbook()
    print(f"load average at start: {' '.join(f'{load:.1f}' for load in os.getloadavg())} "
          f"({os.cpu_count()} cores); {repeat} run(s) each, min / median; goal <= {GOAL:.0f} s")
    for label, sources in (("servers (-i inventory/stockholm)", SERVERS),
                           ("whole city (+ -i inventory/stockholm/workstations)", WHOLE_CITY)):
        first = [to_first_task([playbook, *sources, "bench/first_task.yml", *LIMIT]) for _ in range(repeat)]
        listed = [timed([playbook, *sources, "playbooks/site.yml", *LIMIT, "--list-tasks"])
                  for _ in range(repeat)]
        print(f"{label}:")
        print(f"  to the first task of bench/first_task.yml:  {shown(first)}")
        print(f"  site.yml --list-tasks:                      {shown(listed)}")
    return 0


def to_first_task(command: list[str]) -> float:
    """Seconds from starting `command` to the first `TASK [` line of its output."""
    environment = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
                   "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    first = None
    with subprocess.Popen(command, cwd=REPO, env=environment, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as process:
        for line in process.stdout:
            if first is None and line.startswith("TASK ["):
                first = time.perf_counter() - started
    if process.returncode != 0 or first is None:
        raise SystemExit(f"{' '.join(command)}: exit {process.returncode}, first task line "
                         f"{'seen' if first is not None else 'never seen'}")
    return first


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def shown(seconds: list[float]) -> str:
    fastest, median = min(seconds), statistics.median(seconds)
    verdict = "within" if median <= GOAL else "over"
    return f"{fastest:6.2f} / {median:6.2f} s ({verdict} the goal by the median)"


def ansible_playbook() -> str:
    beside_python = Path(sys.executable).parent / "ansible-playbook"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("ansible-playbook") or "ansible-playbook"


if __name__ == "__main__":
    sys.exit(main())
