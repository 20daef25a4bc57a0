"""The image root: the spec read and validated, then mmdebstrap with the profile's packages.

Two caches under .lab/cache/ make a rebuild quick:
- debs/: downloaded packages, kept between builds (mmdebstrap's sync-in / sync-out hooks, as
  its manual shows), so a rebuild downloads only what changed; with --proxy, apt fetches
  through the city's package mirror (apt-cacher-ng) as well;
- roots/: the root as mmdebstrap left it with the spec's common packages (before the
  profile's own packages and the role), one tar for every profile, keyed by everything
  mmdebstrap was given (root_key). A build with the same key unpacks it and runs apt-get
  update and dist-upgrade inside, so it has every update a fresh mmdebstrap would get, and
  skips unpacking and configuring some 600 packages again; then the profile's own packages
  are installed (install_packages). So the second profile of a run starts from the first's
  root.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "module_utils"))

# The spec's files, its loader and its hash are module_utils/workstation_spec.py's; the build
# and the tests reach them through this module.
from workstation_spec import (  # noqa: E402
    PROFILES_FILE,
    SPEC_FILE,
    known_packages_from_apt,
    load_image_spec,
    spec_hash,
)

__all__ = ["known_packages_from_apt", "load_image_spec", "load_profile", "spec_hash"]
MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"


def load_profile(profile_id: str, known_packages=None) -> dict[str, Any]:
    """The resolved profile; ValueError naming the file when the profile does not exist."""
    spec = load_image_spec(SPEC_FILE, PROFILES_FILE, known_packages)
    if profile_id not in spec["profiles"]:
        raise ValueError(f"{PROFILES_FILE.relative_to(REPO)}: no profile {profile_id!r:.50} "
                         f"(profiles: {', '.join(sorted(spec['profiles']))})")
    return spec["profiles"][profile_id]


def common_root_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """What the shared root is built from: the profile with only the spec's common packages
    (the same for every profile), named "common" for its cache file."""
    common = load_image_spec(SPEC_FILE, PROFILES_FILE)["common"]["packages"]
    return {**profile, "id": "common", "packages": [p for p in profile["packages"] if p in common]}


def profile_ids() -> list[str]:
    """Every profile of the spec, in its order (make workstation-images builds each)."""
    return list(load_image_spec(SPEC_FILE, PROFILES_FILE)["profiles"])


def sources(profile: dict[str, Any], mirror: str = MIRROR, security: str = SECURITY_MIRROR) -> list[str]:
    release = profile["release"]
    return [f"deb {mirror} {release} main", f"deb {mirror} {release}-updates main",
            f"deb {security} {release}-security main"]


def apt_options(proxy: str | None) -> list[str]:
    """What the build's apt is told (mmdebstrap --aptopt, and /etc/apt/apt.conf.d/99mmdebstrap
    while the root is built; playbooks/workstation_image.yml removes that file)."""
    options = ['APT::Install-Recommends "false"', 'APT::Install-Suggests "false"']
    if proxy:
        options.append(f'Acquire::http::Proxy "{proxy}"')
    return options


def mmdebstrap_command(profile: dict[str, Any], root: Path, cache: Path | None,
                       proxy: str | None) -> list[str]:
    # The package lists stay (--skip=cleanup/apt/lists): the role may install packages in the
    # root; playbooks/workstation_image.yml removes them at its end.
    command = ["mmdebstrap", "--variant=apt", "--mode=root", f"--architectures={profile['architecture']}",
               "--dpkgopt=force-unsafe-io", "--skip=cleanup/apt/lists",
               f"--include={','.join(profile['packages'])}",
               *(f"--aptopt={option}" for option in apt_options(proxy))]
    if cache is not None:
        quoted = shlex.quote(str(cache))
        command += ["--skip=essential/unlink",
                    f"--setup-hook=mkdir -p {quoted} \"$1\"/var/cache/apt/archives/",
                    f"--setup-hook=sync-in {quoted} /var/cache/apt/archives/",
                    f"--customize-hook=sync-out /var/cache/apt/archives {quoted}"]
    return [*command, profile["release"], str(root), *sources(profile)]


def build_root(profile: dict[str, Any], root: Path, log: Path, cache: Path | None = None,
               proxy: str | None = None) -> None:
    command = mmdebstrap_command(profile, root, cache, proxy)
    with log.open("a") as stream:
        stream.write("$ " + shlex.join(command) + "\n")
        stream.flush()
        result = subprocess.run(command, stdout=stream, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise RuntimeError(f"mmdebstrap failed ({result.returncode}), see {log}:\n" + "\n".join(tail))


def root_key(profile: dict[str, Any]) -> str:
    """What the root as mmdebstrap leaves it depends on: release, architecture, packages,
    sources and mmdebstrap's options (the proxy changes where from, not what)."""
    given = mmdebstrap_command(profile, Path("ROOT"), None, None)
    version = subprocess.run(["mmdebstrap", "--version"], capture_output=True, text=True, check=False).stdout
    return hashlib.sha256(json.dumps([given, version.strip()]).encode()).hexdigest()[:16]


def _tar(*args: str) -> None:
    result = subprocess.run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls", *args],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"tar {args[0]} failed: {result.stderr.strip()[-500:]}")


def cached_root(cache: Path, profile: dict[str, Any]) -> Path:
    return cache / f"{profile['id']}-{root_key(profile)}.tar"


