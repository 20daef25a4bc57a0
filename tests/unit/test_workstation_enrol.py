"""roles/workstation/files/gemensam-enrol, the workstation's first-boot enrolment, run as
shipped with its process boundary replaced: the HTTP request (ask), adcli (join), the host
name and sssd are recorded instead of done; files go to a temporary directory."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import sys
from xml.etree import ElementTree

import pytest
from role_files import ROLES

PROGRAM = ROLES / "workstation" / "files" / "gemensam-enrol"


def load_program():
    loader = importlib.machinery.SourceFileLoader("gemensam_enrol", str(PROGRAM))
    spec = importlib.util.spec_from_loader("gemensam_enrol", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


enrol = load_program()
PASSWORD = "Ab3" + "x" * 29
BANNER = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="1920" height="1080" viewBox="0 0 1920 1080">
  <rect width="1920" height="1080" fill="#00337a"/>
  <g font-family="DejaVu Sans" fill="#ffffff" text-anchor="middle">
    <text x="960" y="760" font-size="30">Stockholms stad</text>
  </g>
</svg>
"""
ANSWER = {"computer_name": "SOD-WS-00042", "dns_domain": "lab.gemensam.test", "realm": "LAB.GEMENSAM.TEST",
          "one_time_password": PASSWORD, "organisation": "SOD", "profile": "kontor-stationar",
          "domain_controller": "dc1.lab.gemensam.test"}


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """The program's world: a serial file, its state and issue files, and what it did."""
    done = []
    serial = tmp_path / "product_serial"
    serial.write_text("ABC123\n")
    monkeypatch.setattr(enrol, "ISSUE", tmp_path / "issue.d/gemensam-enrol.issue")
    banner = tmp_path / "share/login-banner.svg"
    banner.parent.mkdir()
    banner.write_text(BANNER, encoding="utf-8")
    screen = tmp_path / "run/gemensam/login-screen.svg"
    screen.parent.mkdir(parents=True)
    screen.symlink_to(banner)  # as the role's tmpfiles.d rule leaves it at boot
    monkeypatch.setattr(enrol, "BANNER", banner)
    monkeypatch.setattr(enrol, "LOGIN_SCREEN", screen)
    monkeypatch.setattr(enrol, "CONSOLE", tmp_path / "console")
    monkeypatch.setattr(enrol, "ask", lambda url, s, ca: done.append(("ask", s)) or dict(ANSWER))
    monkeypatch.setattr(enrol, "join", lambda answer: done.append(("join", answer["one_time_password"])))
    monkeypatch.setattr(enrol, "set_hostname", lambda name, domain: done.append(("hostname", name)))
    monkeypatch.setattr(enrol, "write_krb5_conf", lambda realm: done.append(("krb5", realm)))
    monkeypatch.setattr(enrol, "start_sssd", lambda: done.append(("sssd",)))
    state = tmp_path / "state/enrolled"

    def run():
        monkeypatch.setattr(sys, "argv", ["gemensam-enrol", "--url", "https://desk1/enrol",
                                          "--serial-file", str(serial), "--state-file", str(state)])
        return enrol.main()

    return {"run": run, "done": done, "serial": serial, "state": state, "tmp": tmp_path,
            "banner": banner, "screen": screen}


def screen_texts(path) -> list[str]:
    """The texts the greeter draws from its background, in order (the SVG must parse)."""
    return [element.text or "" for element in ElementTree.parse(path).iter("{http://www.w3.org/2000/svg}text")]


def test_a_registered_machine_joins_then_sets_itself_up_and_records_it(machine):
    assert machine["run"]() == 0
    assert machine["done"] == [("ask", "ABC123"), ("join", PASSWORD), ("hostname", "SOD-WS-00042"),
                               ("krb5", "LAB.GEMENSAM.TEST"), ("sssd",)]
    state = machine["state"].read_text()
    assert json.loads(state)["computer_name"] == "SOD-WS-00042" and PASSWORD not in state
    # Enrolled: the next boot asks nothing.
    machine["done"].clear()
    assert machine["run"]() == 0 and machine["done"] == []


