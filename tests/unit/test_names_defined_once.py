"""Each name derived from the city is made in one place, module_utils/city_names.py, and
everything else reads it from there (CONVENTIONS.md, "Inventory and names"): no role,
template, script, playbook, module, plugin, lab tool or end-to-end test spells out a part
of the scheme itself, and no file but module_utils/samba_ldap.py escapes an RDN.

Documentation may show the scheme: READMEs, argument specs, comments, docstrings and a
module's DOCUMENTATION/EXAMPLES are not read here. The unit tests are not either: they pin
the scheme (test_city_names.py, names_before.json) or use names as sample data for
mechanisms that take any name (the ad_* modules, the scripts' filters)."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest
from city_fixture import REPO

DEFINITION = REPO / "module_utils/city_names.py"
RDN_ESCAPING = REPO / "module_utils/samba_ldap.py"

# Where names are used: everything that runs, and the tests that act on a running system.
SCOPE = ["roles", "playbooks", "module_utils", "library", "plugins", "lab", "bench", "tools",
         "tests/e2e", "tests/molecule", "inventory/lab", "inventory/stockholm/group_vars",
         "inventory/stockholm/city.yml", "Makefile"]
SKIPPED_DIRECTORIES = {"data", "__pycache__"}

# A part of the scheme -> what it is.
PARTS = {
    r"-Personal\b": "the staff groups' suffix (<code>-Personal, <school>-Personal)",
    r"\bFil-(?:Las|Skriv)\b": "the file groups' suffixes",
    r"-Skrivaradmin\b": "the printer administrators' group's suffix",
    r"\bAvd-": "the department groups' prefix",
    r"Brevlada": "the functional mailboxes' groups' infix",
    r"-Elever\b": "the pupils' groups' suffix",
    r"\bOrganisationer\b": "the organisations' OU",
    r"\bOU=": "an OU of the directory's tree",
    r"\bDC=": "the domain's DN",
    r"/usr/local/share/ca-certificates|gemensam-city-ca": "the city CA's file in the trust store",
}
# The characters RFC 4514 escapes in an RDN, as a character class or a string of them.
RDN_SPECIALS = re.compile(r"""\[[^\]]*,\+"[^\]]*<>;=[^\]]*\]|,\+"\\\\<>;=""")

PYTHON_DOCUMENTATION = {"DOCUMENTATION", "EXAMPLES", "RETURN"}
# Jinja comments, which may span lines.
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)


@functools.cache
def files() -> list[Path]:
    found = []
    for entry in SCOPE:
        path = REPO / entry
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for candidate in candidates:
            parts = set(candidate.relative_to(REPO).parts)
            if parts & SKIPPED_DIRECTORIES or candidate.suffix in (".md", ".pyc", ".csv"):
                continue
            if candidate.name == "argument_specs.yml" or candidate == DEFINITION:
                continue
            found.append(candidate)
    return found


def is_python(path: Path, text: str) -> bool:
    return path.suffix == ".py" or text.startswith(("#!/usr/bin/python", "#!/usr/bin/env python"))


def python_code_strings(text: str) -> list[tuple[int, str]]:
    """The string literals of Python code: not docstrings, not a module's documentation."""
    tree = ast.parse(text)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            skipped.add(id(body[0].value))
        targets = getattr(node, "targets", [])
        if any(isinstance(target, ast.Name) and target.id in PYTHON_DOCUMENTATION for target in targets):
            skipped.add(id(node.value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped]


def text_code_lines(text: str) -> list[tuple[int, str]]:
    """The lines of a YAML, Jinja, shell or Perl file without its comments."""
    without_jinja_comments = JINJA_COMMENT.sub(lambda match: "\n" * match.group().count("\n"), text)
    return [(number, line) for number, line in enumerate(without_jinja_comments.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("#")]


@functools.cache
def code_of(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    return python_code_strings(text) if is_python(path, text) else text_code_lines(text)


def findings(pattern: re.Pattern[str], exempt: tuple[Path, ...] = ()) -> list[str]:
    return [f"{path.relative_to(REPO)}:{line}: {code.strip()[:120]}"
            for path in files() if path not in exempt
            for line, code in code_of(path) if pattern.search(code)]


def test_the_scope_is_read():
    names = {path.relative_to(REPO).as_posix() for path in files()}
    assert {"roles/directory/templates/tree.yml.j2", "module_utils/orders.py",
            "roles/servicedesk/templates/scrip-route-by-requestor.pl.j2",
            "roles/mail_server/files/mail-functional-mailboxes", "lab/summary",
            "tests/e2e/test_people.py", "tests/molecule/shared/domain_controller.yml"} <= names


@pytest.mark.parametrize("part", sorted(PARTS))
def test_each_part_of_the_scheme_is_spelled_out_in_the_city_model_only(part):
    assert re.search(part, DEFINITION.read_text(encoding="utf-8")), f"{PARTS[part]}: not in {DEFINITION.name}"
    found = findings(re.compile(part))
    assert not found, f"{PARTS[part]} outside {DEFINITION.relative_to(REPO)}:\n" + "\n".join(found)


def test_only_samba_ldap_escapes_an_rdn():
    assert RDN_SPECIALS.search(RDN_ESCAPING.read_text(encoding="utf-8"))
    found = findings(RDN_SPECIALS, exempt=(RDN_ESCAPING,))
    assert not found, ("an RDN escaping of its own (use samba_ldap.escape_rdn, ldap_escape_rdn):\n"
                       + "\n".join(found))


def test_the_checks_see_a_copy_where_one_is_written(tmp_path):
    """The scanner is not blind: it finds each part in code and ignores it in comments."""
    template = tmp_path / "t.yml.j2"
    template.write_text("{# SOD-Personal #}\n# OU=Groups\nname: \"{{ code }}-Personal\"\n", encoding="utf-8")
    assert [line for line, _ in code_of(template)] == [3]
    script = tmp_path / "s.py"
    script.write_text('"""DC=x"""\nDOCUMENTATION = "OU=y"\nbase = f"DC={part}"  # OU=z\n', encoding="utf-8")
    assert [code for _, code in code_of(script)] == ["DC="]
    assert RDN_SPECIALS.search(r"""{{ value | regex_replace('([,+"\\<>;=])', '\\\1') }}""")
    assert RDN_SPECIALS.search('''re.sub(r'([,+"\\\\<>;=])', r"\\\\\\1", value)''')
