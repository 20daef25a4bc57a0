"""A Windows workstation's answer file, from the same spec as the Linux image.

render() writes, for one new-workstation order, what goes on the installation medium:

    autounattend.xml                                   the answer file
    sources/$OEM$/$$/Setup/Scripts/Enable-WinRMHttps.ps1   its first-logon step
    sources/$OEM$/$$/Setup/Scripts/winrm.pfx           the machine's WinRM certificate

Windows Setup copies sources\\$OEM$\\$$ to C:\\Windows, where the first-logon command finds
the script. Every value comes from one place: the profile (workstation_spec: locale,
keyboard, time zone), the city (the organisation and site of the order, the service
networks: city_model; the directory's realm: the inventory's directory_realm, lower-cased
to the DNS domain as the orders role does; the city CA), and the order (its fields read
and checked by module_utils/orders.py, the computer name the order gave the machine).

Everything that reaches the XML is escaped (Jinja's autoescape); what reaches PowerShell is
a single-quoted literal with its quotes doubled. A computer name that is not a NetBIOS host
name, a name that does not belong to the order's organisation and profile, or a value with
control characters is refused with the option or file it came from.

The files hold the machine's one-time join password and its certificate's key: the output
directory is made 0700 and the files 0600; the medium is for that one machine.
"""

from __future__ import annotations

import base64
import datetime
import os
import re
import secrets
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import city_model
import city_names
import jinja2
import orders
import windows_enrolment
import workstation_spec
from city_model import CityDataError, Invalid, Problems, display_path, excerpt, hostname
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TEMPLATES = Path(__file__).resolve().parent
MANAGED = "Rendered by workstation_image/render-windows from the workstation image spec: do not edit"
SCRIPT_NAME = "Enable-WinRMHttps.ps1"
SCRIPTS_ON_MEDIUM = Path("sources", "$OEM$", "$$", "Setup", "Scripts")
SCRIPTS_ON_WINDOWS = r"C:\Windows\Setup\Scripts"
WINRM_HTTPS_PORT = 5986
DISK = {"efi_mb": 260, "msr_mb": 16}
WINRM_CERTIFICATE_DAYS = 825

# The spec's values in Windows' terms. A value of the spec without a Windows equivalent
# here is refused, not guessed.
WINDOWS_TIME_ZONES = {"Europe/Stockholm": "W. Europe Standard Time"}
# Input locales as language id:keyboard layout id (0x041d is sv-SE; 0000041d the Swedish layout).
WINDOWS_KEYBOARDS = {"se": "041d:0000041d"}

REALM = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+\Z")
MIN_MACHINE_PASSWORD = 16
MAX_MACHINE_PASSWORD = 120
DIRECTORY_VARS = Path("group_vars", "domain_controllers", "directory.yml")


class WindowsRenderError(ValueError):
    """What stops an answer file from being rendered, naming where the bad value came from."""


# ---------------------------------------------------------------------------
# The values, each checked


def windows_language(locale: str) -> str:
    """sv_SE.UTF-8 -> sv-SE."""
    return locale.split(".")[0].replace("_", "-")


def computer_name(value: str, prefix: str, source: str = "--computer-name") -> str:
    """The machine's NetBIOS name as the order gave it (<code>-<kind>-00042), upper case."""
    try:
        name = hostname(value.lower() if isinstance(value, str) else value)
    except Invalid as problem:
        raise WindowsRenderError(f"{source}: {problem}") from None
    if not re.fullmatch(re.escape(prefix) + r"[0-9]{5}", name):
        raise WindowsRenderError(f"{source}: {excerpt(value)} is not a name the order gives: "
                                 f"expected {prefix.upper()}<5 digits> for its organisation and profile")
    return name.upper()