def test_a_refused_machine_says_why_on_the_screen_and_joins_nothing(machine, monkeypatch):
    def refuse(url, serial, ca):
        raise enrol.Refusal(f"Serienumret {serial} är inte registrerat – beställ datorn via servicedesken.")

    monkeypatch.setattr(enrol, "ask", refuse)
    assert machine["run"]() == 1
    message = "Serienumret ABC123 är inte registrerat – beställ datorn via servicedesken."
    assert message in (machine["tmp"] / "issue.d/gemensam-enrol.issue").read_text()
    assert message in (machine["tmp"] / "console").read_text()
    assert machine["done"] == [] and not machine["state"].exists()
    # The graphical login screen: the banner, with the message (wrapped) in a panel above it.
    assert not machine["screen"].is_symlink() and machine["banner"].read_text() == BANNER
    texts = screen_texts(machine["screen"])
    assert texts[0] == "Stockholms stad"
    assert message in " ".join(texts)


def test_a_message_that_is_not_plain_text_stays_text_on_the_login_screen(machine, monkeypatch):
    """adcli's error reaches the message: markup in it is drawn as text, not read as SVG."""
    def fail(answer):
        raise RuntimeError('adcli: <tspan fill="red">&amp; "Couldn\'t join"</tspan>')

    monkeypatch.setattr(enrol, "join", fail)
    assert machine["run"]() == 1
    drawn = " ".join(screen_texts(machine["screen"]))
    assert '<tspan fill="red">&amp; "Couldn\'t join"</tspan>' in drawn


def test_without_a_banner_the_message_is_drawn_alone(machine):
    machine["banner"].unlink()
    enrol.show_on_login_screen("Serienumret X är inte registrerat.")
    assert "Serienumret X är inte registrerat." in screen_texts(machine["screen"])


def test_a_machine_that_joined_but_failed_to_set_up_finishes_without_asking_again(machine, monkeypatch):
    def busy(name, domain):
        raise OSError(16, "Device or resource busy")

    monkeypatch.setattr(enrol, "set_hostname", busy)
    assert machine["run"]() == 1
    assert not machine["state"].exists()
    assert "Device or resource busy" in (machine["tmp"] / "issue.d/gemensam-enrol.issue").read_text()
    monkeypatch.setattr(enrol, "set_hostname",
                        lambda name, domain: machine["done"].append(("hostname", name)))
    machine["done"].clear()
    assert machine["run"]() == 0
    # The one-time password is spent: no second request, no second join.
    assert machine["done"] == [("hostname", "SOD-WS-00042"), ("krb5", "LAB.GEMENSAM.TEST"), ("sssd",)]
    assert machine["state"].exists() and not (machine["tmp"] / "issue.d/gemensam-enrol.issue").exists()


@pytest.mark.parametrize("content", ["", "To be filled by O.E.M.", "ABC 123", "ÅBC123"])
def test_a_serial_the_firmware_does_not_give_is_not_sent(machine, content):
    machine["serial"].write_text(content)
    assert machine["run"]() == 1
    assert machine["done"] == []


@pytest.mark.parametrize("change", [
    {"computer_name": "SOD-WS-1; reboot"}, {"computer_name": "sod-ws-00042"},
    {"dns_domain": "lab.gemensam.test -x"}, {"realm": "OTHER.TEST"}, {"one_time_password": "short"},
    {"one_time_password": "x" * 30 + "\n"}, {"domain_controller": "dc1 --foo"},
])
def test_an_answer_that_is_not_usable_is_refused_before_anything_is_done(machine, monkeypatch, change):
    monkeypatch.setattr(enrol, "ask", lambda url, s, ca: {**ANSWER, **change})
    assert machine["run"]() == 1
    assert machine["done"] == []


def test_krb5_conf_is_written_only_when_it_lacks_the_realm(tmp_path):
    path = tmp_path / "krb5.conf"
    path.write_text("[libdefaults]\n  default_realm = LAB.GEMENSAM.TEST\n  ticket_lifetime = 10h\n")
    enrol.write_krb5_conf("LAB.GEMENSAM.TEST", path)
    assert "ticket_lifetime" in path.read_text()
    enrol.write_krb5_conf("AD.STOCKHOLM.SE", path)
    assert "default_realm = AD.STOCKHOLM.SE" in path.read_text()
