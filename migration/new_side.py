"""The common service's hosts that a move runs on, reached with pyinfra over SSH.

pyinfra's inventory is derived from the city inventory (`ansible-inventory --list` of the
same source the playbooks use), never kept by hand: the hosts of a service group that
serve the committee, each with its address. SSH settings (user, key, known hosts) come
from an ssh_config file: the lab writes one (`.lab/<prefix>/ssh_config`); in production
it is the operator's.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Ends each command's output in run_steps, with its exit status.
STEP_END = "@@gemensam-step-end"
STEP_END_LINE = re.compile(rf"(?:^|\n){STEP_END} (\d+)(?:\n|$)")


class NewSideError(Exception):
    """A host of the common service that cannot be found or reached."""


def _plain(value: Any) -> Any:
    """ansible-core 2.19 writes values that an inventory plugin set (untrusted data) as
    {"__ansible_unsafe": value} in `ansible-inventory --list`; they are unwrapped here."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


@dataclass(frozen=True)
class CityInventory:
    groups: dict[str, Any]
    hostvars: dict[str, dict[str, Any]]

    @classmethod
    def read(cls, source: Path) -> CityInventory:
        listing = subprocess.run(["ansible-inventory", "-i", str(source), "--list"], cwd=REPO,
                                 capture_output=True, text=True, check=False)
        if listing.returncode != 0:
            raise NewSideError(f"{source}: ansible-inventory failed: {listing.stderr.strip()[-2000:]}")
        groups = _plain(json.loads(listing.stdout))
        return cls(groups, groups.pop("_meta")["hostvars"])

    def members(self, group: str) -> list[str]:
        entry = self.groups.get(group, {})
        found = list(entry.get("hosts", []))
        for child in entry.get("children", []):
            found += [host for host in self.members(child) if host not in found]
        return found

    def serving(self, group: str, organisation_id: str) -> str:
        """The one host of a service group that serves the organisation."""
        hosts = [h for h in self.members(group) if organisation_id in self.hostvars[h].get("serves", [])]
        if len(hosts) != 1:
            raise NewSideError(f"{group}: expected one host serving {organisation_id}, found "
                               f"{', '.join(hosts) or 'none'}")
        return hosts[0]


@dataclass(frozen=True)
class Result:
    ok: bool
    stdout: str
    stderr: str


def steps_script(steps: Sequence[Sequence[str]]) -> str:
    """One shell script running each command (words, quoted) in turn, whatever the previous
    one's status, each output followed by a line with STEP_END and the command's status."""
    return "\n".join(f"{shlex.join(argv)}; s=$?; echo; echo {STEP_END} $s" for argv in steps)


def split_steps(stdout: str, count: int, stderr: str) -> list[Result]:
    """The outputs of steps_script's commands; a command whose end is missing (the script
    was cut short) is not ok."""
    results, rest = [], stdout
    for _ in range(count):
        end = STEP_END_LINE.search(rest)
        if end is None:
            results.append(Result(False, rest, stderr or "the command's output ended early"))
            rest = ""
            continue
        results.append(Result(end.group(1) == "0", rest[:end.start()].strip("\n"), stderr))
        rest = rest[end.end():]
    return results


class Remote:
    """One host of the common service, connected with pyinfra's SSH connector."""

    def __init__(self, name: str, address: str, ssh_config: Path | None) -> None:
        from pyinfra.api import Config, Inventory, State
        from pyinfra.api.connect import connect_all

        data: dict[str, Any] = {"ssh_hostname": address}
        if ssh_config is not None:
            data["ssh_config_file"] = str(ssh_config)
        self.name = name
        self._state = State(Inventory(([(name, data)], {})), Config())
        connect_all(self._state)
        self._host = self._state.inventory.get_host(name)
        if not self._host.connected:
            raise NewSideError(f"{name} ({address}): no SSH connection")

    def run(self, argv: Sequence[str], *, sudo: bool = True, timeout: int | None = None) -> Result:
        """Runs a command given as words, each quoted for the remote shell."""
        from pyinfra.api.command import StringCommand

        ok, output = self._host.run_shell_command(StringCommand(shlex.join(argv)), _sudo=sudo,
                                                  _timeout=timeout)
        return Result(ok, output.stdout, output.stderr)

    def run_steps(self, steps: Sequence[Sequence[str]], *, sudo: bool = True) -> list[Result]:
        """Several commands in one SSH round trip, each with its own status; the stderr of
        all of them is given with each."""
        result = self.run(["sh", "-c", steps_script(steps)], sudo=sudo)
        return split_steps(result.stdout, len(steps), result.stderr)

    def put_private(self, content: bytes, path: str) -> None:
        """A file only the SSH user (and root) can read: written into a folder of mode 0700
        in the user's home, never through /tmp."""
        import io

        folder = str(Path(path).parent)
        made = self.run(["install", "-d", "-m", "0700", folder], sudo=False)
        if not made.ok:
            raise NewSideError(f"{self.name}: cannot make {folder}: {made.stderr}")
        if not self._host.put_file(io.BytesIO(content), path):
            raise NewSideError(f"{self.name}: cannot write {path}")
        self.run(["chmod", "0600", path], sudo=False)

    def close(self) -> None:
        from pyinfra.api.connect import disconnect_all

        disconnect_all(self._state)
