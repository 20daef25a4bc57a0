"""Starting the simulated site switch (migration/fake_switch/launch.py) as a local process
on 127.0.0.1 and a free port, for the tests and the bench."""

from __future__ import annotations

import contextlib
import json
import secrets
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "migration" / "fake_switch" / "launch.py"
USERNAME = "admin"


@contextlib.contextmanager
def running_switch(spec: dict[str, Any], directory: Path, timeout: float = 20.0) -> Iterator[tuple[int, str]]:
    """Yields (port, password) of a switch holding `spec`; stops it afterwards."""
    password = secrets.token_hex(12)
    password_file = directory / "switch-password"
    password_file.write_text(password + "\n", encoding="utf-8")
    password_file.chmod(0o600)
    spec_file = directory / "switch.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    process = subprocess.Popen([sys.executable, str(LAUNCHER), "--spec", str(spec_file),
                                "--listen-host", "127.0.0.1", "--listen-port", "0",
                                "--username", USERNAME, "--password-file", str(password_file)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("listening on "):
            process.kill()
            raise RuntimeError(f"the switch did not start: {line!r} {process.stderr.read()[-2000:]}")
        yield int(line.rsplit(":", 1)[1]), password
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
