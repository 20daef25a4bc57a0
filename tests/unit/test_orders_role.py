"""The servicedesk's orders as a role (roles/orders): each playbook under playbooks/orders/
is a thin import of its order's entry point, one play per step; the entry points are
typed in meta/argument_specs.yml and declare every public variable their tasks read; the
order's record is the one channel between the plays; every file an include names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from city_fixture import run_ansible
from role_files import PLAYBOOKS, REPO, ROLES, load_yaml, playbook_files, role_task_files, tasks_of

ROLE = ROLES / "orders"
ORDERS = ("new_user", "mover", "leaver", "new_workstation", "new_functional_mailbox")
SPECS = load_yaml(ROLE / "meta" / "argument_specs.yml")["argument_specs"]
# The hosts each step runs on, named by the service they give.
STEP_HOSTS = {
    "directory": "domain_controllers[0]",
    "file_server": "file_servers",
    "mail_server": {"new_user": "mail_servers[0]", "new_functional_mailbox": "mail_servers"},
    "servicedesk": "servicedesk_servers[0]",
}
IMPORT_ROLE = ("ansible.builtin.import_role", "import_role")
INCLUDE_TASKS = ("ansible.builtin.include_tasks", "include_tasks",
                 "ansible.builtin.import_tasks", "import_tasks")
ROLE_INCLUDES = ("ansible.builtin.include_role", "include_role", *IMPORT_ROLE)
JINJA = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)
NAME = re.compile(r"(?<![.\w'\"])[A-Za-z_]\w*")


def plays(order: str) -> list[dict]:
    return load_yaml(PLAYBOOKS / "orders" / f"{order}.yml")


def test_the_orders_are_the_playbooks_and_the_entry_points():
    assert sorted(path.stem for path in (PLAYBOOKS / "orders").glob("*.yml")) == sorted(ORDERS)
    assert sorted(SPECS) == sorted(ORDERS)
    # No task files beside the playbooks any more: the role has them.
    assert not [path for path in (PLAYBOOKS / "orders").rglob("*") if path.is_dir()]


@pytest.mark.parametrize("order", ORDERS)
def test_each_order_playbook_is_a_thin_import_of_its_entry_point(order):
    for play in plays(order):
        assert set(play) == {"name", "hosts", "gather_facts", "tasks"}, play["name"]
        assert play["gather_facts"] is False
        [task] = play["tasks"]
        action = next(key for key in task if key in IMPORT_ROLE)
        assert task[action] == {"name": "orders", "tasks_from": order}, play["name"]
        assert set(task) == {"name", action, "vars"} and set(task["vars"]) == {"orders_step"}, play["name"]


@pytest.mark.parametrize("order", ORDERS)
def test_the_plays_do_each_step_of_the_entry_point_once_in_its_order_on_its_hosts(order):
    steps = [play["tasks"][0]["vars"]["orders_step"] for play in plays(order)]
    assert steps == SPECS[order]["options"]["orders_step"]["choices"]
    # Every order starts on the first domain controller, which keeps the order's record.
    assert steps[0] == "directory" and steps[-1] == "servicedesk"
    for play, step in zip(plays(order), steps, strict=True):
        hosts = STEP_HOSTS[step]
        assert play["hosts"] == (hosts[order] if isinstance(hosts, dict) else hosts), play["name"]


def test_every_option_of_every_entry_point_is_typed_and_described():
    untyped = [f"{order}: {name}" for order, spec in SPECS.items()
               for name, option in spec["options"].items()
               if not option.get("type") or not option.get("description")]
    assert not untyped
    for order, spec in SPECS.items():
        assert spec["short_description"] and spec["description"], order
        assert spec["options"]["order_file"]["required"] is True
        assert spec["options"]["orders_step"]["required"] is True
        assert spec["options"]["orders_rest_token"]["no_log"] is True


def test_every_default_is_documented_and_declared():
    text = (ROLE / "defaults" / "main.yml").read_text(encoding="utf-8")
    defaults = load_yaml(ROLE / "defaults" / "main.yml")
    for name in defaults:
        before = text.split(f"\n{name}:")[0].rstrip().splitlines()[-1]
        assert before.startswith("#"), f"{name} has no comment above it"
        assert name.startswith("orders_")
    declared = set().union(*(spec["options"] for spec in SPECS.values()))
    assert set(defaults) <= declared


def definitions() -> dict[str, str]:
    """The role's internal variables (vars/main.yml), as text."""
    return {name: str(value) for name, value in load_yaml(ROLE / "vars" / "main.yml").items()}


