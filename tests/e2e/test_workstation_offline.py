"""A laptop logs a person in with both domain controllers down. A new-workstation order
registers a kontor-barbar laptop for a Södermalm site; the laptop image (built once per run,
after the desk's) boots with the order's serial and joins. A Södermalm person logs in at its
login screen while the directory answers (their session reaches the file server), and the
laptop keeps what it needs (the profile's offline_login: SSSD's cached credentials). Then
Samba stops on both domain controllers, the laptop is restarted, and at its login screen a
wrong password opens nothing while the person's own password opens their desktop.

This module runs last (its name sorts last): it stops the directory, and starts it again
before it ends."""

import contextlib
import random
import re
import time

import pytest
from conftest import wait_for
from test_orders import desk as desk  # the servicedesk fixture
from test_workstation import (
    ARTEFACTS,
    BOOT_TIMEOUT,
    LOGIN_TIMEOUT,
    greeter_shown,
    is_desktop_drawn,
    log_in_at_the_screen,
    order_machine,
    person,
    sessions_on_file_server,
)
from test_workstation import dhcp as dhcp  # the site's DHCP on the lab's bridge
from vm import VirtualMachine

DIRECTORY_PORTS = (53, 88, 389)  # DNS, Kerberos and LDAP: what SSSD asks the DCs for


@pytest.fixture(scope="module")
def ordered_laptop(lab, desk, tmp_path_factory):
    """A new-workstation order for a Södermalm laptop."""
    serial = f"LT{random.randint(1000000, 9999999)}"
    ordered = order_machine(lab, desk, tmp_path_factory.mktemp("order"), "kontor-barbar",
                            "Ny bärbar dator till hemtjänstens samordnare", serial, "Lenovo ThinkPad T14")
    assert ordered["name"].startswith("SOD-LT-"), ordered
    return ordered


@pytest.fixture(scope="module")
def laptop(lab, kontor_barbar_image, ordered_laptop, dhcp, tmp_path_factory):
    directory, manifest = kontor_barbar_image
    machine = VirtualMachine(
        directory / manifest["files"]["qcow2"]["name"], tmp_path_factory.mktemp("vm"), "sodlt",
        serial=ordered_laptop["serial"], bridge=dhcp.command[3].split("=", 1)[1], mac="52:54:00:89:00:44",
    )
    machine.start()
    yield machine
    machine.stop()


def listening(lab, host):
    """The directory's ports that host listens on beyond its loopback (a local resolver's
    127.0.0.53:53 is not the directory's DNS)."""
    ports = set()
    for line in lab.ssh(host, "sudo ss -Hltnu", check=False).stdout.splitlines():
        local = line.split()[4] if len(line.split()) > 4 else ""
        address, _, port = local.rpartition(":")
        if port.isdigit() and int(port) in DIRECTORY_PORTS and not address.startswith(("127.", "[::1]")):
            ports.add(int(port))
    return ports


@contextlib.contextmanager
def domain_controllers_down(lab):
    """Samba stopped on every domain controller; started again, and answering, afterwards."""
    controllers = lab.groups["domain_controllers"]
    try:
        for host in controllers:
            lab.ssh(host, "sudo systemctl stop samba-ad-dc")
        yield controllers
    finally:
        for host in controllers:
            lab.ssh(host, "sudo systemctl start samba-ad-dc", check=False)
        for host in controllers:
            assert wait_for(lambda h=host: listening(lab, h) == set(DIRECTORY_PORTS), timeout=120,
                            interval=3), f"{host}: Samba did not answer again after the test"


def desktop_drawn(machine, shot, timeout):
    return wait_for(lambda: is_desktop_drawn(machine, shot), timeout=timeout, interval=3)


def test_the_laptop_joins_with_the_orders_name(laptop, ordered_laptop):
    name = ordered_laptop["name"].lower()
    laptop.wait_for_console(rf"(?im)^{re.escape(name)}(\.[\w.-]+)? login:", BOOT_TIMEOUT)


def test_a_person_logs_in_again_with_both_domain_controllers_down(lab, passwords, laptop, dhcp):
    laptop.wait_for_console(r"(?m)^\S+ login:", BOOT_TIMEOUT)
    user = person(lab, "sodermalm")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    time.sleep(20)  # the greeter comes up some seconds after the console's prompt
    # Online first: the directory checks the password, and the session mounts the shares.
    address = dhcp.lease(laptop.mac)
    assert address, "the laptop got no address from the site's DHCP"
    before = sessions_on_file_server(lab, user, address)
    log_in_at_the_screen(laptop, user, passwords[user])
    if not wait_for(lambda: sessions_on_file_server(lab, user, address) - before, timeout=90, interval=2):
        laptop.type(passwords[user] + "\n", pause=0.3)  # a key lost under emulation: typed again
    assert wait_for(lambda: sessions_on_file_server(lab, user, address) - before, timeout=LOGIN_TIMEOUT,
                    interval=2), "the online login's session did not reach the file server"
    assert desktop_drawn(laptop, ARTEFACTS / "laptop-online-desktop.png", LOGIN_TIMEOUT), \
        "no desktop drawn after the online login"

    with domain_controllers_down(lab) as controllers:
        assert all(not listening(lab, host) for host in controllers)
        # The person closes the laptop and opens it away from the city's network.
        mark = laptop.console_mark()
        laptop.monitor("system_reset")
        laptop.wait_for_console(r"(?m)^\S+ login:", BOOT_TIMEOUT, since=mark)
        time.sleep(20)
        log_in_at_the_screen(laptop, user, passwords[user][::-1] + "x")
        time.sleep(45)
        wrong = ARTEFACTS / "laptop-offline-wrong-password.png"
        assert wait_for(lambda: greeter_shown(laptop, wrong), timeout=60, interval=5), \
            f"a wrong password opened a session; see {wrong}"
        # The greeter asks for the same person's password again.
        laptop.type(passwords[user] + "\n", pause=0.25)
        shot = ARTEFACTS / "laptop-offline-desktop.png"
        assert desktop_drawn(laptop, shot, LOGIN_TIMEOUT), f"no desktop drawn offline; see {shot}"
        assert all(not listening(lab, host) for host in controllers), "a DC answered during the test"
