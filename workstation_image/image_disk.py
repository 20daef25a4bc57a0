"""A bootable disk image (BIOS and UEFI) from a finished image root.

Layout (GPT):  1  BIOS boot partition, 1 MiB, GRUB's i386-pc core image
               2  EFI system partition, FAT32, GRUB's x86_64-efi as EFI/BOOT/BOOTX64.EFI
                  (the removable-media path: a new machine boots it without NVRAM entries)
               3  root, ext4, filled from the image root with mkfs.ext4 -d; partition type
                  "Linux root (x86-64)" so systemd tools recognise it
GRUB itself comes from the build host (grub-pc-bin, grub-efi-amd64-bin); the image carries
no GRUB package, so its grub.cfg is static and boots /vmlinuz and /initrd.img, the links the
kernel packages keep current: a kernel update from the mirror needs no grub-mkconfig.
Loop devices (losetup --partscan) are needed for grub-install; they exist on the lab hosts.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

MIB = 1024 * 1024
ESP_MIB = 64
# Free space left on the root file system, beyond what the root holds.
ROOT_SLACK_FRACTION = 0.15
ROOT_SLACK_MIB = 768
KERNEL_COMMAND_LINE = "ro console=tty0 console=ttyS0,115200n8 quiet"
ROOT_PARTITION_TYPE = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"  # Linux root (x86-64)


def run(*command: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])}... failed ({result.returncode}): "
                           f"{(result.stderr or result.stdout).strip()[-800:]}")
    return result


def tree_bytes(root: Path) -> int:
    """The apparent size of everything under root (du -sb, one file system)."""
    return int(run("du", "-sbx", str(root)).stdout.split()[0])


def root_partition_mib(used_bytes: int) -> int:
    return int(used_bytes * (1 + ROOT_SLACK_FRACTION) / MIB) + ROOT_SLACK_MIB


def grub_cfg(root_uuid: str) -> str:
    return f"""\
# Written by workstation_image/build: static, boots the links the kernel packages keep.
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
set timeout=1
insmod part_gpt
insmod ext2
search --no-floppy --fs-uuid --set=root {root_uuid}
menuentry "Gemensam IT workstation" {{
    linux /vmlinuz root=UUID={root_uuid} {KERNEL_COMMAND_LINE}
    initrd /initrd.img
}}
menuentry "Gemensam IT workstation, previous kernel" {{
    linux /vmlinuz.old root=UUID={root_uuid} {KERNEL_COMMAND_LINE}
    initrd /initrd.img.old
}}
"""


def fstab(root_uuid: str, esp_uuid: str) -> str:
    return (f"# Written by workstation_image/build\n"
            f"UUID={root_uuid} / ext4 errors=remount-ro 0 1\n"
            f"UUID={esp_uuid} /boot/efi vfat umask=0077 0 1\n")


@contextlib.contextmanager
def loop_device(image: Path):
    device = run("losetup", "--find", "--show", "--partscan", str(image)).stdout.strip()
    try:
        for _ in range(50):  # the partition nodes appear a moment after losetup returns
            if Path(f"{device}p3").exists():
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{device}: no partition devices after losetup --partscan")
        yield device
    finally:
        subprocess.run(["losetup", "--detach", device], check=False)


@contextlib.contextmanager
def mounted(device: str, mountpoint: Path):
    run("mount", device, str(mountpoint))
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=False)


def make_disk(root: Path, raw: Path) -> dict[str, object]:
    """Writes raw, a sparse disk image booting root; returns its layout figures."""
    used = tree_bytes(root)
    root_mib = root_partition_mib(used)
    total_mib = 1 + 1 + ESP_MIB + root_mib + 1  # + 1 MiB for the backup GPT
    root_uuid, esp_id = str(uuid.uuid4()), uuid.uuid4().hex[:8].upper()
    esp_uuid = f"{esp_id[:4]}-{esp_id[4:]}"
    raw.unlink(missing_ok=True)
    with raw.open("wb") as stream:
        stream.truncate(total_mib * MIB)
    run("sgdisk", "--clear",
        "--new=1:1M:+1M", "--typecode=1:EF02", "--change-name=1:bios",
        f"--new=2:2M:+{ESP_MIB}M", "--typecode=2:EF00", "--change-name=2:esp",
        "--new=3:0:0", f"--typecode=3:{ROOT_PARTITION_TYPE}", "--change-name=3:root",
        str(raw))
    with loop_device(raw) as device, tempfile.TemporaryDirectory(prefix="gemensam-disk-") as tmp:
        run("mkfs.vfat", "-F", "32", "-n", "ESP", "-i", esp_id, f"{device}p2")
        run("mkfs.ext4", "-q", "-L", "root", "-U", root_uuid, "-d", str(root), f"{device}p3")
        mountpoint = Path(tmp)
        with mounted(f"{device}p3", mountpoint):
            (mountpoint / "boot/efi").mkdir(parents=True, exist_ok=True)
            (mountpoint / "etc/fstab").write_text(fstab(root_uuid, esp_uuid))
            with mounted(f"{device}p2", mountpoint / "boot/efi"):
                run("grub-install", "--target=i386-pc", f"--boot-directory={mountpoint}/boot",
                    "--modules=part_gpt ext2", device)
                run("grub-install", "--target=x86_64-efi", f"--boot-directory={mountpoint}/boot",
                    f"--efi-directory={mountpoint}/boot/efi", "--removable", "--no-nvram",
                    "--no-uefi-secure-boot")
                (mountpoint / "boot/grub/grub.cfg").write_text(grub_cfg(root_uuid))
            run("sync")
    return {"root_uuid": root_uuid, "esp_uuid": esp_uuid, "root_partition_mib": root_mib,
            "disk_mib": total_mib, "installed_bytes": used}
