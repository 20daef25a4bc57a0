"""The workstation images the end-to-end tests boot, built once per run and shared.

An image under .lab/<lab prefix>/images/<profile>/ (the image carries its city's CA and
service names, so it belongs to one lab) is reused when its signed manifest verifies and it was
built from this tree (the same spec hash and inputs hash); otherwise `workstation_image/build`
makes it, once: a lock file keeps two test processes from building it twice. CI builds each
image once per run this way; `make workstation-image` before the tests does the same.

The build takes minutes and mostly waits on the package mirror and dpkg, so a run whose tests
boot an image starts building it in the background as soon as the tests are collected
(start_building): it overlaps the tests that need no image."""

from __future__ import annotations

import concurrent.futures
import fcntl
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workstation_image"))
import build_process  # noqa: E402
import image_manifest  # noqa: E402
import image_root  # noqa: E402

IMAGES = REPO / ".lab" / os.environ.get("GEMENSAM_LAB_PREFIX", "gemensam") / "images"


def package_mirror() -> list[str]:
    """The build's --proxy: the lab's package mirror (the city's, as the image's updates
    later use it) when it answers; else the build fetches from Debian directly."""
    url = subprocess.run([sys.executable, str(REPO / "tools/package_mirror_url.py"),
                          str(REPO / "inventory/lab/lab.city.yml")],
                         capture_output=True, text=True, check=True).stdout.strip()
    host, port = url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError as error:
        print(f"the lab's package mirror {url} does not answer ({error}): building without it")
        return []
    return ["--proxy", url]


def current(directory: Path, profile: dict) -> dict | None:
    """The verified manifest of the image in directory, if it is this tree's; else None."""
    try:
        manifest = image_manifest.verify_image(directory)
    except image_manifest.ManifestError:
        return None
    if (manifest.get("spec_hash") != image_root.spec_hash(profile)
            or manifest.get("inputs_hash") != image_manifest.inputs_hash(REPO)):
        return None
    return manifest


def ensure_image(profile_id: str, output=None) -> tuple[Path, dict]:
    """The image directory and verified manifest of profile_id, built when missing or stale.
    The build's own progress lines go to output (a file), else to standard output."""
    profile = image_root.load_profile(profile_id)
    directory = IMAGES / profile_id
    IMAGES.mkdir(parents=True, exist_ok=True)
    with (IMAGES / f".{profile_id}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = current(directory, profile)
        if manifest is None:
            # Ends with this test run, even a killed one (workstation_image/build_process.py).
            builder = build_process.spawn_dying_with_parent(
                [str(REPO / "workstation_image" / "build"), profile_id, "--out", str(directory),
                 *package_mirror()], cwd=REPO, stdout=output, stderr=subprocess.STDOUT if output else None)
            assert builder.wait() == 0, (f"workstation_image/build {profile_id} failed: "
                                       f"see {directory}/build.log")
            manifest = current(directory, profile)
            assert manifest is not None, f"{directory}: the image just built does not verify"
    return directory, manifest


def start_building(profile_ids: list[str]) -> dict[str, concurrent.futures.Future]:
    """ensure_image() of each profile in a background thread, one after the other (two builds
    at once would only share the same two cores, and the second starts from the first's root
    cache): profile -> a Future that gives what ensure_image returns, or raises what it
    raised. Progress goes to IMAGES/<profile>.progress.log, not into whichever test's captured
    output is open meanwhile."""
    IMAGES.mkdir(parents=True, exist_ok=True)

    def build(profile_id: str) -> tuple[Path, dict]:
        with (IMAGES / f"{profile_id}.progress.log").open("w") as output:
            return ensure_image(profile_id, output)

    executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="image-build")
    futures = {profile_id: executor.submit(build, profile_id) for profile_id in profile_ids}
    executor.shutdown(wait=False)
    return futures
