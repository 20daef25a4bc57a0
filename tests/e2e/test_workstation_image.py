"""The kontor-stationar workstation image: built from the spec, signed, and booting.

Needs no lab: the image is built (once per run, shared: tests/e2e/workstation_images.py) as
root with mmdebstrap and loop devices, and booted under QEMU's software emulation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workstation_image"))
import image_boot  # noqa: E402
import image_root  # noqa: E402

# Under TCG on 2 shared cores a boot to the login prompt took about a minute; 10 minutes
# is far beyond that and still ends a hung boot.
BOOT_TIMEOUT = 600


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


@pytest.fixture(scope="module")
def first_boot_on_a_larger_disk(kontor_stationar_image, tmp_path_factory):
    """A new machine's first boot (BIOS) from the image onto a 12 GiB disk, larger than the
    image: (the boot, the machine's disk as the guest left it). One boot, shared by the
    login-prompt test and the root-growth test: a boot under emulation takes minutes."""
    directory, manifest = kontor_stationar_image
    disk = tmp_path_factory.mktemp("machine") / "machine.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                    str(directory / manifest["files"]["qcow2"]["name"]), str(disk), "12G"], check=True)
    return image_boot.boot_to_login(disk, "bios", timeout=BOOT_TIMEOUT, snapshot=False), disk


@pytest.mark.parametrize("firmware", ["bios", "uefi"])
def test_the_image_boots_to_a_login_prompt(kontor_stationar_image, firmware, request):
    if firmware == "uefi" and not image_boot.OVMF_CODE.exists():
        pytest.skip(f"UEFI boot needs OVMF ({image_boot.OVMF_CODE}, Debian package ovmf)")
    directory, manifest = kontor_stationar_image
    if firmware == "bios":
        boot, _ = request.getfixturevalue("first_boot_on_a_larger_disk")
    else:
        boot = image_boot.boot_to_login(directory / manifest["files"]["qcow2"]["name"], firmware,
                                        timeout=BOOT_TIMEOUT)
    assert boot.seconds is not None, (f"no login prompt on the serial console within {BOOT_TIMEOUT} s "
                                      f"({firmware}); the console showed:\n{boot.serial[-3000:]}")
    assert "Booting `Gemensam IT workstation'" in boot.serial  # our GRUB, not a fallback
    print(f"{firmware}: login prompt after {boot.seconds:.0f} s")


def test_the_root_grows_to_the_disk_at_first_boot(first_boot_on_a_larger_disk):
    """A machine's disk is larger than the image: the root partition and file system take it
    (systemd-repart and x-systemd.growfs), read back from the disk after the boot."""
    boot, disk = first_boot_on_a_larger_disk
    assert boot.seconds is not None, f"no login prompt:\n{boot.serial[-3000:]}"

    def read(offset: int, length: int) -> bytes:
        """length bytes at offset of the machine's disk as the guest left it (qemu-io's dump)."""
        dump = subprocess.run(["qemu-io", "-r", "-f", "qcow2", "-c", f"read -v {offset} {length}", str(disk)],
                              capture_output=True, text=True, check=True).stdout
        return bytes.fromhex("".join(line[10:58] for line in dump.splitlines() if line[8:10] == ": "))

    entry = read(2 * 512 + 2 * 128, 128)  # GPT entries start at LBA 2, 128 bytes each: the third
    first, last = int.from_bytes(entry[32:40], "little"), int.from_bytes(entry[40:48], "little")
    partition_gib = (last - first + 1) * 512 / 2**30
    assert partition_gib > 11, f"the root partition is {partition_gib:.1f} GiB on a 12 GiB disk"
    superblock = read(first * 512 + 1024, 1024)
    low, high = superblock[4:8], superblock[0x150:0x154]  # s_blocks_count_lo and _hi
    blocks = int.from_bytes(low, "little") | int.from_bytes(high, "little") << 32
    fs_gib = blocks * (1024 << int.from_bytes(superblock[24:28], "little")) / 2**30
    assert fs_gib > 11, f"the root file system is {fs_gib:.1f} GiB on a {partition_gib:.1f} GiB partition"
