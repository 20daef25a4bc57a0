"""Discovery of a Windows PC with pywinrm against a REPLAY of WS-Management responses,
not against a Windows machine: no WinRM server exists on this machine (LAB-NOTES). The
replay (winrm_replay.py) answers the Shell / Command / Receive / Signal / Delete sequence
of one `run_ps` with envelopes written in the form a Windows XP PC with WinRM 2.0 sends
(tests/unit/fixtures/winrm/README.md). What is tested: pywinrm's exchange as the code
drives it, the script sent being the one the answers are for, the decoding and parsing of
the output into a checked record, and the comparison with the register. What is not: the
PowerShell script itself, which only a Windows machine can run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import city_model
import discovery_model
from winrm_replay import replaying

from migration.discovery import windows_pc

NAME = "sod-ws-00001"


@pytest.fixture(scope="module")
def replayed() -> tuple[dict, object]:
    with replaying() as replay:
        record = windows_pc.discover(NAME, replay.endpoint, "SOD\\inventering", "replay-password",
                                     transport="basic")
    return record, replay


def test_the_whole_sequence_is_replayed_without_error(replayed: tuple[dict, object]) -> None:
    _record, replay = replayed
    assert replay.errors == []
    assert replay.sequence == ["create", "command", "receive", "receive", "signal", "delete"]
    assert "Win32_BIOS" in replay.scripts[0]


def test_hardware_serial_and_os_are_read(replayed: tuple[dict, object]) -> None:
    record, _replay = replayed
    assert {key: record[key] for key in ("hostname", "manufacturer", "model", "serial", "memory_mb")} == {
        "hostname": "SOD-WS-00001", "manufacturer": "Dell Inc.", "model": "OptiPlex 745",
        "serial": "RK8U75A", "memory_mb": 2047}
    assert (record["os"], record["service_pack"]) == ("Microsoft Windows XP Professional", "Service Pack 3")
    assert "problems" not in record


def test_installed_programs_keep_swedish_letters(replayed: tuple[dict, object]) -> None:
    record, _replay = replayed
    programs = {program["name"]: program for program in record["software"]}
    assert len(programs) == 7
    assert programs["Tidrapportering Södermalm"]["publisher"] == \
        "Stockholms stad, Södermalms stadsdelsförvaltning"
    assert programs["Förskoleadministration Skolfam (klient)"]["publisher"] == "Åkerblom Data AB"
    assert programs["Procapita Klient 5.2"]["version"] == "5.2.14"


def test_the_register_is_compared(replayed: tuple[dict, object]) -> None:
    record, _replay = replayed
    same = city_model.Workstation(NAME, "sodermalm", "sod_hornstull", "admin", "RK8U75A",
                                  "Dell OptiPlex 745", "", "2006-07-05")
    assert windows_pc.discrepancies(record, same) == []
    other = same._replace(serial="RK8U75B")
    assert windows_pc.discrepancies(record, other) == [
        "sod-ws-00001: serial RK8U75A on the machine, RK8U75B in the register"]
    assert windows_pc.discrepancies(record, None) == ["sod-ws-00001: answers but is not in the register"]


def test_a_hostile_program_name_is_refused_and_named() -> None:
    output = (b'{"hostname":"SOD-WS-00002","serial":"X1","software":[{"name":"Klient\\u001b]0;owned\\u0007",'
              b'"version":"1"},{"name":"Ok","version":"2"}]}\r\n')
    record = discovery_model.checked(discovery_model.PC, windows_pc.parse_output("sod-ws-00002", output),
                                     "sod-ws-00002")
    assert record["software"] == [{"name": "Ok", "version": "2"}]
    assert record["problems"] == [
        "sod-ws-00002: software[0].name: 'Klient\\x1b]0;owned\\x07' holds a character that is not "
        "printable text: character 7 is U+001B (a control character)"]


def test_output_that_is_not_the_scripts_json_names_the_pc() -> None:
    expected = r"^sod-ws-00003: the output is not the ASCII JSON the script writes \(byte 3 is 0x94\)"
    with pytest.raises(windows_pc.WinRMDiscoveryError, match=expected):
        windows_pc.parse_output("sod-ws-00003", b'{"\x94"}')
