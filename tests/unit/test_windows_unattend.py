"""A Windows workstation's answer file is rendered from the same spec as the Linux image
(workstation_image/render-windows). No Windows machine exists here: these tests check the
rendered file's structure and values, and the post-install playbook's syntax."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workstation_image" / "windows"))

import windows_answer  # noqa: E402
from windows_answer import WindowsRenderError  # noqa: E402

NS = {"u": "urn:schemas-microsoft-com:unattend"}
WCM = "{http://schemas.microsoft.com/WMIConfig/2002/State}action"
ORDER = """\
ticket: '42'
organisation: sodermalm
site: sod_hornstull
profile: kontor-stationar
serial: ABC12345
model: Lenovo ThinkCentre M70q
"""
MACHINE_PASSWORD = "Engångs-lösen<&>'\"-7Qx2"


@pytest.fixture
def medium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.chdir(tmp_path)
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Gemensam IT CA")])
    now = datetime.datetime.now(datetime.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    ca_dir = tmp_path / "ca"
    ca_dir.mkdir()
    (ca_dir / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (ca_dir / "ca.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (tmp_path / "order.yml").write_text(ORDER, encoding="utf-8")
    (tmp_path / "machine-password").write_text(MACHINE_PASSWORD + "\n", encoding="utf-8")
    return {
        "dir": tmp_path,
        "ca": ca_dir,
        "order": tmp_path / "order.yml",
        "password": tmp_path / "machine-password",
        "out": tmp_path / "out",
    }


def render(
    medium: dict[str, Path], profile: str = "kontor-stationar", name: str = "SOD-WS-00042", **options: object
) -> dict[str, Path]:
    return windows_answer.render(
        profile,
        medium["order"],
        name,
        medium["out"],
        inventory=REPO / "inventory" / "stockholm",
        machine_password_file=medium["password"],
        ca_dir=medium["ca"],
        **options,
    )


def component(root: ElementTree.Element, passname: str, name: str) -> ElementTree.Element:
    found = root.findall(f"u:settings[@pass='{passname}']/u:component[@name='{name}']", NS)
    assert len(found) == 1, f"{name} in {passname}"
    return found[0]


def value(element: ElementTree.Element, path: str) -> str | None:
    return element.findtext("/".join(f"u:{part}" for part in path.split("/")), namespaces=NS)


def test_the_answer_file_has_the_passes_and_components_windows_setup_reads(medium: dict[str, Path]) -> None:
    root = ElementTree.parse(render(medium)["answer_file"]).getroot()
    assert root.tag == "{urn:schemas-microsoft-com:unattend}unattend"
    assert [s.get("pass") for s in root.findall("u:settings", NS)] == [
        "windowsPE",
        "specialize",
        "oobeSystem",
    ]
    for passname, name in [
        ("windowsPE", "Microsoft-Windows-International-Core-WinPE"),
        ("windowsPE", "Microsoft-Windows-Setup"),
        ("specialize", "Microsoft-Windows-Shell-Setup"),
        ("specialize", "Microsoft-Windows-UnattendedJoin"),
        ("oobeSystem", "Microsoft-Windows-International-Core"),
        ("oobeSystem", "Microsoft-Windows-Shell-Setup"),
    ]:
        found = component(root, passname, name)
        assert found.get("processorArchitecture") == "amd64"
        assert found.get("publicKeyToken") == "31bf3856ad364e35"


def test_swedish_locale_keyboard_and_time_zone_come_from_the_spec(medium: dict[str, Path]) -> None:
    root = ElementTree.parse(render(medium)["answer_file"]).getroot()
    for passname, name in [
        ("windowsPE", "Microsoft-Windows-International-Core-WinPE"),
        ("oobeSystem", "Microsoft-Windows-International-Core"),
    ]:
        international = component(root, passname, name)
        for key in ("SystemLocale", "UILanguage", "UserLocale"):
            assert value(international, key) == "sv-SE"
        assert value(international, "InputLocale") == "041d:0000041d"  # sv-SE, the Swedish layout
    assert (
        value(
            component(root, "windowsPE", "Microsoft-Windows-International-Core-WinPE"),
            "SetupUILanguage/UILanguage",
        )
        == "sv-SE"
    )
    for passname in ("specialize", "oobeSystem"):
        assert (
            value(component(root, passname, "Microsoft-Windows-Shell-Setup"), "TimeZone")
            == "W. Europe Standard Time"
        )


def test_the_computer_joins_the_citys_domain_as_the_orders_pre_staged_account(
    medium: dict[str, Path],
) -> None:
    answer = render(medium)["answer_file"]
    root = ElementTree.parse(answer).getroot()
    assert (
        value(component(root, "specialize", "Microsoft-Windows-Shell-Setup"), "ComputerName")
        == "SOD-WS-00042"
    )
    assert (
        value(component(root, "windowsPE", "Microsoft-Windows-Setup"), "UserData/Organization")
        == "Södermalms stadsdelsnämnd"
    )
    join = component(root, "specialize", "Microsoft-Windows-UnattendedJoin")
    # The inventory's directory_realm, AD.STOCKHOLM.SE, as a DNS domain.
    assert value(join, "Identification/JoinDomain") == "ad.stockholm.se"
    assert value(join, "Identification/UnsecureJoin") == "true"
    assert value(join, "Identification/MachinePassword") == MACHINE_PASSWORD
    assert join.find("u:Identification/u:Credentials", NS) is None
    assert "Credentials" not in answer.read_text(encoding="utf-8")
    assert oct(answer.stat().st_mode & 0o777) == "0o600"
    assert oct(medium["out"].stat().st_mode & 0o777) == "0o700"


def test_the_disk_is_uefi_gpt_with_efi_msr_and_windows(medium: dict[str, Path]) -> None:
    root = ElementTree.parse(render(medium)["answer_file"]).getroot()
    disk = component(root, "windowsPE", "Microsoft-Windows-Setup").find("u:DiskConfiguration/u:Disk", NS)
    assert disk.get(WCM) == "add" and value(disk, "WillWipeDisk") == "true"
    partitions = [
        (value(p, "Type"), value(p, "Size"), value(p, "Extend"))
        for p in disk.findall("u:CreatePartitions/u:CreatePartition", NS)
    ]
    assert partitions == [("EFI", "260", None), ("MSR", "16", None), ("Primary", None, "true")]
    formats = [
        (value(p, "PartitionID"), value(p, "Format"), value(p, "Letter"))
        for p in disk.findall("u:ModifyPartitions/u:ModifyPartition", NS)
    ]
    assert formats == [("1", "FAT32", None), ("3", "NTFS", "C")]
    install_to = component(root, "windowsPE", "Microsoft-Windows-Setup").find(
        "u:ImageInstall/u:OSImage/u:InstallTo", NS
    )
    assert (value(install_to, "DiskID"), value(install_to, "PartitionID")) == ("0", "3")


def test_the_first_logon_opens_winrm_over_https_with_the_city_cas_certificate(
    medium: dict[str, Path],
) -> None:
    files = render(medium)
    root = ElementTree.parse(files["answer_file"]).getroot()
    commands = component(root, "oobeSystem", "Microsoft-Windows-Shell-Setup").findall(
        "u:FirstLogonCommands/u:SynchronousCommand", NS
    )
    assert len(commands) == 1
    assert value(commands[0], "CommandLine").endswith(r"-File C:\Windows\Setup\Scripts\Enable-WinRMHttps.ps1")
    assert files["script"].parent.relative_to(medium["out"]).as_posix() == "sources/$OEM$/$$/Setup/Scripts"
    script = files["script"].read_text(encoding="utf-8-sig")
    assert "$Port = 5986" in script
    assert "-Transport HTTPS" in script and "Transport=HTTP'" in script  # HTTPS added, HTTP removed
    assert "$Fqdn = 'sod-ws-00042.ad.stockholm.se'" in script
    assert "$ServiceNetworks = @('10.0.0.0/16')" in script
    ca = x509.load_pem_x509_certificate((medium["ca"] / "ca.crt").read_bytes())
    assert f"$CaThumbprint = '{ca.fingerprint(hashes.SHA1()).hex().upper()}'" in script
    password = script.split("$PfxPassword = '")[1].split("'")[0]
    _key, certificate, _chain = pkcs12.load_key_and_certificates(
        files["certificate"].read_bytes(), password.encode()
    )
    assert certificate.issuer == ca.subject
    assert certificate.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName) == ["sod-ws-00042.ad.stockholm.se"]
    ca.public_key().verify(
        certificate.signature,
        certificate.tbs_certificate_bytes,
        ec.ECDSA(certificate.signature_hash_algorithm),
    )


# -- Hostile and wrong values are refused, naming where they came from ------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("SOD-WS<00042", "--computer-name: 'sod-ws<00042' is not a valid host name"),
        (
            "SOD-WS-000420000",
            "--computer-name: 'sod-ws-000420000' is not a valid host name (lowercase ASCII "
            "letters, digits and '-', at most 15 characters)",
        ),
        (
            "BRO-WS-00042",
            "--computer-name: 'BRO-WS-00042' is not a name the order gives: expected SOD-WS-<5 digits>",
        ),
        (
            "SOD-LT-00042",
            "--computer-name: 'SOD-LT-00042' is not a name the order gives: expected SOD-WS-<5 digits>",
        ),
    ],
)
def test_a_computer_name_that_is_not_the_orders_is_refused(
    medium: dict[str, Path], name: str, problem: str
) -> None:
    with pytest.raises(WindowsRenderError) as raised:
        render(medium, name=name)
    assert str(raised.value).startswith(problem)
    assert not medium["out"].exists()


def test_an_order_for_another_profile_or_a_hostile_order_is_refused(medium: dict[str, Path]) -> None:
    with pytest.raises(
        WindowsRenderError,
        match=r"^order.yml: profile: the order is for kontor-stationar, "
        r"not kontor-barbar$",
    ):
        render(medium, profile="kontor-barbar", name="SOD-LT-00042")
    medium["order"].write_text(ORDER.replace("sod_hornstull", "sod_<script>"), encoding="utf-8")
    with pytest.raises(WindowsRenderError, match=r"^order.yml: site: "):
        render(medium)
    medium["order"].write_text(ORDER.replace("kontor-stationar", "skola-elev"), encoding="utf-8")
    with pytest.raises(WindowsRenderError, match=r"skola-elev is for the edu network, but sod_hornstull"):
        render(medium, profile="skola-elev")


def test_a_short_or_multi_line_machine_password_is_refused_without_echoing_it(
    medium: dict[str, Path],
) -> None:
    medium["password"].write_text("kort\n", encoding="utf-8")
    with pytest.raises(WindowsRenderError, match=r"^machine-password: the machine password has 4 characters"):
        render(medium)
    medium["password"].write_text("a-long-enough-secret\nsecond line", encoding="utf-8")
    with pytest.raises(WindowsRenderError) as raised:
        render(medium)
    assert "secret" not in str(raised.value)


def test_xml_and_powershell_special_characters_are_escaped(medium: dict[str, Path]) -> None:
    text = render(medium)["answer_file"].read_text(encoding="utf-8")
    assert "Engångs-lösen&lt;&amp;&gt;&#39;&#34;-7Qx2" in text
    assert windows_answer.ps_literal("O'Brien\u2019s") == "'O''Brien\u2019\u2019s'"
    with pytest.raises(WindowsRenderError, match="control character"):
        windows_answer.ps_literal("a\nb")


def test_a_realm_that_only_ansible_resolves_must_be_given(medium: dict[str, Path], tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(REPO / "inventory" / "lab" / "group_vars", inventory / "group_vars")
    with pytest.raises(WindowsRenderError, match=r"directory_realm: .* give the realm with --realm"):
        windows_answer.realm_from_inventory(inventory)
    with pytest.raises(WindowsRenderError, match=r"^--realm: 'lab gemensam' is not a DNS domain"):
        render(medium, realm="lab gemensam")
    root = ElementTree.parse(render(medium, realm="LAB.GEMENSAM.TEST")["answer_file"]).getroot()
    assert (
        value(component(root, "specialize", "Microsoft-Windows-UnattendedJoin"), "Identification/JoinDomain")
        == "lab.gemensam.test"
    )


def test_the_command_renders_or_says_what_is_wrong(medium: dict[str, Path]) -> None:
    command = [
        sys.executable,
        str(REPO / "workstation_image" / "render-windows"),
        "kontor-stationar",
        "--order",
        "order.yml",
        "--machine-password-file",
        "machine-password",
        "--ca-dir",
        "ca",
        "out",
    ]
    bad = subprocess.run(
        [*command, "--computer-name", "SOD-WS-0004<"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("--computer-name: 'sod-ws-0004<' is not a valid host name")
    good = subprocess.run(
        [*command, "--computer-name", "sod-ws-00042"], capture_output=True, text=True, check=False
    )
    assert good.returncode == 0, good.stderr
    assert good.stdout.splitlines()[0] == "out/autounattend.xml"


# -- The post-install playbook ------------------------------------------------------------------


def test_the_post_install_playbook_passes_ansible_playbooks_syntax_check() -> None:
    playbook = shutil.which("ansible-playbook", path=str(REPO / ".venv" / "bin")) or shutil.which(
        "ansible-playbook"
    )
    if playbook is None:
        pytest.skip("ansible-playbook is not installed (make venv installs it)")
    environment = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    result = subprocess.run(
        [playbook, "--syntax-check", "-i", "localhost,", "playbooks/workstation_windows.yml"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
