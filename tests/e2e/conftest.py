"""The lab end-to-end tests: they act from outside the hosts, as an operator
or a person would, against a lab that `make e2e` has brought up and converged.
GEMENSAM_LAB_PREFIX and GEMENSAM_SERVICE_NETWORK name the lab."""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lab"))
# The names the city model gives the organisations' groups and OUs (the roles' own).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "module_utils"))
import city_names
from lab_inventory import LabInventory

REPO = Path(__file__).resolve().parents[2]
PERSONNEL = REPO / "inventory/lab/data/personnel"


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


def changed_tasks(output):
    """(task or handler, host) for every "changed" line of a playbook's output, in order."""
    task, changed = None, []
    for line in output.splitlines():
        heading = re.match(r"^(?:TASK|RUNNING HANDLER) \[(.*)\]", line)
        if heading:
            task = heading.group(1)
            continue
        change = re.match(r"^changed: \[([^\]]+)\]", line)
        if change:
            changed.append((task, change.group(1)))
    return changed


# The one change the shared --check --diff run is given: the servicedesk's RT site
# configuration holds the directory's bind password, so its diff is where a leak would show.
FORCED_TASK = "servicedesk : rt | Write the servicedesk's RT site configuration"
FORCED_HANDLER = "servicedesk : servicedesk | Restart apache2"
RT_SITE_CONFIG = "/etc/request-tracker5/RT_SiteConfig.d/90-servicedesk.pm"


@pytest.fixture(scope="session")
def check_diff_run(lab):
    """One `site.yml --check --diff` on the converged lab, with the servicedesk's RT site
    configuration made to differ on its host for the run (a line appended, put back after).
    Shared by the idempotence test (nothing else may change) and the secrets test (no
    secret in the output, the forced diff included): a run takes over two minutes."""
    host = lab.groups["servicedesk_servers"][0]
    lab.ssh(host, f"sudo cp -p {RT_SITE_CONFIG} {RT_SITE_CONFIG}.e2e && "
                  f"echo '# e2e: differs' | sudo tee -a {RT_SITE_CONFIG} >/dev/null")
    try:
        result = lab.playbook("playbooks/site.yml", "--check", "--diff")
    finally:
        lab.ssh(host, f"sudo mv {RT_SITE_CONFIG}.e2e {RT_SITE_CONFIG}")
    return result, host


def wait_for(probe, timeout, interval=2.0):
    """Calls probe until it returns something true; returns the last value."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = probe()
    return value


@pytest.fixture(scope="session")
def realm(lab):
    return lab.hostvars["dc1"]["baseline_domain"].upper()


@pytest.fixture(scope="session")
def passwords(lab):
    return yaml.safe_load((lab.state_dir / "secrets/initial-passwords.yml").read_text())


def employees(organisation):
    """The rows of an organisation's personnel file of the people still employed."""
    with open(PERSONNEL / f"{organisation}.csv", encoding="utf-8") as export:
        return [row for row in csv.DictReader(export) if not row["end_date"]]


@pytest.fixture(scope="session")
def sodermalm_person():
    """A Södermalm employee, still employed, whose name has å, ä or ö in it."""
    return next(r for r in employees("sodermalm") if set("åäöÅÄÖ") & set(r["given_name"] + r["surname"]))


def username_of(lab, employee_id):
    """The user name the directory gave the person, found by employee id."""
    result = lab.ssh("dc1", "sudo ldbsearch -H /var/lib/samba/private/sam.ldb "
                            f"'(employeeID={employee_id})' sAMAccountName")
    return next(line.split(": ", 1)[1] for line in result.stdout.splitlines()
                if line.startswith("sAMAccountName: "))


def run_people(lab, tmp_path, change):
    """Runs the directory's people tasks on a copy of the personnel files with one row changed."""
    copy = tmp_path / "personnel"
    shutil.copytree(PERSONNEL, copy)
    path = copy / "sodermalm.csv"
    with open(path, encoding="utf-8") as export:
        rows = list(csv.DictReader(export))
    change(rows)
    with open(path, "w", encoding="utf-8", newline="") as export:
        writer = csv.DictWriter(export, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    files = sorted(str(p) for p in copy.glob("*.csv"))
    result = lab.playbook("playbooks/directory.yml", "--tags", "role::directory:people",
                          "-e", json.dumps({"directory_personnel_files": files}))
    assert result.returncode == 0, result.stdout[-3000:]
    # The people tasks write on dc1; have dc2 hold the change now, not at its next
    # replication, so that whichever DC answers next sees the same people.
    base = city_names.base_dn(lab.hostvars["dc1"]["baseline_domain"])
    lab.ssh("dc2", f"sudo samba-tool drs replicate dc2 dc1 {base}")


IMAGE_BUILDS = {}  # profile -> the Future of its background build (workstation_images.py)
# The images the tests boot, by the fixture that gives each, in the order they are built.
IMAGE_FIXTURES = {"kontor_stationar_image": "kontor-stationar", "kontor_barbar_image": "kontor-barbar"}


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what will not run
def pytest_collection_modifyitems(session, config, items):
    """The images the tests that will run boot are built now, one after the other, beside
    the tests that run before them; a run of tests that need no image builds none."""
    needed = [profile for fixture, profile in IMAGE_FIXTURES.items()
              if any(fixture in item.fixturenames for item in items)]
    if needed:
        from workstation_images import start_building
        IMAGE_BUILDS.update(start_building(needed))


def workstation_image(profile_id):
    from workstation_images import ensure_image
    build = IMAGE_BUILDS.get(profile_id)
    return build.result() if build else ensure_image(profile_id)


@pytest.fixture(scope="session")
def kontor_stationar_image():
    """The kontor-stationar workstation image (directory, verified manifest), built once per
    run and shared by every test that boots it (tests/e2e/workstation_images.py)."""
    return workstation_image("kontor-stationar")


@pytest.fixture(scope="session")
def kontor_barbar_image():
    """The kontor-barbar (laptop) workstation image, as kontor_stationar_image."""
    return workstation_image("kontor-barbar")
