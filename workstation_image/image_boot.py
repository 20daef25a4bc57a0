"""Boots a workstation image under QEMU (software emulation) and waits for the serial login.

KVM does not work on the lab hosts (they are virtual machines themselves: a KVM guest hangs
after "Probing EDD"), so the guest runs under TCG. BIOS is SeaBIOS, QEMU's default; UEFI
is OVMF (Debian package ovmf) with a throwaway copy of its variable store. The disk is
opened with snapshot=on (unless the caller gives an overlay): the image is never changed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
LOGIN_PROMPT = re.compile(rb"\S+ login: ?$", re.MULTILINE)


@dataclass
class Boot:
    firmware: str
    seconds: float | None  # to the login prompt; None when it never came
    serial: str            # what the serial console showed


def qemu_command(qcow2: Path, firmware: str, serial_log: Path, workdir: Path,
                 memory_mib: int = 2048, extra: tuple[str, ...] = (), snapshot: bool = True) -> list[str]:
    command = ["qemu-system-x86_64", "-accel", "tcg", "-smp", "2", "-m", str(memory_mib),
               "-drive", f"file={qcow2},if=virtio,format=qcow2,snapshot={'on' if snapshot else 'off'}",
               "-serial", f"file:{serial_log}", "-display", "none", "-no-reboot",
               "-nic", "none"]
    if firmware == "uefi":
        variables = workdir / "OVMF_VARS.fd"
        shutil.copyfile(OVMF_VARS, variables)
        command += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                    "-drive", f"if=pflash,format=raw,unit=1,file={variables}"]
    elif firmware != "bios":
        raise ValueError(f"firmware: bios or uefi, not {firmware!r:.20}")
    return [*command, *extra]


def boot_to_login(qcow2: Path, firmware: str = "bios", timeout: float = 600,
                  extra: tuple[str, ...] = (), snapshot: bool = True) -> Boot:
    """Starts the VM, waits for a login prompt on ttyS0, stops the VM. With snapshot=False
    the guest's writes go to qcow2 (give it an overlay, never the image itself)."""
    with tempfile.TemporaryDirectory(prefix="gemensam-boot-") as tmp:
        workdir = Path(tmp)
        serial_log = workdir / "serial.log"
        serial_log.touch()
        command = qemu_command(qcow2, firmware, serial_log, workdir, extra=extra, snapshot=snapshot)
        started = time.monotonic()
        vm = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seconds = None
        try:
            while time.monotonic() - started < timeout and vm.poll() is None:
                if LOGIN_PROMPT.search(serial_log.read_bytes()):
                    seconds = time.monotonic() - started
                    break
                time.sleep(0.5)
        finally:
            vm.terminate()
            try:
                _, error = vm.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                vm.kill()
                _, error = vm.communicate()
        serial = serial_log.read_bytes().decode(errors="replace")
        if seconds is None and vm.returncode not in (0, -15) and error:
            serial += f"\n[qemu exited {vm.returncode}: {error.decode(errors='replace').strip()[-500:]}]"
        return Boot(firmware, seconds, serial)
