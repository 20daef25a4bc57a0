"""A new workstation enrols itself, as its first boot does: the servicedesk places a
new-workstation order for a Södermalm desk; a throwaway machine on the lab network (a
podman container with adcli and Kerberos, trusting the lab's CA as the image does) asks
https://desk1/enrol with the order's serial number and joins the directory with the
one-time password it gets. Then the machine's own key works, the one-time password does
not, the asset is in use, the ticket says so, and the serial cannot enrol twice. An
unregistered serial is refused with the servicedesk's message and changes nothing; the
first-boot program (roles/workstation/files/gemensam-enrol) does the whole enrolment,
and shows a refusal on the login screen. A Windows machine's installation medium
(workstation_image/render-windows --enrolment-url) gets the order's name and a one-time
password from the same service, once; the password joins, and is dead after the join."""

import hashlib
import json
import os
import random
import shlex
import subprocess
import time
import xml.etree.ElementTree as ElementTree

import pytest
from conftest import REPO, city_names
from test_orders import history, lab_site, open_ticket, run_order
from test_servicedesk import Servicedesk

IMAGE = os.environ.get("GEMENSAM_BASE_IMAGE", "localhost/gemensam-base:bookworm")

# A POST to the enrolment service, as the machine makes it: TLS checked against the
# system's trust store. Prints the status and the JSON body.
POST = """
import json, sys, urllib.error, urllib.request
request = urllib.request.Request(sys.argv[1], data=json.dumps({"serial": sys.argv[2]}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(request, timeout=60) as response:
        print(json.dumps({"status": response.status, "body": json.load(response)}))
except urllib.error.HTTPError as error:
    print(json.dumps({"status": error.code, "body": json.load(error)}))
"""


def podman(*args, check=True, stdin=None, timeout=300):
    result = subprocess.run(
        ["podman", *args], capture_output=True, text=True, input=stdin or "", timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args[:3])} failed ({result.returncode}): {result.stderr[-2000:]}"
        )
    return result


class Machine:
    """A throwaway machine on the lab network that resolves through the directory's DNS."""

    def __init__(self, lab, name):
        self.lab = lab
        self.name = f"{lab.prefix}-{name}"
        self.domain = lab.hostvars["desk1"]["baseline_domain"]
        self.realm = self.domain.upper()
        self.url = f"https://desk1.{self.domain}/enrol"

    def start(self):
        podman("rm", "-f", "-t", "0", self.name, check=False)
        image = client_image(self.lab)
        podman(
            "run",
            "-d",
            "--name",
            self.name,
            "--hostname",
            "ny-dator",
            "--network",
            f"{self.lab.prefix}-net",
            "--dns",
            self.lab.address("dc1"),
            # The first-boot program sets the host name (sethostname in its own namespace).
            "--cap-add",
            "SYS_ADMIN",
            image,
            "/sbin/init",
        )
        self.boot()
        # A machine's own /etc/hostname, not podman's bind mount (which cannot be replaced).
        self.run("umount /etc/hostname")
        program = (REPO / "roles/workstation/files/gemensam-enrol").read_text()
        self.run(
            "cat > /usr/local/sbin/gemensam-enrol && chmod 0755 /usr/local/sbin/gemensam-enrol", stdin=program
        )
        return self

    def boot(self):
        """Waits until systemd has booted the machine (its /tmp mounted), whether or not
        every unit of the base image started. Right after `podman run` systemd may not yet
        answer on its bus, and `is-system-running` then fails at once: asked again until it
        names a booted state. (A file made in /tmp before tmp.mount is hidden by it.)"""
        self.run(
            "for attempt in $(seq 1 120); do "
            "state=$(systemctl is-system-running --wait 2>/dev/null); "
            'case "$state" in running|degraded|maintenance) exit 0;; esac; sleep 1; done; '
            'echo "systemd did not finish booting (state: ${state:-no answer})" >&2; exit 1',
            timeout=400,
        )

    def remove(self):
        podman("rm", "-f", "-t", "0", self.name, check=False)

    def run(self, command, check=True, stdin=None, timeout=300):
        result = podman(
            "exec", "-i", self.name, "sh", "-c", command, check=False, stdin=stdin, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{self.name}: {command!r} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout)[-2000:]}"
            )
        return result

    def enrol(self, serial):
        result = self.run(f"python3 -c {shlex.quote(POST)} {shlex.quote(self.url)} {shlex.quote(serial)}")
        return json.loads(result.stdout)

    def kinit(self, principal, password):
        """Whether the KDC accepts the password for principal (a fresh ticket cache each time)."""
        result = self.run(
            f"KRB5CCNAME=FILE:/tmp/cc-test kinit {shlex.quote(principal)}; rc=$?; "
            "kdestroy -c FILE:/tmp/cc-test 2>/dev/null; exit $rc",
            check=False,
            stdin=password + "\n",
        )
        return result.returncode == 0


