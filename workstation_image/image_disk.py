"""A bootable disk image (BIOS and UEFI) from a finished image root.

Layout (GPT):  1  BIOS boot partition, 1 MiB, GRUB's i386-pc core image
               2  EFI system partition, FAT32, GRUB's x86_64-efi as EFI/BOOT/BOOTX64.EFI
                  (the removable-media path: a new machine boots it without NVRAM entries)
               3  root, ext4, filled from the image root with mkfs.ext4 -d; partition type
                  "Linux root (x86-64)" so systemd tools recognise it
The ESP is filled with mtools, never mounted: the lab hosts' kernel has no vfat (measured),
and grub-install refuses an EFI directory that is not FAT, so the EFI GRUB is made with
grub-mkimage as grub-install would (an early config finding the root by UUID) and copied.
GRUB itself comes from the build host (grub-pc-bin, grub-efi-amd64-bin); the image carries
no GRUB package, so its grub.cfg is static and boots /vmlinuz and /initrd.img, the links the
kernel packages keep current: a kernel update from the mirror needs no grub-mkconfig.
Loop devices (losetup --partscan) are needed for grub-install; they exist on the lab hosts.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
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
    if shutil.which(command[0]) is None:
        raise RuntimeError(f"{command[0]}: not found (make setup installs the image builder's packages)")
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


# The root partition grows to the machine's disk at first boot: systemd-repart (enabled in
# Debian 12's systemd, runs when /etc/repart.d has a file) grows the partition, and the
# fstab's x-systemd.growfs grows the file system online.
REPART_ROOT = """\
# Written by workstation_image/build: the root partition takes the rest of the disk.
[Partition]
Type=root
"""


def fstab(root_uuid: str, esp_uuid: str) -> str:
    return (f"# Written by workstation_image/build\n"
            f"UUID={root_uuid} / ext4 errors=remount-ro,x-systemd.growfs 0 1\n"
            f"UUID={esp_uuid} /boot/efi vfat umask=0077,nofail 0 1\n")


# Built into the EFI core image, so it boots without loading a module; the rest are copied
# to /boot/grub/x86_64-efi for grub.cfg's insmod, as grub-install does.
COMMON_MODULES = ["part_gpt", "ext2", "search", "search_fs_uuid", "normal", "configfile", "linux", "echo",
                  "serial", "terminal", "test", "gzio"]
EFI_MODULES = [*COMMON_MODULES, "part_msdos", "fat", "all_video", "efi_gop"]
BIOS_MODULES = [*COMMON_MODULES, "biosdisk"]
GRUB_LIB = Path("/usr/lib/grub")


def efi_core(root_uuid: str, workdir: Path) -> Path:
    """BOOTX64.EFI: GRUB for x86_64-efi that finds the root file system by UUID."""
    early = workdir / "early.cfg"
    early.write_text(f"search --no-floppy --fs-uuid --set=root {root_uuid}\n"
                     "set prefix=($root)/boot/grub\n")
    core = workdir / "BOOTX64.EFI"
    run("grub-mkimage", "--format=x86_64-efi", f"--output={core}", f"--config={early}",
        "--prefix=/boot/grub", *EFI_MODULES)
    return core


def bios_setup(root_uuid: str, disk: str, root_device: str, directory: Path, workdir: Path) -> None:
    """GRUB for i386-pc: boot.img in the MBR, core.img (finding the root by UUID) embedded in
    the BIOS boot partition, by grub-bios-setup with a device map naming the loop devices."""
    early = workdir / "early-bios.cfg"
    early.write_text(f"search --no-floppy --fs-uuid --set=root {root_uuid}\n"
                     "set prefix=($root)/boot/grub\n")
    shutil.copyfile(GRUB_LIB / "i386-pc" / "boot.img", directory / "boot.img")
    run("grub-mkimage", "--format=i386-pc", f"--output={directory / 'core.img'}", f"--config={early}",
        "--prefix=/boot/grub", *BIOS_MODULES)
    device_map = workdir / "device.map"
    device_map.write_text(f"(hd0) {disk}\n(hd1) {root_device}\n")
    run(str(GRUB_LIB / "i386-pc" / "grub-bios-setup"), "--skip-fs-probe", f"--directory={directory}",
        f"--device-map={device_map}", disk)


def fill_esp(device: str, core: Path) -> None:
    """The ESP with GRUB at the removable-media path EFI/BOOT/BOOTX64.EFI (mtools, no mount)."""
    run("mmd", "-i", device, "::/EFI", "::/EFI/BOOT")
    run("mcopy", "-i", device, str(core), "::/EFI/BOOT/BOOTX64.EFI")


@contextlib.contextmanager
def loop_device(image: Path, offset_mib: int = 0, size_mib: int | None = None):
    """A loop device over image, or over the part of it from offset_mib, size_mib long.

    One loop device per partition rather than losetup --partscan: on the lab hosts the
    partition nodes of a scanned loop device did not always appear, and GRUB cannot map a
    loop device's partition to a BIOS drive ("cannot find a GRUB drive"), which it can for
    a whole loop device named in a device.map (measured)."""
    command = ["losetup", "--find", "--show", f"--offset={offset_mib * MIB}"]
    if size_mib is not None:
        command.append(f"--sizelimit={size_mib * MIB}")
    device = run(*command, str(image)).stdout.strip()
    try:
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


def _not_modules(_directory: str, names: list[str]) -> list[str]:
    return [name for name in names if not name.endswith((".mod", ".lst"))]


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
    esp_offset, root_offset = 2, 2 + ESP_MIB
    with (tempfile.TemporaryDirectory(prefix="gemensam-disk-") as tmp,
          loop_device(raw) as disk,
          loop_device(raw, esp_offset, ESP_MIB) as esp,
          loop_device(raw, root_offset, root_mib) as root_device):
        run("mkfs.vfat", "-F", "32", "-n", "ESP", "-i", esp_id, esp)
        run("mkfs.ext4", "-q", "-L", "root", "-U", root_uuid, "-d", str(root), root_device)
        fill_esp(esp, efi_core(root_uuid, Path(tmp)))
        mountpoint = Path(tmp) / "root"
        mountpoint.mkdir()
        with mounted(root_device, mountpoint):
            (mountpoint / "boot/efi").mkdir(parents=True, exist_ok=True)
            (mountpoint / "etc/fstab").write_text(fstab(root_uuid, esp_uuid))
            (mountpoint / "etc/repart.d").mkdir(exist_ok=True)
            (mountpoint / "etc/repart.d/50-root.conf").write_text(REPART_ROOT)
            grub = mountpoint / "boot/grub"
            for platform in ("i386-pc", "x86_64-efi"):
                shutil.copytree(GRUB_LIB / platform, grub / platform, dirs_exist_ok=True,
                                ignore=_not_modules)
            (grub / "grub.cfg").write_text(grub_cfg(root_uuid))
            bios_setup(root_uuid, disk, root_device, grub / "i386-pc", Path(tmp))
            run("sync")
    return {"root_uuid": root_uuid, "esp_uuid": esp_uuid, "root_partition_mib": root_mib,
            "root_offset_mib": root_offset, "esp_offset_mib": esp_offset,
            "disk_mib": total_mib, "installed_bytes": used}
