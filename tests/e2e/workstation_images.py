"""The workstation images the end-to-end tests boot, built once per run and shared.

An image under .lab/images/<profile>/ is reused when its signed manifest verifies and it was
built from this tree (the same spec hash and inputs hash); otherwise `workstation_image/build`
makes it, once: a lock file keeps two test processes from building it twice. CI builds each
image once per run this way; `make workstation-image` before the tests does the same."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workstation_image"))
import image_manifest  # noqa: E402
import image_root  # noqa: E402

IMAGES = REPO / ".lab" / "images"


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


def ensure_image(profile_id: str) -> tuple[Path, dict]:
    """The image directory and verified manifest of profile_id, built when missing or stale."""
    profile = image_root.load_profile(profile_id)
    directory = IMAGES / profile_id
    IMAGES.mkdir(parents=True, exist_ok=True)
    with (IMAGES / f".{profile_id}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = current(directory, profile)
        if manifest is None:
            result = subprocess.run([str(REPO / "workstation_image" / "build"), profile_id,
                                     "--out", str(directory)], cwd=REPO, check=False)
            assert result.returncode == 0, (f"workstation_image/build {profile_id} failed: "
                                            f"see {directory}/build.log")
            manifest = current(directory, profile)
            assert manifest is not None, f"{directory}: the image just built does not verify"
    return directory, manifest