def client_image(lab):
    """The base image with adcli and Kerberos and the lab's CA trusted, made once per lab CA
    (the tests' machines start from it; kept for the next run: `podman rmi` it to make it anew).
    A lab made anew has a new CA: its tag differs, and the images of earlier CAs are removed."""
    ca = (lab.state_dir / "secrets/ca/ca.crt").read_text()
    repository = f"localhost/{lab.prefix}-enrol-client"
    image = f"{repository}:ca-{hashlib.sha256(ca.encode()).hexdigest()[:16]}"
    if podman("image", "exists", image, check=False).returncode == 0:
        return image
    earlier = podman("images", "--format", "{{.Repository}}:{{.Tag}}", repository, check=False).stdout.split()
    for stale in earlier:
        podman("rmi", "-f", stale, check=False)
    builder = Machine(lab, "enrol-client-build")
    podman("rm", "-f", "-t", "0", builder.name, check=False)
    podman("run", "-d", "--name", builder.name, "--network", f"{lab.prefix}-net", IMAGE, "/sbin/init")
    try:
        builder.boot()
        builder.run(
            # Where the city's machines keep the city CA (the city model's name).
            f"cat > {city_names.ca_trust_path()} && update-ca-certificates",
            stdin=ca,
        )
        # Packages through the lab's mirror, as the image's machines get them.
        mirror = lab.hostvars["desk1"].get("city_package_mirror_url", "")
        if mirror:
            builder.run(f"echo 'Acquire::http::Proxy \"{mirror}\";' > /etc/apt/apt.conf.d/01gemensam-mirror")
        builder.run(
            "apt-get -q -o Acquire::Retries=3 update && DEBIAN_FRONTEND=noninteractive apt-get -q install -y "
            "--no-install-recommends adcli krb5-user",
            timeout=600,
        )
        podman("commit", builder.name, image)
    finally:
        builder.remove()
    return image


@pytest.fixture(scope="module")
def desk(lab):
    return Servicedesk(lab)


@pytest.fixture(scope="module")
def machine(lab):
    machine = Machine(lab, "enrol-test").start()
    # The realm for kinit and adcli, as the image's krb5.conf gives it.
    machine.run(
        f"printf '[libdefaults]\\n default_realm = {machine.realm}\\n dns_lookup_kdc = true\\n"
        f" rdns = false\\n' > /etc/krb5.conf"
    )
    yield machine
    machine.remove()


def order_workstation(lab, desk, tmp_path, serial):
    ticket = open_ticket(desk, "SOD", "Ny stationär dator till receptionen")
    order = {
        "ticket": ticket,
        "organisation": "sodermalm",
        "site": lab_site(lab, "sodermalm"),
        "profile": "kontor-stationar",
        "serial": serial,
        "model": "HP EliteDesk 800",
    }
    _, result = run_order(lab, tmp_path, "new_workstation", order)
    assert result.returncode == 0, result.stdout[-4000:]
    return ticket


def asset_by_serial(desk, serial):
    found = desk.call("POST", "/assets", [{"field": "CustomField.{Serienummer}", "value": serial}])["body"]
    assets = [desk.call("GET", f"/asset/{item['id']}")["body"] for item in found["items"]]
    return [
        a for a in assets if {f["name"]: f["values"] for f in a["CustomFields"]}["Serienummer"] == [serial]
    ]


def register_state(desk, lab):
    """Every asset's status and every computer's password time: what an enrolment changes."""
    assets = desk.call("GET", "/assets?per_page=100&fields=Status")["body"]
    pages = [assets]
    while pages[-1].get("next_page"):
        page = pages[-1]["page"] + 1
        pages.append(desk.call("GET", f"/assets?per_page=100&fields=Status&page={page}")["body"])
    statuses = sorted((item["id"], item["Status"]) for page in pages for item in page["items"])
    computers = lab.ssh(
        "dc1", "sudo ldbsearch -H /var/lib/samba/private/sam.ldb '(objectClass=computer)' cn pwdLastSet"
    ).stdout
    return statuses, sorted(
        line for line in computers.splitlines() if line.startswith(("cn:", "pwdLastSet:"))
    )


