"""Printing as people at a site do it: a job sent over IPP from another machine (the
test runner) to the site's queue on print1 completes and the lab's file device shows
what was printed; a queue takes jobs only from its organisation's staff; a member of
the organisation's Skrivaradmin group administers its printers with their own password."""

import base64
import ssl
import struct
import urllib.error
import urllib.request
import uuid

import pytest
from conftest import city_names, employees, username_of, wait_for

QUEUE = "sod-rosenlund-p1"
PRINT_JOB, PAUSE_PRINTER, RESUME_PRINTER = 0x0002, 0x0010, 0x0011


def ipp(host, queue, operation, user, document=b"", password=None):
    """Sends one IPP request (RFC 8011) to a queue; returns the status code and the job id.
    With a password it goes over TLS with HTTP Basic authentication, as CUPS requires."""
    def attribute(tag, name, value):
        name_bytes, value_bytes = name.encode(), value.encode()
        return (struct.pack(">BH", tag, len(name_bytes)) + name_bytes
                + struct.pack(">H", len(value_bytes)) + value_bytes)

    request = (
        struct.pack(">BBHI", 2, 0, operation, 1)  # IPP 2.0, request id 1
        + b"\x01"                                 # operation attributes
        + attribute(0x47, "attributes-charset", "utf-8")
        + attribute(0x48, "attributes-natural-language", "sv-se")
        + attribute(0x45, "printer-uri", f"ipp://{host}:631/printers/{queue}")
        + attribute(0x42, "requesting-user-name", user)
    )
    if operation == PRINT_JOB:
        request += (attribute(0x42, "job-name", "Protokoll från nämndmötet")
                    + attribute(0x49, "document-format", "text/plain"))
    request += b"\x03" + document                 # end of attributes, then the document
    headers = {"Content-Type": "application/ipp"}
    context = None
    if password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        # CUPS's own self-signed certificate on print1 (no city CA yet).
        context = ssl._create_unverified_context()
    scheme = "https" if password is not None else "http"
    reply = urllib.request.urlopen(urllib.request.Request(
        f"{scheme}://{host}:631/printers/{queue}", data=request, headers=headers),
        timeout=30, context=context)
    body = reply.read()
    job_id_at = body.find(b"\x21\x00\x06job-id\x00\x04")
    job_id = struct.unpack(">I", body[job_id_at + 11:job_id_at + 15])[0] if job_id_at >= 0 else None
    return struct.unpack(">H", body[2:4])[0], job_id


@pytest.fixture(scope="module")
def sodermalm_user(lab, sodermalm_person):
    return username_of(lab, sodermalm_person["employee_id"])


def test_a_persons_job_from_another_machine_is_printed_at_their_site(lab, sodermalm_user):
    marker = f"utskrift-{uuid.uuid4().hex[:8]}"
    output = f"/var/spool/cups-lab/{QUEUE}.out"
    # The file device writes each job over the last: a new job shows as a new write time.
    before = lab.ssh("print1", f"sudo stat -c %.9Y {output} 2>/dev/null || echo 0").stdout.strip()

    status, job_id = ipp(lab.address("print1"), QUEUE, PRINT_JOB, sodermalm_user,
                         f"{marker}\nÅrsredovisning för Södermalm, sidan 1.\n".encode())
    assert status < 0x0100, f"IPP status {status:#06x}"
    assert job_id, "the print server gave the job no id"

    # As root: a queue restricted to its organisation's staff is not listed to others.
    completed = wait_for(lambda: f"{QUEUE}-{job_id} " in lab.ssh(
        "print1", f"sudo lpstat -W completed -o {QUEUE}", check=False).stdout, timeout=60, interval=2)
    assert completed, lab.ssh("print1", f"sudo lpstat -W all -o {QUEUE}", check=False).stdout
    after, size = lab.ssh("print1", f"sudo stat -c '%.9Y %s' {output}").stdout.split()
    assert after != before and int(size) > 0, "the job completed but nothing reached the file device"


def test_a_queue_refuses_jobs_from_another_organisations_staff(lab):
    bromma_user = username_of(lab, employees("bromma")[0]["employee_id"])
    status, job_id = ipp(lab.address("print1"), QUEUE, PRINT_JOB, bromma_user, b"Fel skrivare\n")
    assert status >= 0x0400 and job_id is None, f"IPP status {status:#06x}, job {job_id}"


def test_queues_of_every_site_are_shared(lab):
    queues = lab.ssh("print1", "sudo lpstat -v").stdout
    for organisation in lab.hostvars["print1"]["city_organisations"].values():
        for site in organisation["sites"]:
            for printer in site.get("printers", []):
                assert printer["name"] in queues


@pytest.fixture
def printer_admin(lab, sodermalm_user):
    """The Södermalm person, made one of Södermalm's printer administrators for the test."""
    group = city_names.organisation_group("SOD", "printer_admins")
    lab.ssh("dc1", f"sudo samba-tool group addmembers {group} {sodermalm_user}")
    yield sodermalm_user
    lab.ssh("dc1", f"sudo samba-tool group removemembers {group} {sodermalm_user}")


def test_a_printer_administrator_pauses_and_resumes_a_queue_with_their_password(
        lab, passwords, sodermalm_user, printer_admin):
    host = lab.address("print1")
    other = next(user for user in (username_of(lab, row["employee_id"]) for row in employees("sodermalm"))
                 if user != printer_admin)
    with pytest.raises(urllib.error.HTTPError) as refused:
        ipp(host, QUEUE, PAUSE_PRINTER, other, password=passwords[other])
    assert refused.value.code in (401, 403)

    status, _ = ipp(host, QUEUE, PAUSE_PRINTER, printer_admin, password=passwords[printer_admin])
    try:
        assert status < 0x0100, f"IPP status {status:#06x}"
        assert "disabled" in lab.ssh("print1", f"sudo lpstat -p {QUEUE}").stdout
    finally:
        status, _ = ipp(host, QUEUE, RESUME_PRINTER, printer_admin, password=passwords[printer_admin])
    assert status < 0x0100 and "idle" in lab.ssh("print1", f"sudo lpstat -p {QUEUE}").stdout
