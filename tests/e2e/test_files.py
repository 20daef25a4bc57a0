"""Files, as people meet them: a person logs in with Kerberos on another machine and
writes to their home and their organisation's common share, is refused on another
organisation's share, gains and loses department shares as they move, and still
reads their files with dc1 stopped; a pupil sees only their own school's share.
dc2 plays the client machine: it has smbclient and the realm's Kerberos setup."""

import base64
import shlex
import uuid

import pytest
from conftest import city_names, employees, run_people, username_of, wait_for

CLIENT = "dc2"
FILE_NAME = "Protokoll från nämndens möte - Åsa, Älvsjö och Öland.txt"


def smb(lab, user, password, share, commands, kerberos=False):
    """Runs smbclient commands on the client as user; the password goes through stdin,
    never onto a command line."""
    if kerberos:
        cache = f"FILE:/tmp/e2e-{uuid.uuid4().hex[:8]}"
        script = (f"export KRB5CCNAME={cache}; kinit {user} >/dev/null && "
                  f"smbclient //fs1/{share} --use-kerberos=required -c {shlex.quote(commands)}; "
                  f"rc=$?; kdestroy -q -c {cache}; exit $rc")
    else:
        script = f"PASSWD=$(cat) smbclient //fs1/{share} -U {user} -c {shlex.quote(commands)}"
    return lab.ssh(CLIENT, script, check=False, stdin=password + "\n")


def opened(result):
    return result.returncode == 0 and "NT_STATUS" not in result.stdout + result.stderr


def refused(result):
    return result.returncode != 0 and "NT_STATUS_ACCESS_DENIED" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def sodermalm_user(lab, sodermalm_person):
    return username_of(lab, sodermalm_person["employee_id"])


@pytest.fixture(scope="module")
def bromma_user(lab):
    return username_of(lab, employees("bromma")[0]["employee_id"])


def test_a_person_writes_a_file_to_their_home_and_to_their_common_share(lab, passwords, sodermalm_user):
    put = f'put /etc/os-release "{FILE_NAME}"; ls'
    for share, directory in [(sodermalm_user, f"/srv/filer/hem/{sodermalm_user}"),
                             ("SOD-Gemensam", "/srv/filer/SOD/Gemensam")]:
        result = smb(lab, sodermalm_user, passwords[sodermalm_user], share, put, kerberos=True)
        assert opened(result), result.stdout + result.stderr
        assert FILE_NAME in result.stdout
        # On the server the name is the same UTF-8 name, owned by the person.
        owner = lab.ssh("fs1", f"sudo stat -c %U {shlex.quote(directory + '/' + FILE_NAME)}").stdout.strip()
        assert owner == sodermalm_user


def test_people_are_refused_on_another_organisations_share_both_ways(
        lab, passwords, sodermalm_user, bromma_user):
    assert refused(smb(lab, sodermalm_user, passwords[sodermalm_user], "BRO-Gemensam", "ls", kerberos=True))
    assert refused(smb(lab, bromma_user, passwords[bromma_user], "SOD-Gemensam", "ls", kerberos=True))
    assert refused(smb(lab, bromma_user, passwords[bromma_user], sodermalm_user, "ls"))
    # Nor do they see the other organisation's shares in the list.
    listing = lab.ssh(CLIENT, f"PASSWD=$(cat) smbclient -L fs1 -U {sodermalm_user}",
                      stdin=passwords[sodermalm_user] + "\n").stdout
    assert "SOD-Gemensam" in listing and "BRO-Gemensam" not in listing, listing


def test_a_mover_gains_the_new_department_share_and_loses_the_old(
        lab, passwords, sodermalm_person, sodermalm_user, tmp_path):
    password = passwords[sodermalm_user]
    old = sodermalm_person["department"]
    new = "stadsmiljo" if old != "stadsmiljo" else "forskola"
    assert opened(smb(lab, sodermalm_user, password, f"SOD-{old}", "ls"))
    assert refused(smb(lab, sodermalm_user, password, f"SOD-{new}", "ls"))

    def move(rows):
        next(r for r in rows if r["employee_id"] == sodermalm_person["employee_id"])["department"] = new
    try:
        run_people(lab, tmp_path / "mover", move)
        assert opened(smb(lab, sodermalm_user, password, f"SOD-{new}", "ls"))
        assert refused(smb(lab, sodermalm_user, password, f"SOD-{old}", "ls"))
    finally:
        run_people(lab, tmp_path / "restore", lambda rows: None)


