"""What the roles' task and handler files promise by their structure, read as YAML:
a tag on an include reaches the included tasks, and handler names are the role's own."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from role_files import REPO, ROLES, load_yaml, playbook_files, role_task_files, tasks_of

INCLUDES = ("ansible.builtin.include_tasks", "include_tasks", "ansible.builtin.include_role", "include_role")


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def unapplied_tags(task: dict) -> set[str]:
    """The tags of an include that do not reach the included tasks (none for other tasks)."""
    action = next((key for key in INCLUDES if key in task), None)
    if not action or not task.get("tags"):
        return set()
    arguments = task[action] if isinstance(task[action], dict) else {}
    applied = set(as_list(arguments.get("apply", {}).get("tags")))
    return set(as_list(task["tags"])) - {"always"} - applied


def test_main_task_files_are_found():
    assert len(list(ROLES.glob("*/tasks/main.yml"))) >= 9


@pytest.mark.parametrize("main", sorted(ROLES.glob("*/tasks/main.yml")), ids=lambda p: p.parent.parent.name)
def test_every_tagged_include_of_a_role_applies_its_tags_to_the_included_tasks(main):
    """Without apply, `--tags role::baseline:sshd` runs the include and none of its tasks."""
    problems = [f"{task['name']!r} is tagged {sorted(unapplied_tags(task))} without apply: tags:"
                for task in tasks_of(main) if unapplied_tags(task)]
    assert not problems, "\n".join(problems)


def test_tagged_includes_of_the_other_task_files_and_playbooks_apply_their_tags():
    problems = [f"{path.relative_to(ROLES.parent)}: {task.get('name')!r} lacks apply tags "
                f"{sorted(unapplied_tags(task))}"
                for path in [*role_task_files(), *playbook_files()] if path.name != "main.yml"
                for task in tasks_of(path) if unapplied_tags(task)]
    assert not problems, "\n".join(problems)


def handlers() -> list[tuple[str, dict]]:
    """(role, handler) of every role."""
    return [(path.parent.parent.name, handler)
            for path in sorted(ROLES.glob("*/handlers/*.yml"))
            for handler in load_yaml(path) or []]


def test_handler_names_are_prefixed_with_their_role():
    wrong = [f"{role}: {handler['name']!r}" for role, handler in handlers()
             if not handler["name"].startswith(f"{role} | ")]
    assert not wrong, "handlers are global to a play; name them '<role> | ...':\n" + "\n".join(wrong)


def test_handler_names_are_unique_across_roles():
    counts = Counter(handler["name"] for _, handler in handlers())
    assert not [name for name, count in counts.items() if count > 1]


def test_every_notify_names_a_handler_or_a_topic():
    known = {handler["name"] for _, handler in handlers()}
    known |= {topic for _, handler in handlers() for topic in as_list(handler.get("listen"))}
    unknown = [f"{path.relative_to(ROLES.parent)}: {name!r}"
               for path in [*role_task_files(), *playbook_files()]
               for task in tasks_of(path) for name in as_list(task.get("notify")) if name not in known]
    assert not unknown, "\n".join(unknown)


# The baseline runs on every server in every run: its structure is kept cheap (issue
# "cost of a re-run") without losing its per-topic tags.
BASELINE = ROLES / "baseline"
IMPORTS = ("ansible.builtin.import_tasks", "import_tasks")


def baseline_tasks(name: str) -> list[dict]:
    return list(tasks_of(BASELINE / "tasks" / name))


def test_baseline_main_imports_its_topics_statically_with_their_tags():
    """No include task per topic and host; an import's tags reach its tasks without apply."""
    main = baseline_tasks("main.yml")
    assert not [task["name"] for task in main if any(key in task for key in INCLUDES)]
    imports = [task for task in main if any(key in task for key in IMPORTS)]
    topics = [Path(next(task[key] for key in IMPORTS if key in task)).stem for task in imports]
    assert {path.stem for path in (BASELINE / "tasks").glob("*.yml")} - set(topics) == {
        "main", "firewall_service"}, "every topic file is imported by main.yml"
    wrong = [f"{topic}: {task.get('tags')}" for topic, task in zip(topics, imports, strict=True)
             if not {"role::baseline", f"role::baseline:{topic}"} <= set(as_list(task.get("tags")))]
    assert not wrong, "\n".join(wrong)


def test_baseline_topics_include_nothing_at_run_time():
    dynamic = [f"{path.name}: {task.get('name')!r}"
               for path in sorted((BASELINE / "tasks").glob("*.yml"))
               for task in tasks_of(path) if any(key in task for key in INCLUDES)]
    assert not dynamic, "\n".join(dynamic)


def firewall_rule_writers() -> dict[str, list[dict]]:
    """The baseline's topics that write a rule file into the firewall directory, and those tasks."""
    found: dict[str, list[dict]] = {}
    for path in sorted((BASELINE / "tasks").glob("*.yml")):
        for task in tasks_of(path):
            dest = (task.get("ansible.builtin.template") or {}).get("dest", "")
            if dest.startswith("{{ __baseline_firewall_dir }}/"):
                found.setdefault(path.stem, []).append(task)
    return found


def test_baseline_rule_files_are_written_as_the_firewall_service_entry_point_writes_them():
    writers = firewall_rule_writers()
    assert {"firewall_service", "sshd", "time", "firewall", "monitoring"} <= set(writers)
    (entry,) = writers.pop("firewall_service")
    for topic, tasks in writers.items():
        for task in tasks:
            template = task["ansible.builtin.template"]
            name = task["vars"]["baseline_firewall_service_name"]
            assert template["src"] == entry["ansible.builtin.template"]["src"], topic
            assert template["dest"] == "{{ __baseline_firewall_dir }}/" + name + ".nft", topic
            assert task["notify"] == entry["notify"], topic
            assert "baseline_firewall_service_rules" in task["vars"], topic


def test_the_firewall_directory_is_created_before_and_for_every_topic_that_writes_a_rule():
    main = baseline_tasks("main.yml")
    firewall_dir = "{{ __baseline_firewall_dir }}"
    (index, directory), = [(i, task) for i, task in enumerate(main)
                           if (task.get("ansible.builtin.file") or {}).get("path") == firewall_dir]
    imported = [Path(next(task[key] for key in IMPORTS if key in task)).stem
                for task in main[:index] if any(key in task for key in IMPORTS)]
    writers = set(firewall_rule_writers()) - {"firewall_service"}
    assert not writers & set(imported), "a topic writes a rule file before the directory exists"
    assert {f"role::baseline:{topic}" for topic in writers} | {"role::baseline"} <= set(directory["tags"])


def test_the_baseline_gathers_the_facts_again_when_it_changes_what_they_read():
    """ansible.cfg gathers once per run (smart): later plays read hostname and fqdn of the
    baseline's facts, so changing the host name or /etc/hosts must refresh them."""
    config = (REPO / "ansible.cfg").read_text(encoding="utf-8")
    assert re.search(r"^gathering\s*=\s*smart\s*$", config, re.MULTILINE)
    assert not re.search(r"^fact_caching\s*=(?!\s*memory\s*$)", config, re.MULTILINE), \
        "facts are cached for one run only"
    refresh = [handler for role, handler in handlers()
               if role == "baseline" and "ansible.builtin.setup" in handler]
    assert [handler["name"] for handler in refresh] == ["baseline | Gather the facts again"]
    identity = {task["name"]: task for task in baseline_tasks("identity.yml")}
    for name in ("identity | Set the host name", "identity | Write /etc/hosts"):
        assert "baseline | Gather the facts again" in as_list(identity[name].get("notify")), name
