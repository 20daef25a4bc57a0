"""The wave's change ticket in the servicedesk (Request Tracker's REST 2.0): the move checks,
before it touches anything, that the ticket it was given is a change (Ärendetyp: Ändring),
and writes each run's summary on it as a comment.

Spoken over HTTPS with the city CA's certificate only, the automation's token read from a
file (never a command line)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TICKET_TYPE_FIELD = "Ärendetyp"
CHANGE = "Ändring"
TIMEOUT = 60


class ServicedeskError(Exception):
    """The servicedesk refused or could not be reached; the message says which ticket."""


@dataclass(frozen=True)
class ChangeTicket:
    url: str          # https://desk1.<domain>
    token: str
    ticket: int
    ca_file: Path | None = None

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        request = urllib.request.Request(
            f"{self.url.rstrip('/')}/REST/2.0{path}", method=method,
            data=json.dumps(body).encode("utf-8") if body is not None else None,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise ServicedeskError(f"{self.url}: ticket {self.ticket}: not reachable ({error})") from None

    def check(self) -> None:
        """ServicedeskError unless the ticket exists and is a change."""
        status, ticket = self._call("GET", f"/ticket/{self.ticket}")
        if status != 200 or not isinstance(ticket, dict):
            raise ServicedeskError(f"{self.url}: ticket {self.ticket}: not found (HTTP {status})")
        kinds = [value for field in ticket.get("CustomFields", []) if isinstance(field, dict)
                 and field.get("name") == TICKET_TYPE_FIELD for value in field.get("values", [])]
        if kinds != [CHANGE]:
            raise ServicedeskError(f"{self.url}: ticket {self.ticket}: {TICKET_TYPE_FIELD} is "
                                   f"{', '.join(map(str, kinds)) or 'not set'}, not {CHANGE}: the move is "
                                   "written on the wave's change ticket")

    def comment(self, subject: str, text: str) -> None:
        status, _ = self._call("POST", f"/ticket/{self.ticket}/comment",
                               {"ContentType": "text/plain", "Subject": subject, "Content": text})
        if status != 201:
            raise ServicedeskError(f"{self.url}: ticket {self.ticket}: the comment was refused "
                                   f"(HTTP {status})")