def machine_password(value: str, source: str) -> str:
    """The pre-staged account's one-time password: printable, long enough to be a secret. The
    value itself is never echoed."""
    value = value.rstrip("\n")
    if not value.isprintable() or not value.strip():
        raise WindowsRenderError(f"{source}: the machine password must be printable characters on one line")
    if not MIN_MACHINE_PASSWORD <= len(value) <= MAX_MACHINE_PASSWORD:
        raise WindowsRenderError(f"{source}: the machine password has {len(value)} characters "
                                 f"(expected {MIN_MACHINE_PASSWORD} to {MAX_MACHINE_PASSWORD})")
    return value


def realm_from_inventory(inventory: Path) -> str:
    """directory_realm of the inventory's domain controllers (group_vars), checked."""
    path = inventory / DIRECTORY_VARS
    problems = Problems()
    report = problems.reporter(display_path(path))
    document = city_model.read_yaml(path, report)
    problems.raise_if_any()
    realm = document.get("directory_realm") if isinstance(document, Mapping) else None
    if not isinstance(realm, str):
        raise WindowsRenderError(f"{display_path(path)}: directory_realm: missing or not a string")
    if "{{" in realm:
        raise WindowsRenderError(f"{display_path(path)}: directory_realm: {excerpt(realm)} is an expression "
                                 "that only Ansible resolves: give the realm with --realm")
    return checked_realm(realm, f"{display_path(path)}: directory_realm")


def checked_realm(realm: str, source: str) -> str:
    if not REALM.match(realm):
        raise WindowsRenderError(f"{source}: {excerpt(realm)} is not a DNS domain")
    return realm.upper()


def ps_literal(value: Any) -> str:
    """A PowerShell single-quoted literal: quotes (also the typographic ones PowerShell treats
    as quotes) doubled; control characters refused."""
    text = str(value)
    if not text.isprintable():
        raise WindowsRenderError(f"a value for the PowerShell script has a control character: "
                                 f"{excerpt(text)}")
    return "'" + re.sub("(['\u2018\u2019\u201a\u201b])", r"\1\1", text) + "'"


# ---------------------------------------------------------------------------
# The order, checked against the city and the profile as the orders check it


def workstation_from_order(order_path: Path, city: city_model.City, profiles: list[Mapping[str, Any]],
                           realm: str, profile_id: str) -> dict[str, Any]:
    """The order's plan (module_utils/orders.py): the organisation, site and profile are the
    city's and match; the prefix of the names the order gives (sod-ws-) and its serial."""
    try:
        order = orders.read_order(str(order_path), display_path(order_path))
        organisations = city_model.organisations_as_vars(city)
        planner = orders.Planner(source=display_path(order_path), order=order, organisations=organisations,
                                 accounts=[], computers=[], profiles=profiles,
                                 base_dn=city_names.base_dn(realm), mail_domain="")
        planner.check_fields("new_workstation")
        # Checks the organisation, the site, the profile and that the profile is for the
        # site's network, as the order's own check did; the name it numbers is not used.
        plan = planner.new_workstation()
    except orders.OrderError as error:
        raise WindowsRenderError(str(error)) from None
    if plan["asset"]["fields"]["Profil"] != profile_id:
        raise WindowsRenderError(f"{display_path(order_path)}: profile: the order is for "
                                 f"{plan['asset']['fields']['Profil']}, not {profile_id}")
    org = organisations[plan["organisation"]]
    site = next(s for s in org["sites"] if s["id"] == planner.text("site"))
    return {"prefix": plan["computer"]["name"].lower()[:-5],
            "organisation": org, "site": site, "serial": planner.text("serial")}


# ---------------------------------------------------------------------------
# The city CA's certificate for the machine's WinRM listener


def read_ca(ca_dir: Path) -> tuple[x509.Certificate, Any]:
    """The city CA as the city_ca role keeps it on the controller: ca.crt and ca.key (PEM)."""
    try:
        certificate = x509.load_pem_x509_certificate((ca_dir / "ca.crt").read_bytes())
        key = serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), password=None)
    except OSError as error:
        raise WindowsRenderError(f"{display_path(ca_dir)}: cannot read the city CA: {error.strerror} "
                                 f"({error.filename})") from None
    except ValueError as error:
        raise WindowsRenderError(f"{display_path(ca_dir)}: not the city CA's PEM files: {error}") from None
    return certificate, key


