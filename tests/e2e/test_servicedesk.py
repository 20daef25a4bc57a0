"""The servicedesk as people use it: a person mails the helpdesk and the ticket lands in
their organisation's queue; an agent (a directory person in Servicedesk-Agenter) replies
and the reply reaches the person's mailbox; the central office lists every
organisation's tickets while a Södermalm person sees none of Bromma's. People log in to
RT with their directory password. dc2 plays the people's machine (it trusts the city
CA); passwords and the token reach the programs on stdin, never a command line."""

import json
import shlex
import uuid

import pytest
from conftest import employees, username_of, wait_for
from test_mail import READ, SEND

CLIENT = "dc2"

# A REST 2.0 call, as the automation (token) or as a person logged in through RT's login
# form (RT checks the password against the directory). Prints the status and the body.
# A person's calls carry the Origin and Referer that their browser sends on RT's own
# pages (mode "login"); mode "login-foreign-page" sends none, as a request forged from
# another site would, which RT's CSRF protection refuses for writes.
REST = """
import http.cookiejar, json, ssl, sys, urllib.parse, urllib.request
secret = sys.stdin.readline().rstrip("\\n")
base, mode, user, method, path = sys.argv[1:6]
origin = urllib.parse.urlsplit(base)
body = sys.argv[6].encode() if len(sys.argv) > 6 else None
context = ssl.create_default_context()
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                     urllib.request.HTTPCookieProcessor(jar))
headers = {"Content-Type": "application/json"}
if mode == "token":
    headers["Authorization"] = "token " + secret
else:
    if mode == "login":
        headers["Origin"] = f"{origin.scheme}://{origin.netloc}"
        headers["Referer"] = base + "/"
    form = urllib.parse.urlencode({"user": user, "pass": secret}).encode()
    response = opener.open(urllib.request.Request(base + "/NoAuth/Login.html", data=form), timeout=60)
    # A refused login shows the login form again; an accepted one leaves it.
    if 'name="pass"' in response.read().decode(errors="replace"):
        print(json.dumps({"status": 401, "body": "no session: login refused"}))
        sys.exit(0)
request = urllib.request.Request(base + "/REST/2.0" + path, data=body, method=method, headers=headers)
try:
    with opener.open(request, timeout=60) as response:
        status, text = response.status, response.read().decode()
except urllib.error.HTTPError as error:
    status, text = error.code, error.read().decode()
try:
    payload = json.loads(text)
except ValueError:
    payload = text
print(json.dumps({"status": status, "body": payload}))
"""


