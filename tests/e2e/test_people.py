"""People from the personnel files, as they meet the directory: they log in
(Kerberos) with the password handed to them, on either domain controller; a
leaver is locked out and a mover changes groups when the files say so."""

from conftest import city_names, run_people, username_of, wait_for

# Södermalm's staff group, as the city model names it.
STAFF = city_names.organisation_group("SOD", "staff")


def members(lab, group):
    return lab.ssh("dc1", f"sudo samba-tool group listmembers {group}").stdout.split()


def kinit(lab, dc, principal, password):
    return lab.ssh(dc, f"KRB5CCNAME=FILE:/tmp/e2e-cc kinit {principal} && "
                       "KRB5CCNAME=FILE:/tmp/e2e-cc klist; kdestroy -c FILE:/tmp/e2e-cc",
                   check=False, stdin=password + "\n")


def test_a_person_logs_in_with_the_password_handed_to_them(lab, realm, passwords, sodermalm_person):
    user = username_of(lab, sodermalm_person["employee_id"])
    result = kinit(lab, "dc2", f"{user}@{realm}", passwords[user])
    assert f"Default principal: {user}@{realm}" in result.stdout, result.stderr
    assert user in members(lab, STAFF)


def test_a_wrong_password_is_refused(lab, realm, passwords, sodermalm_person):
    user = username_of(lab, sodermalm_person["employee_id"])
    result = kinit(lab, "dc2", f"{user}@{realm}", passwords[user] + "x")
    assert "Default principal" not in result.stdout


def test_with_dc1_stopped_people_still_log_in_through_dc2(lab, realm, passwords, sodermalm_person):
    user = username_of(lab, sodermalm_person["employee_id"])
    lab.ssh("dc1", "sudo systemctl stop samba-ad-dc")
    try:
        result = kinit(lab, "dc2", f"{user}@{realm}", passwords[user])
        assert f"Default principal: {user}@{realm}" in result.stdout, result.stderr
    finally:
        lab.ssh("dc1", "sudo systemctl start samba-ad-dc")


def test_a_leaver_can_no_longer_log_in_and_a_mover_changes_groups(
        lab, realm, passwords, sodermalm_person, tmp_path):
    employee = sodermalm_person["employee_id"]
    user = username_of(lab, employee)
    old_group = city_names.department_group("SOD", sodermalm_person["department"])
    new_department = "stadsmiljo" if sodermalm_person["department"] != "stadsmiljo" else "forskola"

    def move(rows):
        next(r for r in rows if r["employee_id"] == employee)["department"] = new_department
    run_people(lab, tmp_path / "mover", move)
    assert user in members(lab, city_names.department_group("SOD", new_department))
    assert user not in members(lab, old_group)
    assert username_of(lab, employee) == user, "a move must not rename anyone"

    def leave(rows):
        next(r for r in rows if r["employee_id"] == employee)["end_date"] = "2010-06-30"
    try:
        run_people(lab, tmp_path / "leaver", leave)
        result = kinit(lab, "dc2", f"{user}@{realm}", passwords[user])
        assert "Default principal" not in result.stdout
        assert "revoked" in result.stderr.lower() or "disabled" in result.stderr.lower(), result.stderr
    finally:
        # The files as committed: the person is back in their department and enabled.
        run_people(lab, tmp_path / "restore", lambda rows: None)
    assert user in members(lab, old_group)


def test_a_person_gone_from_the_export_is_disabled_not_deleted(
        lab, realm, passwords, sodermalm_person, tmp_path):
    employee = sodermalm_person["employee_id"]
    user = username_of(lab, employee)

    def remove(rows):
        rows.remove(next(r for r in rows if r["employee_id"] == employee))
    try:
        run_people(lab, tmp_path / "gone", remove)
        result = kinit(lab, "dc2", f"{user}@{realm}", passwords[user])
        assert "Default principal" not in result.stdout
        assert username_of(lab, employee) == user, "the account must stay"
        assert user not in members(lab, STAFF)
    finally:
        run_people(lab, tmp_path / "restore", lambda rows: None)
    # Back in the export, enabled again, once dc2 has the change from dc1.
    assert wait_for(lambda: f"Default principal: {user}@{realm}" in kinit(
        lab, "dc2", f"{user}@{realm}", passwords[user]).stdout, timeout=60, interval=3)
