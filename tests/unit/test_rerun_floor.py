"""bench/rerun_floor.py: the skeleton of a re-run has its plays, hosts, tasks and module runs."""

import importlib.util
from pathlib import Path

SPEC = importlib.util.spec_from_file_location(
    "rerun_floor", Path(__file__).resolve().parents[2] / "bench" / "rerun_floor.py"
)
rerun_floor = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(rerun_floor)

LOG = """
PLAY [Validate the city data] **************************************************

TASK [Check the data] **********************************************************
Monday 07 December 2026  07:31:43 +0000 (0:00:02.332)       0:08:08.747 *******
ok: [localhost]

PLAY [Run the city's directory] ************************************************

TASK [Gathering Facts] *********************************************************
ok: [dc2]
ok: [dc1]

TASK [directory : Resolve the people] ******************************************
ok: [dc1] => (item=passwd)
ok: [dc1] => (item=group)
skipping: [dc2]

TASK [directory : Ask the first controller] ************************************
ok: [dc2 -> dc1]
ok: [dc1]

TASK [directory : Only on a change] ********************************************
skipping: [dc1]
skipping: [dc2]

PLAY RECAP *********************************************************************
dc1                        : ok=3    changed=0    unreachable=0    failed=0
"""


def test_the_skeleton_keeps_plays_hosts_tasks_and_loop_items():
    plays = rerun_floor.parse(LOG.splitlines())
    assert [p.name for p in plays] == ["Validate the city data", "Run the city's directory"]
    directory = plays[1]
    assert directory.gathers_facts and directory.hosts() == ["dc1", "dc2"]
    assert [t.name for t in directory.tasks] == [
        "directory : Resolve the people",
        "directory : Ask the first controller",
        "directory : Only on a change",
    ]
    assert directory.tasks[0].runs == {"dc1": 2}
    assert directory.tasks[1].runs == {"dc1": 1, "dc2": 1}  # a delegated run counts for its host
    assert rerun_floor.counts(plays) == (4, 5)

    book = rerun_floor.skeleton(plays)
    assert [(p["hosts"], p["gather_facts"], len(p["tasks"])) for p in book] == [
        ("localhost", False, 1),
        ("dc1,dc2", True, 3),
    ]
    resolve, _, only_on_change = book[1]["tasks"]
    assert resolve["loop"] == '{{ range({"dc1": 2}.get(inventory_hostname, 0)) | list }}'
    assert only_on_change == {
        "name": "directory : Only on a change", "ansible.builtin.ping": {}, "when": False
    }
