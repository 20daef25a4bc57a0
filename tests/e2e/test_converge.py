"""A converged lab converges again with no change, also in --check --diff."""

from conftest import FORCED_HANDLER, FORCED_TASK, changed_tasks, recap


def assert_no_changes(lab, result, expected=()):
    """The run succeeded on every server and changed nothing but the expected (task, host)s."""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    hosts = recap(result.stdout)
    assert set(lab.servers) <= set(hosts), f"recap lacks hosts: {sorted(hosts)}"
    failed = {host: counts for host, counts in hosts.items() if counts["failed"] or counts["unreachable"]}
    assert not failed, f"failed or unreachable: {failed}\n{result.stdout[-6000:]}"
    changed = changed_tasks(result.stdout)
    assert changed == list(expected), f"not idempotent: {changed}\n{result.stdout[-6000:]}"
    assert sum(counts["changed"] for counts in hosts.values()) == len(expected), hosts


def test_second_converge_changes_nothing(lab):
    assert_no_changes(lab, lab.playbook("playbooks/site.yml"))


def test_check_diff_on_converged_lab_reports_no_changes(lab, check_diff_run):
    """The shared --check --diff run: its one forced difference (conftest.check_diff_run)
    and the restart it notifies are the only changes it reports."""
    result, forced_host = check_diff_run
    assert_no_changes(lab, result, expected=[(FORCED_TASK, forced_host), (FORCED_HANDLER, forced_host)])
