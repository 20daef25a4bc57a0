"""A lab workstation as a QEMU virtual machine under software emulation (KVM does not
work on these machines; see LAB-NOTES), on a tap device attached to the lab's podman
bridge, so it sits on the lab network beside the servers. A person's typing goes
through QEMU's monitor (`sendkey`), one key at a time, as the guest's Swedish
keyboard reads it; the screen is read with `screendump`."""

import contextlib
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "workstation_image"))
# OVMF (Debian package ovmf) for a UEFI machine: the same files the image's own boot check uses.
from image_boot import OVMF_CODE, OVMF_VARS

# QEMU's key names are the positions of a US keyboard; the guest reads them with the
# Swedish layout. So "ö" is the key right of "l" (US ";") and "-" is the key left of
# right shift (US "/").
_SWEDISH = {
    " ": "spc", "\n": "ret", "\t": "tab",
    "å": "bracket_left", "Å": "shift-bracket_left",
    "ä": "apostrophe", "Ä": "shift-apostrophe",
    "ö": "semicolon", "Ö": "shift-semicolon",
    "-": "slash", "_": "shift-slash",
    ".": "dot", ":": "shift-dot",
    ",": "comma", ";": "shift-comma",
    "+": "minus", "?": "shift-minus",
    "!": "shift-1", '"': "shift-2", "#": "shift-3", "%": "shift-5", "&": "shift-6",
    "/": "shift-7", "(": "shift-8", ")": "shift-9", "=": "shift-0",
    "@": "ralt-2", "$": "ralt-4", "{": "ralt-7", "[": "ralt-8", "]": "ralt-9",
    "}": "ralt-0", "\\": "ralt-minus", "<": "less", ">": "shift-less",
    "*": "shift-backslash", "'": "backslash", "|": "ralt-less",
}


def swedish_keys(text: str) -> list[str]:
    """The sendkey names that type text on a Swedish keyboard."""
    keys = []
    for character in text:
        if character in _SWEDISH:
            keys.append(_SWEDISH[character])
        elif character.isascii() and (character.isdigit() or character.islower()):
            keys.append(character)
        elif character.isascii() and character.isupper():
            keys.append("shift-" + character.lower())
        else:
            raise ValueError(f"no key on a Swedish keyboard types {character!r}")
    return keys


def parse_ppm(ppm: bytes) -> tuple[int, int, bytes]:
    """A binary PPM (P6, as QEMU's screendump writes it): width, height, RGB bytes."""
    match = re.match(rb"P6\s+(?:#[^\n]*\n\s*)*(\d+)\s+(\d+)\s+(\d+)\s", ppm)
    if not match:
        raise ValueError("not a binary PPM")
    width, height, maxval = (int(group) for group in match.groups())
    if maxval != 255:
        raise ValueError(f"unsupported PPM depth {maxval}")
    return width, height, ppm[match.end():match.end() + width * height * 3]


def pixels_of_colour(pixels: bytes, colour: tuple[int, int, int], tolerance: int = 24) -> int:
    """How many RGB pixels are within tolerance of colour in every channel."""
    red, green, blue = colour
    return sum(1 for i in range(0, len(pixels) - 2, 3)
               if abs(pixels[i] - red) <= tolerance and abs(pixels[i + 1] - green) <= tolerance
               and abs(pixels[i + 2] - blue) <= tolerance)


def ppm_to_png(ppm: bytes) -> bytes:
    """A binary PPM (P6, as QEMU's screendump writes it) as a PNG."""
    width, height, pixels = parse_ppm(ppm)
    rows = b"".join(b"\x00" + pixels[row * width * 3:(row + 1) * width * 3] for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6))
            + chunk(b"IEND", b""))


def lab_bridge(network_name: str) -> str:
    """The host's bridge interface of a podman network."""
    result = subprocess.run(
        ["podman", "network", "inspect", "--format", "{{.NetworkInterface}}", network_name],
        check=True, capture_output=True, text=True,
    )
    return result.stdout.strip()


