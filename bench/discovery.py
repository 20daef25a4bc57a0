#!/usr/bin/env python3
"""Prints the discovery time per legacy host; asserts nothing.

- the site switch: Södermalm's sod-sw01 simulated by migration/fake_switch/launch.py on
  127.0.0.1, read by migration/discovery/switch.py (netmiko SSH login, enable, five show
  commands parsed by TextFSM), beside a bare netmiko login and logout to the same switch,
  the floor of any SSH discovery.
- a Windows PC: migration/discovery/windows_pc.py against the WS-Management REPLAY of the
  unit tests (not a Windows machine; it measures pywinrm and the parsing, not WMI).

    python bench/discovery.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import city_model
from switch_process import USERNAME, running_switch
from winrm_replay import replaying

from migration.discovery import switch, windows_pc
from migration.fake_switch import content

REPO = Path(__file__).resolve().parents[1]


def timed(action, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.monotonic()
        action()
        times.append(time.monotonic() - started)
    return times


def line(label: str, times: list[float]) -> str:
    return (f"{label:<52} median {statistics.median(times):6.2f} s  "
            f"(min {min(times):.2f}, max {max(times):.2f}, n={len(times)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    city = city_model.load_city(REPO / "inventory" / "stockholm" / "data", register=False)
    organisation = city.organisations["sodermalm"]
    device = content.find_switch(organisation, "sod-sw01")
    spec = content.switch_spec(organisation, "sod-sw01")
    with tempfile.TemporaryDirectory() as directory, running_switch(spec, Path(directory)) as started:
        port, password = started
        credentials = switch.Credentials(USERNAME, password, password)

        def login_only() -> None:
            from netmiko import ConnectHandler

            ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=port, username=USERNAME,
                           password=password, secret=password).disconnect()

        print(line("switch sod-sw01: discovery (fake-switches)",
                   timed(lambda: switch.discover(device, credentials, host="127.0.0.1", port=port), repeat)))
        print(line("switch sod-sw01: netmiko login and logout only", timed(login_only, repeat)))

    def pc() -> None:
        with replaying() as replay:
            windows_pc.discover("sod-ws-00001", replay.endpoint, "inventering", "replay", transport="basic")

    print(line("PC sod-ws-00001: discovery (WS-Man replay, not Windows)", timed(pc, repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
