"""Orders as the servicedesk fulfils them: a ticket in the organisation's queue, the
order's playbook, and the result a person sees (the new person logs in, opens their
home and reads the welcome mail; the ticket is resolved with the log). Running an order
again changes nothing; bad orders stop before anything is touched."""

import random
import re
import shlex

import pytest
import yaml
from conftest import city_names, employees, recap, username_of, wait_for
from test_files import opened, smb
from test_mail import SEND, SHARED
from test_servicedesk import CLIENT, Servicedesk, read_mail


@pytest.fixture(scope="module")
def desk(lab):
    return Servicedesk(lab)


def open_ticket(desk, queue, subject):
    created = desk.call(
        "POST", "/ticket", {"Queue": queue, "Subject": subject, "CustomFields": {"Ärendetyp": "Begäran"}}
    )
    assert created["status"] == 201, created
    return int(created["body"]["id"])


def run_order(lab, tmp_path, kind, order):
    path = tmp_path / f"{kind}-{order['ticket']}.yml"
    path.write_text(yaml.safe_dump(order, allow_unicode=True), encoding="utf-8")
    result = lab.playbook(f"playbooks/orders/{kind}.yml", "-e", f"order_file={path}")
    return path, result


def history(desk, ticket):
    """The ticket's status and the contents of its comments."""
    status = desk.call("GET", f"/ticket/{ticket}")["body"]["Status"]
    transactions = desk.call("GET", f"/ticket/{ticket}/history?fields=Type&per_page=100")["body"]["items"]
    comments = []
    for transaction in transactions:
        if transaction["Type"] != "Comment":
            continue
        attachments = desk.call(
            "GET", f"/transaction/{transaction['id']}/attachments?fields=Content&per_page=10"
        )
        for attachment in attachments["body"]["items"]:
            comments.append(_decode(attachment.get("Content", "")))
    return status, comments


def _decode(content):
    import base64

    try:
        return base64.b64decode(content).decode("utf-8")
    except ValueError:
        return content


def new_employee_id():
    return f"9{random.randint(10000, 99999)}"


@pytest.fixture(scope="module")
def new_user(lab, desk, tmp_path_factory):
    """A new user ordered on a Södermalm ticket; the order's first run."""
    tmp_path = tmp_path_factory.mktemp("orders")
    ticket = open_ticket(desk, "SOD", "Ny medarbetare i äldreomsorgen: Åsa Öhrn")
    order = {
        "ticket": ticket,
        "organisation": "sodermalm",
        "given_name": "Åsa",
        "surname": "Öhrn",
        "employee_id": new_employee_id(),
        "department": "aldreomsorg",
        "title": "Undersköterska",
    }
    path, result = run_order(lab, tmp_path, "new_user", order)
    assert result.returncode == 0, result.stdout[-4000:]
    username = username_of(lab, order["employee_id"])
    password = (lab.state_dir / "secrets/order-passwords" / username).read_text().strip()
    return {
        "ticket": ticket,
        "order": order,
        "path": path,
        "username": username,
        "password": password,
        "tmp_path": tmp_path,
    }


def test_a_new_user_order_makes_an_account_that_logs_in_and_opens_its_home(lab, new_user):
    assert re.fullmatch(r"asa\.ohrn\d*", new_user["username"])
    listing = smb(lab, new_user["username"], new_user["password"], new_user["username"], "ls")
    assert opened(listing), listing.stdout + listing.stderr


def test_the_new_person_reads_the_welcome_mail(lab, new_user):
    result = wait_for(
        lambda: (
            "Välkommen till Södermalms stadsdelsnämnd"
            in read_mail(lab, new_user["username"], new_user["password"]).stdout
        ),
        timeout=60,
        interval=3,
    )
    assert result, read_mail(lab, new_user["username"], new_user["password"])


def test_the_ticket_is_resolved_with_the_log(desk, new_user):
    status, comments = history(desk, new_user["ticket"])
    assert status == "resolved"
    log = "\n".join(comments)
    assert f"Konto {new_user['username']} skapat" in log
    assert f"Medlem i {city_names.organisation_group('SOD', 'staff')}" in log
    assert "Hemkatalog skapad på fs1" in log
    assert "Välkomstbrev skickat" in log


def test_running_the_order_again_changes_nothing(lab, desk, new_user):
    before = history(desk, new_user["ticket"])
    result = lab.playbook("playbooks/orders/new_user.yml", "-e", f"order_file={new_user['path']}")
    assert result.returncode == 0, result.stdout[-4000:]
    changed = {host: counts["changed"] for host, counts in recap(result.stdout).items() if counts["changed"]}
    assert changed == {}, result.stdout[-4000:]
    assert history(desk, new_user["ticket"]) == before


