"""A Windows machine's medium with the name and one-time password from the enrolment service
(render-windows --enrolment-url). The service here is a small HTTPS server on this machine that
answers as roles/servicedesk/files/servicedesk-enrol does; the real service, the directory and
the ticket are exercised in tests/e2e/test_enrolment.py."""

from __future__ import annotations

import datetime
import http.server
import json
import ssl
import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from test_windows_unattend import NS, REPO, component, medium, value, windows_answer  # noqa: F401
from windows_answer import WindowsRenderError

PASSWORD = "Q7xT2mPa9LwZ4cRb8NvK3hJd6FsY1uGe"
ANSWER = {"computer_name": "SOD-WS-00107", "dns_domain": "ad.stockholm.se", "realm": "AD.STOCKHOLM.SE",
          "one_time_password": PASSWORD, "organisation": "SOD", "profile": "kontor-stationar",
          "domain_controller": "dc1.ad.stockholm.se"}


class Service:
    """Answers every POST with (status, body) and records the requests' bodies."""

    def __init__(self, certificate: Path, key: Path) -> None:
        self.reply: tuple[int, Any] = (200, ANSWER)
        self.requests: list[Any] = []
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                service.requests.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                status, body = service.reply
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://localhost:{self.server.server_address[1]}/enrol"


def signed_certificate(ca_dir: Path, directory: Path, issuer_key: Any = None) -> tuple[Path, Path]:
    """A server certificate for localhost, signed by the CA in ca_dir (or by issuer_key)."""
    ca = x509.load_pem_x509_certificate((ca_dir / "ca.crt").read_bytes())
    ca_key = issuer_key or serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(exist_ok=True)
    (directory / "server.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return directory / "server.crt", directory / "server.key"


def serve(certificate: tuple[Path, Path]) -> Iterator[Service]:
    service = Service(*certificate)
    thread = threading.Thread(target=service.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.server.shutdown()
        service.server.server_close()


@pytest.fixture
def service(medium: dict[str, Path], tmp_path: Path) -> Iterator[Service]:  # noqa: F811 (the imported fixture)
    yield from serve(signed_certificate(medium["ca"], tmp_path / "tls"))


def render(medium: dict[str, Path], url: str, **options: Any) -> dict[str, Path]:  # noqa: F811
    return windows_answer.render("kontor-stationar", medium["order"], None, medium["out"],
                                 inventory=REPO / "inventory" / "stockholm", ca_dir=medium["ca"],
                                 enrolment_url=url, **options)


def test_the_service_gives_the_orders_name_and_the_password_the_machine_joins_with(
        medium: dict[str, Path], service: Service) -> None:  # noqa: F811
    root = ElementTree.parse(render(medium, service.url)["answer_file"]).getroot()
    assert service.requests == [{"serial": "ABC12345"}]  # the order's serial, asked once
    setup = component(root, "specialize", "Microsoft-Windows-Shell-Setup")
    assert value(setup, "ComputerName") == "SOD-WS-00107"
    join = component(root, "specialize", "Microsoft-Windows-UnattendedJoin")
    assert value(join, "Identification/JoinDomain") == "ad.stockholm.se"
    assert value(join, "Identification/MachinePassword") == PASSWORD
    assert oct(medium["out"].stat().st_mode & 0o777) == "0o700"


@pytest.mark.parametrize(("reply", "problem"), [
    ((404, {"error": "Serienumret ABC12345 är inte registrerat – beställ datorn via servicedesken."}),
     r"serial ABC12345: refused \(HTTP 404\): Serienumret ABC12345 är inte registrerat"),
    ((409, {"error": "Datorn har redan anslutits."}), r"refused \(HTTP 409\): Datorn har redan anslutits"),
    ((200, {**ANSWER, "organisation": "BRO"}),
     r"the computer is 'BRO''s 'kontor-stationar', the order SOD's"),
    ((200, {**ANSWER, "computer_name": "BRO-WS-00001"}), r"'BRO-WS-00001' is not the order's kind of name"),
    ((200, {**ANSWER, "computer_name": "SOD-WS-00107\r\nX"}), r"is not the order's kind of name"),
    ((200, {**ANSWER, "realm": "EVIL.EXAMPLE"}), r"the realm 'EVIL.EXAMPLE' is not AD.STOCKHOLM.SE"),
    ((200, {**ANSWER, "one_time_password": "kort"}), r"the one-time password is not a usable secret"),
    ((200, ["not", "an", "object"]), r"the answer is not a JSON object"),
])
def test_a_refusal_or_an_answer_that_does_not_fit_the_order_renders_nothing(
        medium: dict[str, Path], service: Service,  # noqa: F811
        reply: tuple[int, Any], problem: str) -> None:
    service.reply = reply
    with pytest.raises(WindowsRenderError, match=problem) as raised:
        render(medium, service.url)
    assert not medium["out"].exists()
    assert "kort" not in str(raised.value)
    if reply[0] == 200 and isinstance(reply[1], dict):
        assert "sets the asset back to `new`" in str(raised.value)


def test_nothing_is_asked_when_the_order_or_the_url_is_wrong(
        medium: dict[str, Path], service: Service) -> None:  # noqa: F811
    with pytest.raises(WindowsRenderError, match=r"is not an https:// URL"):
        render(medium, service.url.replace("https:", "http:"))
    medium["order"].write_text(medium["order"].read_text().replace("sod_hornstull", "sod_<script>"),
                               encoding="utf-8")
    with pytest.raises(WindowsRenderError, match=r"^order.yml: site: "):
        render(medium, service.url)
    assert service.requests == []


def test_a_service_whose_certificate_the_city_ca_did_not_sign_is_not_asked(
        medium: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    stranger = ec.generate_private_key(ec.SECP384R1())
    other = signed_certificate(medium["ca"], tmp_path / "other", issuer_key=stranger)
    for impostor in serve(other):
        with pytest.raises(WindowsRenderError, match=r"not reachable \(.*CERTIFICATE_VERIFY_FAILED"):
            render(medium, impostor.url)
        assert impostor.requests == []


def test_the_two_ways_exclude_each_other(medium: dict[str, Path], service: Service) -> None:  # noqa: F811
    with pytest.raises(WindowsRenderError, match=r"^give either --enrolment-url, or --computer-name with"):
        render(medium, service.url, machine_password_file=medium["password"])
    with pytest.raises(WindowsRenderError, match=r"^give either"):
        windows_answer.render("kontor-stationar", medium["order"], "SOD-WS-00042", medium["out"],
                              inventory=REPO / "inventory" / "stockholm", ca_dir=medium["ca"])
    assert service.requests == []
