"""What a legacy site switch holds, generated from its organisation file: the same data
gives the same switch, byte for byte.

The switch is the organisation's `legacy_servers` entry with `role: switch` (the
organisation file is the one list of the old estate). Rules, all derived from the city:

- Model: a Catalyst WS-C2960-24TT-L (24 FastEthernet and 2 GigabitEthernet ports) running
  IOS 12.2(55)SE5, as a site of the 2000s had. Serial, base MAC and the MAC addresses of
  connected devices are taken from a SHA-256 of the switch's name (and the device's),
  so they look real and never change.
- VLANs: 1 `default`; 10 `servrar` for the site's servers and printers; one per
  department, 100, 110, 120... named by the department id cut to IOS's 32 characters;
  99 `gamla-lan` (below).
- Interfaces: Vlan10 holds the switch's declared address on the site's whole CIDR (one
  flat network, as old sites were). Fa0/1... carry the site's other legacy servers, then
  its printers, in VLAN 10, each described by its name; then one workstation port per
  department in the department's VLAN; the rest are unused (notconnect). Gi0/1 is the
  trunk to the city network, Gi0/2 unused.
- The deliberate discrepancy: Vlan99 `gamla-lan` has an address on the network right
  after the site's CIDR, of the same size (first host): a network left over from before
  the address plan that the city data does not record. Discovery must list it.
- MAC table: one dynamic entry per connected access port, and the router's MAC on Gi0/1
  in VLAN 10 and VLAN 99.

The result is plain data (JSON-serialisable), so a test can alter one value — a hostile
description — and hand it to the launcher.
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

MODEL = "WS-C2960-24TT-L"
SOFTWARE_VERSION = "12.2(55)SE5"
SOFTWARE_IMAGE = "C2960-LANBASEK9-M"
FAST_PORTS = 24
GIGA_PORTS = 2
SERVER_VLAN = 10
LEFTOVER_VLAN = 99
LEFTOVER_VLAN_NAME = "gamla-lan"
FIRST_DEPARTMENT_VLAN = 100
DEPARTMENT_VLAN_STEP = 10
IOS_VLAN_NAME_LENGTH = 32
CISCO_OUI = "001e13"    # the switch's own base MAC and the router's
SERVER_OUI = "001422"   # Dell, the servers' and workstations' network cards
PRINTER_OUI = "001b78"  # Hewlett-Packard, the printers


def digest(*parts: str) -> bytes:
    return hashlib.sha256("\0".join(parts).encode()).digest()


def mac_address(oui: str, *parts: str) -> str:
    """A MAC in Cisco's dotted form (0014.22ab.cdef), the vendor's OUI and 3 hashed bytes."""
    hexdigits = oui + digest(*parts)[:3].hex()
    return ".".join(hexdigits[index:index + 4] for index in range(0, 12, 4))


def serial_number(name: str) -> str:
    """Cisco's LLLYYWWSSSS: factory FOC, year since 1996 (11 = 2007), week, 4 characters."""
    raw = digest("serial", name)
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    suffix = "".join(alphabet[byte % len(alphabet)] for byte in raw[2:6])
    return f"FOC{10 + raw[0] % 3:02d}{1 + raw[1] % 52:02d}{suffix}"


def find_switch(organisation: dict[str, Any], name: str) -> dict[str, Any]:
    for device in organisation.get("legacy_servers", []):
        if device["name"] == name:
            if device["role"] != "switch":
                raise ValueError(f"{name} of organisation {organisation['id']} has role "
                                 f"{device['role']}, not switch")
            return device
    raise ValueError(f"no legacy device {name} in organisation {organisation['id']}")


def leftover_network(cidr: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    """The network of the same size right after the site's CIDR."""
    return ipaddress.ip_network(f"{cidr.broadcast_address + 1}/{cidr.prefixlen}")


def switch_spec(organisation: dict[str, Any], name: str) -> dict[str, Any]:
    """The switch `name` of a validated organisation (city_model's records)."""
    device = find_switch(organisation, name)
    site = next(site for site in organisation["sites"] if site["id"] == device["site"])
    cidr = ipaddress.ip_network(str(site["cidr"]))
    departments = organisation["departments"]
    vlans = [{"id": 1, "name": "default"}, {"id": SERVER_VLAN, "name": "servrar"},
             {"id": LEFTOVER_VLAN, "name": LEFTOVER_VLAN_NAME}]
    department_vlans = []
    for index, department in enumerate(departments):
        vlan = {"id": FIRST_DEPARTMENT_VLAN + DEPARTMENT_VLAN_STEP * index,
                "name": department["id"][:IOS_VLAN_NAME_LENGTH]}
        vlans.append(vlan)
        department_vlans.append(vlan)
    vlans.sort(key=lambda vlan: vlan["id"])

    attached: list[tuple[str, int, str]] = []  # (description, vlan, mac)
    for server in organisation.get("legacy_servers", []):
        if server["site"] == site["id"] and server["name"] != name:
            attached.append((server["name"], SERVER_VLAN, mac_address(SERVER_OUI, server["name"])))
    for printer in site.get("printers", []):
        attached.append((printer["name"], SERVER_VLAN, mac_address(PRINTER_OUI, printer["name"])))
    for vlan in department_vlans:
        workstation = f"{vlan['name']}-arbetsplats"
        attached.append((workstation, vlan["id"], mac_address(SERVER_OUI, name, workstation)))
    if len(attached) > FAST_PORTS:
        raise ValueError(f"{name}: {len(attached)} devices to attach, the switch has {FAST_PORTS} ports")

    ports = []
    macs = []
    for number in range(1, FAST_PORTS + 1):
        port = f"FastEthernet0/{number}"
        if number <= len(attached):
            description, vlan_id, mac = attached[number - 1]
            ports.append({"name": port, "description": description, "mode": "access",
                          "vlan": vlan_id, "connected": True})
            macs.append({"vlan": vlan_id, "mac": mac, "port": port})
        else:
            ports.append({"name": port, "description": "", "mode": "access", "vlan": 1,
                          "connected": False})
    uplink = "GigabitEthernet0/1"
    ports.append({"name": uplink, "description": "upplank-stadsnatet", "mode": "trunk", "vlan": 1,
                  "connected": True})
    ports.append({"name": "GigabitEthernet0/2", "description": "", "mode": "access", "vlan": 1,
                  "connected": False})
    router = mac_address(CISCO_OUI, name, "router")
    macs += [{"vlan": SERVER_VLAN, "mac": router, "port": uplink},
             {"vlan": LEFTOVER_VLAN, "mac": router, "port": uplink}]
    macs.sort(key=lambda entry: (entry["vlan"], entry["mac"]))

    leftover = leftover_network(cidr)
    return {
        "hostname": name,
        "model": MODEL,
        "serial": serial_number(name),
        "software_version": SOFTWARE_VERSION,
        "software_image": SOFTWARE_IMAGE,
        "base_mac": mac_address(CISCO_OUI, name),
        "vlans": vlans,
        "ports": ports,
        "svis": [
            {"vlan": SERVER_VLAN, "address": f"{device['address']}/{cidr.prefixlen}"},
            {"vlan": LEFTOVER_VLAN, "address": f"{leftover.network_address + 1}/{leftover.prefixlen}"},
        ],
        "macs": macs,
    }