@pytest.fixture(scope="module")
def joined(lab, desk, machine, tmp_path_factory):
    """A Södermalm desk ordered, enrolled and joined with the one-time password it got."""
    serial = f"EN{random.randint(100000, 999999)}"
    ticket = order_workstation(lab, desk, tmp_path_factory.mktemp("enrol"), serial)
    started = time.monotonic()
    answer = machine.enrol(serial)
    assert answer["status"] == 200, answer
    body = answer["body"]
    name = body["computer_name"]
    # The one-time password works before the join (so that "it no longer works" below can fail).
    assert machine.kinit(f"{name}$@{machine.realm}", body["one_time_password"])
    machine.run(f"hostname {name.lower()}")
    joined = machine.run(
        # --verbose: a refused join says which step refused it.
        f"adcli join --verbose --domain={body['dns_domain']} --domain-realm={body['realm']} "
        f"--domain-controller={body['domain_controller']} --computer-name={name} "
        f'--host-fqdn={name.lower()}.{body["dns_domain"]} --one-time-password="$(cat)"',
        check=False,
        stdin=body["one_time_password"],
    )
    seconds = time.monotonic() - started
    print(f"enrolment: request to joined in {seconds:.1f} s")
    return {"serial": serial, "ticket": ticket, "answer": body, "join": joined}


def test_the_machine_gets_the_orders_computer_and_joins_with_the_one_time_password(lab, joined, machine):
    body, join = joined["answer"], joined["join"]
    assert join.returncode == 0, join.stderr
    assert body["computer_name"].startswith("SOD-WS-")
    assert (body["dns_domain"], body["realm"]) == (machine.domain, machine.realm)
    assert (body["organisation"], body["profile"]) == ("SOD", "kontor-stationar")
    # The account in the directory is the order's, in Södermalm's Computers OU.
    names = city_names.organisation_names(
        lab.hostvars["dc1"]["city_organisations"]["sodermalm"], city_names.base_dn(machine.domain)
    )
    computer = lab.ssh(
        "dc1",
        f"sudo ldbsearch -H /var/lib/samba/private/sam.ldb '(sAMAccountName={body['computer_name']}$)' dn",
    ).stdout
    assert f"dn: CN={body['computer_name']},{names['computers_dn']}" in computer, computer


def test_the_machine_knows_its_password_and_the_one_time_password_is_dead(joined, machine):
    name = joined["answer"]["computer_name"]
    assert joined["join"].returncode == 0, joined["join"].stderr
    test = machine.run(
        f"adcli testjoin --domain={machine.domain} "
        f"--domain-controller={joined['answer']['domain_controller']}",
        check=False,
    )
    assert test.returncode == 0, test.stderr
    keytab = machine.run(
        f"KRB5CCNAME=FILE:/tmp/cc-key kinit -k '{name}$@{machine.realm}' && klist -c FILE:/tmp/cc-key",
        check=False,
    )
    assert keytab.returncode == 0 and f"krbtgt/{machine.realm}@{machine.realm}" in keytab.stdout, (
        keytab.stderr
    )
    assert not machine.kinit(f"{name}$@{machine.realm}", joined["answer"]["one_time_password"])


def test_the_asset_is_in_use_and_the_ticket_says_the_machine_joined(desk, joined):
    assets = asset_by_serial(desk, joined["serial"])
    assert [a["Status"] for a in assets] == ["in-use"], assets
    _, comments = history(desk, joined["ticket"])
    name = joined["answer"]["computer_name"]
    assert any(
        f"Datorn {name} (serienummer {joined['serial']}) har anslutit sig till katalogen" in c
        for c in comments
    ), comments


def test_the_same_serial_cannot_enrol_again(desk, lab, joined, machine):
    before = register_state(desk, lab)
    again = machine.enrol(joined["serial"])
    assert again["status"] == 409, again
    assert "redan ansluten" in again["body"]["error"] and "one_time_password" not in again["body"]
    assert register_state(desk, lab) == before
    # The machine that joined still has its password.
    assert (
        machine.run(
            f"adcli testjoin --domain={machine.domain} "
            f"--domain-controller={joined['answer']['domain_controller']}",
            check=False,
        ).returncode
        == 0
    )