def test_bad_orders_stop_before_anything_is_touched(lab, desk, tmp_path):
    ticket = open_ticket(desk, "SOD", "Ny medarbetare: felaktig beställning")
    bromma_ticket = open_ticket(desk, "BRO", "Ny medarbetare i Bromma")
    good = {
        "ticket": ticket,
        "organisation": "sodermalm",
        "given_name": "Örjan",
        "surname": "Ärlig",
        "employee_id": new_employee_id(),
        "department": "aldreomsorg",
    }
    hr_person = employees("sodermalm")[0]
    cases = [
        ({"organisation": "solna"}, r"organisation: unknown organisation 'solna'"),
        (
            {"employee_id": hr_person["employee_id"]},
            rf"employee_id: {hr_person['employee_id']} already has the account",
        ),
        ({"ticket": 999999}, r"ticket: the servicedesk has no ticket 999999"),
        ({"ticket": bromma_ticket}, rf"ticket: ticket {bromma_ticket} is in the queue BRO, not SOD"),
    ]
    for change, message in cases:
        path, result = run_order(lab, tmp_path, "new_user", {**good, **change})
        assert result.returncode != 0, result.stdout[-3000:]
        assert re.search(re.escape(str(path)) + ": " + message, result.stdout), (
            message,
            result.stdout[-3000:],
        )
    # Nothing was made, and neither ticket was touched.
    absent = lab.ssh(
        "dc1",
        "sudo ldbsearch -H /var/lib/samba/private/sam.ldb "
        f"'(employeeID={good['employee_id']})' sAMAccountName",
    )
    assert "sAMAccountName:" not in absent.stdout
    for untouched in (ticket, bromma_ticket):
        assert history(desk, untouched) == ("new", [])


def test_a_mover_order_changes_the_department(lab, desk, new_user):
    ticket = open_ticket(desk, "SOD", f"{new_user['username']} byter avdelning")
    _path, result = run_order(
        lab,
        new_user["tmp_path"],
        "mover",
        {"ticket": ticket, "username": new_user["username"], "department": "administration"},
    )
    assert result.returncode == 0, result.stdout[-4000:]
    groups = lab.ssh("dc1", f"sudo samba-tool user getgroups {new_user['username']}").stdout.split()
    old = city_names.department_group("SOD", "aldreomsorg")
    new = city_names.department_group("SOD", "administration")
    assert new in groups and city_names.organisation_group("SOD", "staff") in groups
    assert old not in groups
    status, comments = history(desk, ticket)
    assert status == "resolved" and f"Inte längre medlem i {old}" in "\n".join(comments)


def test_an_order_for_an_hr_person_is_refused(lab, desk, tmp_path):
    hr_user = username_of(lab, employees("sodermalm")[0]["employee_id"])
    ticket = open_ticket(desk, "SOD", f"{hr_user} slutar")
    path, result = run_order(lab, tmp_path, "leaver", {"ticket": ticket, "username": hr_user})
    assert result.returncode != 0
    assert f"{path}: username: {hr_user} comes from a personnel export" in result.stdout


def test_a_new_workstation_is_registered_in_the_directory_and_the_asset_register(lab, desk, tmp_path):
    ticket = open_ticket(desk, "SOD", "Ny bärbar dator till hemtjänsten")
    serial = f"SN{random.randint(100000, 999999)}"
    order = {
        "ticket": ticket,
        "organisation": "sodermalm",
        "site": lab_site(lab, "sodermalm"),
        "profile": "kontor-barbar",
        "serial": serial,
        "model": "Lenovo ThinkPad T14",
    }
    path, result = run_order(lab, tmp_path, "new_workstation", order)
    assert result.returncode == 0, result.stdout[-4000:]
    computer = lab.ssh(
        "dc1",
        "sudo ldbsearch -H /var/lib/samba/private/sam.ldb "
        f"'(&(objectClass=computer)(description=*{serial}*))' cn description",
    ).stdout
    name = re.search(r"^cn: (SOD-LT-\d{5})$", computer, re.M)
    assert name, computer
    # ldbsearch prints a description with å/ä/ö in base64 (LDIF's "description::"),
    # folded over lines that go on with a space.
    description = re.search(r"^description(::?) (.+)$", computer.replace("\n ", ""), re.M)
    text = _decode(description.group(2)) if description.group(1) == "::" else description.group(2)
    assert text.startswith(f"Profil kontor-barbar, serienummer {serial}, Beställning #{ticket}"), text
    assets = desk.call("POST", "/assets", [{"field": "Name", "value": name.group(1).lower()}])
    assert assets["body"]["count"] == 1, assets
    asset = desk.call("GET", f"/asset/{assets['body']['items'][0]['id']}")["body"]
    values = {field["name"]: field["values"] for field in asset["CustomFields"]}
    assert values["Profil"] == ["kontor-barbar"] and values["Serienummer"] == [serial]
    assert history(desk, ticket)[0] == "resolved"

    again = lab.playbook("playbooks/orders/new_workstation.yml", "-e", f"order_file={path}")
    assert again.returncode == 0
    assert all(counts["changed"] == 0 for counts in recap(again.stdout).values()), again.stdout[-3000:]


