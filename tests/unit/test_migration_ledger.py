"""migration/ledger.py: what a run leaves in the committee's ledger, also when it is killed
in the middle of a line, and what the next run and the change ticket read from it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from migration import ledger  # noqa: E402

DIGEST = "a" * 64


def test_a_run_records_each_item_and_the_next_run_skips_what_is_done(tmp_path):
    with ledger.open_run(tmp_path, "sodermalm", run="20090302T180000Z") as book:
        book.write("files", "sod-fs01/Äldreomsorg", "started")
        book.write("files", "sod-fs01/Äldreomsorg", "done", counts={"files": 7200, "bytes": 36_000_000},
                   sha256=DIGEST, seconds=61.25)
        book.write("mail", "alindbe", "started")
    with ledger.open_run(tmp_path, "sodermalm", run="20090302T190000Z") as book:
        assert book.is_done("files", "sod-fs01/Äldreomsorg")
        assert not book.is_done("mail", "alindbe")
        assert [(e.step, e.item, e.state) for e in book.unfinished()] == [("mail", "alindbe", "started")]
    lines = (tmp_path / "sodermalm.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    assert json.loads(lines[1]) | {"at": "-"} == {
        "run": "20090302T180000Z", "step": "files", "item": "sod-fs01/Äldreomsorg", "state": "done",
        "at": "-", "counts": {"bytes": 36_000_000, "files": 7200}, "sha256": DIGEST, "seconds": 61.25}


def test_a_run_killed_while_writing_leaves_a_torn_line_the_next_run_removes_and_reports(tmp_path):
    path = tmp_path / "sodermalm.jsonl"
    with ledger.open_run(tmp_path, "sodermalm", run="20090302T180000Z") as book:
        book.write("files", "sod-fs01/Hem", "started")
    with path.open("ab") as stream:
        stream.write(b'{"run": "20090302T180000Z", "step": "files", "item": "sod-fs01/H')
    with ledger.open_run(tmp_path, "sodermalm", run="20090302T181500Z") as book:
        assert "line 2 was cut short" in book.torn and "was removed" in book.torn
        assert [e.item for e in book.unfinished()] == ["sod-fs01/Hem"]
        book.write("files", "sod-fs01/Hem", "done", counts={"files": 3})
        assert "line 2 was cut short" in ledger.ticket_comment(book, "Södermalm")
    entries, torn = ledger.read(path)
    assert torn == "" and [e.state for e in entries] == ["started", "done"]


def test_a_run_killed_by_sigkill_keeps_every_line_it_had_written(tmp_path):
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from migration import ledger
        with ledger.open_run(Path({str(tmp_path)!r}), "sodermalm", run="20090302T180000Z") as book:
            book.write("mail", "alindbe", "started")
            book.write("mail", "alindbe", "done", counts={{"messages": 12}})
            book.write("mail", "bjohans", "started")
            print("written", flush=True)
            os.kill(os.getpid(), 9)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == -signal.SIGKILL and "written" in result.stdout
    with ledger.open_run(tmp_path, "sodermalm") as book:
        assert book.is_done("mail", "alindbe") and not book.is_done("mail", "bjohans")
        assert book.torn == ""


def test_a_second_run_of_the_same_committee_is_refused_while_one_holds_the_ledger(tmp_path):
    with ledger.open_run(tmp_path, "sodermalm"):
        with (pytest.raises(ledger.LedgerError, match="another run of sodermalm holds the ledger"),
              ledger.open_run(tmp_path, "sodermalm")):
            pass
        with ledger.open_run(tmp_path, "bromma"):  # another committee's ledger is its own
            pass


def line_with(**changes):
    record = {"run": "20090302T180000Z", "step": "files", "item": "x", "state": "done",
              "at": "2009-03-02T18:00:00"}
    return json.dumps(record | changes).encode()


@pytest.mark.parametrize("line, complaint", [
    (b"not json", "line 2: not a JSON line"),
    (line_with(state="lost"), "line 2: state"),
    (line_with(run="x; rm -rf /"), "line 2: run"),
    (line_with(item="a\x1b[2Jb"), "line 2: item"),
    (line_with(counts={"files": -1}), "line 2: counts"),
    (line_with(counts={"files": True}), "line 2: counts"),
    (line_with(owner="x"), "line 2: owner: unknown key"),
])
def test_a_damaged_line_is_an_error_naming_the_file_and_line(tmp_path, line, complaint):
    path = tmp_path / "sodermalm.jsonl"
    with ledger.open_run(tmp_path, "sodermalm", run="20090302T180000Z") as book:
        book.write("files", "sod-fs01/Hem", "started")
    with path.open("ab") as stream:
        stream.write(line + b"\n")
    with pytest.raises(ledger.LedgerError) as raised:
        ledger.read(path)
    assert "sodermalm.jsonl" in str(raised.value) and complaint in str(raised.value)
    assert "\x1b" not in str(raised.value)


def test_what_a_run_writes_is_checked_and_a_reason_is_kept_printable(tmp_path):
    with ledger.open_run(tmp_path, "sodermalm") as book:
        with pytest.raises(ledger.LedgerError, match="step"):
            book.write("Files; drop", "x", "started")
        with pytest.raises(ledger.LedgerError, match="counts"):
            book.write("files", "x", "done", counts={"files": 1.5})
        with pytest.raises(ledger.LedgerError, match="sha256"):
            book.write("files", "x", "done", sha256="ABC")
        reason = "sod-ex01: \x1b[31mconnection refused\n" + "x" * 900
        entry = book.write("mail", "kfrank", "failed", message=reason)
    assert "\x1b" not in entry.message and "\\x1b[31m" in entry.message and "\\n" in entry.message
    assert len(entry.message) == ledger.MAX_MESSAGE_LENGTH and entry.message.endswith("...")
    assert os.stat(tmp_path / "sodermalm.jsonl").st_mode & 0o777 == 0o640
    with (pytest.raises(ledger.LedgerError, match="organisation id"),
          ledger.open_run(tmp_path, "../etc/passwd")):
        pass


def test_the_change_ticket_reads_what_moved_and_what_did_not(tmp_path):
    with ledger.open_run(tmp_path, "sodermalm", run="20090302T180000Z") as book:
        book.write("files", "sod-fs01/Hem", "done", counts={"files": 10, "bytes": 100}, seconds=4)
        book.write("files", "sod-fs01/Äldreomsorg", "done", counts={"files": 5, "bytes": 50}, seconds=2)
        book.write("mail", "kfrank", "failed", message="sod-ex01 does not answer")
    with ledger.open_run(tmp_path, "sodermalm", run="20090302T190000Z") as book:
        book.write("mail", "alindbe", "done", counts={"messages": 12}, seconds=1)
        comment = ledger.ticket_comment(book, "Södermalms stadsdelsnämnd")
    assert comment.startswith("Flytt av Södermalms stadsdelsnämnd, körning 20090302T190000Z\n")
    assert "- mail: 1 klara (messages 12; 1 s)" in comment
    assert "files" not in comment.split("Inte klart:")[0]  # only this run's moves are counted
    assert "- mail kfrank: failed (sod-ex01 does not answer)" in comment
