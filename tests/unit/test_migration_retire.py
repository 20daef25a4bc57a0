"""migration/retire.py: an old server is shut down only after the committee's move is
verified in its ledger, and recorded as retired in the city data, which must still load.
The shutdown itself (net rpc shutdown on the new side) runs in tests/e2e/test_migration.py."""

from __future__ import annotations

import datetime
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "module_utils"))
import city_model  # noqa: E402

from migration import ledger, retire  # noqa: E402

DATA = REPO / "inventory/stockholm/data"
DAY = datetime.date(2010, 3, 1)
PLAN = {"shares": [{"server": "sod-fs01", "share": "Hem"}],
        "mailboxes": [{"server": "sod-ex01", "account": "anna"}],
        "printers": [{"server": "sod-ps01", "queue": "ROSENLUND-01-PS"}]}


@pytest.fixture
def data(tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(DATA, copy, ignore=shutil.ignore_patterns("discovery", "migration-ledger"))
    return copy


def organisation(data_dir):
    return city_model.load_city(data_dir, register=False).organisations["sodermalm"]


def test_nothing_is_retired_until_every_share_mailbox_and_queue_of_the_plan_is_done(tmp_path):
    with ledger.open_run(tmp_path, "sodermalm") as run:
        run.write("files", "sod-fs01/Hem", "done")
        run.write("mail", "sod-ex01/anna", "started")
        assert retire.unverified(PLAN, run.entries) == ["mail sod-ex01/anna: started",
                                                        "printers sod-ps01/ROSENLUND-01-PS: not moved"]
        run.write("mail", "sod-ex01/anna", "done")
        run.write("printers", "sod-ps01/ROSENLUND-01-PS", "done")
        assert retire.unverified(PLAN, run.entries) == []
        run.write("files", "sod-fs01/Hem", "failed", message="cut-over failed")
        assert retire.unverified(PLAN, run.entries) == ["files sod-fs01/Hem: failed"]


def test_only_moved_servers_with_credentials_are_retired_and_the_others_say_why(data):
    found = retire.verdicts(organisation(data), {"sod-fs01": Path("auth")})
    assert found["sod-fs01"] == ""
    assert found["sod-ex01"] == "no --server-auth-file for it"
    assert found["sod-ps01"] == "no --server-auth-file for it"
    assert found["sod-app01"].startswith("its application moves to a standard application host first")
    assert found["sod-dc01"].startswith(
        "the old domain controller goes last; still running: sod-ps01, sod-ex01")
    assert "sod-sw01" not in found


def test_a_retired_server_is_recorded_in_its_organisation_file_and_loads(data):
    path = retire.record_retired(data, "sodermalm", "sod-fs01", DAY)
    assert path.name == "sodermalm.yml"
    servers = {s["name"]: s for s in organisation(data)["legacy_servers"]}
    assert servers["sod-fs01"]["retired"] == DAY and "retired" not in servers["sod-ex01"]
    assert retire.verdicts(organisation(data), {"sod-fs01": Path("auth")})["sod-fs01"] == \
        "already retired on 2010-03-01"


def test_a_record_that_would_not_load_is_undone(data):
    retire.record_retired(data, "sodermalm", "sod-fs01", DAY)
    before = (data / "organisations/sodermalm.yml").read_text(encoding="utf-8")
    # Twice is a duplicate key: the city model refuses it, and the file is as it was.
    with pytest.raises(retire.RetireError, match=r"sodermalm\.yml: not recorded: .*duplicate key"):
        retire.record_retired(data, "sodermalm", "sod-fs01", DAY)
    assert (data / "organisations/sodermalm.yml").read_text(encoding="utf-8") == before


def test_a_server_that_does_not_go_off_is_failed_in_the_ledger_and_not_recorded(data, tmp_path):
    def stays_on(server):
        raise retire.RetireError("it still answers on SMB 180 s after the shutdown")

    org = organisation(data)
    with ledger.open_run(tmp_path / "ledger", "sodermalm") as run:
        assert not retire.retire(run, org, {"sod-fs01": "", "sod-ps01": "not built"}, data, DAY, stays_on)
        states = {(e.item, e.state) for e in run.entries}
    assert ("sod-fs01", "failed") in states and ("sod-ps01", "held") in states
    assert "retired" not in next(s for s in organisation(data)["legacy_servers"] if s["name"] == "sod-fs01")
