"""A committee's migration ledger: every step of every run, as it happened (issue 11).

    <ledger dir>/<organisation id>.jsonl     one JSON object per line, appended, never rewritten

Each move of an item (a share, a mailbox, a queue, a server) writes `started` before it
begins and `done` (with its counts, bytes, checksum and seconds) or `failed` (with the
reason) when it ends, each line flushed to disk before the move goes on. A run killed at
any point leaves the item `started`: the next run sees it was not finished and moves it
again (the moves are written to converge, so that is safe), while items already `done` in
the same wave are skipped. A line cut short by the kill is the file's last: reading ignores
it, and the next run removes it (its write never finished, so nothing after it happened)
and reports that. Any other unreadable line is an error naming the file and the line: a
ledger is evidence, not a cache.

One run at a time per committee: a run holds an exclusive lock on `<id>.lock` beside the
ledger, and a second run is refused with a message naming the file, not queued.

Every value written is checked like the city data: identifiers of a fixed shape, text
printable (no control characters) and bounded, numbers whole and not negative.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))
import city_model

# held: not moved, by decision (an old account without a person), with the reason.
STATES = ("started", "done", "failed", "held")
STEP = re.compile(r"[a-z][a-z0-9_]{0,31}\Z")
RUN = re.compile(r"[0-9]{8}T[0-9]{6}Z(?:-[a-z0-9]{1,16})?\Z")
MAX_ITEM_LENGTH = 512      # a server and a share or a mailbox: "sod-fs01/Äldreomsorg"
MAX_MESSAGE_LENGTH = 500
MAX_COUNT = 1 << 50
SHA256 = re.compile(r"[0-9a-f]{64}\Z")
COUNT_KEYS = re.compile(r"[a-z][a-z0-9_]{0,31}\Z")


class LedgerError(Exception):
    """A ledger that cannot be read or written as it is, or a run already holding it."""


@dataclass(frozen=True)
class Entry:
    run: str
    step: str
    item: str
    state: str
    at: str
    counts: Mapping[str, int] = field(default_factory=dict)
    sha256: str = ""
    seconds: float = 0.0
    message: str = ""

    def as_json(self) -> str:
        record: dict[str, Any] = {"run": self.run, "step": self.step, "item": self.item,
                                  "state": self.state, "at": self.at}
        if self.counts:
            record["counts"] = dict(self.counts)
        if self.sha256:
            record["sha256"] = self.sha256
        if self.seconds:
            record["seconds"] = self.seconds
        if self.message:
            record["message"] = self.message
        return json.dumps(record, ensure_ascii=False, sort_keys=True)


def checked_entry(record: Any, where: str) -> Entry:
    """An Entry from a decoded line (or what a caller passes), or LedgerError naming where."""
    def fail(key: str, what: str) -> LedgerError:
        return LedgerError(f"{where}: {key}: {what}")

    if not isinstance(record, dict):
        raise fail("entry", "expected a JSON object")
    unknown = set(record) - {"run", "step", "item", "state", "at", "counts", "sha256", "seconds", "message"}
    if unknown:
        raise fail(sorted(unknown)[0], "unknown key")
    for key, pattern in (("run", RUN), ("step", STEP)):
        if not isinstance(record.get(key), str) or not pattern.match(record[key]):
            raise fail(key, f"expected {pattern.pattern}, got {city_model.excerpt(str(record.get(key)))}")
    if record.get("state") not in STATES:
        raise fail("state", f"expected one of {', '.join(STATES)}")
    try:
        item = city_model.text(record.get("item"), MAX_ITEM_LENGTH)
        message = city_model.text(record.get("message", ""), MAX_MESSAGE_LENGTH, empty=True)
        datetime.datetime.fromisoformat(city_model.text(record.get("at"), 40))
    except (city_model.Invalid, ValueError) as error:
        raise fail("item, message or at", str(error)) from None
    counts = record.get("counts", {})
    if not isinstance(counts, dict) or not all(
            isinstance(k, str) and COUNT_KEYS.match(k) and type(v) is int and 0 <= v <= MAX_COUNT
            for k, v in counts.items()):
        raise fail("counts", "expected names of a-z, 0-9 and _ with whole numbers from 0")
    sha256 = record.get("sha256", "")
    if not isinstance(sha256, str) or (sha256 and not SHA256.match(sha256)):
        raise fail("sha256", "expected 64 lower-case hex digits")
    seconds = record.get("seconds", 0.0)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 10 ** 7:
        raise fail("seconds", "expected a duration in seconds")
    return Entry(record["run"], record["step"], item, record["state"], record["at"], counts, sha256,
                 float(seconds), message)


def read(path: Path) -> tuple[list[Entry], str]:
    """The entries of a ledger, and a note when its last line was cut short (else "")."""
    if not path.exists():
        return [], ""
    data = path.read_bytes()
    lines = data.split(b"\n")
    torn = ""
    if lines and lines[-1]:
        torn = (f"{city_model.display_path(path)}: line {len(lines)} was cut short (a run was killed while "
                "writing it) and is ignored")
    entries = []
    for number, line in enumerate(lines[:-1], 1):
        if not line:
            continue
        where = f"{city_model.display_path(path)}: line {number}"
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise LedgerError(f"{where}: not a JSON line ({error})") from None
        entries.append(checked_entry(record, where))
    return entries, torn


class Ledger:
    """The ledger of one committee, open for one run (see `open_run`)."""

    def __init__(self, path: Path, run: str, entries: list[Entry], torn: str) -> None:
        self.path, self.run, self.entries, self.torn = path, run, entries, torn

    def last(self, step: str, item: str) -> Entry | None:
        for entry in reversed(self.entries):
            if entry.step == step and entry.item == item:
                return entry
        return None

    def is_done(self, step: str, item: str) -> bool:
        """Whether the item's last entry for the step, in any run, is `done`."""
        entry = self.last(step, item)
        return entry is not None and entry.state == "done"

    def unfinished(self) -> list[Entry]:
        """Each item whose last entry is `started` or `failed`: where a run stopped."""
        last: dict[tuple[str, str], Entry] = {}
        for entry in self.entries:
            last[(entry.step, entry.item)] = entry
        return [entry for entry in last.values() if entry.state != "done"]

    def write(self, step: str, item: str, state: str, *, counts: Mapping[str, int] | None = None,
              sha256: str = "", seconds: float = 0.0, message: str = "") -> Entry:
        """Appends one entry and flushes it to disk before returning it."""
        at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        record = {"run": self.run, "step": step, "item": item, "state": state, "at": at,
                  "counts": dict(counts or {}), "sha256": sha256, "seconds": round(seconds, 3),
                  "message": printable(message)}
        entry = checked_entry(record, f"{city_model.display_path(self.path)}: new entry")
        line = entry.as_json().encode("utf-8") + b"\n"
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(descriptor, line)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        self.entries.append(entry)
        return entry


