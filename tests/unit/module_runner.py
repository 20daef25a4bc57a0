"""Runs a module of library/ in-process, as Ansible would, and returns its result.

exit_json and fail_json are turned into exceptions so that a test gets the result
back; module_utils the module imports are registered under ansible.module_utils."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
LIBRARY = REPO / "library"


class Exited(Exception):
    pass


class Failed(Exception):
    pass


def load_library_module(name: str, module_utils: dict[str, ModuleType] | None = None) -> ModuleType:
    for util_name, util in (module_utils or {}).items():
        sys.modules.setdefault(f"ansible.module_utils.{util_name}", util)
    spec = importlib.util.spec_from_file_location(name, LIBRARY / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_doc_fragment(name: str) -> str:
    """The DOCUMENTATION of plugins/doc_fragments/<name>.py."""
    spec = importlib.util.spec_from_file_location(name, REPO / "plugins" / "doc_fragments" / f"{name}.py")
    fragment = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fragment)
    return fragment.ModuleDocFragment.DOCUMENTATION


def run_library_module(monkeypatch: pytest.MonkeyPatch, name: str, arguments: dict[str, Any],
                       module_utils: dict[str, ModuleType] | None = None) -> dict:
    """The module's result, with "failed" true when it called fail_json."""
    from ansible.module_utils import basic
    from ansible.module_utils.testing import patch_module_args

    def exit_json(self, **result):
        raise Exited(result)

    def fail_json(self, **result):
        raise Failed(result)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    with patch_module_args(arguments), pytest.raises((Exited, Failed)) as outcome:
        load_library_module(name, module_utils).main()
    return {"failed": outcome.type is Failed, **outcome.value.args[0]}