# Keywords whose values are Jinja expressions without braces.
CONDITIONS = ("when", "changed_when", "failed_when", "until", "that")


def as_expressions(value) -> list[str]:
    return [f"{{{{ {item} }}}}" for item in (value if isinstance(value, list) else [value])]


def names_in(value, internal: dict[str, str], seen: set[str] | None = None) -> set[str]:
    """The variables the Jinja in value uses, through the role's internal variables."""
    seen = set() if seen is None else seen
    if isinstance(value, dict):
        value = {key: as_expressions(item) if key in CONDITIONS else item for key, item in value.items()}
        return set().union(set(), *(names_in(item, internal, seen) for item in value.values()))
    if isinstance(value, list):
        return set().union(set(), *(names_in(item, internal, seen) for item in value))
    found: set[str] = set()
    for expression in JINJA.findall(str(value)):
        expression = re.sub(r"'[^']*'|\"[^\"]*\"", " ", expression)
        for name in NAME.findall(expression):
            found.add(name)
            if name in internal and name not in seen:
                seen.add(name)
                found |= names_in(internal[name], internal, seen)
    for template in re.findall(r"lookup\('ansible.builtin.template', '([^']+)'\)", str(value)):
        found |= names_in((ROLE / "templates" / template).read_text(encoding="utf-8"), internal, seen)
    return found


def include_name(task: dict) -> str | None:
    action = next((key for key in task if key in INCLUDE_TASKS), None)
    if action is None:
        return None
    arguments = task[action]
    return arguments["file"] if isinstance(arguments, dict) else arguments


def reachable_tasks(order: str) -> list[dict]:
    """The tasks the entry point runs, through its includes, less those for another kind
    of order (account.yml's new_user tasks for mover and leaver)."""
    found, files = [], [ROLE / "tasks" / f"{order}.yml"]
    while files:
        for task in tasks_of(files.pop()):
            kind = re.search(r"kind == '(\w+)'", str(task.get("when", "")))
            if kind and kind.group(1) != order:
                continue
            found.append(task)
            if (name := include_name(task)) and (ROLE / "tasks" / name).exists():
                files.append(ROLE / "tasks" / name)
    return found


@pytest.mark.parametrize("order", ORDERS)
def test_each_entry_point_declares_the_public_variables_its_tasks_read(order):
    internal = definitions()
    used = set().union(*(names_in(task, internal) for task in reachable_tasks(order)))
    public = {name for name in used if name.startswith("orders_") or name == "order_file"}
    assert public, order
    declared = set(SPECS[order]["options"])
    assert public == declared, (f"read, not declared: {sorted(public - declared)}; "
                                f"declared, not read: {sorted(declared - public)}")


def test_an_entry_point_reads_no_variable_another_order_needs():
    """The new user's settings are not asked of a mover."""
    internal = definitions()
    used = set().union(*(names_in(task, internal) for task in reachable_tasks("mover")))
    assert "orders_password_dir" not in used and "orders_helpdesk_address" not in used
    assert "orders_password_dir" in set().union(*(names_in(t, internal) for t in reachable_tasks("new_user")))


