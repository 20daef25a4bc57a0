"""The file server's LDAP filters for the staff groups and their members (tasks/homes.yml),
rendered as Ansible would: every group name and DN is escaped as RFC 4515 asks."""

from __future__ import annotations

import samba_ldap
from role_files import ROLES, render, render_task_value, task_named

HOMES = ROLES / "file_server" / "tasks" / "homes.yml"
# A group name that would widen the search to every group if it were not escaped.
HOSTILE = "SOD-Personal)(sAMAccountName=*"


def ldap_filter(task_name: str, variables: dict) -> str:
    task = task_named(HOMES, task_name)
    argv = task["ansible.builtin.command"]["argv"]
    assert argv[:4] == ["net", "ads", "search", "-P"]
    return render_task_value(task, argv[4], variables)


def test_the_staff_groups_are_searched_by_their_escaped_names():
    result = ldap_filter("homes | Find the organisations' staff groups in the directory",
                         {"__file_server_staff_groups": ["BRO-Personal", HOSTILE, "A*\\B"]})
    assert result == ("(&(objectClass=group)(|(sAMAccountName=BRO-Personal)"
                      "(sAMAccountName=SOD-Personal\\29\\28sAMAccountName=\\2a)"
                      "(sAMAccountName=A\\2a\\5cB)))")


def test_the_members_are_searched_by_the_escaped_dns_of_the_groups():
    found = ("distinguishedName: CN=BRO-Personal,OU=Bromma,DC=lab\n"
             "distinguishedName: CN=SOD-Personal (alla),OU=Grupper\\, Södermalm,DC=lab\n"
             "Got 2 replies\n")
    result = ldap_filter("homes | Read the members of the staff groups",
                         {"__file_server_staff_groups_found": {"stdout": found}})
    assert result == ("(&(objectCategory=person)(|(memberOf=CN=BRO-Personal,OU=Bromma,DC=lab)"
                      "(memberOf=CN=SOD-Personal \\28alla\\29,OU=Grupper\\5c, Södermalm,DC=lab)))")


def test_the_filter_plugin_is_the_escape_of_module_utils():
    for value in ["plain", HOSTILE, "a\\b", "nul\0", "Åsa (Ö)*"]:
        assert render("{{ value | ldap_escape_filter }}", {"value": value}) == samba_ldap.escape_filter(value)


def test_ansible_cfg_names_the_filter_plugins():
    config = (ROLES.parent / "ansible.cfg").read_text()
    assert "filter_plugins = plugins/filter" in config
