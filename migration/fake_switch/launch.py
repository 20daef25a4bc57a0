#!/usr/bin/env python3
"""Starts a simulated Cisco IOS site switch (fake-switches over SSH) holding the content
that migration/fake_switch/content.py generates from its organisation file.

fake-switches 1.5.0 as shipped needs these fixes, made here and nowhere else:
- its launcher keeps the enable secret as bytes, so only an empty secret works: the
  switch is given the secret as text, the SSH checker the password as bytes;
- configuration mode has no `end` (netmiko's send_config_set ends with it);
- `show privilege`, `show interfaces status`, `show mac address-table` are missing and
  `show version` names a 3750 with no serial: they are written here in the layout of a
  Catalyst 2960 on IOS 12.2(55)SE, which ntc-templates parses;
- `show vlan brief` and `show ip interface` print ports and states as a real switch does
  (trunk ports in no VLAN's list, connected ports up).

    launch.py --data-dir inventory/stockholm/data --organisation sodermalm --device sod-sw01 \\
              --listen-host 127.0.0.1 --listen-port 0 --password-file FILE
    launch.py --spec switch.json ...     (content as content.switch_spec returns it)

The password (SSH and enable) is read from a file, never from the command line. Once the
port listens, one line `listening on HOST:PORT` goes to standard output (port 0: the port
the system chose); the process runs until it is terminated.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "module_utils"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import netaddr
from fake_switches.cisco import cisco_core
from fake_switches.cisco.command_processor.config import ConfigCommandProcessor
from fake_switches.cisco.command_processor.config_interface import ConfigInterfaceCommandProcessor
from fake_switches.cisco.command_processor.config_vlan import ConfigVlanCommandProcessor
from fake_switches.cisco.command_processor.config_vrf import ConfigVRFCommandProcessor
from fake_switches.cisco.command_processor.enabled import EnabledCommandProcessor
from fake_switches.switch_configuration import Port, SwitchConfiguration, VlanPort
from fake_switches.transports.ssh_service import SwitchSshService
from twisted.internet import reactor

from migration.fake_switch.content import switch_spec

VERSION_TEXT = """\
Cisco IOS Software, C2960 Software ({image}), Version {version}, RELEASE SOFTWARE (fc1)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2010 by Cisco Systems, Inc.
Compiled Sat 07-Aug-10 22:45 by prod_rel_team

ROM: Bootstrap program is C2960 boot loader
BOOTLDR: C2960 Boot Loader (C2960-HBOOT-M) Version 12.2(44)SE5, RELEASE SOFTWARE (fc1)

{hostname} uptime is 2 years, 11 weeks, 3 days, 4 hours, 17 minutes
System returned to ROM by power-on
System image file is "flash:c2960-lanbasek9-mz.122-55.SE5.bin"

cisco {model} (PowerPC405) processor (revision B0) with 65536K bytes of memory.
Processor board ID {serial}
Last reset from power-on
{vlan_ports} Virtual Ethernet interfaces
{fast} FastEthernet interfaces
{giga} Gigabit Ethernet interfaces
The password-recovery mechanism is enabled.

64K bytes of flash-simulated non-volatile configuration memory.
Base ethernet MAC Address       : {base_mac}
Motherboard assembly number     : 73-10390-03
Model revision number           : B0
Model number                    : {model}
System serial number            : {serial}

Switch Ports Model              SW Version            SW Image
------ ----- -----              ----------            ----------
*    1 {ports:<5} {model:<18} {version:<21} {image}