def printable(message: str) -> str:
    """A message as the ledger keeps it: each character that is not printable written as its
    escape (\\x1b, \\n), cut to MAX_MESSAGE_LENGTH with "..." when longer."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    return text if len(text) <= MAX_MESSAGE_LENGTH else text[:MAX_MESSAGE_LENGTH - 3] + "..."


def new_run_id(now: datetime.datetime | None = None) -> str:
    return (now or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%dT%H%M%SZ")


@contextmanager
def open_run(directory: Path, organisation_id: str, run: str | None = None) -> Iterator[Ledger]:
    """The committee's ledger, locked for this run; LedgerError when another run holds it."""
    if not STEP.match(organisation_id):
        raise LedgerError(f"organisation id {city_model.excerpt(organisation_id)}: expected {STEP.pattern}")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{organisation_id}.jsonl"
    with (directory / f"{organisation_id}.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LedgerError(f"{city_model.display_path(path)}: another run of {organisation_id} holds "
                              "the ledger; wait for it to end") from None
        entries, torn = read(path)
        if torn:
            # The cut line's write never finished, so nothing after it was done: it is removed
            # (under the lock), and the next entry starts on a line of its own.
            data = path.read_bytes()
            with path.open("r+b") as stream:
                stream.truncate(data.rfind(b"\n") + 1)
                os.fsync(stream.fileno())
            torn = torn.replace("is ignored", "was removed")
        yield Ledger(path, run or new_run_id(), entries, torn)


def ticket_comment(ledger: Ledger, organisation_name: str) -> str:
    """The run as a comment for the wave's change ticket: per step the items done with
    their counts, bytes and time, and every item not finished with its reason."""
    run = [entry for entry in ledger.entries if entry.run == ledger.run]
    lines = [f"Flytt av {organisation_name}, körning {ledger.run}", ""]
    steps: dict[str, list[Entry]] = {}
    for entry in run:
        if entry.state == "done":
            steps.setdefault(entry.step, []).append(entry)
    for step, done in steps.items():
        totals: dict[str, int] = {}
        for entry in done:
            for key, value in entry.counts.items():
                totals[key] = totals.get(key, 0) + value
        figures = ", ".join(f"{key} {value}" for key, value in sorted(totals.items()))
        seconds = sum(entry.seconds for entry in done)
        lines.append(f"- {step}: {len(done)} klara ({figures + '; ' if figures else ''}{seconds:.0f} s)")
    unfinished = ledger.unfinished()
    if unfinished:
        lines += ["", "Inte klart:"]
        lines += [f"- {entry.step} {entry.item}: {entry.state}"
                  + (f" ({entry.message})" if entry.message else "") for entry in unfinished]
    if ledger.torn:
        lines += ["", ledger.torn]
    return "\n".join(lines) + "\n"
