"""What the roles' task and handler files promise by their structure, read as YAML:
a tag on an include reaches the included tasks, and handler names are the role's own."""

from __future__ import annotations

from collections import Counter

import pytest
from role_files import ROLES, load_yaml, playbook_files, role_task_files, tasks_of

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
