"""A background image build ends with the test run that started it, even a SIGKILLed one,
and takes every process it started along (workstation_image/build_process.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

WORKSTATION_IMAGE = Path(__file__).resolve().parents[2] / "workstation_image"

# The build's stand-in: what build does at its start, then a child that outlives nothing.
BUILD = textwrap.dedent("""
    import subprocess, sys
    sys.path.insert(0, {here!r})
    import build_process
    build_process.end_the_build_on_sigterm()
    child = subprocess.Popen(["sleep", "300"])
    open({pids!r}, "w").write(f"{{child.pid}}\\n")
    child.wait()
""")

# The test run's stand-in: starts the build from a thread, as start_building does, and waits.
TEST_RUN = textwrap.dedent("""
    import sys, threading, time
    sys.path.insert(0, {here!r})
    import build_process
    def start():
        build_process.spawn_dying_with_parent([sys.executable, "-c", {build!r}]).wait()
    threading.Thread(target=start).start()
    time.sleep(300)
""")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for(predicate, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"after {seconds} s: {what}")
        time.sleep(0.05)


def kill_the_child(pids: Path) -> None:
    if pids.exists() and pids.read_text().strip():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pids.read_text()), signal.SIGKILL)


def test_a_killed_test_run_takes_its_build_and_the_builds_children_along(tmp_path):
    pids = tmp_path / "build-child.pid"
    build = BUILD.format(here=str(WORKSTATION_IMAGE), pids=str(pids))
    run = subprocess.Popen([sys.executable, "-c", TEST_RUN.format(here=str(WORKSTATION_IMAGE), build=build)])
    try:
        wait_for(lambda: pids.exists() and pids.read_text().endswith("\n"), "the build started no child")
        grandchild = int(pids.read_text())
        assert alive(grandchild)
        run.send_signal(signal.SIGKILL)
        run.wait()
        wait_for(lambda: not alive(grandchild),
                 f"the build's child {grandchild} outlived the killed test run")
    finally:
        run.kill()
        kill_the_child(pids)


def test_a_build_started_from_a_terminal_ends_alone_on_sigterm(tmp_path):
    """Not its group's leader (make's or the shell's group): only the build ends, with 143,
    and it does not signal the group it shares with its caller."""
    pids = tmp_path / "build-child.pid"
    source = BUILD.format(here=str(WORKSTATION_IMAGE), pids=str(pids))
    build = subprocess.Popen([sys.executable, "-c", source])
    try:
        wait_for(lambda: pids.exists() and pids.read_text().endswith("\n"), "the build started no child")
        build.send_signal(signal.SIGTERM)
        assert build.wait(timeout=20) == 143
    finally:
        build.kill()
        kill_the_child(pids)
