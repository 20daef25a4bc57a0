"""roles/servicedesk/files/servicedesk-enrol, the enrolment service a new workstation asks
on its first boot. The request handling runs as shipped; RT and the directory are replaced
at the process boundary by fakes of its two small interfaces (Register, Directory), which
record every change, so that "nothing changes" is something a test can see fail."""

from __future__ import annotations

import datetime
import http.client
import importlib.machinery
import importlib.util
import json
import logging
import threading

import orders
import pytest
from role_files import ROLES

SERVICE = ROLES / "servicedesk" / "files" / "servicedesk-enrol"


def load_service():
    loader = importlib.machinery.SourceFileLoader("servicedesk_enrol", str(SERVICE))
    spec = importlib.util.spec_from_loader("servicedesk_enrol", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


enrol = load_service()
REALM = "LAB.GEMENSAM.TEST"
CLOCK = datetime.datetime(2026, 11, 30, 5, 12, tzinfo=datetime.UTC)


class FakeRegister:
    def __init__(self, assets):
        self.assets = assets
        self.changes = []
        self.comments = []
        self.fail_comment = False

    def assets_with_serial(self, serial):
        # As RT does: custom field values compared without regard to case.
        return [dict(a, fields=dict(a["fields"])) for a in self.assets
                if a["fields"]["Serienummer"].casefold() == serial.casefold()]

    def set_status(self, asset_id, status):
        self.changes.append(("status", asset_id, status))
        next(a for a in self.assets if a["id"] == asset_id)["status"] = status

    def comment(self, ticket, subject, text):
        if self.fail_comment:
            raise OSError("RT is restarting")
        self.comments.append((ticket, subject, text))


class FakeDirectory:
    def __init__(self, computers):
        self.computers = computers
        self.passwords = {}
        self.fail = False

    def computer(self, sam_account_name):
        return self.computers.get(sam_account_name)

    def set_password(self, dn, password):
        if self.fail:
            raise OSError("ldaps://dc1: Can't contact LDAP server")
        self.passwords[dn] = password
        return "dc1.lab.gemensam.test"


def asset(asset_id, name, serial, status="new", profile="kontor-stationar"):
    return {"id": asset_id, "name": name, "status": status,
            "fields": {"Organisation": "SOD", "Plats": "sod-rosenlund", "Profil": profile,
                       "Serienummer": serial, "Modell": "HP EliteDesk", "Användare": ""}}


def computer(name, serial, ticket):
    return {"dn": f"CN={name},OU=Datorer,OU=SOD,OU=Organisationer,DC=lab,DC=gemensam,DC=test",
            "description": f"Profil kontor-stationar, serienummer {serial}, Beställning #{ticket}"}


@pytest.fixture
def desk():
    register = FakeRegister([asset(7, "sod-ws-00042", "ABC123"), asset(8, "sod-ws-00043", "ABC1234")])
    directory = FakeDirectory({"SOD-WS-00042$": computer("SOD-WS-00042", "ABC123", 42),
                               "SOD-WS-00043$": computer("SOD-WS-00043", "ABC1234", 43)})
    service = enrol.Enrolment(register, directory, REALM, clock=lambda: CLOCK)
    return register, directory, service, enrol.Misses()


def post(desk, body, client="10.89.0.50"):
    _, _, service, misses = desk
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return enrol.answer(service, misses, data, client)


def test_a_registered_serial_gets_its_computer_and_a_one_time_password(desk):
    register, directory, _, _ = desk
    status, body = post(desk, {"serial": "ABC123"})
    assert status == 200, body
    password = body.pop("one_time_password")
    assert body == {"computer_name": "SOD-WS-00042", "dns_domain": "lab.gemensam.test", "realm": REALM,
                    "organisation": "SOD", "profile": "kontor-stationar",
                    "domain_controller": "dc1.lab.gemensam.test"}
    assert len(password) >= 24
    assert any(c.isupper() for c in password) and any(c.islower() for c in password)
    assert any(c.isdigit() for c in password)
    # The password the machine got is the one its pre-staged account now has.
    assert directory.passwords == {computer("SOD-WS-00042", "ABC123", 42)["dn"]: password}
    assert register.changes == [("status", 7, "in-use")]
    assert register.comments == [(42, "Datorn SOD-WS-00042 har anslutit sig",
                                  "Datorn SOD-WS-00042 (serienummer ABC123) har anslutit sig till katalogen "
                                  "2026-11-30 05:12 (engångslösenord utfärdat till 10.89.0.50).\n")]


def test_each_enrolment_gets_its_own_password(desk):
    register, _, _, _ = desk
    first = post(desk, {"serial": "ABC123"})[1]["one_time_password"]
    register.assets[0]["status"] = "new"  # the servicedesk lets it enrol again
    second = post(desk, {"serial": "ABC123"})[1]["one_time_password"]
    assert first != second


def test_an_unregistered_serial_is_refused_and_nothing_changes(desk):
    register, directory, _, _ = desk
    status, body = post(desk, {"serial": "XYZ999"})
    assert status == 404
    assert body == {"error": "Serienumret XYZ999 är inte registrerat – beställ datorn via servicedesken. "
                             "/ The serial number XYZ999 is not registered: order the computer through "
                             "the servicedesk."}
    assert (register.changes, register.comments, directory.passwords) == ([], [], {})


@pytest.mark.parametrize("serial", ["abc123", "ABC12", "BC123", "ABC123-"])
def test_only_the_exact_serial_matches(desk, serial):
    """RT folds case and the register holds ABC1234 too: neither a different case, a part
    nor a longer serial is the registered one."""
    register, directory, _, _ = desk
    status, _ = post(desk, {"serial": serial})
    assert status == 404
    assert (register.changes, directory.passwords) == ([], {})


def test_a_second_request_for_the_same_serial_is_refused(desk):
    register, directory, _, _ = desk
    assert post(desk, {"serial": "ABC123"})[0] == 200
    password = dict(directory.passwords)
    status, body = post(desk, {"serial": "ABC123"})
    assert status == 409
    assert "SOD-WS-00042" in body["error"] and "redan ansluten" in body["error"]
    assert "one_time_password" not in body
    # The machine that enrolled keeps its password; no second comment.
    assert directory.passwords == password
    assert len(register.changes) == 1 and len(register.comments) == 1


def test_two_requests_at_once_give_one_password(desk):
    results = []
    threads = [threading.Thread(target=lambda: results.append(post(desk, {"serial": "ABC123"})[0]))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] + [409] * 7


@pytest.mark.parametrize("state", ["in-use", "allocated", "stolen", "recycled"])
def test_an_asset_that_is_not_new_does_not_enrol(desk, state):
    register, directory, _, _ = desk
    register.assets[0]["status"] = state
    status, body = post(desk, {"serial": "ABC123"})
    assert status == 409 and f"status {state}" in body["error"]
    assert directory.passwords == {}


@pytest.mark.parametrize("description", [
    None,  # no computer account
    "Profil kontor-stationar, serienummer OTHER1, Beställning #42",
    "Profil kontor-stationar, serienummer ABC123",
    "Profil kontor-stationar, serienummer ABC1234, Beställning #42",
])
def test_a_computer_account_that_is_not_the_orders_is_not_touched(desk, description):
    register, directory, _, _ = desk
    if description is None:
        del directory.computers["SOD-WS-00042$"]
    else:
        directory.computers["SOD-WS-00042$"]["description"] = description
    status, body = post(desk, {"serial": "ABC123"})
    assert status == 409 and "förberedda datorkonto" in body["error"]
    assert (register.changes, directory.passwords) == ([], {})


@pytest.mark.parametrize("body", [
    b"serial=ABC123", b"\xff\xfe", b"[]", b'"ABC123"',
    {"serial": 123456}, {"serial": None}, {"serial": "ABC123", "name": "DC1"}, {},
    {"serial": "ABC"}, {"serial": "A" * 41}, {"serial": "ABC 123"}, {"serial": "ABC*"},
    {"serial": "ABC123\n"}, {"serial": "\u0410BC123"},  # Cyrillic A
    {"serial": "ÅBC123"}, {"serial": ")(cn=*"},
])
def test_a_malformed_request_is_refused_before_anything_is_asked(desk, body):
    register, directory, _, _ = desk
    register.assets_with_serial = directory.computer = None  # any lookup would fail
    status, answer = post(desk, body)
    assert status == 400, answer
    assert "serial" in answer["error"]


def test_a_failed_password_reset_leaves_the_asset_new_for_the_next_boot(desk):
    register, directory, _, _ = desk
    directory.fail = True
    status, body = post(desk, {"serial": "ABC123"})
    assert status == 500 and "försöker igen" in body["error"]
    assert register.changes == [] and register.assets[0]["status"] == "new"
    directory.fail = False
    assert post(desk, {"serial": "ABC123"})[0] == 200


def test_a_failed_comment_does_not_undo_the_enrolment(desk, caplog):
    register, directory, _, _ = desk
    register.fail_comment = True
    with caplog.at_level(logging.INFO, logger="servicedesk-enrol"):
        status, _ = post(desk, {"serial": "ABC123"})
    assert status == 200 and directory.passwords
    assert "comment failed" in caplog.text


def test_every_request_is_logged_without_the_password(desk, caplog):
    register, _, _, _ = desk
    register.fail_comment = True  # the warning path logs too
    with caplog.at_level(logging.DEBUG, logger="servicedesk-enrol"):
        ok = post(desk, {"serial": "ABC123"}, client="10.89.0.50")[1]
        post(desk, {"serial": "ABC123"}, client="10.89.0.51")
        post(desk, {"serial": "NOPE99"}, client="10.89.0.52")
        post(desk, b"{", client="10.89.0.53")
    lines = [r.getMessage() for r in caplog.records]
    assert any("client=10.89.0.50 serial=ABC123 status=200 computer=SOD-WS-00042" in line for line in lines)
    assert any("client=10.89.0.51 serial=ABC123 status=409" in line for line in lines)
    assert any("client=10.89.0.52 serial=NOPE99 status=404" in line for line in lines)
    assert any("client=10.89.0.53 serial=- status=400" in line for line in lines)
    assert ok["one_time_password"] not in caplog.text


def test_guessing_serials_is_slowed_down(desk):
    for number in range(enrol.MAX_MISSES_PER_MINUTE):
        assert post(desk, {"serial": f"GUESS{number:03d}"}, client="10.89.0.66")[0] == 404
    assert post(desk, {"serial": "ABC123"}, client="10.89.0.66")[0] == 429
    # Another machine is not held up.
    assert post(desk, {"serial": "ABC123"}, client="10.89.0.67")[0] == 200


def test_the_services_reading_of_a_description_is_the_orders():
    description = "Profil skola-elev, serienummer SN-42, Beställning #12"
    assert enrol.description_parts(description) == orders.description_parts(description)
    assert f"{orders.ORDER_MARK}12" in enrol.description_parts(description)
    assert enrol.order_ticket(description, "SN-42") == 12
    assert enrol.order_ticket(description, "SN-4") is None
    assert enrol.SERIAL.pattern == orders._SERIAL.pattern


@pytest.fixture
def server(desk):
    _, _, service, misses = desk
    httpd = enrol.http.server.HTTPServer(("127.0.0.1", 0), enrol.handler_class(service, misses))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def http_call(port, method, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, "/enrol", body=body, headers=headers or {})
    response = connection.getresponse()
    payload = json.loads(response.read().decode("utf-8"))
    connection.close()
    return response.status, response.getheader("Content-Type"), payload


def test_over_http_the_machine_gets_json_and_the_status(server, caplog):
    with caplog.at_level(logging.INFO, logger="servicedesk-enrol"):
        status, content_type, body = http_call(
            server, "POST", json.dumps({"serial": "ABC123"}),
            {"Content-Type": "application/json", "X-Forwarded-For": "10.89.0.77"})
    assert (status, content_type) == (200, "application/json; charset=utf-8")
    assert body["computer_name"] == "SOD-WS-00042"
    assert "client=10.89.0.77 serial=ABC123 status=200" in caplog.text
    status, _, body = http_call(server, "POST", json.dumps({"serial": "XYZ999"}))
    assert status == 404 and body["error"].startswith("Serienumret XYZ999 är inte registrerat")


def test_over_http_a_large_body_or_a_get_is_refused(server):
    assert http_call(server, "POST", json.dumps({"serial": "A" * 2000}))[0] == 400
    assert http_call(server, "POST", "")[0] == 400
    assert http_call(server, "GET")[0] == 405
