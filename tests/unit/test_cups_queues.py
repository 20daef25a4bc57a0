"""The cups_queues module: given what lpstat and lpoptions print, the lpadmin calls it makes.

Only the process boundary (`AnsibleModule.run_command`) is faked; the outputs are copied
from CUPS 2.4 on Debian 12 (LC_ALL=C)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from module_runner import load_library_module, run_library_module

GENERIC = "drv:///sample.drv/generic.ppd"
PCL = "drv:///sample.drv/generpcl.ppd"


def load_module() -> Any:
    return load_library_module("cups_queues")


class FakeCups:
    """A CUPS server as its commands show it; lpadmin calls are recorded, not applied."""

    def __init__(self) -> None:
        self.queues: dict[str, dict[str, Any]] = {}
        self.calls: list[list[str]] = []
        self.lpadmin_rc = 0
        self.installed = True

    def add(self, name: str, uri: str, driver: str | None = GENERIC, location: str = "",
            info: str = "", shared: bool = True, allowed: list[str] | None = None,
            denied: list[str] | None = None, enabled: bool = True) -> None:
        self.queues[name] = {"uri": uri, "driver": driver, "location": location, "info": info,
                             "shared": shared, "allowed": allowed or ["(all)"], "denied": denied or [],
                             "enabled": enabled}

    def run_command(self, arguments: list[str], environ_update: dict | None = None, **_: Any
                    ) -> tuple[int, str, str]:
        assert environ_update["LC_ALL"] == "C"
        if arguments[0] == "lpadmin":
            self.calls.append(arguments)
            return self.lpadmin_rc, "", "lpadmin: Printer drivers are deprecated" if not self.lpadmin_rc \
                else "lpadmin: Bad device-uri scheme \"usb\"."
        if not self.queues:
            return 1, "", "lpstat: No destinations added.\n"
        if arguments == ["lpstat", "-v"]:
            return 0, "".join(f"device for {n}: {self.shown_uri(q['uri'])}\n"
                              for n, q in self.queues.items()), ""
        if arguments == ["lpstat", "-a"]:
            return 0, "".join(f"{n} accepting requests since Fri Nov 27 04:13:40 2026\n"
                              for n in self.queues), ""
        if arguments == ["lpstat", "-l", "-p"]:
            return 0, "".join(self.long_status(n, q) for n, q in self.queues.items()), ""
        if arguments[:2] == ["lpoptions", "-p"]:
            queue = self.queues[arguments[2]]
            marker = f"gemensam-driver={queue['driver']} " if queue["driver"] else ""
            return 0, (f"copies=1 device-uri={queue['uri']} finishings=3 {marker}job-cancel-after=10800 "
                       f"printer-info='{queue['info']}' printer-is-accepting-jobs=true "
                       f"printer-is-shared={str(queue['shared']).lower()} "
                       f"printer-location='{queue['location']}' "
                       "printer-make-and-model='Generic PostScript Printer' printer-state=3\n"), ""
        raise AssertionError(f"unexpected command {arguments}")

    @staticmethod
    def shown_uri(uri: str) -> str:
        return uri.removeprefix("file:")

    @staticmethod
    def long_status(name: str, queue: dict[str, Any]) -> str:
        state = (f"printer {name} is idle.  enabled since Fri Nov 27 04:13:40 2026\n" if queue["enabled"]
                 else f"printer {name} disabled since Fri Nov 27 04:14:08 2026 -\n\tPaused\n")
        kind, users = ("denied", queue["denied"]) if queue["denied"] else ("allowed", queue["allowed"])
        users = f"\tUsers {kind}:\n" + "".join(f"\t\t{user}\n" for user in users)
        return (state + "\tForm mounted:\n\tContent types: any\n\tPrinter types: unknown\n"
                f"\tDescription: {queue['info']}\n\tAlerts: none\n\tLocation: {queue['location']}\n"
                f"\tConnection: direct\n\tInterface: /etc/cups/ppd/{name}.ppd\n\tOn fault: no alert\n"
                f"\tAfter fault: continue\n{users}\tForms allowed:\n\t\t(none)\n\tBanner required\n")


@pytest.fixture
def cups() -> FakeCups:
    return FakeCups()


def run_module(monkeypatch: pytest.MonkeyPatch, cups: FakeCups, **arguments: Any) -> dict:
    from ansible.module_utils import basic

    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path",
                        lambda self, name, *args, **kwargs: f"/usr/bin/{name}" if cups.installed else None)
    monkeypatch.setattr(basic.AnsibleModule, "run_command",
                        lambda self, arguments, **kwargs: cups.run_command(arguments, **kwargs))
    return run_library_module(monkeypatch, "cups_queues", arguments)


def queue(name: str = "sod-rosenlund-p1", **changes: Any) -> dict[str, Any]:
    return {"name": name, "device_uri": "socket://10.18.0.50:9100", "driver": GENERIC,
            "location": "Rosenlundsgatan 60, plan 3, kök", "info": "Södermalms stadsdelsförvaltning",
            **changes}


def add_as_declared(cups: FakeCups, declared: dict[str, Any]) -> None:
    cups.add(declared["name"], declared["device_uri"], declared["driver"], declared["location"],
             declared["info"], allowed=declared.get("allowed_users"))


def test_a_new_queue_is_created_with_every_property(monkeypatch, cups):
    result = run_module(monkeypatch, cups, queues=[queue(allowed_users=["@SOD-Personal"])])
    assert result["changed"] and result["created"] == ["sod-rosenlund-p1"]
    assert cups.calls == [["lpadmin", "-p", "sod-rosenlund-p1", "-v", "socket://10.18.0.50:9100",
                           "-m", GENERIC, "-o", f"gemensam-driver-default={GENERIC}",
                           "-L", "Rosenlundsgatan 60, plan 3, kök", "-D", "Södermalms stadsdelsförvaltning",
                           "-o", "printer-is-shared=true", "-u", "allow:@SOD-Personal", "-E"]]


def test_queues_already_as_declared_change_nothing(monkeypatch, cups):
    declared = [queue(), queue("sod-gotgatan-p1", device_uri="file:///var/spool/cups-lab/sod-gotgatan-p1.out",
                               allowed_users=["root", "@lpadmin"])]
    for each in declared:
        add_as_declared(cups, each)
    result = run_module(monkeypatch, cups, queues=declared)
    assert not result["failed"]
    assert result["changed"] is False
    assert cups.calls == []
    assert result["queues"]["sod-gotgatan-p1"]["device_uri"] == "file:///var/spool/cups-lab/sod-gotgatan-p1.out"


def test_only_the_differing_properties_are_set(monkeypatch, cups):
    add_as_declared(cups, queue(device_uri="socket://10.18.0.49:9100", location="Plan 2"))
    result = run_module(monkeypatch, cups, queues=[queue()])
    assert result["updated"] == {"sod-rosenlund-p1": ["device_uri", "location"]}
    assert cups.calls == [["lpadmin", "-p", "sod-rosenlund-p1", "-v", "socket://10.18.0.50:9100",
                           "-L", "Rosenlundsgatan 60, plan 3, kök"]]


def test_a_changed_driver_is_seen_through_the_marker(monkeypatch, cups):
    add_as_declared(cups, queue(driver=PCL))
    result = run_module(monkeypatch, cups, queues=[queue()])
    assert result["updated"] == {"sod-rosenlund-p1": ["driver"]}
    assert cups.calls == [["lpadmin", "-p", "sod-rosenlund-p1", "-m", GENERIC,
                           "-o", f"gemensam-driver-default={GENERIC}", "-E"]]


def test_a_disabled_queue_and_a_deny_list_are_put_right(monkeypatch, cups):
    cups.add("sod-rosenlund-p1", "socket://10.18.0.50:9100", GENERIC, "Rosenlundsgatan 60, plan 3, kök",
             "Södermalms stadsdelsförvaltning", denied=["bob"], enabled=False)
    result = run_module(monkeypatch, cups, queues=[queue()])
    assert result["updated"] == {"sod-rosenlund-p1": ["allowed_users", "enabled"]}
    assert cups.calls == [["lpadmin", "-p", "sod-rosenlund-p1", "-u", "allow:all", "-E"]]


def test_managed_queues_no_longer_declared_are_removed_and_others_kept(monkeypatch, cups):
    add_as_declared(cups, queue())
    cups.add("sod-gammal-p9", "socket://10.18.0.99:9100")
    cups.add("handgjord", "ipp://10.0.1.99/ipp/print", driver=None)
    result = run_module(monkeypatch, cups, queues=[queue()], _ansible_diff=True)
    assert result["removed"] == ["sod-gammal-p9"]
    assert cups.calls == [["lpadmin", "-x", "sod-gammal-p9"]]
    assert set(result["diff"]["before"]) == {"sod-gammal-p9", "sod-rosenlund-p1"}
    assert set(result["diff"]["after"]) == {"sod-rosenlund-p1"}


def test_purge_false_keeps_managed_queues(monkeypatch, cups):
    cups.add("sod-gammal-p9", "socket://10.18.0.99:9100")
    result = run_module(monkeypatch, cups, queues=[], purge=False)
    assert result["changed"] is False and cups.calls == []


def test_check_mode_reports_the_changes_and_makes_none(monkeypatch, cups):
    cups.add("sod-gammal-p9", "socket://10.18.0.99:9100")
    result = run_module(monkeypatch, cups, queues=[queue()], _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] is True
    assert (result["created"], result["removed"]) == (["sod-rosenlund-p1"], ["sod-gammal-p9"])
    assert result["diff"]["after"]["sod-rosenlund-p1"]["driver"] == GENERIC
    assert cups.calls == []


def test_check_mode_before_cups_is_installed_plans_every_queue(monkeypatch, cups):
    cups.installed = False
    result = run_module(monkeypatch, cups, queues=[queue()], _ansible_check_mode=True)
    assert (result["changed"], result["created"], cups.calls) == (True, ["sod-rosenlund-p1"], [])


def test_an_empty_server_is_read_as_no_queues(monkeypatch, cups):
    result = run_module(monkeypatch, cups, queues=[])
    assert result == {"failed": False, "changed": False, "created": [], "updated": {}, "removed": [],
                      "queues": {}}


def test_a_failing_lpadmin_fails_with_its_message(monkeypatch, cups):
    cups.lpadmin_rc = 1
    result = run_module(monkeypatch, cups, queues=[queue(device_uri="usb://HP/LaserJet")])
    assert result["failed"]
    assert result["msg"].startswith("lpadmin -p sod-rosenlund-p1 -v usb://HP/LaserJet")
    assert result["msg"].endswith('(rc 1): lpadmin: Bad device-uri scheme "usb".')


def test_duplicate_queue_names_are_refused(monkeypatch, cups):
    result = run_module(monkeypatch, cups, queues=[queue(), queue()])
    assert result["failed"]
    assert result["msg"] == "queues: duplicate queue names: sod-rosenlund-p1"


def test_lpstat_shows_file_devices_without_their_scheme():
    devices = load_module().parse_devices("device for a: ///var/spool/cups-lab/a.out\n"
                                          "device for b: socket://10.18.0.50:9100\n")
    assert devices == {"a": "file:///var/spool/cups-lab/a.out", "b": "socket://10.18.0.50:9100"}


def test_module_documentation_is_yaml_and_names_every_option():
    module = load_module()
    documentation = yaml.safe_load(module.DOCUMENTATION)
    assert set(documentation["options"]) == {"queues", "purge"}
    assert set(documentation["options"]["queues"]["suboptions"]) == {
        "name", "device_uri", "driver", "location", "info", "shared", "allowed_users"}
    assert yaml.safe_load(module.EXAMPLES)
    assert set(yaml.safe_load(module.RETURN)) == {"created", "updated", "removed", "queues"}
