"""Printing as a person at a site does it: a job sent over IPP from another
machine (the test runner) to the site's queue on print1 completes, and the lab's
file device shows what was printed."""

import struct
import urllib.request
import uuid

from conftest import wait_for

QUEUE = "sod-rosenlund-p1"


def ipp_print_job(host, queue, user, document):
    """Sends one IPP Print-Job request (RFC 8011); returns the status code and the job id."""
    def attribute(tag, name, value):
        name_bytes, value_bytes = name.encode(), value.encode()
        return (struct.pack(">BH", tag, len(name_bytes)) + name_bytes
                + struct.pack(">H", len(value_bytes)) + value_bytes)

    uri = f"ipp://{host}:631/printers/{queue}"
    request = (
        struct.pack(">BBHI", 2, 0, 0x0002, 1)  # IPP 2.0, Print-Job, request id 1
        + b"\x01"                             # operation attributes
        + attribute(0x47, "attributes-charset", "utf-8")
        + attribute(0x48, "attributes-natural-language", "sv-se")
        + attribute(0x45, "printer-uri", uri)
        + attribute(0x42, "requesting-user-name", user)
        + attribute(0x42, "job-name", "Protokoll från nämndmötet")
        + attribute(0x49, "document-format", "text/plain")
        + b"\x03"                             # end of attributes
        + document
    )
    reply = urllib.request.urlopen(urllib.request.Request(
        f"http://{host}:631/printers/{queue}", data=request,
        headers={"Content-Type": "application/ipp"}), timeout=30)
    body = reply.read()
    job_id_at = body.find(b"\x21\x00\x06job-id\x00\x04")
    job_id = struct.unpack(">I", body[job_id_at + 11:job_id_at + 15])[0] if job_id_at >= 0 else None
    return struct.unpack(">H", body[2:4])[0], job_id


def test_a_job_from_another_machine_is_printed_at_the_site(lab):
    marker = f"utskrift-{uuid.uuid4().hex[:8]}"
    output = f"/var/spool/cups-lab/{QUEUE}.out"
    before = lab.ssh("print1", f"sudo stat -c %s {output} 2>/dev/null || echo 0").stdout.strip()

    status, job_id = ipp_print_job(lab.address("print1"), QUEUE, "asa.oberg",
                                   f"{marker}\nÅrsredovisning för Södermalm, sidan 1.\n".encode())
    assert status < 0x0100, f"IPP status {status:#06x}"
    assert job_id, "the print server gave the job no id"

    completed = wait_for(lambda: f"{QUEUE}-{job_id} " in lab.ssh(
        "print1", f"lpstat -W completed -o {QUEUE}", check=False).stdout, timeout=60, interval=2)
    assert completed, lab.ssh("print1", f"lpstat -W all -o {QUEUE}", check=False).stdout
    after = lab.ssh("print1", f"sudo stat -c %s {output}").stdout.strip()
    assert int(after) > int(before), "the job completed but nothing reached the file device"


def test_queues_of_every_site_are_shared(lab):
    queues = lab.ssh("print1", "lpstat -v").stdout
    for organisation in lab.hostvars["print1"]["city_organisations"].values():
        for site in organisation["sites"]:
            for printer in site.get("printers", []):
                assert printer["name"] in queues