class VirtualMachine:
    """One workstation: a copy-on-write overlay of the image, so every test machine
    starts from the same image and the image itself is never changed."""

    def __init__(self, image: Path, workdir: Path, name: str, *, serial: str, bridge: str,
                 mac: str, firmware: str = "bios", memory_mb: int = 2048, disk_size: str | None = None):
        """firmware: bios (SeaBIOS) or uefi (OVMF, with the machine's own variable store);
        disk_size: the machine's disk when larger than the image (qemu-img's size, "12G")."""
        if firmware not in ("bios", "uefi"):
            raise ValueError(f"firmware: bios or uefi, not {firmware!r:.20}")
        self.image = Path(image)
        self.workdir = Path(workdir)
        self.name = name
        self.serial = serial
        self.bridge = bridge
        self.mac = mac
        self.firmware = firmware
        self.memory_mb = memory_mb
        self.disk_size = disk_size
        # Interface names are at most 15 characters.
        self.tap = ("tap" + re.sub(r"[^a-z0-9]", "", name.lower()))[:15]
        self.disk = self.workdir / f"{name}.qcow2"
        self.console_log = self.workdir / f"{name}.console.log"
        self.monitor_path = self.workdir / f"{name}.monitor"
        self.process: subprocess.Popen | None = None
        self.last_screen: tuple[int, int, bytes] | None = None  # the last screenshot's pixels

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.disk.exists():
            subprocess.run(
                ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(self.image.resolve()),
                 str(self.disk), *([self.disk_size] if self.disk_size else [])],
                check=True,
            )
        subprocess.run(["ip", "link", "delete", self.tap], capture_output=True)
        subprocess.run(["ip", "tuntap", "add", self.tap, "mode", "tap"], check=True)
        subprocess.run(["ip", "link", "set", self.tap, "master", self.bridge], check=True)
        subprocess.run(["ip", "link", "set", self.tap, "up"], check=True)
        self.console_log.write_bytes(b"")
        command = [
            "qemu-system-x86_64", "-accel", "tcg", "-smp", "2", "-m", str(self.memory_mb),
            "-name", self.name,
            "-drive", f"file={self.disk},if=virtio,format=qcow2",
            "-netdev", f"tap,id=lan,ifname={self.tap},script=no,downscript=no",
            "-device", f"virtio-net-pci,netdev=lan,mac={self.mac}",
            "-smbios", f"type=1,serial={self.serial}",
            "-vga", "std", "-display", "none",
            "-serial", f"file:{self.console_log}",
            "-monitor", f"unix:{self.monitor_path},server,nowait",
        ]
        if self.firmware == "uefi":
            variables = self.workdir / f"{self.name}.OVMF_VARS.fd"
            if not variables.exists():
                shutil.copyfile(OVMF_VARS, variables)
            command += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                        "-drive", f"if=pflash,format=raw,unit=1,file={variables}"]
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not self.monitor_path.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"QEMU for {self.name} exited: {self.process.stderr.read().decode()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"QEMU for {self.name} opened no monitor")
            time.sleep(0.2)

    def console(self) -> str:
        return self.console_log.read_bytes().decode("utf-8", "replace")

    def console_mark(self) -> int:
        """Where the console's output is now: wait_for_console(since=...) looks after it."""
        return len(self.console())

    def wait_for_console(self, pattern: str, timeout: float, since: int = 0) -> re.Match:
        """Waits until the serial console shows pattern (a regular expression), after since."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.console()[since:])
            if match:
                return match
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} stopped; console:\n{self.console()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name}: no {pattern!r} on the console in {timeout:.0f} s; console:\n"
                    f"{self.console()[-3000:]}"
                )
            time.sleep(1)

    def monitor(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(30)
            connection.connect(str(self.monitor_path))
            output = b""
            while not output.endswith(b"(qemu) "):
                output += connection.recv(4096)
            connection.sendall(command.encode() + b"\n")
            output = b""
            while not output.rstrip().endswith(b"(qemu)"):
                data = connection.recv(4096)
                if not data:
                    break
                output += data
        return output.decode("utf-8", "replace")

    def type(self, text: str, pause: float = 0.15) -> None:
        """Types text as a person does, one key at a time."""
        for key in swedish_keys(text):
            self.monitor(f"sendkey {key}")
            time.sleep(pause)

    def screenshot(self, path: Path) -> Path:
        ppm = self.workdir / f"{self.name}.ppm"
        self.monitor(f"screendump {ppm}")
        deadline = time.monotonic() + 10
        while not (ppm.exists() and ppm.stat().st_size > 0):
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: screendump wrote nothing")
            time.sleep(0.2)
        time.sleep(0.5)
        screen = ppm.read_bytes()
        self.last_screen = parse_ppm(screen)
        Path(path).write_bytes(ppm_to_png(screen))
        ppm.unlink()
        return Path(path)

    def stop(self) -> None:
        """Ends QEMU and waits for it: its disk can then be read (QEMU holds a lock on it)."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.monitor("quit")
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        subprocess.run(["ip", "link", "delete", self.tap], capture_output=True)
        if self.monitor_path.exists():
            os.unlink(self.monitor_path)