def test_with_dc1_stopped_a_person_still_reads_their_home(lab, passwords, sodermalm_user):
    password = passwords[sodermalm_user]
    smb(lab, sodermalm_user, password, sodermalm_user, "put /etc/hostname kvar-efter-dc1.txt")
    lab.ssh("dc1", "sudo systemctl stop samba-ad-dc")
    try:
        # Kerberos from the client and winbind on fs1 both find dc2 on their own.
        result = wait_for(lambda: (lambda r: r if opened(r) else None)(
            smb(lab, sodermalm_user, password, sodermalm_user, "get kvar-efter-dc1.txt /dev/null",
                kerberos=True)), timeout=90, interval=5)
        assert result, "the home share could not be read with dc1 stopped"
    finally:
        lab.ssh("dc1", "sudo systemctl start samba-ad-dc")


@pytest.fixture
def pupil(lab):
    """A pupil of Södermalmsskolan. Pupils come from the schools' own register, which
    the lab does not have; the school's group and share come from the roles."""
    name, password = f"elev.{uuid.uuid4().hex[:6]}", f"Elev-{uuid.uuid4().hex[:10]}-9"
    base = city_names.base_dn(lab.hostvars["dc1"]["baseline_domain"])
    school = city_names.organisation_names(lab.hostvars["dc1"]["city_organisations"]["utbildning"],
                                           base)["schools"]["utb_sodermalmsskolan"]
    # samba-tool takes the OU without the domain's DN.
    students_ou = school["students_dn"].removesuffix(f",{base}")
    lab.ssh("dc1", f"sudo samba-tool user add {name} --random-password "
                   f"--userou={shlex.quote(students_ou)} && "
                   f"sudo samba-tool group addmembers {school['groups']['pupils']} {name} && "
                   f"sudo samba-tool user setpassword {name} --newpassword=\"$(cat)\"",
            stdin=password + "\n")
    yield name, password
    lab.ssh("dc1", f"sudo samba-tool user delete {name}", check=False)


def test_a_pupil_opens_only_their_own_schools_share(lab, pupil):
    name, password = pupil
    assert opened(smb(lab, name, password, "UTB-sodermalmsskolan", f'put /etc/hostname "{name} läxa.txt"'))
    for other in ["UTB-katarina_norra", "UTB-Gemensam", "SOD-Gemensam"]:
        assert refused(smb(lab, name, password, other, "ls")), other


# What a Windows client stores beside a file's data: the Zone.Identifier stream that
# marks a download, and an extended attribute (Office keeps document properties so).
ZONE_IDENTIFIER = "[ZoneTransfer]\r\nZoneId=3\r\nHostUrl=https://www.stockholm.se/blankett.pdf\r\n"
CLIENT_FILES = (f"printf '%s' {shlex.quote(ZONE_IDENTIFIER)} > /tmp/e2e-zone && "
                "printf 'Blankett för bygglov\\n' > /tmp/e2e-doc")


def streams_and_eas(lab, user, password, share):
    name = f"Nedladdad blankett {uuid.uuid4().hex[:6]} (Åsa).pdf"
    lab.ssh(CLIENT, CLIENT_FILES)
    commands = (f'put /tmp/e2e-doc "{name}"; put /tmp/e2e-zone "{name}:Zone.Identifier"; '
                f'get "{name}:Zone.Identifier" /tmp/e2e-zone-back; allinfo "{name}"; '
                f'setea "{name}" DokumentEgenskaper "Författare: Åsa Öberg"; geteas "{name}"')
    result = smb(lab, user, password, share, commands)
    # base64: the stream's CR LF line ends must come back byte for byte.
    back = lab.ssh(CLIENT, "base64 -w0 /tmp/e2e-zone-back", check=False).stdout
    return result, base64.b64decode(back).decode()


def assert_stream_and_ea_kept(result, back):
    output = result.stdout + result.stderr
    assert "NT_STATUS" not in output, output
    assert "stream: [:Zone.Identifier:$DATA]" in output, output
    assert back == ZONE_IDENTIFIER
    # geteas prints the attribute's name and its bytes; the value is UTF-8.
    assert "DokumentEgenskaper" in output, output
    assert "F..rfatt" in output.replace("\n", " "), output


@pytest.mark.parametrize("share", ["home", "common", "department"])
def test_a_windows_clients_stream_and_extended_attribute_are_kept(
        lab, passwords, sodermalm_person, sodermalm_user, share):
    name = {"home": sodermalm_user, "common": "SOD-Gemensam",
            "department": f"SOD-{sodermalm_person['department']}"}[share]
    assert_stream_and_ea_kept(*streams_and_eas(lab, sodermalm_user, passwords[sodermalm_user], name))


def test_a_pupils_stream_and_extended_attribute_are_kept_on_the_school_share(lab, pupil):
    name, password = pupil
    assert_stream_and_ea_kept(*streams_and_eas(lab, name, password, "UTB-sodermalmsskolan"))
