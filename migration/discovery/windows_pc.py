"""Reads a Windows PC over WinRM (pywinrm): hardware (Win32_ComputerSystem), serial
(Win32_BIOS), operating system (Win32_OperatingSystem) and installed programs (the
registry's Uninstall keys), by one PowerShell script run with `Session.run_ps`, into a
record checked by discovery_model.PC.

The city's PCs are of the Windows XP and 7 era: WinRM 2.0 and PowerShell 2.0, which has
neither ConvertTo-Json nor Get-CimInstance. The script therefore uses Get-WmiObject and
carries a small JSON writer that escapes every character outside printable ASCII as
\\uXXXX: its output is the same on PowerShell 2.0 and 5.1 and is pure ASCII, so the
console's code page (cp850 on a Swedish XP) cannot garble å, ä, ö on the way.

No WinRM server exists on this machine: tests/unit/test_discovery_winrm.py runs this
module against a replay of WS-Management responses (tests/unit/fixtures/winrm/).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "module_utils"))
import city_model
import discovery_model

SCRIPT = r"""
$ErrorActionPreference = 'Stop'
function ConvertTo-AsciiJson($value) {
    if ($null -eq $value) { return 'null' }
    if ($value -is [string]) {
        $chars = foreach ($c in $value.ToCharArray()) {
            $code = [int]$c
            if ($code -lt 32 -or $code -gt 126 -or $code -eq 34 -or $code -eq 92) { '\u{0:x4}' -f $code }
            else { [string]$c }
        }
        return '"' + ($chars -join '') + '"'
    }
    if ($value -is [int] -or $value -is [long]) { return [string]$value }
    if ($value -is [System.Collections.IEnumerable]) {
        return '[' + ((@($value) | ForEach-Object { ConvertTo-AsciiJson $_ }) -join ',') + ']'
    }
    $fields = foreach ($p in $value.PSObject.Properties) {
        (ConvertTo-AsciiJson $p.Name) + ':' + (ConvertTo-AsciiJson $p.Value)
    }
    return '{' + ($fields -join ',') + '}'
}
$cs = Get-WmiObject -Class Win32_ComputerSystem
$bios = Get-WmiObject -Class Win32_BIOS
$os = Get-WmiObject -Class Win32_OperatingSystem
$keys = 'HKLM:\Software\Microsoft\Windows\CurrentVersion\Uninstall\*',
        'HKLM:\Software\Wow6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*'
$programs = @(Get-ItemProperty -Path $keys -ErrorAction SilentlyContinue |
    Where-Object { $_.DisplayName -and -not $_.SystemComponent -and -not $_.ParentKeyName } |
    ForEach-Object { New-Object PSObject -Property @{
        name = [string]$_.DisplayName; version = [string]$_.DisplayVersion
        publisher = [string]$_.Publisher; installed = [string]$_.InstallDate } })
$record = New-Object PSObject -Property @{
    hostname = [string]$cs.Name; manufacturer = [string]$cs.Manufacturer; model = [string]$cs.Model
    memory_mb = [long]($cs.TotalPhysicalMemory / 1MB); serial = [string]$bios.SerialNumber
    os = [string]$os.Caption; os_version = [string]$os.Version; service_pack = [string]$os.CSDVersion
    software = $programs }
ConvertTo-AsciiJson $record
""".strip()

FIELDS = ("hostname", "manufacturer", "model", "serial", "memory_mb", "os", "os_version", "service_pack")


class WinRMDiscoveryError(Exception):
    """The PC could not be read; the message names it."""


def parse_output(name: str, stdout: bytes) -> dict[str, Any]:
    """The script's JSON as the record's raw shape; raises WinRMDiscoveryError naming the PC."""
    try:
        data = json.loads(stdout.decode("ascii"))
    except UnicodeDecodeError as error:
        raise WinRMDiscoveryError(f"{name}: the output is not the ASCII JSON the script writes "
                                  f"(byte {error.start + 1} is {stdout[error.start]:#04x})") from None
    except json.JSONDecodeError as error:
        rest = city_model.excerpt(stdout.decode("ascii")[error.pos:])
        raise WinRMDiscoveryError(f"{name}: the output is not JSON ({error.msg} at character "
                                  f"{error.pos + 1}: {rest})") from None
    if not isinstance(data, dict):
        raise WinRMDiscoveryError(f"{name}: expected a JSON object, got {city_model.describe(data)}")
    raw: dict[str, Any] = {"name": name}
    for key in FIELDS:
        value = data.get(key)
        if value not in (None, ""):
            raw[key] = value
    if data.get("service_pack") == "":
        raw["service_pack"] = ""
    software = data.get("software")
    # PowerShell 2.0 writes a one-element array as the element itself.
    raw["software"] = software if isinstance(software, list) else [software] if software else []
    return raw


def discover(name: str, endpoint: str, username: str, password: str, *, transport: str = "ntlm",
             verify_certificate: bool = True) -> dict[str, Any]:
    """The checked record of the PC `name` (from the register) reached at `endpoint`
    (https://host:5986/wsman, or http://host:5985/wsman where the city allowed it)."""
    import winrm

    started = time.monotonic()
    session = winrm.Session(endpoint, auth=(username, password), transport=transport,
                            server_cert_validation="validate" if verify_certificate else "ignore")
    try:
        response = session.run_ps(SCRIPT)
    except Exception as error:
        raise WinRMDiscoveryError(f"{name}: WinRM at {endpoint} failed: {type(error).__name__}: "
                                  f"{city_model.excerpt(str(error))}") from None
    if response.status_code != 0:
        message = response.std_err.decode("utf-8", "replace")
        raise WinRMDiscoveryError(f"{name}: the script exited with {response.status_code}: "
                                  f"{city_model.excerpt(message)}")
    raw = parse_output(name, response.std_out)
    raw["seconds"] = round(time.monotonic() - started, 3)
    return discovery_model.checked(discovery_model.PC, raw, name)


def discrepancies(record: dict[str, Any], workstation: city_model.Workstation | None) -> list[str]:
    """What the PC says that the register does not: a PC missing from it, another serial
    or another model."""
    name = record["name"]
    if workstation is None:
        return [f"{name}: answers but is not in the register"]
    found = []
    if "serial" in record and record["serial"].strip().upper() != workstation.serial.upper():
        found.append(f"{name}: serial {record['serial']} on the machine, "
                     f"{workstation.serial} in the register")
    model = " ".join(filter(None, [record.get("manufacturer", "").split(" ")[0], record.get("model", "")]))
    if "model" in record and record["model"] not in workstation.model:
        found.append(f"{name}: model {model} on the machine, {workstation.model} in the register")
    return found
