"""What the baseline promises, seen from outside the hosts."""

import re
import socket
import urllib.request
import uuid

import pytest
from conftest import wait_for


@pytest.fixture(params=["dc1", "fs1", "log1"])
def host(request):
    return request.param


def test_admin_logs_in_with_key_and_becomes_root(lab, host):
    result = lab.ssh(host, "hostname; sudo -n id -u")
    assert result.stdout.split() == [host, "0"]


def test_login_banner_is_shown_before_authentication(lab):
    result = lab.ssh("fs1", "true", options=("-o", "LogLevel=INFO"))
    assert "Authorised use only" in result.stderr


def test_password_login_is_refused(lab, host):
    result = lab.ssh(host, "true", check=False, options=(
        "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive",
    ))
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr


def test_root_cannot_log_in_even_with_an_authorised_key(lab):
    lab.ssh("app1", "sudo install -d -m 700 /root/.ssh && "
                    "sudo cp ~automation/.ssh/authorized_keys /root/.ssh/authorized_keys")
    try:
        result = lab.ssh("app1", "true", user="root", check=False)
        assert result.returncode == 255
        assert "Permission denied" in result.stderr
    finally:
        lab.ssh("app1", "sudo rm -rf /root/.ssh")


# A MAC is only negotiated with a cipher that has none of its own (not an AEAD
# cipher such as chacha20-poly1305), so the MAC case pins aes128-ctr.
@pytest.mark.parametrize("options", [
    ("-o", "Ciphers=aes128-cbc"),
    ("-o", "Ciphers=aes128-ctr", "-o", "MACs=hmac-sha1"),
    ("-o", "KexAlgorithms=diffie-hellman-group14-sha1"),
], ids=["cbc-cipher", "sha1-mac", "sha1-kex"])
def test_weak_ssh_algorithms_are_refused(lab, options):
    result = lab.ssh("fs1", "true", check=False, options=options)
    assert result.returncode == 255
    assert "no matching" in result.stderr


def test_firewall_drops_ports_no_service_declared(lab):
    port = 8089
    lab.ssh("fs1", f"nohup timeout 60 python3 -m http.server {port} >/dev/null 2>&1 &")
    try:
        inside = wait_for(lambda: lab.ssh(
            "fs1", f"python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/')\"",
            check=False).returncode == 0, timeout=15, interval=0.5)
        assert inside, "the test listener did not start on fs1"
        with pytest.raises(OSError):
            socket.create_connection((lab.address("fs1"), port), timeout=3).close()
    finally:
        lab.ssh("fs1", f"pkill -f 'http.server {port}' || true", check=False)


def test_node_exporter_serves_metrics_to_the_service_network(lab, host):
    with urllib.request.urlopen(f"http://{lab.address(host)}:9100/metrics", timeout=10) as reply:
        metrics = reply.read().decode()
    assert f'nodename="{host}"' in metrics


def test_logs_reach_the_central_log_host(lab):
    marker = f"e2e-{uuid.uuid4()} Ärende på Södermalm"
    lab.ssh("fs1", f"logger -t e2e '{marker}'")
    found = wait_for(lambda: marker in lab.ssh(
        "log1", "sudo cat /var/log/remote/fs1/syslog.log", check=False).stdout, timeout=30)
    assert found, "the message from fs1 never reached log1"


def test_journal_is_kept_on_disk(lab, host):
    assert "/var/log/journal/" in lab.ssh(host, "journalctl --header --no-pager").stdout


def test_time_comes_from_the_domain_controllers(lab):
    dc_addresses = {lab.address(dc) for dc in lab.groups["domain_controllers"]}

    def selected_source():
        for line in lab.ssh("fs1", "chronyc -n sources", check=False).stdout.splitlines():
            fields = line.split()
            if line.startswith(("^*", "^+")) and fields[1] in dc_addresses:
                return fields[1]
        return None

    assert wait_for(selected_source, timeout=90, interval=3), \
        lab.ssh("fs1", "chronyc -n sources", check=False).stdout


def test_time_zone_locale_and_names(lab, host):
    result = lab.ssh(host, "date +%Z; locale -a; cat /etc/default/locale; getent hosts dc2")
    assert result.stdout.split()[0] in ("CET", "CEST")
    assert "sv_SE.utf8" in result.stdout
    assert "LANG=sv_SE.UTF-8" in result.stdout
    assert re.search(rf"^{re.escape(lab.address('dc2'))}\s+dc2\.lab\.gemensam\.test dc2$",
                     result.stdout, re.MULTILINE)


def test_unattended_upgrades_take_security_updates(lab):
    result = lab.ssh("mail1", "sudo unattended-upgrade --dry-run --debug 2>&1 | head -20; "
                              "systemctl is-active apt-daily-upgrade.timer")
    assert "label=Debian-Security" in result.stdout
    assert result.stdout.split()[-1] == "active"