def issue_winrm_certificate(fqdn: str, ca_certificate: x509.Certificate, ca_key: Any,
                            now: datetime.datetime | None = None) -> tuple[bytes, str]:
    """A certificate for the machine's WinRM listener signed by the city CA, with its key, as
    a PKCS#12 file and the file's random password. RSA 3072: what every Windows 10/11 HTTP.sys
    takes for a listener; AES-256 PBES2 protection: Windows 10 1709 and later import it."""
    now = now or datetime.datetime.now(datetime.UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, fqdn)]))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=WINRM_CERTIFICATE_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(fqdn)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, content_commitment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    password = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    encryption = (serialization.PrivateFormat.PKCS12.encryption_builder()
                  .kdf_rounds(100_000)
                  .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
                  .hmac_hash(hashes.SHA256())
                  .build(password.encode()))
    pfx = pkcs12.serialize_key_and_certificates(fqdn.encode(), key, certificate, [ca_certificate], encryption)
    return pfx, password


# ---------------------------------------------------------------------------
# Rendering


def answer_values(profile: Mapping[str, Any], workstation: Mapping[str, Any], realm: str,
                  password: str, ca_certificate: x509.Certificate, pfx_password: str,
                  service_networks: list[str]) -> dict[str, Any]:
    """What the two templates are given."""
    try:
        time_zone = WINDOWS_TIME_ZONES[profile["timezone"]]
        input_locale = WINDOWS_KEYBOARDS[profile["keyboard"]]
    except KeyError as missing:
        raise WindowsRenderError(f"the spec's {missing.args[0]!r} has no Windows equivalent "
                                 "(WINDOWS_TIME_ZONES / WINDOWS_KEYBOARDS in windows_answer.py)") from None
    name = workstation["computer_name"]
    domain = realm.lower()
    return {
        "managed": MANAGED,
        "profile": profile["id"],
        "language": windows_language(profile["locale"]),
        "input_locale": input_locale,
        "time_zone": time_zone,
        "organisation_name": workstation["organisation"]["name"],
        "computer_name": name,
        "domain": domain,
        "fqdn": f"{name.lower()}.{domain}",
        "machine_password": password,
        "disk": DISK,
        "winrm_port": WINRM_HTTPS_PORT,
        "ca_certificate_base64": base64.b64encode(
            ca_certificate.public_bytes(serialization.Encoding.DER)).decode(),
        "ca_thumbprint": ca_certificate.fingerprint(hashes.SHA1()).hex().upper(),  # Windows' thumbprint
        "pfx_password": pfx_password,
        "service_networks": service_networks,
        "first_logon_command": (f"powershell.exe -NoProfile -ExecutionPolicy Bypass -File "
                                f"{SCRIPTS_ON_WINDOWS}\\{SCRIPT_NAME}"),
        "first_logon_description": f"WinRM over HTTPS ({WINRM_HTTPS_PORT}) with the city CA's certificate",
    }


def _environment(autoescape: bool) -> jinja2.Environment:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=autoescape,
                                     undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    environment.filters["ps"] = ps_literal
    return environment


def render_answer_file(values: Mapping[str, Any]) -> str:
    return _environment(autoescape=True).get_template("autounattend.xml.j2").render(values)


def render_script(values: Mapping[str, Any]) -> str:
    return _environment(autoescape=False).get_template(f"{SCRIPT_NAME}.j2").render(values)


