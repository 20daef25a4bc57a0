"""migration/discovery/ipp.py: the CUPS-Get-Printers request it sends and the answers it
reads, encoded here byte by byte as RFC 8010 lays them out and served by a local HTTP
server. The real conversation with CUPS is tested against the stand-in
(roles/legacy_print_server, Molecule verify)."""

from __future__ import annotations

import http.server
import socket
import struct
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from migration.discovery import ipp  # noqa: E402


def attribute(tag: int, name: str, value: bytes) -> bytes:
    encoded = name.encode("utf-8")
    return struct.pack(">BH", tag, len(encoded)) + encoded + struct.pack(">H", len(value)) + value


def text(tag: int, name: str, value: str) -> bytes:
    return attribute(tag, name, value.encode("utf-8"))


def integer(tag: int, name: str, value: int) -> bytes:
    return attribute(tag, name, struct.pack(">i", value))


def answer(status: int, *printers: bytes, request_id: int = ipp.REQUEST_ID, message: str = "") -> bytes:
    data = struct.pack(">BBHI", 1, 1, status, request_id)
    data += bytes([0x01]) + text(0x47, "attributes-charset", "utf-8")
    data += text(0x48, "attributes-natural-language", "en")
    if message:
        data += text(0x41, "status-message", message)
    for printer in printers:
        data += bytes([0x04]) + printer
    return data + bytes([0x03])


def printer(name: str, location: str, model: str, uri: str, *,
            accepting: bool = True, jobs: int = 0) -> bytes:
    return (text(0x42, "printer-name", name) + text(0x45, "device-uri", uri)
            + text(0x41, "printer-make-and-model", model) + text(0x41, "printer-location", location)
            + text(0x41, "printer-info", f"{name} info") + integer(0x23, "printer-state", 3)
            + integer(0x21, "queued-job-count", jobs)
            + attribute(0x22, "printer-is-accepting-jobs", b"\x01" if accepting else b"\x00"))


TWO_PRINTERS = answer(
    0x0000,
    printer("ROSENLUND-06-LJ2100",
            "Södermalms stadsdelsförvaltning, Rosenlundsgatan 60, plan 3, kopieringsrummet",
            "HP LaserJet Series PCL 4/5", "socket://10.18.0.50:9100"),
    printer("HORNSTULL-02-DJ990", "Förskoleområde Hornstull, Förskolekontoret, personalrummet",
            "HP DeskJet Series", "socket://10.18.8.50:9100", accepting=False, jobs=2),
)


class Server:
    """A one-answer HTTP server on 127.0.0.1: what it answers, and the requests it got."""

    def __init__(self, body: bytes, status: int = 200, content_type: str = "application/ipp") -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                outer.requests.append((self.path, dict(self.headers), self.rfile.read(length)))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *arguments) -> None:
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exception) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator:
    servers: list[Server] = []

    def start(body: bytes, **options) -> Server:
        server = Server(body, **options).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()


def test_two_printers_are_read_with_their_swedish_locations_and_typed_values(serve):
    server = serve(TWO_PRINTERS)
    printers = ipp.get_printers("127.0.0.1", server.port, timeout=5)
    assert printers == [
        {"printer-name": "ROSENLUND-06-LJ2100", "device-uri": "socket://10.18.0.50:9100",
         "printer-make-and-model": "HP LaserJet Series PCL 4/5",
         "printer-location": "Södermalms stadsdelsförvaltning, Rosenlundsgatan 60, plan 3, kopieringsrummet",
         "printer-info": "ROSENLUND-06-LJ2100 info", "printer-state": 3, "queued-job-count": 0,
         "printer-is-accepting-jobs": True},
        {"printer-name": "HORNSTULL-02-DJ990", "device-uri": "socket://10.18.8.50:9100",
         "printer-make-and-model": "HP DeskJet Series",
         "printer-location": "Förskoleområde Hornstull, Förskolekontoret, personalrummet",
         "printer-info": "HORNSTULL-02-DJ990 info", "printer-state": 3, "queued-job-count": 2,
         "printer-is-accepting-jobs": False},
    ]
    assert isinstance(printers[0]["printer-is-accepting-jobs"], bool)


def test_the_request_is_cups_get_printers_in_utf_8_asking_for_the_queue_attributes(serve):
    server = serve(TWO_PRINTERS)
    ipp.get_printers("127.0.0.1", server.port, timeout=5)
    [(path, headers, body)] = server.requests
    assert path == "/"
    assert headers["Content-Type"] == "application/ipp"
    version, operation, request_id = struct.unpack(">HHI", body[:8])
    assert (version, operation, request_id) == (0x0101, 0x4002, ipp.REQUEST_ID)
    # The request is an IPP message too: read it back with the same parser.
    _, [operation_group] = ipp.parse_response(body[:2] + b"\x00\x00" + body[4:])
    assert operation_group["attributes-charset"] == "utf-8"
    assert operation_group["attributes-natural-language"] == "en"
    assert operation_group["requested-attributes"] == [
        "printer-name", "device-uri", "printer-make-and-model", "printer-location", "printer-info",
        "printer-state", "queued-job-count", "printer-is-accepting-jobs"]


def test_an_error_status_is_raised_with_its_code_in_hex_and_the_servers_message(serve):
    server = serve(answer(0x0401, message="Forbidden"))
    with pytest.raises(ipp.IppError, match=r"status 0x0401 \(Forbidden\)") as raised:
        ipp.get_printers("127.0.0.1", server.port, timeout=5)
    assert raised.value.status == 0x0401