class Servicedesk:
    def __init__(self, lab):
        self.lab = lab
        self.domain = lab.hostvars["desk1"]["baseline_domain"]
        self.base = f"https://desk1.{self.domain}"
        self.token = (lab.state_dir / "secrets/servicedesk-token").read_text().strip()

    def call(self, method, path, body=None, user=None, password=None, from_rt_page=True):
        if user:
            mode, secret = ("login" if from_rt_page else "login-foreign-page"), password
        else:
            mode, secret = "token", self.token
        args = [self.base, mode, user or "-", method, path] + ([json.dumps(body)] if body is not None else [])
        result = self.lab.ssh(
            CLIENT,
            f"python3 -c {shlex.quote(REST)} {' '.join(map(shlex.quote, args))}",
            stdin=secret + "\n",
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def search(self, query, **login):
        path = "/tickets?" + "&".join(
            ["query=" + _quote(query), "fields=Subject,Queue,Status", "per_page=100"]
        )
        return self.call("GET", path, **login)

    def queue_name(self, queue_ref):
        return self.call("GET", f"/queue/{queue_ref['id']}")["body"]["Name"]

    def sync_people(self):
        """The servicedesk reads the directory's groups now, not at its next timer run."""
        self.lab.ssh("desk1", "sudo systemctl start servicedesk-directory-sync.service")


def _quote(text):
    import urllib.parse

    return urllib.parse.quote(text)


def send_mail(lab, user, password, recipient, subject):
    domain = lab.hostvars["mail1"]["baseline_domain"]
    args = [user, f"{user}@{domain}", recipient, subject, f"mail1.{domain}", "login"]
    result = lab.ssh(
        CLIENT,
        f"python3 -c {shlex.quote(SEND)} {' '.join(map(shlex.quote, args))}",
        check=False,
        stdin=password + "\n",
    )
    assert result.stdout.strip() == "sent", result.stderr


def read_mail(lab, user, password):
    """The subjects in the person's INBOX, read over IMAPS from the client machine."""
    domain = lab.hostvars["mail1"]["baseline_domain"]
    return lab.ssh(
        CLIENT,
        f"python3 -c {shlex.quote(READ)} {shlex.quote(user)} mail1.{domain}",
        check=False,
        stdin=password + "\n",
    )


def subjects_in_mailbox(lab, user, password):
    return read_mail(lab, user, password).stdout


@pytest.fixture(scope="module")
def desk(lab):
    return Servicedesk(lab)


@pytest.fixture(scope="module")
def people(lab):
    """Two Södermalm people (a requester and the agent), one Bromma person, one of the central office."""
    sod = [username_of(lab, row["employee_id"]) for row in employees("sodermalm")[1:4]]
    bro = username_of(lab, employees("bromma")[1]["employee_id"])
    return {"requester": sod[0], "agent": sod[1], "central": sod[2], "bromma": bro}


@pytest.fixture(scope="module")
def roles(lab, desk, people):
    """The agent and the central office person get their directory groups, and RT reads them."""
    memberships = [("Servicedesk-Agenter", people["agent"]), ("Stadsledningskontoret", people["central"])]
    for group, user in memberships:
        lab.ssh("dc1", f"sudo samba-tool group addmembers {group} {user}")
    desk.sync_people()
    yield
    for group, user in memberships:
        lab.ssh("dc1", f"sudo samba-tool group removemembers {group} {user}", check=False)
    desk.sync_people()


def mail_a_ticket(lab, desk, passwords, user, address, subject):
    send_mail(lab, user, passwords[user], address, subject)
    found = wait_for(
        lambda: desk.search(f"Subject LIKE '{subject}'")["body"].get("items"), timeout=90, interval=3
    )
    assert found, f"no ticket with the subject {subject!r}"
    return found[0]


def test_mail_to_the_helpdesk_becomes_a_ticket_in_the_persons_organisations_queue(
    lab, desk, passwords, people
):
    subject = f"Skrivaren på Götgatan skriver inte ut {uuid.uuid4().hex[:8]}"
    ticket = mail_a_ticket(lab, desk, passwords, people["requester"], f"helpdesk@{desk.domain}", subject)
    # Mailed to the city-wide address, moved to the requester's organisation's queue.
    queue = wait_for(
        lambda: desk.queue_name(desk.call("GET", f"/ticket/{ticket['id']}")["body"]["Queue"]) == "SOD",
        timeout=30,
    )
    assert queue, desk.call("GET", f"/ticket/{ticket['id']}")["body"]
    detail = desk.call("GET", f"/ticket/{ticket['id']}")["body"]
    assert detail["Subject"] == subject
    requestor = desk.call("GET", f"/user/{detail['Requestor'][0]['id']}")["body"]
    assert requestor["Name"] == people["requester"]


def test_mail_to_an_organisations_own_address_lands_in_its_queue(lab, desk, passwords, people):
    subject = f"Ny behörighet till ekonomisystemet {uuid.uuid4().hex[:8]}"
    ticket = mail_a_ticket(lab, desk, passwords, people["bromma"], f"helpdesk-bro@{desk.domain}", subject)
    assert desk.queue_name(ticket["Queue"]) == "BRO"


def test_an_agents_reply_reaches_the_persons_mailbox(lab, desk, passwords, people, roles):
    subject = f"Kan inte logga in på intranätet {uuid.uuid4().hex[:8]}"
    ticket = mail_a_ticket(lab, desk, passwords, people["requester"], f"helpdesk-sod@{desk.domain}", subject)
    reply = desk.call(
        "POST",
        f"/ticket/{ticket['id']}/correspond",
        {"ContentType": "text/plain", "Content": "Hej! Vi har låst upp ditt konto. Hälsningar, Gemensam IT"},
        user=people["agent"],
        password=passwords[people["agent"]],
    )
    assert reply["status"] == 201, reply
    arrived = wait_for(
        lambda: (
            subjects_in_mailbox(lab, people["requester"], passwords[people["requester"]]).count(subject) >= 2
        ),
        timeout=90,
        interval=3,
    )
    # The first is RT's receipt of the ticket, the second the agent's reply.
    assert arrived, subjects_in_mailbox(lab, people["requester"], passwords[people["requester"]])


def test_a_person_outside_the_agents_cannot_reply_on_anothers_ticket(lab, desk, passwords, people):
    subject = f"Bromma: trasig dockningsstation {uuid.uuid4().hex[:8]}"
    ticket = mail_a_ticket(lab, desk, passwords, people["bromma"], f"helpdesk-bro@{desk.domain}", subject)
    reply = desk.call(
        "POST",
        f"/ticket/{ticket['id']}/correspond",
        {"ContentType": "text/plain", "Content": "Hej"},
        user=people["requester"],
        password=passwords[people["requester"]],
    )
    # RT's REST 2.0 answers a refused reply with 400 "Permission Denied"; a refusal by the
    # CSRF check instead would not show the right at all.
    assert reply["status"] in (400, 403, 404) and "Correspondence added" not in str(reply["body"]), reply
    assert "forgery" not in str(reply["body"]).lower(), reply


def test_a_reply_forged_from_another_site_is_refused(lab, desk, passwords, people, roles):
    """The agent's own session, used by a page of another site (no Origin, no Referer):
    RT refuses the write, and the ticket gets no correspondence."""
    subject = f"Förfalskat svar {uuid.uuid4().hex[:8]}"
    ticket = mail_a_ticket(lab, desk, passwords, people["requester"], f"helpdesk-sod@{desk.domain}", subject)
    forged = desk.call(
        "POST",
        f"/ticket/{ticket['id']}/correspond",
        {"ContentType": "text/plain", "Content": "Klicka här"},
        user=people["agent"],
        password=passwords[people["agent"]],
        from_rt_page=False,
    )
    assert forged["status"] == 403, forged
    history = desk.call("GET", f"/ticket/{ticket['id']}/history?per_page=100&fields=Type")["body"]["items"]
    assert "Correspond" not in [item.get("Type") for item in history], history


def test_the_central_office_sees_every_organisation_and_sodermalm_sees_only_its_own(
    lab, desk, passwords, people, roles
):
    marker = uuid.uuid4().hex[:8]
    sod = mail_a_ticket(
        lab,
        desk,
        passwords,
        people["requester"],
        f"helpdesk-sod@{desk.domain}",
        f"Södermalm {marker}: ny skärm",
    )
    bro = mail_a_ticket(
        lab, desk, passwords, people["bromma"], f"helpdesk-bro@{desk.domain}", f"Bromma {marker}: ny skärm"
    )

    central = desk.search(
        f"Subject LIKE '{marker}'", user=people["central"], password=passwords[people["central"]]
    )
    assert central["status"] == 200, central
    assert {item["id"] for item in central["body"]["items"]} >= {sod["id"], bro["id"]}

    own = desk.search(
        f"Subject LIKE '{marker}'", user=people["requester"], password=passwords[people["requester"]]
    )
    assert own["status"] == 200, own
    assert [item["id"] for item in own["body"]["items"]] == [sod["id"]]
    refused = desk.call(
        "GET", f"/ticket/{bro['id']}", user=people["requester"], password=passwords[people["requester"]]
    )
    assert refused["status"] in (403, 404), refused


def test_a_wrong_password_is_refused(desk, people):
    refused = desk.search("id > 0", user=people["requester"], password="inte-lösenordet-123")
    assert refused["status"] == 401, refused


def test_tickets_carry_the_itil_type(desk):
    created = desk.call(
        "POST",
        "/ticket",
        {
            "Queue": "SOD",
            "Subject": "Byt toner i skrivaren på plan 3",
            "CustomFields": {"Ärendetyp": "Begäran"},
        },
    )
    assert created["status"] == 201, created
    ticket = desk.call("GET", f"/ticket/{created['body']['id']}")["body"]
    values = {field["name"]: field["values"] for field in ticket["CustomFields"]}
    assert values["Ärendetyp"] == ["Begäran"]
