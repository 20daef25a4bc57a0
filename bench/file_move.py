#!/usr/bin/env python3
"""Prints how fast the file move copies a committee's old shares, beside a plain copy of the
same shares with the same tool family (smbclient) measured in the same run. Prints only;
asserts nothing.

Against a converged lab with Södermalm's old file server (make lab): every share of sod-fs01
is copied twice on fs1, into throwaway folders under /srv/filer/.bench that are removed at
the end:

- the floor: `smbclient //sod-fs01/<share> -c 'recurse on; prompt off; mget *'`, nothing else;
- the migration's way (migration/file_mover.py): the listing with every ACL, the names and
  ACLs translated, each file fetched, hashed, dated, given its owner and ACL and renamed
  into place, then every file verified against its SHA-256.

Then the cut-over: after one file in a hundred changed on the old server (rewritten with a
new date, as a person saving it would), the migration's run again, against the first.
Goals (issue 11): the move at least 0.9 times the plain copy's bytes per second; the
cut-over at most 10 % of the first run. Also printed: a plain recursive listing of every
share, the least any cut-over over SMB must do to see what changed.

    GEMENSAM_LAB_PREFIX=gemensam python bench/file_move.py
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "module_utils"))
sys.path.insert(0, str(REPO / "tests/e2e"))
from conftest import Lab  # noqa: E402

from migration import move_files, new_side  # noqa: E402

BENCH = "/srv/filer/.bench"


def main() -> int:
    lab = Lab()
    if "sod-fs01" not in lab.hostvars:
        print("no old file server in this lab (inventory/lab: legacy_hosts)")
        return 1
    described = json.loads((lab.state_dir / "legacy/sod-fs01.json").read_text(encoding="utf-8"))
    total_bytes = sum(f["size"] for f in described["files"])
    total_files = len(described["files"])
    secret = lab.state_dir / "secrets/legacy-sod-fs01-administrator"
    password = secret.read_text(encoding="utf-8").split()[0]
    address = lab.address("sod-fs01")
    remote = new_side.Remote("fs1", lab.address("fs1"), lab.state_dir / "ssh_config")
    home = remote.run(["printenv", "HOME"], sudo=False).stdout.strip()
    folder = f"{home}/.gemensam-migration/bench-files"
    auth = f"username = Administrator\npassword = {password}\n".encode()
    move_files.install(remote, folder, {"sod-fs01": auth})
    shares = [share["name"] for share in described["shares"] if share["name"] != "Hem"]
    try:
        def plain() -> float:
            started = time.monotonic()
            for share in shares:
                target = f"{BENCH}/plain/{share}"
                command = (f"mkdir -p {shlex.quote(target)} && cd {shlex.quote(target)} && "
                           f"smbclient //{address}/{shlex.quote(share)} -A {folder}/sod-fs01.auth "
                           "--option='client min protocol=NT1' --option='client max protocol=NT1' "
                           "-c 'recurse on; prompt off; mget *' >/dev/null")
                result = remote.run(["sh", "-c", command])
                if not result.ok:
                    raise SystemExit(f"plain copy of {share} failed: {result.stderr[-300:]}")
            return time.monotonic() - started

        def migration() -> tuple[float, int]:
            started, fetched = time.monotonic(), 0
            phases.clear()
            for share in shares:
                job = {"server": "sod-fs01", "address": address, "auth_file": f"{folder}/sod-fs01.auth",
                       "share": share, "kind": "folder", "target": f"{BENCH}/moved/{share}", "group": "",
                       "homes": {}, "accounts": {}, "groups": {}, "state": f"{BENCH}/state"}
                remote.run(["mkdir", "-p", job["target"]])
                moved = move_files.move_share(remote, folder, job)
                fetched += moved.fetched
                for name, seconds in moved.phases.items():
                    phases[name] = phases.get(name, 0.0) + seconds
            return time.monotonic() - started, fetched

        def listing() -> float:
            started = time.monotonic()
            for share in shares:
                remote.run(["smbclient", f"//{address}/{share}", "-A", f"{folder}/sod-fs01.auth",
                            "--option=client min protocol=NT1", "--option=client max protocol=NT1",
                            "-c", "recurse on; ls"])
            return time.monotonic() - started

        phases: dict[str, float] = {}
        remote.run(["rm", "-rf", BENCH])
        floor = plain()
        listed = listing()
        first, first_fetched = migration()
        first_phases = dict(phases)
        changed = change_one_in_a_hundred(lab, described)
        cut_over, cut_over_fetched = migration()
    finally:
        remote.run(["rm", "-rf", BENCH, folder])
        remote.close()
    moved_bytes = sum(f["size"] for f in described["files"] if f["share"] != "Hem")
    print(f"old shares (without the homes): {len(shares)}; the server holds {total_files} files, "
          f"{total_bytes} bytes")
    print(f"plain smbclient mget: {floor:.1f} s, {moved_bytes / floor / 1e6:.1f} MB/s")
    print(f"migration: {first:.1f} s, {moved_bytes / first / 1e6:.1f} MB/s, {first_fetched} files "
          f"(ratio to the plain copy {floor / first:.2f}; goal >= 0.9)")
    spent = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in first_phases.items())
    print(f"  of which on fs1: {spent}; the rest is SSH and starting the mover per share")
    print(f"cut-over after {changed} files changed: {cut_over:.1f} s, {cut_over_fetched} files fetched "
          f"({100 * cut_over / first:.0f} % of the first run; goal <= 10 %)")
    print(f"floor of any cut-over over SMB, a plain listing of every share: {listed:.1f} s "
          f"({100 * listed / first:.0f} % of the first run)")
    return 0


def change_one_in_a_hundred(lab: Lab, described: dict) -> int:
    """Rewrites every hundredth file of the shares measured, with a new date."""
    files = [f for f in described["files"] if f["share"] != "Hem"][::100]
    paths = [shlex.quote(f"/srv/gamla/{f['share']}/{f['path']}") for f in files]
    script = "\n".join(f"printf 'ändrad\\n' >> {path}" for path in paths)
    lab.ssh("sod-fs01", "sudo sh -s", stdin=script + "\n")
    return len(files)


if __name__ == "__main__":
    sys.exit(main())
