"""The image root: the spec read and validated, then mmdebstrap with the profile's packages.

Downloaded packages are kept in a cache directory between builds (mmdebstrap's sync-in /
sync-out hooks, as its manual shows), so a rebuild downloads only what changed; with
--proxy, apt fetches through the city's package mirror (apt-cacher-ng) as well.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "module_utils"))

try:
    from workstation_spec import known_packages_from_apt, load_image_spec, spec_hash
except ImportError:
    # STAND-IN until module_utils/workstation_spec.py lands (another helper writes it, with
    # the full validation): same signature and shape, no validation beyond YAML and keys.
    import hashlib
    import json

    import yaml

    def load_image_spec(spec_path, profiles_path, known_packages=None) -> dict[str, Any]:
        common = yaml.safe_load(Path(spec_path).read_text(encoding="utf-8"))
        profiles = yaml.safe_load(Path(profiles_path).read_text(encoding="utf-8"))["profiles"]
        resolved = {}
        for profile in profiles:
            packages = list(dict.fromkeys([*common["packages"], *profile.get("packages", [])]))
            resolved[profile["id"]] = {**common, **profile, "packages": packages}
        return {"common": common, "profiles": resolved}

    def spec_hash(profile) -> str:
        canonical = json.dumps(profile, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    known_packages_from_apt = None

SPEC_FILE = REPO / "workstation_image" / "spec.yml"
PROFILES_FILE = REPO / "inventory" / "stockholm" / "data" / "workstation_profiles.yml"
MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"


def load_profile(profile_id: str, known_packages=None) -> dict[str, Any]:
    """The resolved profile; ValueError naming the file when the profile does not exist."""
    spec = load_image_spec(SPEC_FILE, PROFILES_FILE, known_packages)
    if profile_id not in spec["profiles"]:
        raise ValueError(f"{PROFILES_FILE.relative_to(REPO)}: no profile {profile_id!r:.50} "
                         f"(profiles: {', '.join(sorted(spec['profiles']))})")
    return spec["profiles"][profile_id]


def sources(profile: dict[str, Any], mirror: str = MIRROR, security: str = SECURITY_MIRROR) -> list[str]:
    release = profile["release"]
    return [f"deb {mirror} {release} main", f"deb {mirror} {release}-updates main",
            f"deb {security} {release}-security main"]


def mmdebstrap_command(profile: dict[str, Any], root: Path, cache: Path | None,
                       proxy: str | None) -> list[str]:
    command = ["mmdebstrap", "--variant=apt", "--mode=root", f"--architectures={profile['architecture']}",
               "--aptopt=APT::Install-Recommends \"false\"",
               "--aptopt=APT::Install-Suggests \"false\"",
               "--dpkgopt=force-unsafe-io",
               f"--include={','.join(profile['packages'])}"]
    if proxy:
        command.append(f"--aptopt=Acquire::http::Proxy \"{proxy}\"")
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
