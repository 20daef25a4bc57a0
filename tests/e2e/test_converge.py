"""A converged lab converges again with no change, also in --check --diff."""

from conftest import recap


def assert_no_changes(lab, result):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    hosts = recap(result.stdout)
    assert set(lab.servers) <= set(hosts), f"recap lacks hosts: {sorted(hosts)}"
    changed = {host: counts for host, counts in hosts.items()
               if counts["changed"] or counts["failed"] or counts["unreachable"]}
    assert not changed, f"not idempotent: {changed}\n{result.stdout[-6000:]}"


def test_second_converge_changes_nothing(lab):
    assert_no_changes(lab, lab.playbook("playbooks/site.yml"))


def test_check_diff_on_converged_lab_reports_no_changes(lab):
    assert_no_changes(lab, lab.playbook("playbooks/site.yml", "--check", "--diff"))
