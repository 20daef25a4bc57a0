"""No secret of the lab appears in the output of a run with --check --diff.

The secrets are the files the lab generated under .lab/<prefix>/secrets/ (passwords,
the REST token, the initial passwords, the city CA's private key); certificates are
public and left out.

What this covers: every task that runs in check mode on a converged lab, with --diff,
and one template that is made to differ: the servicedesk's RT site configuration (it
holds the directory's bind password) gets a line appended on the host first, so that
its task has a diff to show; without `diff: false` the password would be in it. The
run is the one the idempotence test checks too (conftest.check_diff_run).
Tasks that check mode skips (commands without check_mode: false) and changes that
cannot be forced from outside (a new token, a new account's initial password) are not
covered here; tests/unit/test_no_log.py checks their no_log statically.
"""

import re

import yaml
from conftest import FORCED_TASK, changed_tasks

# Shorter values could occur in the output by chance.
MIN_LENGTH = 8
PEM_BODY = re.compile(r"^[A-Za-z0-9+/=]{16,}$")


def secret_values(secrets_dir):
    """Every secret value in the lab's secrets directory, with the file it is from."""
    values = {}
    for path in sorted(p for p in secrets_dir.rglob("*") if p.is_file()):
        if path.suffix in (".crt", ".pem", ".pub", ".srl", ".csr"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if "PRIVATE KEY-----" in text:
            # Each line of the key's body on its own: the output could wrap it otherwise.
            found = [line for line in text.splitlines() if PEM_BODY.match(line)]
        elif path.suffix in (".yml", ".yaml"):
            data = yaml.safe_load(text) or {}
            found = [str(value) for value in (data.values() if isinstance(data, dict) else data)]
        else:
            # The password lookup's files may keep a salt after the password.
            found = [text.strip().split(" salt=")[0]]
        for value in found:
            if len(value) >= MIN_LENGTH:
                values[value] = path.relative_to(secrets_dir)
    return values


def test_check_diff_prints_no_secret(lab, check_diff_run):
    secrets = secret_values(lab.state_dir / "secrets")
    assert secrets, f"no secrets found under {lab.state_dir / 'secrets'}"
    result, forced_host = check_diff_run
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    # The forced change was seen: the site configuration's task reported a change.
    assert (FORCED_TASK, forced_host) in changed_tasks(result.stdout), \
        "the site configuration's task showed no change"
    leaked = sorted({str(source) for value, source in secrets.items() if value in output})
    assert not leaked, f"secrets from {leaked} appear in the output of --check --diff"