class LabDhcp:
    """The site network's DHCP for the lab's workstations: dnsmasq on this machine, bound
    to the lab's bridge, handing out addresses from the top of the lab subnet with the
    directory's domain controllers as DNS servers (in the city, the site's network
    gives them). DNS itself stays off (port 0): aardvark-dns serves the containers."""

    def __init__(self, workdir: Path, bridge: str, first: str, last: str, dns_servers: list[str],
                 domain: str):
        self.workdir = Path(workdir)
        self.command = [
            "dnsmasq", "--keep-in-foreground", "--port=0", f"--interface={bridge}",
            "--bind-interfaces", "--except-interface=lo", f"--dhcp-range={first},{last},1h",
            f"--dhcp-option=option:dns-server,{','.join(dns_servers)}",
            f"--dhcp-option=option:domain-name,{domain}",
            f"--dhcp-option=option:domain-search,{domain}",
            f"--dhcp-leasefile={self.workdir / 'dnsmasq.leases'}",
            f"--pid-file={self.workdir / 'dnsmasq.pid'}", "--log-dhcp",
            f"--log-facility={self.workdir / 'dnsmasq.log'}",
        ]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "LabDhcp":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1)
        if self.process.poll() is not None:
            raise RuntimeError(f"dnsmasq did not start: {self.process.stderr.read().decode()}")
        return self

    def lease(self, mac: str) -> str | None:
        """The address the machine with mac was given, if any."""
        leases = self.workdir / "dnsmasq.leases"
        if leases.exists():
            for line in leases.read_text().splitlines():
                fields = line.split()
                if len(fields) >= 3 and fields[1].lower() == mac.lower():
                    return fields[2]
        return None

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def root_sizes_gib(disk: Path) -> tuple[float, float]:
    """(root partition, root file system) in GiB on a machine's disk as the guest left it
    (read with qemu-io, nothing mounted): the third GPT entry, and its ext4 superblock."""

    def read(offset: int, length: int) -> bytes:
        dump = subprocess.run(["qemu-io", "-r", "-f", "qcow2", "-c", f"read -v {offset} {length}", str(disk)],
                              capture_output=True, text=True, check=True).stdout
        return bytes.fromhex("".join(line[10:58] for line in dump.splitlines() if line[8:10] == ": "))

    entry = read(2 * 512 + 2 * 128, 128)  # GPT entries start at LBA 2, 128 bytes each
    first, last = int.from_bytes(entry[32:40], "little"), int.from_bytes(entry[40:48], "little")
    superblock = read(first * 512 + 1024, 1024)
    low, high = superblock[4:8], superblock[0x150:0x154]  # s_blocks_count_lo and _hi
    blocks = int.from_bytes(low, "little") | int.from_bytes(high, "little") << 32
    block_size = 1024 << int.from_bytes(superblock[24:28], "little")
    return (last - first + 1) * 512 / 2**30, blocks * block_size / 2**30
