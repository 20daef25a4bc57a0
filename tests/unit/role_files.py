"""Reading the roles' and playbooks' own files in unit tests: their tasks as parsed YAML,
and their templates rendered with ansible's templar (and the project's filter plugins)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "roles"
PLAYBOOKS = REPO / "playbooks"

# Keywords of a block that hold further tasks.
BLOCK_KEYS = ("block", "rescue", "always")
# Keywords of a play that hold tasks.
PLAY_KEYS = ("pre_tasks", "tasks", "post_tasks", "handlers")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def role_task_files() -> list[Path]:
    """Every task and handler file of every role (molecule scenarios are tests, not roles)."""
    return sorted([*ROLES.glob("*/tasks/*.yml"), *ROLES.glob("*/handlers/*.yml")])


def playbook_files() -> list[Path]:
    """Every playbook and task file under playbooks/ (templates are not YAML)."""
    return sorted(path for path in PLAYBOOKS.rglob("*.yml") if "templates" not in path.parts)


def walk_tasks(tasks: list[dict] | None) -> Iterator[dict]:
    """Every task of a list, blocks opened (the block itself is yielded too)."""
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        yield task
        for key in BLOCK_KEYS:
            yield from walk_tasks(task.get(key))


def tasks_of(path: Path) -> Iterator[dict]:
    """The tasks of a task file or of the plays of a playbook."""
    data = load_yaml(path) or []
    if not isinstance(data, list):
        # A vars file holds no tasks.
        return
    plays = [item for item in data if isinstance(item, dict) and (
        "hosts" in item or "import_playbook" in item or "ansible.builtin.import_playbook" in item)]
    if plays:
        for play in plays:
            for key in PLAY_KEYS:
                yield from walk_tasks(play.get(key))
    else:
        yield from walk_tasks(data)


_LOADER_READY: list[bool] = []


def trusted(item: Any) -> Any:
    """item with its strings marked as templates, as Ansible marks the YAML it loads."""
    from ansible.template import trust_as_template

    if isinstance(item, str):
        return trust_as_template(item)
    if isinstance(item, list):
        return [trusted(element) for element in item]
    if isinstance(item, dict):
        return {key: trusted(element) for key, element in item.items()}
    return item


def role_variables(role: str, **variables: Any) -> dict[str, Any]:
    """The role's defaults and vars/main.yml, as templates, with variables over them."""
    found = {}
    for name in ("defaults", "vars"):
        path = ROLES / role / name / "main.yml"
        if path.exists():
            found.update(trusted(load_yaml(path) or {}))
    # Where lookup('file', ...) and lookup('template', ...) look, as inside the role.
    return {**found, "ansible_search_path": [str(ROLES / role)], **variables}


def render(text: str, variables: dict[str, Any]) -> Any:
    """text rendered as a template would be, with the project's filter plugins."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import filter_loader, init_plugin_loader
    from ansible.template import Templar, trust_as_template

    if not _LOADER_READY:
        # The collection loader, for ansible.builtin lookups (once: it warns when repeated).
        init_plugin_loader()
        filter_loader.add_directory(str(REPO / "plugins" / "filter"))
        _LOADER_READY.append(True)
    templar = Templar(loader=DataLoader(), variables={"ansible_managed": "Ansible managed", **variables})
    return templar.template(trust_as_template(text) if isinstance(text, str) else text)


def render_template(role: str, name: str, variables: dict[str, Any]) -> str:
    """roles/<role>/templates/<name> rendered with the role's defaults and variables."""
    defaults = load_yaml(ROLES / role / "defaults" / "main.yml") or {}
    source = (ROLES / role / "templates" / name).read_text(encoding="utf-8")
    return render(source, {**defaults, **variables})


def task_named(path: Path, name: str) -> dict:
    return next(task for task in tasks_of(path) if task.get("name") == name)


def render_task_value(task: dict, value: Any, variables: dict[str, Any]) -> Any:
    """value of task rendered with variables and the task's own vars (templates themselves)."""
    return render(value, {**variables, **trusted(task.get("vars", {}))})
