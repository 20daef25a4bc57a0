"""The floor under an idempotent re-run: its skeleton.

Reads the log of an ``ansible-playbook`` run and writes a playbook with the same
plays on the same hosts, the same tasks in the same order, and on every host the
same number of module runs (loop items included), each replaced by
``ansible.builtin.ping``. A task that every host skipped stays, skipped. Timing
that playbook gives what Ansible itself costs for the re-run's number of tasks;
the difference to the re-run is what the roles' own modules cost.

    python bench/rerun_floor.py RERUN.log SKELETON.yml
"""

import json
import re
import sys
from dataclasses import dataclass, field

PLAY = re.compile(r"^PLAY \[(?P<name>.*)\] \*+$")
TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?P<name>.*)\] \*+$")
RESULT = re.compile(r"^(?P<status>ok|changed|skipping|failed|fatal): \[(?P<host>[^\]\s]+)(?: -> [^\]]+)?\]")
FACTS = "Gathering Facts"


@dataclass
class Task:
    name: str
    runs: dict = field(default_factory=dict)  # host -> module runs (loop items counted)
    skipped: set = field(default_factory=set)


@dataclass
class Play:
    name: str
    gathers_facts: bool = False
    tasks: list = field(default_factory=list)

    def hosts(self):
        return sorted({h for t in self.tasks for h in (*t.runs, *t.skipped)})


def parse(lines):
    """The plays and tasks of a run's log, as the default callback prints them."""
    plays = []
    for line in lines:
        line = line.rstrip("\n")
        if m := PLAY.match(line):
            plays.append(Play(m["name"]))
        elif (m := TASK.match(line)) and plays:
            if m["name"] == FACTS:
                plays[-1].gathers_facts = True
            else:
                plays[-1].tasks.append(Task(m["name"]))
        elif (m := RESULT.match(line)) and plays and plays[-1].tasks:
            task = plays[-1].tasks[-1]
            if m["status"] == "skipping":
                task.skipped.add(m["host"])
            else:
                task.runs[m["host"]] = task.runs.get(m["host"], 0) + 1
    return [p for p in plays if p.hosts()]


def skeleton(plays):
    """The playbook, as a list of plays (written as JSON, which is YAML)."""
    book = []
    for play in plays:
        tasks = []
        for task in play.tasks:
            runs = task.runs
            tasks.append(
                {
                    "name": task.name,
                    "ansible.builtin.ping": {},
                    "loop": "{{ range(" + json.dumps(runs) + ".get(inventory_hostname, 0)) | list }}",
                    "loop_control": {"label": "{{ item }}"},
                }
                if runs
                else {"name": task.name, "ansible.builtin.ping": {}, "when": False}
            )
        hosts = ",".join(play.hosts())
        book.append({"name": play.name, "hosts": hosts, "gather_facts": play.gathers_facts, "tasks": tasks})
    return book


def counts(plays):
    """Tasks, and module runs over all hosts."""
    return sum(len(p.tasks) for p in plays), sum(n for p in plays for t in p.tasks for n in t.runs.values())


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    with open(argv[1], encoding="utf-8") as log:
        plays = parse(log)
    with open(argv[2], "w", encoding="utf-8") as out:
        json.dump(skeleton(plays), out, ensure_ascii=False, indent=1)
    tasks, runs = counts(plays)
    print(f"{len(plays)} plays, {tasks} tasks, {runs} module runs")


if __name__ == "__main__":
    main(sys.argv)
