"""Reads a print server's queues over IPP, as the migration reaches an old print server:
one CUPS-Get-Printers request (operation 0x4002) over plain HTTP to port 631, and every
printer group of the answer as a dict of its attributes; or one queue's attributes by
Get-Printer-Attributes (0x000B). Standard library only.

    python -m migration.discovery.ipp HOST [--port PORT] [--queue NAME ...]

prints the queues (CUPS-Get-Printers), or with --queue each named queue's attributes
(Get-Printer-Attributes), as JSON.

Nothing the server says is trusted: the answer is read up to MAX_RESPONSE bytes, and a
malformed one (cut short, a length beyond its end, a value where none may be) raises
IppError naming the offset. Values are decoded by their tag: integer and enum as int,
boolean as bool, text, name, keyword, URI, charset, language and MIME type as str (UTF-8),
text and name with a language as the str, the out-of-band values (no-value, unknown,
unsupported) as None, a collection as None (skipped), anything else (octetString,
dateTime, resolution, rangeOfInteger) as its bytes. A second value of an attribute turns
it into a list.
"""

from __future__ import annotations

import argparse
import http.client
import json
import struct
import sys
from typing import Any
from urllib.parse import quote

# IPP/1.1 (RFC 8010, 8011); CUPS answers it as it does 2.0, and old servers know no later.
VERSION = (1, 1)
CUPS_GET_PRINTERS = 0x4002
GET_PRINTER_ATTRIBUTES = 0x000B
REQUESTED_ATTRIBUTES = (
    "printer-name", "device-uri", "printer-make-and-model", "printer-location", "printer-info",
    "printer-state", "queued-job-count", "printer-is-accepting-jobs",
)
MAX_RESPONSE = 16 * 1024 * 1024
REQUEST_ID = 1

# Delimiter tags (RFC 8010, 3.5.1).
OPERATION_GROUP = 0x01
END_OF_ATTRIBUTES = 0x03
PRINTER_GROUP = 0x04
# Value tags (RFC 8010, 3.5.2).
OUT_OF_BAND = range(0x10, 0x20)
INTEGER_TAGS = (0x21, 0x23)       # integer, enum
BOOLEAN = 0x22
BEGIN_COLLECTION, END_COLLECTION = 0x34, 0x37
TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE = 0x35, 0x36
STRING_TAGS = range(0x41, 0x4B)   # text, name, (reserved), keyword, uri, uriScheme, charset,
                                  # naturalLanguage, mimeMediaType, memberAttrName
EXTENSION = 0x7F
CHARSET, NATURAL_LANGUAGE, KEYWORD, URI = 0x47, 0x48, 0x44, 0x45

IppValue = str | int | bool | bytes | None | list[Any]


