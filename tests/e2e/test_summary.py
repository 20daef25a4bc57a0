"""What `make lab`'s summary tells a person works, copied as it is, from the machine
that ran the lab: the hosts' names resolve here (and only the lab's names were added),
a person opens their organisation's share with the printed smbclient command, and the
servicedesk answers at the printed address with the city CA's certificate."""

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, employees, username_of


@pytest.fixture(scope="module")
def summary(lab):
    result = subprocess.run(["python3", str(REPO / "lab/summary")], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def printed(summary, label):
    line = next(line for line in summary.splitlines() if line.startswith(label + ":"))
    return line.split(":", 1)[1].strip()


def test_the_printed_smbclient_command_opens_the_share_from_this_machine(lab, summary, passwords):
    person = username_of(lab, employees("sodermalm")[0]["employee_id"])
    command = printed(summary, "Files").split("   ")[0].replace("<user>", person)
    assert command.startswith("smbclient //fs1."), command
    result = subprocess.run(
        [*shlex.split(command), "-c", "ls"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PASSWD": passwords[person]},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "blocks available" in result.stdout


def test_the_printed_servicedesk_address_answers_with_the_city_cas_certificate(lab, summary):
    url = printed(summary, "Servicedesk").split()[0]
    result = subprocess.run(
        ["curl", "-sS", "--cacert", str(lab.state_dir / "secrets/ca/ca.crt"), "-o", "/dev/null",
         "-w", "%{http_code}", url],
        capture_output=True, text=True, timeout=60,
    )
    assert result.stdout == "200", result.stderr


def test_only_the_lab_names_were_added_to_this_machines_resolver(lab):
    hosts = Path(os.environ.get("GEMENSAM_HOSTS_FILE", "/etc/hosts")).read_text(encoding="utf-8")
    block = re.search(rf"# BEGIN gemensam lab {re.escape(lab.prefix)}\n(.*?)# END gemensam lab "
                      rf"{re.escape(lab.prefix)}\n", hosts, re.S)
    assert block, "no block for this lab in /etc/hosts"
    domain = lab.hostvars["dc1"]["baseline_domain"]
    names = sorted(line.split()[1] for line in block.group(1).splitlines())
    assert names == sorted(f"{host}.{domain}" for host in lab.servers)


def test_the_summary_names_the_service_packages_and_their_dates(summary):
    section = summary.split("Packages the services run", 1)[1]
    assert re.search(r"dc1\s+samba \S+ \(\d{4}-\d\d-\d\d\)", section), section
    assert re.search(r"desk1\s+.*request-tracker5 \S+ \(\d{4}-\d\d-\d\d\)", section), section
