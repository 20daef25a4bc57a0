"""A replay of WS-Management responses, NOT a Windows machine: a local HTTP server
(standard library) that answers pywinrm's requests for one `run_ps` (Shell Create,
Command, Receive until Done, Signal terminate, Shell Delete) with the envelopes in
tests/unit/fixtures/winrm/ (see its README).

It checks what a real WinRM service would refuse — no Basic credentials, a ShellId or
CommandId other than the ones it handed out — and that the script sent is the one the
responses were written for (script.sha256), so that a changed script cannot pass against
stale answers. Each response's RelatesTo is set to the request's MessageID, which pywinrm
checks. Anything unexpected is kept in `errors` and answered with HTTP 500.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "winrm"
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
ACTIONS = {
    "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create": "create",
    f"{SHELL_URI}/Command": "command",
    f"{SHELL_URI}/Receive": "receive",
    f"{SHELL_URI}/Signal": "signal",
    "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete": "delete",
}
NS = {"a": "http://schemas.xmlsoap.org/ws/2004/08/addressing", "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
      "rsp": SHELL_URI}
RELATES_TO = re.compile(r"<a:RelatesTo>uuid:[0-9A-Fa-f-]+</a:RelatesTo>")


class Replay(http.server.ThreadingHTTPServer):
    def __init__(self, directory: Path = FIXTURES) -> None:
        super().__init__(("127.0.0.1", 0), ReplayHandler)
        self.directory = directory
        self.errors: list[str] = []
        self.sequence: list[str] = []
        self.receives = 0
        self.shell_id = ET.parse(directory / "create.xml").find(".//w:Selector[@Name='ShellId']", NS).text
        self.command_id = ET.parse(directory / "command.xml").find(".//rsp:CommandId", NS).text
        self.script_sha256 = (directory / "script.sha256").read_text(encoding="ascii").strip()
        self.scripts: list[str] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/wsman"

    def answer(self, body: bytes, authorization: str | None) -> tuple[int, bytes]:
        if not (authorization or "").startswith("Basic "):
            return 401, b""
        try:
            request = ET.fromstring(body)
            action = request.find(".//a:Action", NS).text
            message_id = request.find(".//a:MessageID", NS).text
            step = ACTIONS[action]
            self.sequence.append(step)
            self.check(step, request)
        except (ET.ParseError, AttributeError, KeyError, ValueError) as error:
            self.errors.append(f"{type(error).__name__}: {error}")
            return 500, b""
        name = step
        if step == "receive":
            self.receives += 1
            name = f"receive-{min(self.receives, 2)}"
        response = (self.directory / f"{name}.xml").read_text(encoding="utf-8")
        return 200, RELATES_TO.sub(f"<a:RelatesTo>{message_id}</a:RelatesTo>", response).encode("utf-8")

    def check(self, step: str, request: ET.Element) -> None:
        if step == "create":
            return
        shell = request.find(".//w:Selector[@Name='ShellId']", NS)
        if shell is None or shell.text != self.shell_id:
            raise ValueError(f"{step}: ShellId {getattr(shell, 'text', None)}, expected {self.shell_id}")
        if step == "command":
            line = request.find(".//rsp:Command", NS).text
            encoded = line.split("-encodedcommand ", 1)[1]
            script = base64.b64decode(encoded).decode("utf-16-le")
            self.scripts.append(script)
            if hashlib.sha256(script.encode()).hexdigest() != self.script_sha256:
                raise ValueError("command: the script is not the one these responses answer; write new "
                                 "responses for it (tests/unit/fixtures/winrm/README.md)")
        elif step in ("receive", "signal"):
            element = request.find(".//rsp:DesiredStream", NS) if step == "receive" else \
                request.find(".//rsp:Signal", NS)
            if element is None or element.get("CommandId") != self.command_id:
                raise ValueError(f"{step}: CommandId is not {self.command_id}")


class ReplayHandler(http.server.BaseHTTPRequestHandler):
    server: Replay

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, answer = self.server.answer(body, self.headers.get("Authorization"))
        self.send_response(status)
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="WSMAN"')
        self.send_header("Server", "Microsoft-HTTPAPI/2.0")
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def replaying(directory: Path = FIXTURES) -> Iterator[Replay]:
    server = Replay(directory)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
