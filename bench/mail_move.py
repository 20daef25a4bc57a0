#!/usr/bin/env python3
"""Prints how fast the mail move copies a committee's old mail, beside a plain copy of the
same mailboxes measured in the same run. Prints only; asserts nothing.

Against a converged lab with Södermalm's old mail server (make lab): every mailbox of
sod-ex01 is moved twice on mail1, into throwaway mailboxes (bench-m-<account>,
bench-p-<account>) that are removed at the end:

- the migration's way (migration/move_mail.move_mailbox): list the new mailbox, dsync
  one-way, list both sides and verify every message;
- the floor: a plain `doveadm backup -R` of the same mailbox, nothing else.

Then the cut-over: after one message in a hundred arrived on the old server (written into
the old Maildirs, as new mail would be), the migration's run again, against the first.
Goals (issue 11): the move at least 0.8 times the plain copy's messages per second, and at
least 50 messages per second; the cut-over at most 10 % of the first run.

    GEMENSAM_LAB_PREFIX=gemensam python bench/mail_move.py
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "module_utils"))
sys.path.insert(0, str(REPO / "tests/e2e"))
from conftest import Lab  # noqa: E402

from migration import move_mail, new_side  # noqa: E402


def main() -> int:
    lab = Lab()
    if "sod-ex01" not in lab.hostvars:
        print("no old mail server in this lab (inventory/lab: legacy_hosts)")
        return 1
    described = json.loads((lab.state_dir / "legacy/sod-ex01.json").read_text(encoding="utf-8"))
    boxes = [(box["account"], len(box["messages"])) for box in described["mailboxes"]]
    messages = sum(count for _, count in boxes)
    password = (lab.state_dir / "secrets/legacy-sod-ex01-migrering").read_text(encoding="utf-8").split()[0]
    remote = new_side.Remote("mail1", lab.address("mail1"), lab.state_dir / "ssh_config")
    home = remote.run(["printenv", "HOME"], sudo=False).stdout.strip()
    config = f"{home}/.gemensam-migration/bench-sod-ex01.conf"
    remote.put_private(move_mail.imapc_config(lab.address("sod-ex01"), 143, password), config)
    homes = []
    try:
        def plain(account: str) -> None:
            login = move_mail.login("{account}*migrering", account)
            result = remote.run(["doveadm", "-c", config, "-o", f"imapc_user={login}", "backup", "-R",
                                 "-u", f"bench-p-{account}", "imapc:"])
            if not result.ok:
                raise SystemExit(f"plain copy of {account} failed: {result.stderr}")

        def migration(account: str) -> int:
            moved = move_mail.move_mailbox(remote, config, move_mail.login("{account}*migrering", account),
                                           f"bench-m-{account}")
            return moved.copied

        for account, _ in boxes:
            for kind in ("p", "m"):
                found = remote.run(["doveadm", "user", "-f", "home", f"bench-{kind}-{account}"])
                homes.append(found.stdout.strip())
        started = time.monotonic()
        for account, _ in boxes:
            plain(account)
        plain_seconds = time.monotonic() - started
        started = time.monotonic()
        for account, _ in boxes:
            migration(account)
        move_seconds = time.monotonic() - started

        # One message in a hundred arrives on the old server, spread over the mailboxes.
        arrived = max(1, messages // 100)
        script = ("set -e; set -- /srv/gamla-post/*/Maildir; i=0; while [ $i -lt " + str(arrived) + " ]; do "
                  "for d; do [ $i -ge " + str(arrived) + " ] && break; f=$d/new/$i.bench.sod-ex01; "
                  "printf 'From: a@sod\\nSubject: ny\\nMessage-ID: <bench.%s@sod-ex01>\\n\\nhej\\n' $i > $f; "
                  "chown vmail: $f; i=$((i+1)); done; done")
        old_host = lab.ssh("sod-ex01", "sudo sh -c " + shlex.quote(script), check=False)
        if old_host.returncode != 0:
            raise SystemExit(f"could not add mail on sod-ex01: {old_host.stderr}")
        started = time.monotonic()
        for account, _ in boxes:
            plain(account)
        plain_again_seconds = time.monotonic() - started
        started = time.monotonic()
        copied = sum(migration(account) for account, _ in boxes)
        cut_over_seconds = time.monotonic() - started
    finally:
        remote.run(["rm", "-f", config], sudo=False)
        for path in homes:
            if path.startswith("/") and "/bench-" in path:
                remote.run(["rm", "-rf", "--", path])
        # Through the old server's Dovecot, not behind its back: a file removed under it
        # fails the next FETCH of that message until Dovecot notices.
        lab.ssh("sod-ex01", "sudo doveadm expunge -A mailbox INBOX header Message-ID bench.", check=False)
        remote.close()

    plain_rate, move_rate = messages / plain_seconds, messages / move_seconds
    print(f"mailboxes {len(boxes)}, messages {messages}")
    print(f"plain doveadm backup (floor):  {plain_seconds:7.1f} s  {plain_rate:7.0f} messages/s")
    print(f"migration (sync + verify):     {move_seconds:7.1f} s  {move_rate:7.0f} messages/s")
    print(f"migration / plain:             {move_rate / plain_rate:7.2f}   "
          "(goal >= 0.8; and >= 50 messages/s)")
    print(f"cut-over after {arrived} new messages ({copied} copied): {cut_over_seconds:.1f} s, "
          f"{cut_over_seconds / move_seconds:.0%} of the first run   (goal <= 10 %)")
    print(f"  floor: plain doveadm backup again: {plain_again_seconds:.1f} s, "
          f"{plain_again_seconds / plain_seconds:.0%} of its first run (dsync over IMAP reads every "
          "old message's headers each time)")
    return 0


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main())