Configuration register is 0xF
"""


def short_name(name: str) -> str:
    """FastEthernet0/1 -> Fa0/1, as IOS abbreviates in tables."""
    prefix = name.rstrip("0123456789/.")
    return name[:2] + name[len(prefix):]


class SiteEnabledProcessor(EnabledCommandProcessor):
    """Privileged EXEC with the show commands discovery reads, as a 2960 prints them."""

    def __init__(self, config: Any, spec: dict[str, Any]) -> None:
        super().__init__(config)
        self.spec = spec

    def do_show(self, *args: str) -> None:
        words = [word.lower() for word in args]
        if not words:
            return super().do_show(*args)
        if "privilege".startswith(words[0]) and len(words[0]) >= 3:
            self.write_line("Current privilege level is 15")
        elif "version".startswith(words[0]) and len(words[0]) >= 3:
            self.show_site_version()
        elif words[0].startswith("int") and len(words) > 1 and "status".startswith(words[1]):
            self.show_interfaces_status()
        elif words[0].startswith("mac") and len(words) > 1 and words[1].startswith("add"):
            self.show_mac_table()
        elif words[0] == "vlan" and len(words) > 1 and "brief".startswith(words[1]):
            self.show_vlan_brief()
        elif words[0] == "ip" and len(words) > 1 and "interface".startswith(words[1]):
            if len(words) > 2 and "brief".startswith(words[2]):
                self.show_ip_interface_brief()
            else:
                self.show_ip_interface()
        else:
            super().do_show(*args)
        return None

    def physical_ports(self) -> list[Any]:
        return self.switch_configuration.get_physical_ports()

    def show_site_version(self) -> None:
        spec = self.spec
        fast = sum(1 for port in self.physical_ports() if port.name.startswith("Fast"))
        self.write_line(VERSION_TEXT.format(
            image=spec["software_image"], version=spec["software_version"],
            hostname=self.switch_configuration.name, model=spec["model"], serial=spec["serial"],
            vlan_ports=len(self.switch_configuration.get_vlan_ports()), fast=fast,
            giga=len(self.physical_ports()) - fast, ports=len(self.physical_ports()),
            base_mac=":".join(spec["base_mac"].replace(".", "")[index:index + 2]
                              for index in range(0, 12, 2)).upper()))

    def port_state(self, port: Any) -> str:
        if port.shutdown:
            return "disabled"
        return "connected" if port.vendor_specific.get("connected") else "notconnect"

    def show_interfaces_status(self) -> None:
        self.write_line("")
        self.write_line("Port      Name               Status       Vlan       Duplex  Speed Type")
        for port in self.physical_ports():
            giga = port.name.startswith("Giga")
            connected = self.port_state(port) == "connected"
            vlan = "trunk" if port.mode == "trunk" else str(port.access_vlan or 1)
            duplex = "a-full" if connected else "auto"
            speed = ("a-1000" if giga else "a-100") if connected else "auto"
            kind = "10/100/1000BaseTX" if giga else "10/100BaseTX"
            self.write_line(f"{short_name(port.name):<9} {(port.description or '')[:18]:<18} "
                            f"{self.port_state(port):<12} {vlan:<10} {duplex:>6} {speed:>6} {kind}")

    def show_vlan_brief(self) -> None:
        self.write_line("")
        self.write_line("VLAN Name                             Status    Ports")
        self.write_line("---- -------------------------------- --------- -------------------------------")
        for vlan in sorted(self.switch_configuration.vlans, key=lambda v: v.number):
            members = [short_name(port.name) for port in self.physical_ports()
                       if port.mode != "trunk" and (port.access_vlan or 1) == vlan.number]
            lines = [", ".join(members[index:index + 4]) for index in range(0, len(members), 4)] or [""]
            self.write_line(f"{vlan.number:<4} {self.vlan_name(vlan):<32} "
                            f"active    {lines[0]}".rstrip())
            for line in lines[1:]:
                self.write_line(" " * 48 + line)

    @staticmethod
    def vlan_name(vlan: Any) -> str:
        return vlan.name or ("default" if vlan.number == 1 else f"VLAN{vlan.number:04d}")

    def interfaces(self) -> list[Any]:
        return self.switch_configuration.get_vlan_ports() + self.physical_ports()

    def interface_up(self, interface: Any) -> bool:
        if isinstance(interface, VlanPort):
            return not interface.shutdown
        return self.port_state(interface) == "connected"

    def show_ip_interface_brief(self) -> None:
        self.write_line("Interface              IP-Address      OK? Method Status                Protocol")
        for interface in self.interfaces():
            address = str(interface.ips[0].ip) if isinstance(interface, VlanPort) and interface.ips \
                else "unassigned"
            state = "up" if self.interface_up(interface) else "down"
            method = "NVRAM" if address != "unassigned" else "unset"
            self.write_line(f"{interface.name:<22} {address:<15} YES {method:<6} {state:<21} {state}")

    def show_ip_interface(self) -> None:
        for interface in self.interfaces():
            state = "up" if self.interface_up(interface) else "down"
            self.write_line(f"{interface.name} is {state}, line protocol is {state}")
            if isinstance(interface, VlanPort) and interface.ips:
                self.write_line(f"  Internet address is {interface.ips[0]}")
                self.write_line(f"  Broadcast address is {interface.ips[0].broadcast}")
                self.write_line("  MTU is 1500 bytes")
                self.write_line("  Outgoing access list is not set")
                self.write_line("  Inbound  access list is not set")
            else:
                self.write_line("  Internet protocol processing disabled")

    def show_mac_table(self) -> None:
        entries = self.spec["macs"]
        self.write_line("          Mac Address Table")
        self.write_line("-------------------------------------------")
        self.write_line("")
        self.write_line("Vlan    Mac Address       Type        Ports")
        self.write_line("----    -----------       --------    -----")
        self.write_line(" All    0100.0ccc.cccc    STATIC      CPU")
        for entry in entries:
            port = short_name(entry["port"])
            self.write_line(f"{entry['vlan']:>4}    {entry['mac']}    DYNAMIC     {port}")
        self.write_line(f"Total Mac Addresses for this criterion: {len(entries) + 1}")


class EndMixin:
    """`end` in any configuration mode returns to privileged EXEC. A sub-mode (interface,
    vlan) does not know the word and hands it to configuration mode, which ends."""

    is_done: bool

    def do_end(self) -> None:
        self.is_done = True


class SiteConfigProcessor(EndMixin, ConfigCommandProcessor):
    pass


class SiteSwitchCore(cisco_core.Cisco2960_24TT_L_SwitchCore):
    def __init__(self, switch_configuration: SwitchConfiguration, spec: dict[str, Any]) -> None:
        super().__init__(switch_configuration)
        self.spec = spec

    def new_command_processor(self) -> SiteEnabledProcessor:
        return SiteEnabledProcessor(SiteConfigProcessor(
            config_vlan=ConfigVlanCommandProcessor(),
            config_vrf=ConfigVRFCommandProcessor(),
            config_interface=ConfigInterfaceCommandProcessor()), self.spec)


def build_configuration(spec: dict[str, Any], enable_secret: str) -> SwitchConfiguration:
    ports = []
    for entry in spec["ports"]:
        port = Port(entry["name"])
        port.description = entry["description"] or None
        port.mode = entry["mode"]
        port.access_vlan = entry["vlan"] if entry["mode"] == "access" and entry["vlan"] != 1 else None
        port.vendor_specific["connected"] = entry["connected"]
        ports.append(port)
    configuration = SwitchConfiguration("127.0.0.1", name=spec["hostname"],
                                        privileged_passwords=[enable_secret], ports=ports)
    for vlan in spec["vlans"]:
        if vlan["id"] != 1:
            configuration.add_vlan(configuration.new("Vlan", vlan["id"], vlan["name"]))
    for svi in spec["svis"]:
        interface = configuration.new("VlanPort", svi["vlan"], f"Vlan{svi['vlan']}")
        interface.ips = [netaddr.IPNetwork(svi["address"])]
        configuration.add_port(interface)
    return configuration


def load_spec(arguments: argparse.Namespace) -> dict[str, Any]:
    if arguments.spec:
        return json.loads(arguments.spec.read_text(encoding="utf-8"))
    import city_model

    city = city_model.load_city(arguments.data_dir, register=False)
    return switch_spec(city.organisations[arguments.organisation], arguments.device)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--spec", type=Path, help="the switch's content as JSON")
    source.add_argument("--data-dir", type=Path, help="the city's data dir")
    parser.add_argument("--organisation", default="sodermalm", help="organisation id (with --data-dir)")
    parser.add_argument("--device", default="sod-sw01", help="the switch's name (with --data-dir)")
    parser.add_argument("--listen-host", default="127.0.0.1")
    parser.add_argument("--listen-port", type=int, default=0, help="0: a free port, printed")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password-file", type=Path, required=True,
                        help="file whose first line is the SSH password and the enable secret")
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    logging.basicConfig(level=arguments.log_level, stream=sys.stderr)
    lines = arguments.password_file.read_text(encoding="utf-8").splitlines()
    password = lines[0] if lines else ""
    if not password.isascii() or not password.isprintable():
        # fake-switches' terminal reads the enable secret byte by byte: only ASCII arrives whole.
        print(f"{arguments.password_file}: the password must be printable ASCII", file=sys.stderr)
        return 2
    spec = load_spec(arguments)
    core = SiteSwitchCore(build_configuration(spec, password), spec)
    service = SwitchSshService(ip=arguments.listen_host, port=arguments.listen_port, switch_core=core,
                               users={arguments.username: password.encode()})
    port = service.hook_to_reactor(reactor)
    print(f"listening on {arguments.listen_host}:{port.getHost().port}", flush=True)
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
