#!/usr/bin/env python3
"""Prints the workstation image's figures beside their goals; asserts nothing.

    python bench/workstation_image.py [--profile kontor-stationar] [--measure]

Without --measure: what the last measurement recorded (.lab/<lab prefix>/images/<profile>/bench.json) and
the last build's manifest (sizes, stages). With --measure (as root; about 10 minutes on 2
cores): a cold build (an empty cache directory: every package downloaded and installed), a
warm rebuild (the same cache: the root cached by the cold build, brought up to date with
apt-get dist-upgrade), then boots of the image to the serial login prompt with BIOS and
with UEFI under QEMU's software emulation.

Goal (issue 10): a warm rebuild takes at most 25 % of a cold build.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workstation_image"))
import image_boot  # noqa: E402

WARM_GOAL = 0.25


def build(profile: str, out: Path, cache: Path) -> float:
    started = time.monotonic()
    subprocess.run([str(REPO / "workstation_image" / "build"), profile, "--out", str(out)],
                   env={**os.environ, "GEMENSAM_IMAGE_CACHE": str(cache)}, check=True)
    return time.monotonic() - started


def measure(profile: str, out: Path) -> dict:
    figures: dict = {"measured_at": time.strftime("%Y-%m-%d %H:%M"), "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="gemensam-image-cache-", dir=REPO / ".lab") as cache:
        figures["cold_build_seconds"] = build(profile, out, Path(cache))
        figures["cold_stages"] = json.loads((out / "manifest.json").read_text())["build_stages_seconds"]
        figures["warm_build_seconds"] = build(profile, out, Path(cache))
        figures["warm_stages"] = json.loads((out / "manifest.json").read_text())["build_stages_seconds"]
    qcow2 = out / f"{profile}.qcow2"
    for firmware in ("bios", "uefi"):
        boot = image_boot.boot_to_login(qcow2, firmware)
        figures[f"boot_{firmware}_seconds"] = boot.seconds
    (out / "bench.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def seconds(value) -> str:
    return "not measured" if value is None else f"{value:.0f} s"


def report(profile: str, out: Path) -> None:
    manifest_path = out / "manifest.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        files = manifest["files"]
        print(f"last build of {profile}: {manifest['built_at']}, {manifest['build_seconds']:.0f} s "
              f"({', '.join(f'{k} {v:.0f} s' for k, v in manifest['build_stages_seconds'].items())})")
        print(f"  packages installed       {len(manifest['packages'])}")
        print(f"  installed size           {manifest['installed_bytes'] / 2**30:.2f} GiB")
        print(f"  raw image (apparent)     {files['raw']['size'] / 2**30:.2f} GiB")
        print(f"  qcow2                    {files['qcow2']['size'] / 2**30:.2f} GiB")
    else:
        print(f"no image of {profile} built yet: make workstation-image PROFILE={profile}")
    bench = out / "bench.json"
    if not bench.is_file():
        print("  build and boot times     not measured: bench/workstation_image.py --measure (as root)")
        return
    figures = json.loads(bench.read_text())
    cold, warm = figures["cold_build_seconds"], figures["warm_build_seconds"]
    ratio = warm / cold
    print(f"measured {figures['measured_at']} on {figures['cores']} cores:")
    print(f"  cold build               {seconds(cold)}  ({figures['cold_stages']})")
    print(f"  warm rebuild             {seconds(warm)}  ({figures['warm_stages']})")
    print(f"  warm / cold              {ratio:.0%}  (goal <= {WARM_GOAL:.0%}: "
          f"{'met' if ratio <= WARM_GOAL else 'NOT met'})")
    print(f"  boot to login, BIOS      {seconds(figures['boot_bios_seconds'])}  (TCG, 2 vCPUs)")
    print(f"  boot to login, UEFI      {seconds(figures['boot_uefi_seconds'])}  (TCG, 2 vCPUs, OVMF)")


JOIN_GOAL = 120.0


def report_person(prefix: str) -> None:
    """What the last workstation end-to-end run measured on the lab's network
    (tests/e2e/test_workstation.py writes it; it asserts nothing about it)."""
    path = REPO / ".lab" / prefix / "artefacts" / "workstation-figures.json"
    if not path.is_file():
        print("first boot to joined, login to desktop: not measured (run tests/e2e/test_workstation.py)")
        return
    figures = json.loads(path.read_text())
    joined = figures["first_boot_to_joined_seconds"]
    print(f"measured by the workstation e2e test, {figures['measured_at']}:")
    print(f"  first boot to joined     {seconds(joined)}  (goal <= {seconds(JOIN_GOAL)}: "
          f"{'met' if joined <= JOIN_GOAL else 'NOT met'}; start of QEMU to the login prompt with "
          "the order's name)")
    login = seconds(figures["login_to_desktop_seconds"])
    print(f"  login to desktop         {login}  (Enter after the password to the desktop's panel drawn)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="kontor-stationar")
    parser.add_argument("--measure", action="store_true", help="build cold and warm, boot (as root, ~10 min)")
    args = parser.parse_args()
    out = REPO / ".lab" / os.environ.get("GEMENSAM_LAB_PREFIX", "gemensam") / "images" / args.profile
    if args.measure:
        measure(args.profile, out)
    report(args.profile, out)
    report_person(os.environ.get("GEMENSAM_LAB_PREFIX", "gemensam"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