def name_and_password_from_service(url: str, workstation: Mapping[str, Any], realm: str, profile_id: str,
                                   ca_dir: Path, out_dir: Path) -> tuple[str, str]:
    """The computer's name and one-time password, asked from the enrolment service for the
    order's serial. The output directory is made first: the service answers once, and its
    answer must not be lost to a directory that cannot be written."""
    made = not out_dir.exists()
    try:
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise WindowsRenderError(f"{display_path(out_dir)}: cannot make the output directory: "
                                 f"{error.strerror}") from None
    try:
        answer = windows_enrolment.checked_answer(
            windows_enrolment.ask(url, workstation["serial"], ca_dir / "ca.crt"),
            url=url, serial=workstation["serial"], realm=realm, profile=profile_id,
            organisation=workstation["organisation"]["code"], prefix=workstation["prefix"])
    except windows_enrolment.EnrolmentError as error:
        if made:
            out_dir.rmdir()
        raise WindowsRenderError(str(error)) from None
    return answer["computer_name"], answer["one_time_password"]


def render(profile_id: str, order_path: Path, name: str | None, out_dir: Path, *, inventory: Path,
           ca_dir: Path, machine_password_file: Path | None = None, enrolment_url: str | None = None,
           realm: str | None = None, spec_path: Path = workstation_spec.SPEC_FILE,
           profiles_path: Path = workstation_spec.PROFILES_FILE) -> dict[str, Path]:
    """Renders the medium's files for one ordered machine into `out_dir`; their paths. The
    machine's name and one-time password are either given (name, machine_password_file: a
    password an agent set on the account) or asked from the enrolment service with the order's
    serial (enrolment_url); the service answers a serial once, so it is asked last, when
    everything else has been checked."""
    by_hand = machine_password_file is not None
    if (enrolment_url is None) != by_hand or (name is not None) != by_hand:
        raise WindowsRenderError("give either --enrolment-url, or --computer-name with "
                                 "--machine-password-file")
    spec = workstation_spec.load_image_spec(spec_path, profiles_path)
    profile = spec["profiles"].get(profile_id)
    if profile is None:
        raise WindowsRenderError(f"PROFILE: unknown profile {excerpt(profile_id)} "
                                 f"(profiles: {', '.join(spec['profiles'])})")
    realm = checked_realm(realm, "--realm") if realm else realm_from_inventory(inventory)
    configs = city_model.find_plugin_configs(inventory)
    if not configs:
        raise WindowsRenderError(f"{display_path(inventory)}: no city.yml: not an inventory of the city")
    city = city_model.load_from_config(city_model.read_plugin_config(configs[0]))
    workstation = workstation_from_order(order_path, city, list(spec["profiles"].values()), realm, profile_id)
    ca_certificate, ca_key = read_ca(ca_dir)
    if enrolment_url is None:
        workstation["computer_name"] = computer_name(name, workstation["prefix"])
        try:
            password = machine_password(machine_password_file.read_text(encoding="utf-8"),
                                        display_path(machine_password_file))
        except (OSError, UnicodeDecodeError) as error:
            raise WindowsRenderError(f"{display_path(machine_password_file)}: cannot read the machine "
                                     f"password: {getattr(error, 'strerror', None) or error}") from None
    else:
        workstation["computer_name"], password = name_and_password_from_service(
            enrolment_url, workstation, realm, profile_id, ca_dir, out_dir)
    fqdn = f"{workstation['computer_name'].lower()}.{realm.lower()}"
    pfx, pfx_password = issue_winrm_certificate(fqdn, ca_certificate, ca_key)
    values = answer_values(profile, workstation, realm, password, ca_certificate, pfx_password,
                           city_model.networks_as_vars(city)["service"])
    files = {
        "answer_file": (out_dir / "autounattend.xml", render_answer_file(values).encode("utf-8")),
        "script": (out_dir / SCRIPTS_ON_MEDIUM / SCRIPT_NAME, render_script(values).encode("utf-8-sig")),
        "certificate": (out_dir / SCRIPTS_ON_MEDIUM / "winrm.pfx", pfx),
    }
    for path, content in files.values():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
        os.chmod(path, 0o600)
    return {key: path for key, (path, _content) in files.items()}


__all__ = ["CityDataError", "WindowsRenderError", "render", "render_answer_file", "render_script"]
