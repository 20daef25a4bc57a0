"""The kontor-stationar workstation image as built from the spec: what it holds, read from
the image itself without booting it. (Its boots, under BIOS and UEFI, are the lab's
machines' in test_workstation.py: a boot under emulation takes minutes, so each boot serves
several tests.) The image is built once per run and shared (tests/e2e/workstation_images.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workstation_image"))
import image_root  # noqa: E402


def test_the_manifest_lists_every_package_the_spec_names_with_its_version(kontor_stationar_image):
    _, manifest = kontor_stationar_image
    profile = image_root.load_profile("kontor-stationar")
    installed = {package["name"]: package["version"] for package in manifest["packages"]}
    missing = [name for name in profile["packages"] if name not in installed]
    assert not missing, f"the spec names them, the image lacks them: {missing}"
    assert all(installed[name] for name in profile["packages"])
    assert manifest["spec_hash"] == image_root.spec_hash(profile)
    assert installed["firefox-esr"].startswith(tuple("0123456789"))


def read_from_image(directory: Path, manifest: dict, command: str) -> str:
    """debugfs on the image's root file system (read-only, nothing mounted)."""
    raw = directory / manifest["files"]["raw"]["name"]
    offset = manifest["disk"]["root_offset_mib"] * 2**20
    result = subprocess.run(["debugfs", "-R", command, f"{raw}?offset={offset}"],
                            capture_output=True, text=True, check=True)
    return result.stdout


def test_the_image_carries_no_machine_identity(kontor_stationar_image):
    """The same image for every machine: identity is made at first boot, by each machine."""
    directory, manifest = kontor_stationar_image
    assert read_from_image(directory, manifest, "cat /etc/machine-id") == ""
    ssh = read_from_image(directory, manifest, "ls -l /etc/ssh")
    assert "sshd_config" in ssh and "ssh_host_" not in ssh
    assert "snakeoil" not in read_from_image(directory, manifest, "ls -l /etc/ssl/private")
    assert "machine-keys.service" in read_from_image(
        directory, manifest, "ls -l /etc/systemd/system/multi-user.target.wants")
    assert read_from_image(directory, manifest, "cat /etc/hostname").strip() == "localhost"
    apt_conf = read_from_image(directory, manifest, "ls -l /etc/apt/apt.conf.d")
    assert "99mmdebstrap" not in apt_conf, "the build's apt options (its proxy) stayed in the image"
    fstab = read_from_image(directory, manifest, "cat /etc/fstab")
    assert f"UUID={manifest['disk']['root_uuid']} / ext4" in fstab
