"""The lab end-to-end tests: they act from outside the hosts, as an operator
or a person would, against a lab that `make e2e` has brought up and converged.
GEMENSAM_LAB_PREFIX and GEMENSAM_SERVICE_NETWORK name the lab."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lab"))
from lab_inventory import LabInventory

REPO = Path(__file__).resolve().parents[2]


class Lab:
    def __init__(self):
        self.prefix = os.environ.get("GEMENSAM_LAB_PREFIX", "gemensam")
        self.state_dir = REPO / ".lab" / self.prefix
        inventory = LabInventory()
        self.hostvars = inventory.hostvars
        self.groups = {name: inventory.members(name) for name in inventory.group_names}
        self.servers = self.groups["servers"]

    def address(self, host):
        return self.hostvars[host]["ansible_host"]

    def ssh_args(self, host, user="automation", *options):
        return [
            "ssh", "-F", str(self.state_dir / "ssh_config"), "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=10", *options, "-l", user, host,
        ]

    def ssh(self, host, command, user="automation", check=True, options=(), stdin=None):
        result = subprocess.run(
            [*self.ssh_args(host, user, *options), command],
            capture_output=True, text=True, timeout=120, input=stdin,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"ssh {user}@{host} {command!r} failed ({result.returncode}): {result.stderr}"
            )
        return result

    def var(self, host, name):
        """A variable as Ansible resolves it for host, secrets from the lab's files included."""
        result = subprocess.run(
            ["ansible", host, "-o", "-m", "ansible.builtin.debug", "-a", f"var={name}"],
            cwd=REPO, check=True, capture_output=True, text=True,
        )
        return json.loads(result.stdout.split("=>", 1)[1])[name]

    def playbook(self, *args):
        return subprocess.run(
            ["ansible-playbook", *args], cwd=REPO, capture_output=True, text=True,
        )


@pytest.fixture(scope="session")
def lab():
    return Lab()


def recap(output):
    """host -> {ok, changed, unreachable, failed, ...} from a PLAY RECAP."""
    hosts = {}
    for line in output.split("PLAY RECAP")[-1].splitlines():
        # Only count lines: profile_tasks also prints "role : task ---- 1.2s" here.
        match = re.match(r"^(\S+)\s+:\s+(ok=\d+.*)$", line.strip())
        if match:
            hosts[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return hosts


def wait_for(probe, timeout, interval=2.0):
    """Calls probe until it returns something true; returns the last value."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = probe()
    return value
