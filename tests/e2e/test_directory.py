"""The city's directory as an operator sees it: two domain controllers that
replicate, answer Kerberos and serve the service hosts' names."""

import subprocess
import uuid

import pytest
from conftest import wait_for


@pytest.fixture(scope="module")
def admin_password(lab):
    return lab.var("dc1", "directory_admin_password")


@pytest.mark.parametrize("dc", ["dc1", "dc2"])
def test_replication_is_healthy(lab, dc):
    result = lab.ssh(dc, "sudo samba-tool drs showrepl --summary")
    assert "[ALL GOOD]" in result.stdout, result.stdout


def test_a_group_made_on_dc1_appears_on_dc2(lab):
    group = f"e2e-{uuid.uuid4().hex[:8]}"
    lab.ssh("dc1", f"sudo samba-tool group add {group} --description='Prov på replikering'")
    try:
        seen = wait_for(lambda: group in lab.ssh("dc2", "sudo samba-tool group list").stdout,
                        timeout=60, interval=3)
        assert seen, f"{group} made on dc1 never reached dc2"
    finally:
        lab.ssh("dc1", f"sudo samba-tool group delete {group}", check=False)


def test_administrator_gets_a_kerberos_ticket_from_dc2(lab, admin_password):
    realm = lab.hostvars["dc2"]["baseline_domain"].upper()
    result = lab.ssh("dc2", f"kinit administrator@{realm} && klist && kdestroy",
                     stdin=admin_password + "\n")
    assert f"krbtgt/{realm}@{realm}" in result.stdout


@pytest.mark.parametrize("name", ["fs1", "mail1", "print1", "dc2"])
def test_service_hosts_resolve_in_the_directory(lab, name):
    domain = lab.hostvars["dc1"]["baseline_domain"]
    result = lab.ssh("dc1", f"host {name}.{domain} 127.0.0.1")
    assert lab.address(name) in result.stdout


@pytest.mark.parametrize("dc", ["dc1", "dc2"])
def test_ldaps_presents_a_certificate_from_the_city_ca(lab, dc):
    """A client that trusts only the lab's city CA opens LDAPS to each DC by name."""
    domain = lab.hostvars[dc]["baseline_domain"]
    result = subprocess.run(
        ["openssl", "s_client", "-connect", f"{lab.address(dc)}:636", "-brief",
         "-CAfile", str(lab.state_dir / "secrets/ca/ca.crt"),
         "-verify_hostname", f"{dc}.{domain}", "-verify_return_error"],
        input="", capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "Verification: OK" in result.stderr, result.stderr
