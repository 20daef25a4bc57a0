"""lab/check-podman names the missing piece before the lab is touched. podman itself
is replaced by a stand-in script that fails the way Debian 12's podman fails when
netavark cannot run iptables; the piece's presence is controlled through PATH."""

import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECK = ROOT / "lab" / "check-podman"

FAILING_PODMAN = """#!/bin/bash
case "$1 $2" in
  "network create") exit 0 ;;
  "network rm") exit 0 ;;
esac
echo 'Error: netavark: No such file or directory (os error 2)' >&2
exit 127
"""
WORKING_PODMAN = "#!/bin/bash\nexit 0\n"


def run_check(tmp_path, podman, present):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "podman").write_text(podman)
    (bin_dir / "podman").chmod(0o755)
    for tool in ["bash", "tail", "sed", *present]:
        real = "/bin/true" if tool in ("runc", "iptables") else subprocess.check_output(
            ["bash", "-c", f"command -v {tool}"], text=True).strip()
        (bin_dir / tool).symlink_to(real)
    netavark = tmp_path / "netavark"
    netavark.write_text("#!/bin/sh\n")
    netavark.chmod(0o755)
    conf = tmp_path / "containers.conf"
    conf.write_text("")
    env = {"PATH": str(bin_dir), "NETAVARK_BINARY": str(netavark), "CONTAINERS_CONF": str(conf)}
    return subprocess.run([str(bin_dir / "bash"), str(CHECK), "some-image"],
                          capture_output=True, text=True, env=env)


def test_a_missing_iptables_is_named_before_podman_is_asked(tmp_path):
    result = run_check(tmp_path, FAILING_PODMAN, present=["runc"])
    assert result.returncode == 1
    assert "missing: iptables (Debian package iptables)" in result.stderr
    assert "missing: runc" not in result.stderr


def test_a_failing_container_start_is_reported_with_podmans_words(tmp_path):
    result = run_check(tmp_path, FAILING_PODMAN, present=["runc", "iptables"])
    assert result.returncode == 1
    assert "missing:" not in result.stderr
    assert "netavark: No such file or directory" in result.stderr
    assert "the lab is not touched" in result.stderr


def test_a_working_podman_passes(tmp_path):
    result = run_check(tmp_path, WORKING_PODMAN, present=["runc", "iptables"])
    assert result.returncode == 0, result.stderr
    assert "container started" in result.stdout


def test_the_makefile_checks_podman_before_the_lab_and_installs_iptables():
    makefile = (ROOT / "Makefile").read_text()
    assert "lab: setup check-podman lab-up" in makefile
    packages = makefile.split("APT_PACKAGES :=", 1)[1].split("\n\n", 1)[0].split()
    assert "iptables" in packages