def test_a_server_without_queues_has_none(serve):
    server = serve(answer(0x0406, message="No destinations added."))
    assert ipp.get_printers("127.0.0.1", server.port, timeout=5) == []


def test_a_successful_status_other_than_ok_still_lists_the_printers():
    # successful-ok-ignored-or-substituted-attributes (0x0001) is a success.
    status, groups = ipp.parse_response(answer(0x0001, printer("A", "plan 1", "M", "socket://10.0.0.1:9100")))
    assert status == 0x0001
    assert [group["printer-name"] for group in groups if group["group-tag"] == 0x04] == ["A"]


@pytest.mark.parametrize("cut", [3, 9, 20, len(TWO_PRINTERS) // 2, len(TWO_PRINTERS) - 1])
def test_a_truncated_answer_is_refused_naming_the_offset(serve, cut):
    server = serve(TWO_PRINTERS[:cut])
    with pytest.raises(ipp.IppError, match=r"offset \d+"):
        ipp.get_printers("127.0.0.1", server.port, timeout=5)


def test_the_truncation_offset_is_where_the_value_was_cut():
    data = TWO_PRINTERS[:-3]  # the end tag, the last boolean's value and half its length gone
    with pytest.raises(ipp.IppError, match=rf"cut short at offset {len(data) - 1}: value length needs 2"):
        ipp.parse_response(data)


@pytest.mark.parametrize("data, problem", [
    (answer(0, attribute(0x21, "queued-job-count", b"\x00\x01")), "an integer of 2 bytes"),
    (answer(0, attribute(0x41, "printer-location", b"S\xf6dermalm")), "is not UTF-8"),
    (answer(0, request_id=7), "request id 7"),
    (struct.pack(">BBHI", 1, 1, 0, 1) + text(0x42, "printer-name", "A") + b"\x03",
     "a value before any group"),
    (answer(0, attribute(0x42, "", b"A")), "a further value without an attribute"),
])
def test_a_malformed_answer_is_refused_naming_what_and_where(data, problem):
    with pytest.raises(ipp.IppError) as raised:
        ipp.parse_response(data)
    assert problem in str(raised.value)
    assert "offset" in str(raised.value)


def test_further_values_make_a_list_and_collections_are_skipped():
    data = answer(0, text(0x42, "printer-name", "A")
                  + text(0x44, "printer-type-supported", "one")
                  + text(0x44, "", "two") + text(0x44, "", "three")
                  + attribute(0x34, "media-col-default", b"") + text(0x4A, "", "media-size")
                  + attribute(0x34, "", b"") + text(0x4A, "", "x-dimension") + integer(0x21, "", 21000)
                  + attribute(0x37, "", b"") + attribute(0x37, "", b"")
                  + attribute(0x13, "printer-info", b""))
    _, [_, group] = ipp.parse_response(data)
    assert group == {"group-tag": 0x04, "printer-name": "A",
                     "printer-type-supported": ["one", "two", "three"],
                     "media-col-default": None, "printer-info": None}


def test_a_refusal_over_http_is_raised(serve):
    server = serve(b"Forbidden", status=403, content_type="text/html")
    with pytest.raises(ipp.IppError, match="HTTP 403"):
        ipp.get_printers("127.0.0.1", server.port, timeout=5)


def test_an_answer_beyond_the_limit_is_refused(serve, monkeypatch):
    monkeypatch.setattr(ipp, "MAX_RESPONSE", 64)
    server = serve(TWO_PRINTERS)
    with pytest.raises(ipp.IppError, match="larger than 64 bytes"):
        ipp.get_printers("127.0.0.1", server.port, timeout=5)


def test_one_queue_is_read_by_get_printer_attributes_on_its_uri(serve):
    server = serve(answer(0, printer("GOTGATAN-X1-LJ5", "Södermalms medborgarkontor, skrivaren är skrotad",
                                     "HP LaserJet Series PCL 4/5", "socket://10.18.4.60:9100")))
    found = ipp.get_printer_attributes("127.0.0.1", "GOTGATAN-X1-LJ5", server.port, timeout=5)
    assert found["printer-location"] == "Södermalms medborgarkontor, skrivaren är skrotad"
    [(_, _, body)] = server.requests
    assert struct.unpack(">H", body[2:4])[0] == 0x000B
    _, [operation_group] = ipp.parse_response(body[:2] + b"\x00\x00" + body[4:])
    assert operation_group["printer-uri"] == f"ipp://127.0.0.1:{server.port}/printers/GOTGATAN-X1-LJ5"


def test_a_queue_name_is_quoted_in_its_uri_and_an_ipv6_address_bracketed():
    assert ipp.queue_uri("fd00::5", 631, "Kö 1/2") == "ipp://[fd00::5]:631/printers/K%C3%B6%201%2F2"


def test_the_command_line_prints_the_queues_as_json_and_fails_with_the_reason(serve, capsys):
    server = serve(TWO_PRINTERS)
    assert ipp.main(["127.0.0.1", "--port", str(server.port)]) == 0
    assert '"printer-location": "Förskoleområde Hornstull' in capsys.readouterr().out
    refusing = serve(answer(0x0401, message="Forbidden"))
    assert ipp.main(["127.0.0.1", "--port", str(refusing.port)]) == 1
    assert "status 0x0401" in capsys.readouterr().err


def test_a_server_that_speaks_no_http_is_an_ipp_error():
    listener = socket.create_server(("127.0.0.1", 0))

    def answer_garbage() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        with pytest.raises(ipp.IppError, match=r"no HTTP answer \(BadStatusLine\)"):
            ipp.get_printers("127.0.0.1", listener.getsockname()[1], timeout=5)
    finally:
        thread.join(5)
        listener.close()