class IppError(Exception):
    """The server refused the request, or its answer is not one IPP answer. `status` holds
    the IPP status code when the server answered with one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def attribute(tag: int, name: str, value: bytes) -> bytes:
    encoded = name.encode("ascii")
    return struct.pack(">BH", tag, len(encoded)) + encoded + struct.pack(">H", len(value)) + value


def encode_request(operation: int, printer_uri: str | None = None, request_id: int = REQUEST_ID) -> bytes:
    """An IPP request of operation asking for REQUESTED_ATTRIBUTES (of printer_uri's queue)."""
    body = struct.pack(">BBHI", *VERSION, operation, request_id)
    body += bytes([OPERATION_GROUP])
    body += attribute(CHARSET, "attributes-charset", b"utf-8")
    body += attribute(NATURAL_LANGUAGE, "attributes-natural-language", b"en")
    if printer_uri is not None:
        body += attribute(URI, "printer-uri", printer_uri.encode("utf-8"))
    for number, name in enumerate(REQUESTED_ATTRIBUTES):
        # A further value of the same attribute has an empty name.
        body += attribute(KEYWORD, "" if number else "requested-attributes", name.encode("ascii"))
    return body + bytes([END_OF_ATTRIBUTES])


class Reader:
    """The answer's bytes, read forward; every shortfall names where it happened."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, count: int, what: str) -> bytes:
        if self.offset + count > len(self.data):
            raise IppError(f"IPP answer cut short at offset {self.offset}: {what} needs {count} bytes, "
                           f"{len(self.data) - self.offset} left")
        chunk = self.data[self.offset:self.offset + count]
        self.offset += count
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def short(self, what: str) -> int:
        return struct.unpack(">H", self.take(2, what))[0]


def text(value: bytes, offset: int) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as problem:
        raise IppError(f"IPP answer: a value at offset {offset} is not UTF-8 ({problem.reason})") from None


def decode_value(tag: int, value: bytes, offset: int) -> IppValue:
    """One value by its tag; offset is where the value starts, for the errors."""
    if tag in OUT_OF_BAND:
        return None
    if tag in INTEGER_TAGS:
        if len(value) != 4:
            raise IppError(f"IPP answer: an integer of {len(value)} bytes at offset {offset}")
        return struct.unpack(">i", value)[0]
    if tag == BOOLEAN:
        if len(value) != 1:
            raise IppError(f"IPP answer: a boolean of {len(value)} bytes at offset {offset}")
        return value != b"\x00"
    if tag in STRING_TAGS:
        return text(value, offset)
    if tag in (TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE):
        inner = Reader(value)
        try:
            inner.take(inner.short("language length"), "language")
            return text(inner.take(inner.short("text length"), "text"), offset)
        except IppError:
            raise IppError(f"IPP answer: a malformed text with language at offset {offset}") from None
    return value


def add(group: dict[str, IppValue], name: str, value: IppValue) -> None:
    """A further value of name: the attribute becomes a list if it is not one yet."""
    current = group[name]
    if isinstance(current, list):
        current.append(value)
    else:
        group[name] = [current, value]


def parse_response(data: bytes, request_id: int = REQUEST_ID) -> tuple[int, list[dict[str, Any]]]:
    """(status, [attributes of each group]) of an IPP answer; each group dict holds its
    delimiter tag under "group-tag". Raises IppError when data is no complete IPP answer."""
    reader = Reader(data)
    reader.take(2, "version")
    status = reader.short("status code")
    answered = struct.unpack(">I", reader.take(4, "request id"))[0]
    if answered != request_id:
        raise IppError(f"IPP answer at offset 4: request id {answered}, not {request_id}")
    groups: list[dict[str, Any]] = []
    group: dict[str, IppValue] | None = None
    last: str | None = None
    depth = 0  # inside a collection: its members are skipped
    while True:
        offset = reader.offset
        tag = reader.byte("a tag")
        if tag == EXTENSION:
            raise IppError(f"IPP answer: an extension tag at offset {offset}, which is not read")
        if tag < 0x10:
            if depth:
                raise IppError(f"IPP answer: group tag 0x{tag:02x} inside a collection at offset {offset}")
            if tag == END_OF_ATTRIBUTES:
                break
            if tag == 0x00:
                raise IppError(f"IPP answer: reserved tag 0x{tag:02x} at offset {offset}")
            group, last = {"group-tag": tag}, None
            groups.append(group)
            continue
        if group is None:
            raise IppError(f"IPP answer: a value before any group at offset {offset}")
        name_bytes = reader.take(reader.short("name length"), "name")
        value_offset = reader.offset + 2
        value = reader.take(reader.short("value length"), "value")
        if depth:
            depth += (tag == BEGIN_COLLECTION) - (tag == END_COLLECTION)
            continue
        if tag == BEGIN_COLLECTION:
            depth, decoded = 1, None
        elif tag == END_COLLECTION:
            raise IppError(f"IPP answer: end of a collection that did not begin at offset {offset}")
        else:
            decoded = decode_value(tag, value, value_offset)
        if name_bytes:
            last = text(name_bytes, offset + 3)
            group[last] = decoded
        elif last is None:
            raise IppError(f"IPP answer: a further value without an attribute at offset {offset}")
        else:
            add(group, last, decoded)
    # Whatever follows the attributes would be a document, which this answer has none of.
    return status, groups


def call(host: str, port: int, body: bytes, timeout: float) -> list[dict[str, Any]]:
    """POSTs the request body to http://host:port/ and returns the answer's groups. Raises
    IppError when the server refuses (HTTP or an IPP status beyond successful-ok's range,
    0x0000-0x00FF) or its answer is malformed, OSError when it cannot be reached."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        try:
            connection.request("POST", "/", body=body,
                               headers={"Content-Type": "application/ipp", "Accept": "application/ipp"})
            response = connection.getresponse()
            data = response.read(MAX_RESPONSE + 1)
        except http.client.HTTPException as error:  # not OSError: a server that speaks no HTTP
            raise IppError(f"{host}:{port}: no HTTP answer ({type(error).__name__})") from None
        if response.status != 200:
            raise IppError(f"{host}:{port}: HTTP {response.status} {response.reason}")
        if len(data) > MAX_RESPONSE:
            raise IppError(f"{host}:{port}: the IPP answer is larger than {MAX_RESPONSE} bytes")
        kind = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if kind != "application/ipp":
            raise IppError(f"{host}:{port}: the answer is {kind or 'untyped'}, not application/ipp")
    finally:
        connection.close()
    status, groups = parse_response(data)
    if status > 0x00FF:
        operation = struct.unpack(">H", body[2:4])[0]
        message = next((g.get("status-message") for g in groups if g["group-tag"] == OPERATION_GROUP), None)
        raise IppError(f"{host}:{port}: operation 0x{operation:04x} failed with status 0x{status:04x}"
                       + (f" ({message})" if isinstance(message, str) else ""), status)
    return groups


NOT_FOUND = 0x0406   # client-error-not-found


def printers_of(groups: list[dict[str, Any]]) -> list[dict[str, IppValue]]:
    return [{key: value for key, value in group.items() if key != "group-tag"}
            for group in groups if group["group-tag"] == PRINTER_GROUP]


def get_printers(host: str, port: int = 631, timeout: float = 10.0) -> list[dict[str, IppValue]]:
    """Every printer (queue) of the server at host:port, by CUPS-Get-Printers: each a dict of
    the REQUESTED_ATTRIBUTES it answered (printer-name, device-uri, printer-make-and-model,
    printer-location, printer-info, printer-state, queued-job-count,
    printer-is-accepting-jobs). A server with no queue at all (CUPS answers
    client-error-not-found, 0x0406) has none: an empty list. Raises IppError or OSError as
    call() does otherwise."""
    try:
        return printers_of(call(host, port, encode_request(CUPS_GET_PRINTERS), timeout))
    except IppError as error:
        if error.status == NOT_FOUND:
            return []
        raise


def queue_uri(host: str, port: int, queue: str) -> str:
    address = f"[{host}]" if ":" in host else host
    return f"ipp://{address}:{port}/printers/{quote(queue, safe='')}"


def get_printer_attributes(host: str, queue: str, port: int = 631,
                           timeout: float = 10.0) -> dict[str, IppValue]:
    """One queue's REQUESTED_ATTRIBUTES, by Get-Printer-Attributes on
    ipp://host:port/printers/<queue>. Raises IppError or OSError as call() does
    (client-error-not-found, 0x0406, for no such queue)."""
    request = encode_request(GET_PRINTER_ATTRIBUTES, queue_uri(host, port, queue))
    printers = printers_of(call(host, port, request, timeout))
    if len(printers) != 1:
        raise IppError(f"{host}:{port}: Get-Printer-Attributes of {queue!r} answered "
                       f"{len(printers)} printer groups")
    return printers[0]


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m migration.discovery.ipp",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("host")
    parser.add_argument("--port", type=int, default=631)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--queue", action="append", default=[],
                        help="read this queue by Get-Printer-Attributes (repeatable) instead of listing all")
    options = parser.parse_args(arguments)
    try:
        if options.queue:
            printers = [get_printer_attributes(options.host, queue, options.port, options.timeout)
                        for queue in options.queue]
        else:
            printers = get_printers(options.host, options.port, options.timeout)
    except (IppError, OSError) as problem:
        print(f"ipp: {problem}", file=sys.stderr)
        return 1
    print(json.dumps(printers, ensure_ascii=False, indent=1, default=lambda value: value.hex()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