def lab_site(lab, organisation):
    sites = lab.hostvars["dc1"]["city_organisations"][organisation]["sites"]
    return next(site["id"] for site in sites if site.get("network", "admin") == "admin")


def test_a_leaver_order_stops_the_login(lab, desk, new_user):
    ticket = open_ticket(desk, "SOD", f"{new_user['username']} slutar")
    _path, result = run_order(
        lab, new_user["tmp_path"], "leaver", {"ticket": ticket, "username": new_user["username"]}
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert wait_for(
        lambda: read_mail(lab, new_user["username"], new_user["password"]).returncode != 0, timeout=60
    )
    listing = smb(lab, new_user["username"], new_user["password"], new_user["username"], "ls")
    assert "NT_STATUS_ACCOUNT_DISABLED" in listing.stdout + listing.stderr, listing.stdout
    assert history(desk, ticket)[0] == "resolved"


def test_a_functional_mailbox_order_opens_a_mailbox_to_its_members(lab, desk, passwords, tmp_path):
    member = username_of(lab, employees("sodermalm")[4]["employee_id"])
    outsider = username_of(lab, employees("sodermalm")[5]["employee_id"])
    mailbox_id = f"projekt{random.randint(100, 999)}"
    ticket = open_ticket(desk, "SOD", f"Ny funktionsbrevlåda för projektet Årstafältet ({mailbox_id})")
    order = {
        "ticket": ticket,
        "organisation": "SOD",
        "id": mailbox_id,
        "description": "Projektet Årstafältets brevlåda",
        "members": [member],
    }
    _path, result = run_order(lab, tmp_path, "new_functional_mailbox", order)
    assert result.returncode == 0, result.stdout[-4000:]

    domain = lab.hostvars["mail1"]["baseline_domain"]
    subject = f"Samrådsmöte om Årstafältet {mailbox_id}"
    send = lab.ssh(
        CLIENT,
        f"python3 -c {shlex.quote(SEND)} "
        + " ".join(
            map(
                shlex.quote,
                [
                    outsider,
                    f"{outsider}@{domain}",
                    f"sod-{mailbox_id}@{domain}",
                    subject,
                    f"mail1.{domain}",
                    "login",
                ],
            )
        ),
        check=False,
        stdin=passwords[outsider] + "\n",
    )
    assert send.stdout.strip() == "sent", send.stderr

    def read(user):
        return lab.ssh(
            CLIENT,
            f"python3 -c {shlex.quote(SHARED)} "
            + " ".join(map(shlex.quote, [user, f"mail1.{domain}", f"Funktion/sod-{mailbox_id}"])),
            check=False,
            stdin=passwords[user] + "\n",
        )

    assert wait_for(
        lambda: f"subject {subject}" in read(member).stdout.splitlines(), timeout=60, interval=3
    ), read(member).stdout + read(member).stderr
    assert "refused" in read(outsider).stdout.splitlines()
    status, comments = history(desk, ticket)
    assert status == "resolved" and f"Funktionsbrevlåda sod-{mailbox_id}@{domain}" in "\n".join(comments)


def test_a_failing_step_leaves_the_ticket_open_with_the_reason_and_a_rerun_completes_it(lab, desk, tmp_path):
    ticket = open_ticket(desk, "SOD", "Ny medarbetare: Göran Ängström")
    order = {
        "ticket": ticket,
        "organisation": "sodermalm",
        "given_name": "Göran",
        "surname": "Ängström",
        "employee_id": new_employee_id(),
        "department": "forskola",
    }
    # The mail server refuses mail for a while: the welcome mail cannot be sent.
    lab.ssh("mail1", "sudo systemctl stop postfix")
    try:
        path, result = run_order(lab, tmp_path, "new_user", order)
    finally:
        lab.ssh("mail1", "sudo systemctl start postfix")
    assert result.returncode != 0, result.stdout[-3000:]
    status, comments = history(desk, ticket)
    assert status != "resolved"
    failure = "\n".join(comments)
    assert "Beställningen (new_user) kunde inte genomföras. Ärendet lämnas öppet." in failure, failure
    assert "Steget som misslyckades: welcome_mail | Send the welcome mail på mail1" in failure, failure
    assert "Redan gjort:" in failure and "skapat" in failure, failure

    again = lab.playbook("playbooks/orders/new_user.yml", "-e", f"order_file={path}")
    assert again.returncode == 0, again.stdout[-4000:]
    status, comments = history(desk, ticket)
    assert status == "resolved"
    assert "Välkomstbrev skickat" in comments[-1], comments[-1]
