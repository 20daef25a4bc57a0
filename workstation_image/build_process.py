"""A background build's processes end with the process that started it.

The e2e tests build images in a background thread. A test run that is killed used to leave
its build running (mmdebstrap, apt and dpkg writing in the build's work directory), and the
next run's build of the same profile then removed that directory under it. Now:

- spawn_dying_with_parent() starts the build in a session of its own, and the kernel sends
  it SIGTERM when the thread that started it dies (PR_SET_PDEATHSIG): a SIGKILLed pytest
  cannot run any handler of its own;
- end_the_build_on_sigterm(), called by the build, ends on SIGTERM every process of its
  session (the build's mmdebstrap, apt, dpkg in the root) and then itself, through
  SystemExit so that its unmounts and clean-ups run.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess

_PR_SET_PDEATHSIG = 1


def _sigterm_when_parent_dies() -> None:
    """Runs in the child between fork and exec: only async-signal-safe work (one syscall)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn_dying_with_parent(command: list[str], **popen_args) -> subprocess.Popen:
    """Popen(command) in a new session, sent SIGTERM when the calling thread's process dies."""
    return subprocess.Popen(command, start_new_session=True, preexec_fn=_sigterm_when_parent_dies,
                            **popen_args)


def end_the_build_on_sigterm() -> None:
    """On SIGTERM: when this process leads its process group (spawn_dying_with_parent made it
    so), SIGTERM to the whole group first; then SystemExit(143). Started from a terminal or
    make, the group is the caller's, and only this process ends (subprocess.run kills the
    child it waits for)."""

    def end(signum, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if os.getpgrp() == os.getpid():
            os.killpg(os.getpgrp(), signal.SIGTERM)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, end)