def render_windows_medium(lab, machine, order_path, out):
    """render-windows as the one who prepares a Windows machine's installation medium runs it:
    the order's serial, the enrolment service's URL and the city CA."""
    return subprocess.run(
        [str(REPO / ".venv/bin/python"), str(REPO / "workstation_image/render-windows"), "kontor-stationar",
         "--order", str(order_path), "--enrolment-url", machine.url,
         "--ca-dir", str(lab.state_dir / "secrets/ca"), "--inventory", str(REPO / "inventory/lab"),
         "--realm", machine.realm, str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )


def test_a_windows_medium_gets_the_orders_name_and_a_password_that_joins_once(lab, desk, machine, tmp_path):
    """The Windows machine's answer file carries the order's computer name and the one-time
    password the service set on it; Windows Setup's UnsecureJoin authenticates as the
    pre-staged account with it and sets a machine password of its own. No Windows Setup
    runs here: adcli, which joins the same way, plays it with the file's password."""
    serial = f"WIN{random.randint(100000, 999999)}"
    ticket = order_workstation(lab, desk, tmp_path, serial)
    order_path = tmp_path / f"new_workstation-{ticket}.yml"
    rendered = render_windows_medium(lab, machine, order_path, tmp_path / "medium")
    assert rendered.returncode == 0, rendered.stderr
    answer_file = tmp_path / "medium" / "autounattend.xml"
    assert oct(answer_file.stat().st_mode & 0o777) == "0o600"
    ns = {"u": "urn:schemas-microsoft-com:unattend"}
    root = ElementTree.parse(answer_file).getroot()
    name = root.findtext(".//u:component[@name='Microsoft-Windows-Shell-Setup']/u:ComputerName",
                         namespaces=ns)
    join = root.find(".//u:component[@name='Microsoft-Windows-UnattendedJoin']/u:Identification", ns)
    password = join.findtext("u:MachinePassword", namespaces=ns)
    assert join.findtext("u:JoinDomain", namespaces=ns) == machine.domain
    # The name is the account the order pre-staged for this serial.
    account = lab.ssh("dc1", "sudo ldbsearch -H /var/lib/samba/private/sam.ldb "
                             f"'(&(objectClass=computer)(description=*serienummer {serial},*))' cn").stdout
    assert f"cn: {name}\n" in account, account
    assert [a["Status"] for a in asset_by_serial(desk, serial)] == ["in-use"]
    _, comments = history(desk, ticket)
    assert any(f"Datorn {name} (serienummer {serial})" in c for c in comments), comments
    assert password not in rendered.stdout + rendered.stderr + "\n".join(comments)

    # The medium is used minutes or days later, when every DC has the password; Setup joins
    # at whichever DC it finds. Here the DCs replicate now.
    controllers = lab.groups["domain_controllers"]
    for source in controllers:
        for target in controllers:
            if target != source:
                lab.ssh(target, f"sudo samba-tool drs replicate {target} {source} "
                                f"'{city_names.base_dn(machine.domain)}'")
    assert machine.kinit(f"{name}$@{machine.realm}", password), "the medium's password does not work"
    # Its own keytab: the machine's (the `joined` fixture's) stays as it is.
    joined = machine.run(
        f"adcli join --domain={machine.domain} --domain-realm={machine.realm} --computer-name={name} "
        "--host-keytab=/tmp/windows-stand-in.keytab "
        f'--host-fqdn={name.lower()}.{machine.domain} --one-time-password="$(cat)"',
        check=False, stdin=password,
    )
    assert joined.returncode == 0, joined.stderr
    assert not machine.kinit(f"{name}$@{machine.realm}", password), "the medium's password still works"
    # The serial's password is given once: a second medium for the order is refused and
    # nothing is written.
    again = render_windows_medium(lab, machine, order_path, tmp_path / "again")
    assert again.returncode == 1 and "refused (HTTP 409)" in again.stderr, again.stderr
    assert not (tmp_path / "again").exists()


def test_an_unregistered_serial_is_refused_and_nothing_changes(desk, lab, machine):
    serial = f"NO{random.randint(100000, 999999)}"
    before = register_state(desk, lab)
    answer = machine.enrol(serial)
    assert answer["status"] == 404, answer
    assert answer["body"]["error"].startswith(
        f"Serienumret {serial} är inte registrerat – beställ datorn via servicedesken."
    )
    assert register_state(desk, lab) == before


def test_the_service_logs_the_requests_without_the_password(lab, joined):
    log = lab.ssh("desk1", "sudo journalctl -t servicedesk-enrol --no-pager -o cat -n 200").stdout
    assert f"serial={joined['serial']} status=200 computer={joined['answer']['computer_name']}" in log, log
    assert f"serial={joined['serial']} status=409" in log
    assert joined["answer"]["one_time_password"] not in log


@pytest.fixture
def first_boot(lab):
    machine = Machine(lab, "enrol-boot").start()
    yield machine
    machine.remove()


def test_the_first_boot_program_enrols_the_machine_and_refuses_an_unknown_one(
    lab, desk, first_boot, tmp_path
):
    """gemensam-enrol as the unit runs it, with the serial where the firmware's would be."""
    machine = first_boot
    program = (
        f"gemensam-enrol --url {machine.url} --serial-file /tmp/serial --no-sssd "
        "--state-file /var/lib/gemensam/enrolled"
    )
    unknown = f"NO{random.randint(100000, 999999)}"
    machine.run(f"echo {unknown} > /tmp/serial")
    refused = machine.run(program, check=False)
    assert refused.returncode == 1
    issue = machine.run("cat /etc/issue.d/gemensam-enrol.issue").stdout
    assert f"Serienumret {unknown} är inte registrerat – beställ datorn via servicedesken." in issue
    assert (
        machine.run("test -e /var/lib/gemensam/enrolled || test -e /etc/krb5.keytab", check=False).returncode
        != 0
    )

    serial = f"EN{random.randint(100000, 999999)}"
    ticket = order_workstation(lab, desk, tmp_path, serial)
    machine.run(f"echo {serial} > /tmp/serial")
    started = time.monotonic()
    enrolled = machine.run(program, check=False)
    seconds = time.monotonic() - started
    print(f"enrolment: gemensam-enrol took {seconds:.1f} s")
    assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
    state = json.loads(machine.run("cat /var/lib/gemensam/enrolled").stdout)
    name = state["computer_name"]
    assert state["serial"] == serial and state["profile"] == "kontor-stationar"
    assert machine.run("hostname").stdout.strip() == name.lower()
    assert machine.run("test -e /etc/issue.d/gemensam-enrol.issue", check=False).returncode != 0
    assert (
        machine.run(
            f"adcli testjoin --domain={machine.domain} --domain-controller={state['domain_controller']}",
            check=False,
        ).returncode
        == 0
    )
    # Nothing secret in the state file or the program's output.
    assert "password" not in json.dumps(state)
    _, comments = history(desk, ticket)
    assert any(f"Datorn {name} (serienummer {serial})" in c for c in comments), comments
    # A second run does nothing: the machine has enrolled.
    assert "enrolled already" in machine.run(program).stdout


# As the enrolment service: its account resets a password on the DN given, with its own
# configuration and password file on desk1. Prints "reset" or the directory's refusal.
RESET = """
import json, sys, ldap
config = json.load(open("/etc/servicedesk-enrol/config.json"))
password = open(config["bind_password_file"]).read().strip()
connection = ldap.initialize(config["ldap_uris"][0])
connection.set_option(ldap.OPT_X_TLS_CACERTFILE, config["ca_file"])
connection.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
connection.simple_bind_s(config["bind_user"], password)
try:
    value = '"Xy7-enrolment-test-1"'.encode("utf-16-le")
    connection.modify_s(sys.argv[1], [(ldap.MOD_REPLACE, "unicodePwd", [value])])
    print("reset")
except ldap.LDAPError as error:
    print(type(error).__name__)
"""


def test_the_enrolment_account_cannot_reset_a_persons_password(lab):
    """Delegation: Reset Password on computer objects in the Computers OUs, nothing else.
    (The service asks the first DC, dc1, where the person is made.)"""
    user = f"enroltest{random.randint(1000, 9999)}"
    lab.ssh("dc1", f"sudo samba-tool user add {user} --random-password")
    try:
        dn = (
            lab.ssh("dc1", f"sudo samba-tool user show {user} --attributes=dn")
            .stdout.split("dn: ", 1)[1]
            .split("\n")[0]
        )
        result = lab.ssh(
            "desk1", f"sudo -u servicedesk-enrol python3 -c {shlex.quote(RESET)} {shlex.quote(dn)}"
        )
        assert result.stdout.strip() == "INSUFFICIENT_ACCESS", result.stdout + result.stderr
    finally:
        lab.ssh("dc1", f"sudo samba-tool user delete {user}", check=False)
