"""Every task of the roles and playbooks that handles a secret keeps it out of the output:
no_log: true, or for a template or copy diff: false (so that --diff cannot print it).

A secret is a variable whose name says password, passwd, secret, token or key, less the
names below that only look like one, and any variable built from a secret (in vars/,
defaults/ or a set_fact). A task handles it when one of its values (arguments,
environment, vars, loop) uses it in a Jinja expression, or when it templates a file that
does. Arguments that a module itself declares no_log (bind_pw) are masked by Ansible."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from role_files import PLAYBOOKS, REPO, ROLES, load_yaml, playbook_files, role_task_files, tasks_of

# "key" only at the end of a longer name (__city_ca_privatekey): not a bare loop variable
# `key`, key_name=, keys() or key_path.
SECRET_WORD = re.compile(r"password|passwd|secret|token|.key$", re.IGNORECASE)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
JINJA = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)

# Names that match SECRET_WORD but hold no secret.
NOT_SECRET = {
    # Paths of files and directories (the files are the secrets).
    "directory_initial_passwords_file", "servicedesk_token_file", "orders_password_dir",
    "__orders_password_file", "__directory_tls_key", "__servicedesk_tls_key", "__mail_server_tls_key",
    # The character sets passwords are generated from, and the domain's password policy.
    "__directory_password_terms", "directory_password_min_length", "directory_password_min_age",
    "directory_password_max_age", "directory_password_history_length", "directory_password_complexity",
    # Results that say whether a file exists or a token is valid, not what they hold.
    "__servicedesk_token_kept", "__directory_passwords_file", "__servicedesk_token_check",
    # The passwd database, a module option.
    "ansible_facts.getent_passwd", "update_password",
    # The lab's host keys are read from ssh_host_ed25519_key.pub, the public half.
    "__lab_host_key",
    # Account names allowed to reset computer passwords, and the ACE that allows it.
    "directory_computer_password_resetters", "__directory_reset_computer_password_ace",
    # templates/people.yml.j2 gives the initial passwords to the `new` accounts only.
    "__directory_people.kept", "__directory_people.groups",
}
# Arguments the modules themselves declare no_log: Ansible masks what is passed there.
NO_LOG_ARGUMENTS = {
    "community.general.ldap_search": {"bind_pw"},
    "community.general.ldap_entry": {"bind_pw"},
    "community.general.ldap_attrs": {"bind_pw"},
    "ad_user": {"bind_pw"},
    "ad_group_members": {"bind_pw"},
    "ad_tree": {"bind_pw"},
    "ad_password_policy": {"bind_pw"},
}
# Keywords whose values are never printed: conditions, names, control.
SILENT_KEYWORDS = {"name", "when", "changed_when", "failed_when", "until", "register", "tags", "notify",
                   "listen", "no_log", "diff", "check_mode", "become", "delegate_to", "run_once", "retries",
                   "delay", "ignore_errors"}
# Includes print nothing of their vars; the included tasks are checked themselves (and a
# no_log here would hide every included task).
INCLUDES = {"ansible.builtin.include_role", "ansible.builtin.include_tasks", "ansible.builtin.import_role",
            "ansible.builtin.import_tasks", "include_role", "include_tasks"}
TEMPLATES = {"ansible.builtin.template", "template"}
COPIES = {"ansible.builtin.copy", "copy"}


def is_secret(name: str) -> bool:
    base = name.split(".")[0]
    if name in NOT_SECRET:
        return False
    if base in DERIVED:
        return True
    if base in NOT_SECRET or name.endswith((".keys", ".key")):
        return False
    return bool(SECRET_WORD.search(name))


# Variables whose value is built from a secret (in vars/, defaults/, set_fact) are
# secrets too, whatever their name: found here until nothing new is found.
DERIVED: set[str] = set()


def variable_definitions() -> dict[str, object]:
    definitions: dict[str, object] = {}
    for path in [*ROLES.glob("*/vars/main.yml"), *ROLES.glob("*/defaults/main.yml")]:
        definitions.update(load_yaml(path) or {})
    for path in [*role_task_files(), *playbook_files()]:
        for task in tasks_of(path):
            facts = task.get("ansible.builtin.set_fact") or task.get("set_fact")
            if isinstance(facts, dict):
                definitions.update({name: [value, task.get("vars", {})] for name, value in facts.items()})
    return definitions


def derive_secrets() -> None:
    definitions = variable_definitions()
    while True:
        new = {name for name, value in definitions.items()
               if name not in DERIVED and name not in NOT_SECRET and secrets_in(value)}
        if not new:
            return
        DERIVED.update(new)


STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
# String literals that name a value: an attribute, a lookup ('ansible.builtin.password').
NAMING_STRING = re.compile(r"(?:attribute=|(?:lookup|query)\(\s*)['\"]([^'\"]+)['\"]")


def identifiers(expression: str) -> list[str]:
    """The names a Jinja expression uses; other string literals are text, not names."""
    return IDENTIFIER.findall(STRING.sub(" ", expression)) + NAMING_STRING.findall(expression)


TEMPLATE_LOOKUP = re.compile(r"lookup\(\s*'(?:ansible\.builtin\.)?template'\s*,\s*'([^']+)'")


def secrets_in(value) -> set[str]:
    """The secret variables that Jinja expressions in value use, also through templates it
    reads with lookup('template', ...)."""
    if isinstance(value, dict):
        return set().union(*(secrets_in(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(secrets_in(item) for item in value))
    if not isinstance(value, str):
        return set()
    found = set()
    for expression in JINJA.findall(value):
        found |= {name for name in identifiers(expression) if is_secret(name)}
        for template in TEMPLATE_LOOKUP.findall(expression):
            for path in [*ROLES.glob(f"*/templates/{template}"), *PLAYBOOKS.glob(f"**/templates/{template}")]:
                found |= {f"{name} (in {path.relative_to(REPO)})" for name in secrets_in(path.read_text())}
    return found


def action_of(task: dict) -> str | None:
    keywords = SILENT_KEYWORDS | {"vars", "environment", "loop", "loop_control", "args", "with_items",
                                  "block", "rescue", "always", "any_errors_fatal", "throttle", "timeout"}
    return next((key for key in task if key not in keywords and not key.startswith("with_")), None)


def template_source(path: Path, task: dict, action: str) -> Path | None:
    """The template file of a template task, when its src is a plain name."""
    arguments = task[action]
    source = arguments.get("src") if isinstance(arguments, dict) else None
    if not source or "{{" in source:
        return None
    # A role's templates/, or a playbook's templates/ beside it.
    roles = [parent for parent in path.parents if parent.parent == ROLES]
    for base in [*roles, path.parent, path.parent.parent]:
        if (base / "templates" / source).exists():
            return base / "templates" / source
    return None


def exposed(path: Path, task: dict) -> set[str]:
    """The secrets the task could print, if it has no no_log (nor diff: false where enough)."""
    action = action_of(task)
    if action is None or action in INCLUDES or "block" in task:
        return set()
    arguments = task[action] if isinstance(task[action], dict) else {"free_form": task[action]}
    # A file's content (a template's source, a copy's content) is printed only by --diff.
    content = secrets_in(arguments.get("content")) if action in COPIES else set()
    if action in TEMPLATES and (source := template_source(path, task, action)):
        content |= {f"{name} (in {source.relative_to(REPO)})" for name in secrets_in(source.read_text())}
    masked = NO_LOG_ARGUMENTS.get(action, set()) | ({"content"} if content else set())
    printed = secrets_in({key: value for key, value in arguments.items() if key not in masked})
    printed |= secrets_in({key: value for key, value in task.items()
                           if key not in SILENT_KEYWORDS | {action}})
    if task.get("no_log") is True:
        return set()
    if action in TEMPLATES | COPIES and task.get("diff") is False:
        return printed
    return printed | content


def all_task_files() -> list[Path]:
    return [*role_task_files(), *playbook_files()]


derive_secrets()


def test_every_name_said_not_to_be_secret_would_be_taken_for_one():
    assert not [name for name in NOT_SECRET
                if not SECRET_WORD.search(name) and name.split(".")[0] not in DERIVED]


def test_the_modules_mask_the_arguments_counted_as_masked():
    import samba_ldap
    from ansible_collections.community.general.plugins.module_utils.ldap import gen_specs

    assert samba_ldap.CONNECTION_ARGUMENT_SPEC["bind_pw"]["no_log"] is True
    for module in ("ad_user", "ad_group_members", "ad_tree", "ad_password_policy"):
        assert "CONNECTION_ARGUMENT_SPEC" in (REPO / "library" / f"{module}.py").read_text()
    assert gen_specs()["bind_pw"]["no_log"] is True


def test_the_task_files_are_found():
    files = all_task_files()
    assert ROLES / "servicedesk" / "tasks" / "rt.yml" in files
    assert PLAYBOOKS / "site.yml" in files


def test_the_secret_names_are_recognised():
    assert is_secret("directory_admin_password")
    assert is_secret("__servicedesk_token")
    # Built from the initial passwords (set_fact from templates/people.yml.j2), and from
    # directory_service_accounts' passwords (vars/main.yml).
    assert is_secret("__directory_people")
    assert is_secret("__directory_service_account_entries")
    assert not is_secret("servicedesk_token_file")
    assert not is_secret("item.key")
    assert secrets_in({"x": ["--adminpass={{ directory_admin_password }}"]}) == {"directory_admin_password"}
    assert secrets_in("request-tracker5/initial-root-password") == set()
    assert secrets_in("{{ ['samba-tool', 'domain', 'passwordsettings'] }}") == set()
    assert secrets_in("{{ query('ansible.builtin.password', '/dev/null') }}") == {"ansible.builtin.password"}


@pytest.mark.parametrize("path", all_task_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_tasks_that_handle_secrets_keep_them_out_of_the_output(path):
    problems = [f"{task.get('name')!r} uses {sorted(found)} without no_log: true"
                + (" or diff: false" if action_of(task) in TEMPLATES | COPIES else "")
                for task in tasks_of(path) if (found := exposed(path, task))]
    assert not problems, "\n".join(problems)


def test_a_template_of_a_secret_is_caught_without_diff_false():
    task = {"name": "rt | Write", "ansible.builtin.template": {"src": "RT_SiteConfig-servicedesk.pm.j2",
                                                               "dest": "/etc/x"}}
    path = ROLES / "servicedesk" / "tasks" / "rt.yml"
    assert "servicedesk_directory_bind_password" in " ".join(exposed(path, task))
    assert exposed(path, {**task, "diff": False}) == set()
