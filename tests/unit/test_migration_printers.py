"""The printers of a committee's move: the old print server's queues (the lab's stand-in
content), their discovery over IPP, the plan's mapping onto the sites' new queues, and the
move that checks each new queue and records the mapping."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
import city_model  # noqa: E402 - city_fixture (conftest) puts module_utils on sys.path
import discovery_model  # noqa: E402

from migration import ledger, move_printers, plan  # noqa: E402
from migration.discovery import ipp, print_server, report, store  # noqa: E402
from migration.old_print_server import content  # noqa: E402

DATA = REPO / "inventory/stockholm/data"


@pytest.fixture(scope="module")
def city():
    return city_model.load_city(DATA, register=False)


@pytest.fixture(scope="module")
def sodermalm(city):
    return city.organisations["sodermalm"]


def as_ipp(queue: dict) -> dict:
    """An old queue as CUPS-Get-Printers answers it."""
    return {"printer-name": queue["name"], "device-uri": queue["device_uri"],
            "printer-make-and-model": "HP LaserJet Series PCL 4/5", "printer-location": queue["location"],
            "printer-info": queue["info"], "queued-job-count": 0, "printer-is-accepting-jobs": True}


def new_queues(organisation: dict) -> list[dict]:
    return [{"printer-name": p["name"], "printer-is-accepting-jobs": True}
            for site in organisation["sites"] for p in site.get("printers") or []]


def test_the_old_queues_are_every_printer_the_old_way_a_twin_and_a_scrapped_one(sodermalm):
    queues = content.old_queues(sodermalm, scrapped=1)
    assert queues == content.old_queues(sodermalm, scrapped=1)  # the same data, the same queues
    printers = [p for site in sodermalm["sites"] for p in site.get("printers") or []]
    new_names = {p["name"] for p in printers}
    addresses = {print_server.printer_address(p["device_uri"]) for p in printers}
    assert len(queues) == len(printers) + 2
    assert not new_names & {q["name"] for q in queues}
    assert all(q["device_uri"].startswith("socket://") and q["device_uri"].endswith(":9100") for q in queues)
    by_address = {}
    for queue in queues:
        by_address.setdefault(print_server.printer_address(queue["device_uri"]), []).append(queue["name"])
    twins = [names for names in by_address.values() if len(names) == 2]
    assert len(twins) == 1 and twins[0][1].endswith("-PS")
    scrapped = set(by_address) - addresses
    assert len(scrapped) == 1 and "skrotad" in queues[-1]["location"]


def test_a_printer_address_is_the_host_of_any_device_uri():
    assert print_server.printer_address("socket://10.18.0.50:9100") == "10.18.0.50"
    assert print_server.printer_address("ipp://10.18.0.51/ipp/print") == "10.18.0.51"
    assert print_server.printer_address("lpd://Skrivare.Example/queue") == "skrivare.example"
    assert print_server.printer_address("file:///dev/null") == ""
    assert print_server.printer_address("socket://[::1") == ""


def test_discovery_reads_the_queues_and_refuses_what_a_hostile_server_says(sodermalm, city, tmp_path):
    device = next(s for s in sodermalm["legacy_servers"] if s["role"] == "print")
    queues = content.old_queues(sodermalm)
    answer = [as_ipp(q) for q in queues]
    answer[0]["printer-location"] = "Plan 3\x1b[2J"
    answer[1]["printer-info"] = "x" * 5000
    record = print_server.discover_print_server(device, "192.0.2.1", get_printers=lambda host, port: answer)
    assert [q["name"] for q in record["queues"]] == sorted(q["name"] for q in queues)
    assert len(record["problems"]) == 2
    assert all(device["name"] in problem for problem in record["problems"])
    assert "location" not in next(q for q in record["queues"] if q["name"] == queues[0]["name"])
    path = store.write_discovery(tmp_path, "sodermalm", city, print_servers=[record])
    assert discovery_model.load_discovery(path, city)["print_servers"][0]["queues"] == record["queues"]
    text = report.render(sodermalm, {"print_servers": [record]}, city)
    assert f"## Print server {device['name']}" in text and queues[2]["name"] in text


def test_an_unreachable_print_server_is_named_and_has_no_queues(sodermalm):
    device = next(s for s in sodermalm["legacy_servers"] if s["role"] == "print")

    def refused(host, port):
        raise ConnectionRefusedError(111, "Connection refused")

    record = print_server.discover_print_server(device, "192.0.2.1", get_printers=refused)
    assert "queues" not in record
    assert record["problems"] == [f"{device['name']}: not read over IPP at 192.0.2.1:631: "
                                  "ConnectionRefusedError: [Errno 111] Connection refused"]


def discovered(organisation: dict) -> dict:
    device = next(s for s in organisation["legacy_servers"] if s["role"] == "print")
    answer = [as_ipp(q) for q in content.old_queues(organisation)]
    record = print_server.discover_print_server(device, "192.0.2.1", get_printers=lambda host, port: answer)
    return {"print_servers": [record]}


def test_the_plan_maps_each_old_queue_to_the_new_queue_of_its_printer(sodermalm):
    printers, held = plan.printer_targets(sodermalm, discovered(sodermalm))
    new = {print_server.printer_address(p["device_uri"]): p["name"]
           for site in sodermalm["sites"] for p in site.get("printers") or []}
    assert len(printers) == len(new) + 1 and len(held) == 1
    assert all(p["target"] == new[p["printer"]] for p in printers)
    twins = [p for p in printers if p["target"] == printers[0]["target"]]
    assert {p["queue"].rsplit("-", 1)[1] for p in twins} == {"LJ4250", "PS"}
    assert held[0]["queue"].endswith("-X1-LJ5") and "no new queue prints to" in held[0]["reason"]
    # A printer reached by IPP on the new side and over port 9100 on the old is the same printer.
    ipp_printer = next(p for p in printers if p["target"] == "sod-rosenlund-p2")
    assert ipp_printer["printer"] == "10.18.0.51"
    text = plan.printers_section((printers, held))
    assert "## Printers" in text
    assert f"| sod-ps01 | {held[0]['queue']} |  | held: no new queue" in "\n".join(text)


def test_an_old_queue_without_a_device_is_held(sodermalm):
    found = discovered(sodermalm)
    del found["print_servers"][0]["queues"][0]["device_uri"]
    _, held = plan.printer_targets(sodermalm, found)
    assert any("did not say which printer" in h["reason"] for h in held)


def decided_for(organisation: dict) -> dict:
    printers, held = plan.printer_targets(organisation, discovered(organisation))
    return {"printers": printers, "held_printers": held}


@pytest.mark.parametrize("change, message", [
    (lambda d: d["printers"][0].update(server="sod-fs01"), "printers[0].server: not an old print server"),
    (lambda d: d["printers"][0].update(target="bro-p1"), "printers[0].target: not the queue of that site"),
    (lambda d: d["printers"][0].update(printer="10.18.0.99"), "printers[0].target: not the queue"),
    (lambda d: d["printers"][0].update(queue="A\nB"), "printers[0].queue: expected a queue name"),
    (lambda d: d["printers"][0].pop("site"), "printers[0]: expected server, queue, printer, target and site"),
    (lambda d: d["printers"].append(dict(d["printers"][0])), "is listed twice"),
    (lambda d: d["held_printers"][0].update(reason=""), "held_printers[0]: expected server, queue"),
    (lambda d: d.update(printers="all"), "printers[0]: expected"),
])
def test_the_plans_printers_are_checked_before_anything_moves(sodermalm, change, message):
    decided = decided_for(sodermalm)
    change(decided)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        move_printers.check_printer_decisions(decided, sodermalm, "plan.json")


def test_the_move_records_each_mapping_and_names_a_new_queue_that_is_missing(sodermalm, tmp_path):
    decided = decided_for(sodermalm)
    move_printers.check_printer_decisions(decided, sodermalm, "plan.json")
    answer = [q for q in new_queues(sodermalm) if q["printer-name"] != "sod-katarina-p1"]
    with ledger.open_run(tmp_path, "sodermalm") as run:
        ok = move_printers.map_printers(run, decided, "print1", "192.0.2.9", tmp_path / "printers.txt",
                                        get_printers=lambda host, port: answer)
    assert not ok
    states = {(e.item, e.state, e.message) for e in run.entries}
    katarina = next(p for p in decided["printers"] if p["target"] == "sod-katarina-p1")
    assert (f"sod-ps01/{katarina['queue']}", "failed", "sod-katarina-p1 is not on print1") in states
    done = [e for e in run.entries if e.state == "done"]
    assert len(done) == len(decided["printers"]) - 1
    assert {e.message for e in done} >= {"sod-rosenlund-p1 on print1"}
    held = decided["held_printers"][0]
    assert (f"sod-ps01/{held['queue']}", "held", held["reason"]) in states
    written = (tmp_path / "printers.txt").read_text(encoding="utf-8")
    assert f"sod-ps01/{decided['printers'][0]['queue']} -> {decided['printers'][0]['target']}" in written
    assert f"sod-ps01/{held['queue']}: no new queue prints to" in written


def test_a_print_server_that_does_not_answer_fails_every_mapping_with_its_name(sodermalm, tmp_path):
    decided = decided_for(sodermalm)

    def broken(host, port):
        raise ipp.IppError("status 0x0400")

    with ledger.open_run(tmp_path, "sodermalm") as run:
        assert not move_printers.map_printers(run, decided, "print1", "192.0.2.9", tmp_path / "p.txt",
                                              get_printers=broken)
    failed = [e for e in run.entries if e.state == "failed"]
    assert len(failed) == len(decided["printers"])
    assert all(e.message.startswith("print1 did not answer over IPP: IppError") for e in failed)


def test_the_plan_file_holds_the_printers(sodermalm, city, tmp_path):
    found = discovered(sodermalm)
    store.write_discovery(tmp_path, "sodermalm", city, print_servers=found["print_servers"])
    code = plan.main(["--organisation", "sodermalm", "--discovery-dir", str(tmp_path),
                      "--personnel", str(REPO / "inventory/lab/data/personnel/sodermalm.csv")])
    assert code == 0
    decided = json.loads((tmp_path / "sodermalm-plan.json").read_text(encoding="utf-8"))
    assert len(decided["printers"]) == len(decided_for(sodermalm)["printers"])
    assert "## Printers" in (tmp_path / "sodermalm-plan.md").read_text(encoding="utf-8")
