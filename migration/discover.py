#!/usr/bin/env python3
"""Discovers a committee's legacy estate and writes its inventory: `<id>.yml` (schema:
module_utils/discovery_model.py) and `<id>.md`, the readable report.

Reads each site switch the organisation file declares (`legacy_servers`, role switch) over
SSH, each old file server over SMB1, each old mail server over IMAP (the mailboxes of the
old accounts the file servers list, or of --mail-accounts-file), each old print server's
queues over IPP (with --print-servers: listing queues needs no password), and each PC
named with --pc over WinRM. Passwords are read from files, never from the command line.

    python migration/discover.py --organisation sodermalm \\
        --switch-password-file FILE [--switch-host sod-sw01=127.0.0.1:2222] \\
        --file-server-auth-file FILE [--file-server-host sod-fs01=10.89.0.40] \\
        --mail-server-password-file FILE [--mail-server-login '{account}*migrering'] \\
        --print-servers [--print-server-host sod-ps01=10.89.0.42[:631]] \\
        [--pc sod-ws-00001=https://10.18.8.20:5986/wsman --winrm-password-file FILE]

Exits 1 when a device could not be read (the others are still written) and 2 on bad data.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import city_model

from migration.discovery import file_server, mail_server, print_server, report, store, switch, windows_pc

REPO = Path(__file__).resolve().parents[1]


def first_line(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0] if lines else ""


def endpoint_pairs(values: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, separator, target = value.partition("=")
        if not separator or not name or not target:
            raise SystemExit(f"{option}: expected NAME=TARGET, got {city_model.excerpt(value)}")
        pairs[name] = target
    return pairs


def reachable(organisation: dict, role: str, secret: Path | None, option: str):
    """The organisation's old devices of `role`; each is named and skipped without its secret."""
    for device in organisation.get("legacy_servers", []):
        if device["role"] != role:
            continue
        if secret is None:
            print(f"{device['name']}: skipped, no {option}", file=sys.stderr)
            continue
        yield device


def checked_login(login: str) -> str:
    """--mail-server-login, or ValueError naming it."""
    if login.count("{account}") != 1 or set("{}") & set(login.replace("{account}", "")) \
            or not mail_server.printable_name(login.replace("{account}", "a")):
        raise ValueError("--mail-server-login: expected printable text with one {account} and no other "
                         f"braces, got {city_model.excerpt(login)}")
    return login