def test_mover_and_leaver_are_one_task_file_named_twice():
    mover = load_yaml(ROLE / "tasks" / "mover.yml")
    leaver = load_yaml(ROLE / "tasks" / "leaver.yml")
    assert [include_name(task) for task in mover] == [include_name(task) for task in leaver] == ["person.yml"]
    assert mover[0]["vars"] == {"__orders_kind": "mover"} and leaver[0]["vars"] == {"__orders_kind": "leaver"}
    assert str(mover).replace("mover", "leaver") == str(leaver)
    # And their playbooks differ only in the names.
    normalised = [[{key: value for key, value in play.items() if key != "name"} for play in plays(kind)]
                  for kind in ("mover", "leaver")]
    assert str(normalised[0]).replace("mover", "leaver") == str(normalised[1])


def test_the_orders_record_is_the_one_channel_between_the_plays():
    """Set on the order's host by check.yml, added to by log.yml there, read through
    vars/main.yml: no task looks up another host's variables for itself."""
    setters, lookups = set(), set()
    for path in sorted((ROLE / "tasks").glob("*.yml")):
        for task in tasks_of(path):
            facts = task.get("ansible.builtin.set_fact") or {}
            if "__orders_record" in facts:
                setters.add(path.name)
                if path.name != "check.yml":
                    assert task["delegate_to"] == "{{ __orders_host }}" and task["delegate_facts"] is True
        if "hostvars" in path.read_text(encoding="utf-8"):
            lookups.add(path.name)
    assert setters == {"check.yml", "log.yml"}
    # log.yml gathers the lines of the hosts of its own play before adding them.
    assert lookups == {"log.yml"}
    internal = (ROLE / "vars" / "main.yml").read_text(encoding="utf-8")
    assert "__orders_order: \"{{ hostvars[__orders_host].__orders_record }}\"" in internal


def included_files(path: Path, task: dict) -> list[Path]:
    """The files a task includes: task files of its own role (or beside the playbook),
    another role's tasks_from or main, a template of a template task or lookup."""
    role = next((parent for parent in path.parents if parent.parent == ROLES), None)
    base = role / "tasks" if role else path.parent
    found = []
    if (name := include_name(task)) and "{{" not in name:
        found.append(base / name)
    action = next((key for key in task if key in ROLE_INCLUDES), None)
    if action:
        arguments = task[action]
        tasks_from = arguments.get("tasks_from", "main")
        found.append(ROLES / arguments["name"] / "tasks" / (tasks_from if tasks_from.endswith(".yml") else
                                                           f"{tasks_from}.yml"))
    template = task.get("ansible.builtin.template", {})
    if role and isinstance(template, dict) and "{{" not in template.get("src", "{{"):
        found.append(role / "templates" / template["src"])
    if role:
        found += [role / "templates" / name
                  for name in re.findall(r"lookup\('ansible.builtin.template', '([^']+)'\)", str(task))]
    return found


def test_every_file_an_include_or_template_names_exists():
    checked, missing = 0, []
    for path in [*role_task_files(), *playbook_files()]:
        for task in tasks_of(path):
            for file in included_files(path, task):
                checked += 1
                if not file.is_file():
                    missing.append(f"{path.relative_to(REPO)}: {task.get('name')!r} names "
                                   f"{file.relative_to(REPO)}")
    assert not missing, "\n".join(missing)
    assert checked > 50


def test_a_missing_include_is_found():
    path = ROLE / "tasks" / "person.yml"
    missing = included_files(path, {"ansible.builtin.include_tasks": "nowhere.yml"})
    assert missing == [ROLE / "tasks" / "nowhere.yml"] and not missing[0].exists()
    homes = {"ansible.builtin.include_role": {"name": "file_server", "tasks_from": "homes.yml"}}
    assert included_files(path, homes) == [ROLES / "file_server" / "tasks" / "homes.yml"]
    # A role named without tasks_from runs its main.yml (the orders role has none).
    main = included_files(path, {"ansible.builtin.import_role": {"name": "orders"}})
    assert main == [ROLE / "tasks" / "main.yml"] and not main[0].exists()


@pytest.mark.parametrize("order", ORDERS)
def test_each_order_playbook_passes_the_syntax_check(order):
    result = run_ansible("ansible-playbook", "--syntax-check", f"playbooks/orders/{order}.yml")
    assert result.returncode == 0, result.stdout + result.stderr