def save_root(root: Path, tar: Path) -> None:
    """Keeps the root as mmdebstrap left it; older roots of the profile are removed."""
    tar.parent.mkdir(parents=True, exist_ok=True)
    for old in tar.parent.glob(f"{tar.name.rsplit('-', 1)[0]}-*.tar"):
        old.unlink()
    partial = tar.with_suffix(".partial")
    _tar("--create", f"--file={partial}", f"--directory={root}", ".")
    partial.rename(tar)


def mounts_below(path: Path) -> list[str]:
    """Mount points at or under path, deepest first (from /proc/self/mounts)."""
    prefix = str(path.resolve())
    points = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def remove_tree(path: Path) -> None:
    """Removes a work directory that may hold an image root. A build killed half-way can leave
    /dev, /proc or /sys mounted in it: those are unmounted first, and rm stays on the work
    directory's own file system, so nothing of the host's is ever removed."""
    if not path.exists():
        return
    for point in mounts_below(path):
        subprocess.run(["umount", "--lazy", point], check=False)
    left = mounts_below(path)
    if left:
        raise RuntimeError(f"{path}: still mounted, not removed: {', '.join(left[:3])}")
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=True)


def _resolver_in_run(root: Path) -> None:
    """With systemd-resolved, the root's /etc/resolv.conf links into /run, empty here: its
    target gets the build host's resolver for as long as /run is mounted, so apt resolves
    the mirror. (A plain file, as mmdebstrap leaves it, already holds the host's.)"""
    link = root / "etc/resolv.conf"
    if not link.is_symlink():
        return
    target = Path(os.readlink(link))
    target = Path(os.path.normpath(target if target.is_absolute() else Path("/etc") / target))
    if target.parts[:2] == ("/", "run"):
        inside = root / target.relative_to("/")
        inside.parent.mkdir(parents=True, exist_ok=True)
        inside.write_bytes(Path("/etc/resolv.conf").read_bytes())


@contextlib.contextmanager
def chroot_mounts(root: Path):
    """/proc, /sys, /dev, /dev/pts and an empty /run in root (with /run/sshd, which sshd -t
    wants), and a policy-rc.d that keeps services from starting, for as long as something
    runs inside."""
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\n# workstation_image/build: no service starts in the image root.\n"
                      "exit 101\n")
    policy.chmod(0o755)
    mounts = [(root / "proc", ["-t", "proc", "proc"]), (root / "sys", ["-t", "sysfs", "sysfs"]),
              (root / "dev", ["--bind", "/dev"]), (root / "dev/pts", ["--bind", "/dev/pts"]),
              (root / "run", ["-t", "tmpfs", "-o", "mode=0755", "tmpfs"])]
    done: list[Path] = []
    try:
        for target, args in mounts:
            target.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", *args, str(target)], check=True)
            done.append(target)
        (root / "run/sshd").mkdir(mode=0o755, exist_ok=True)
        (root / "run/lock").mkdir(mode=0o1777, exist_ok=True)
        _resolver_in_run(root)
        yield root
    finally:
        for target in reversed(done):
            subprocess.run(["umount", "--lazy", str(target)], check=False)
        policy.unlink(missing_ok=True)


APT = ["apt-get", "--yes", "-o", "Dpkg::Options::=--force-confold"]


def apt_in_root(root: Path, commands: list[list[str]], log: Path) -> None:
    """Runs each apt command in the root (its mounts in place, its output to log), in order;
    RuntimeError naming the first that fails."""
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"}
    with chroot_mounts(root), log.open("a") as stream:
        for command in commands:
            stream.write(f"$ chroot {root} {shlex.join(command)}\n")
            stream.flush()
            result = subprocess.run(["chroot", str(root), *command], stdout=stream, stderr=subprocess.STDOUT,
                                    env=env, check=False)
            if result.returncode != 0:
                raise RuntimeError(f"{shlex.join(command)} in {root} failed, see {log}")
    os.sync()


def restore_root(tar: Path, root: Path, log: Path, proxy: str | None) -> None:
    """The cached root unpacked into root and brought up to date from the mirror."""
    root.mkdir(parents=True)
    _tar("--extract", f"--file={tar}", f"--directory={root}")
    (root / "etc/apt/apt.conf.d/99mmdebstrap").write_text("".join(f"{o};\n" for o in apt_options(proxy)))
    apt_in_root(root, [["apt-get", "update", "--error-on=any"],  # a mirror not reached fails the build
                       [*APT, "dist-upgrade"], ["apt-get", "clean"]], log)


def install_packages(root: Path, packages: list[str], log: Path) -> None:
    """The profile's own packages, installed into the root from the mirror (the root's apt
    options, 99mmdebstrap, give the proxy)."""
    if packages:
        apt_in_root(root, [[*APT, "install", *packages], ["apt-get", "clean"]], log)


def installed_packages(root: Path) -> str:
    """dpkg-query's name, version and architecture of each package installed in root, a line each
    (image_manifest.parse_dpkg_query reads them)."""
    output = subprocess.run(
        ["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W",
         "-f=${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n"],
        capture_output=True, text=True, check=True,
    ).stdout
    return "".join(line.split("\t", 1)[1] + "\n" for line in output.splitlines()
                   if line.startswith("ii"))