def checked_mail_options(arguments: argparse.Namespace) -> list[str]:
    """The accounts of --mail-accounts-file (empty without it), after checking them and
    --mail-server-login; raises ValueError naming the option or the file's line."""
    checked_login(arguments.mail_server_login)
    if not arguments.mail_accounts_file:
        return []
    accounts = []
    label = city_model.display_path(arguments.mail_accounts_file)
    for number, line in enumerate(arguments.mail_accounts_file.read_text(encoding="utf-8").splitlines(), 1):
        name = line.strip()
        if name and not mail_server.printable_name(name):
            raise ValueError(f"{label}: line {number}: not an account name (printable, no spaces, at most "
                             f"{mail_server.MAX_ACCOUNT_LENGTH} characters): {city_model.excerpt(line)}")
        if name:
            accounts.append(name)
    return accounts


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO / "inventory" / "stockholm" / "data")
    parser.add_argument("--organisation", required=True, help="organisation id, e.g. sodermalm")
    parser.add_argument("--output-dir", type=Path, help="default: DATA_DIR/discovery")
    parser.add_argument("--switch-username", default="admin")
    parser.add_argument("--switch-password-file", type=Path,
                        help="first line: the SSH password; second line, if any: the enable secret")
    parser.add_argument("--switch-host", action="append", default=[], metavar="NAME=HOST[:PORT]",
                        help="reach a switch elsewhere than its declared address (the lab)")
    parser.add_argument("--file-server-auth-file", type=Path,
                        help="smbclient's authentication file (username = Administrator, password = ...)")
    parser.add_argument("--file-server-host", action="append", default=[], metavar="NAME=ADDRESS",
                        help="reach a file server elsewhere than its declared address (the lab)")
    parser.add_argument("--mail-server-password-file", type=Path,
                        help="first line: the password of the administrator who may open every mailbox")
    parser.add_argument("--mail-server-login", default="{account}*migrering",
                        help="the login that opens {account}'s mailbox as that administrator "
                             "(Exchange 2003: 'DOMAIN\\admin\\{account}'); default: %(default)s")
    parser.add_argument("--mail-server-host", action="append", default=[], metavar="NAME=ADDRESS[:PORT]",
                        help="reach a mail server elsewhere than its declared address (the lab)")
    parser.add_argument("--mail-accounts-file", type=Path,
                        help="the accounts whose mailboxes to read, one per line (default: the old "
                             "accounts the file servers list)")
    parser.add_argument("--print-servers", action="store_true",
                        help="read the old print servers' queues over IPP")
    parser.add_argument("--print-server-host", action="append", default=[], metavar="NAME=ADDRESS[:PORT]",
                        help="reach a print server elsewhere than its declared address (the lab)")
    parser.add_argument("--pc", action="append", default=[], metavar="NAME=ENDPOINT")
    parser.add_argument("--winrm-username", default="inventering")
    parser.add_argument("--winrm-password-file", type=Path)
    parser.add_argument("--winrm-transport", default="ntlm", choices=("ntlm", "kerberos", "credssp", "basic"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        # The register (generated by `make register`) is compared with the PCs when it is there.
        city = city_model.load_city(arguments.data_dir,
                                    register=(arguments.data_dir / city_model.REGISTER_DIR).is_dir())
    except city_model.CityDataError as error:
        print(error, file=sys.stderr)
        return 2
    organisation = city.organisations.get(arguments.organisation)
    if organisation is None:
        print(f"unknown organisation {city_model.excerpt(arguments.organisation)}", file=sys.stderr)
        return 2
    try:
        listed_accounts = checked_mail_options(arguments)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    failed = False
    switches, pcs, file_servers, found = [], [], [], []
    hosts = endpoint_pairs(arguments.switch_host, "--switch-host")
    for device in reachable(organisation, "switch", arguments.switch_password_file, "--switch-password-file"):
        lines = [*arguments.switch_password_file.read_text(encoding="utf-8").splitlines(), "", ""]
        credentials = switch.Credentials(arguments.switch_username, lines[0], lines[1] or lines[0])
        host, _, port = hosts.get(device["name"], str(device["address"])).partition(":")
        try:
            record = switch.discover(device, credentials, host=host, port=int(port or 22))
        except Exception as error:  # netmiko raises many kinds; the device is named, the run goes on
            failed = True
            print(f"{device['name']}: not read: {type(error).__name__}: {city_model.excerpt(str(error))}",
                  file=sys.stderr)
            continue
        switches.append(record)
        found += switch.discrepancies(record, organisation, city)
        print(f"{device['name']}: read in {record['seconds']:.1f} s")
    file_hosts = endpoint_pairs(arguments.file_server_host, "--file-server-host")
    for device in reachable(organisation, "file", arguments.file_server_auth_file, "--file-server-auth-file"):
        clients = file_server.SmbClients(file_hosts.get(device["name"], str(device["address"])),
                                         arguments.file_server_auth_file)
        record = file_server.discover_file_server(device, clients)
        failed = failed or "shares" not in record or not record["shares"]
        file_servers.append(record)
        print(f"{device['name']}: read in {record.get('seconds', 0):.1f} s, "
              f"{len(record.get('problems', []))} problems")
    mail_servers = []
    mail_hosts = endpoint_pairs(arguments.mail_server_host, "--mail-server-host")
    for device in reachable(organisation, "mail", arguments.mail_server_password_file,
                            "--mail-server-password-file"):
        accounts = listed_accounts or mail_server.mailbox_accounts(file_servers)
        if not accounts:
            failed = True
            print(f"{device['name']}: not read: no accounts to open (read the old file server in the same "
                  "run, or give --mail-accounts-file)", file=sys.stderr)
            continue
        host, _, port = mail_hosts.get(device["name"], str(device["address"])).partition(":")
        server = mail_server.ImapServer(host, int(port or 143), arguments.mail_server_login,
                                        first_line(arguments.mail_server_password_file))
        record = mail_server.discover_mail_server(device, server, accounts)
        failed = failed or not record.get("mailboxes")
        mail_servers.append(record)
        print(f"{device['name']}: {len(record.get('mailboxes', []))} of {len(accounts)} mailboxes read in "
              f"{record.get('seconds', 0):.1f} s, {len(record.get('problems', []))} problems")
    print_servers = []
    print_hosts = endpoint_pairs(arguments.print_server_host, "--print-server-host")
    for device in reachable(organisation, "print", Path() if arguments.print_servers else None,
                            "--print-servers"):
        host, _, port = print_hosts.get(device["name"], str(device["address"])).partition(":")
        record = print_server.discover_print_server(device, host, int(port or print_server.IPP_PORT))
        failed = failed or "queues" not in record
        print_servers.append(record)
        print(f"{device['name']}: {len(record.get('queues', []))} queues read in {record['seconds']:.1f} s, "
              f"{len(record.get('problems', []))} problems")
    register = {w.hostname: w for w in city.workstations}
    for name, endpoint in endpoint_pairs(arguments.pc, "--pc").items():
        try:
            password = first_line(arguments.winrm_password_file) if arguments.winrm_password_file else ""
            record = windows_pc.discover(name, endpoint, arguments.winrm_username, password,
                                         transport=arguments.winrm_transport)
        except windows_pc.WinRMDiscoveryError as error:
            failed = True
            print(f"not read: {error}", file=sys.stderr)
            continue
        pcs.append(record)
        if city.register_loaded:
            found += windows_pc.discrepancies(record, register.get(name))
        print(f"{name}: read in {record['seconds']:.1f} s")
    directory = arguments.output_dir or arguments.data_dir / "discovery"
    path = store.write_discovery(directory, organisation["id"], city, switches=switches, pcs=pcs,
                                 file_servers=file_servers, mail_servers=mail_servers,
                                 print_servers=print_servers, discrepancies=found)
    markdown = path.with_suffix(".md")
    found_devices = {"switches": switches, "pcs": pcs, "file_servers": file_servers,
                     "mail_servers": mail_servers, "print_servers": print_servers, "discrepancies": found}
    markdown.write_text(report.render(organisation, found_devices, city), encoding="utf-8")
    print(f"wrote {city_model.display_path(path)} and {city_model.display_path(markdown)}: "
          f"{len(switches)} switches, {len(file_servers)} file servers, {len(mail_servers)} mail servers, "
          f"{len(print_servers)} print servers, {len(pcs)} PCs, "
          f"{len(found)} discrepancies")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
