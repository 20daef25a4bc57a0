# Gemensam IT: the standard workstation image's spec, read and validated.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The workstation image's one spec, in two files, loaded and validated here:

    workstation_image/spec.yml                         what every profile has in common
    inventory/stockholm/data/workstation_profiles.yml  the profiles orders name, and what
                                                       each adds to the common part

Validated as the city data is (module_utils/city_model.py: the same strict YAML reader,
which refuses repeated keys and reads unquoted dates as text, the same Record checks and
the same messages): every problem is collected and reported at once, each naming the file
and the key (`workstation_profiles.yml: profiles[3].packages[0]: unknown Debian package
'libreofice-writer'`). Checked: unknown keys, missing keys, wrong types, a package name
that is not a Debian package name, a package that the mirror does not have (against the
set of names the caller passes: known_packages_from_apt() reads it from apt), a network
the city does not have (city_model.NETWORK_KINDS), a repeated profile id, and a pupils'
profile outside the school network.

    load_image_spec(spec, profiles, known_packages) -> {"common": {...},
                                                        "profiles": {id: resolved profile}}
    load_profiles(profiles) -> [profile, ...]     (the orders: no common part needed)
    spec_hash(resolved profile) -> SHA-256 hex    (the image manifest)

A resolved profile is the common fields, then the profile's own, with `packages` the common
packages followed by the profile's, each once, in that order.

Plain Python (standard library and PyYAML): the order_check module (packed by AnsiballZ as
ansible.module_utils.workstation_spec), the tools and the unit tests import it unchanged.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

try:
    from ansible.module_utils.city_model import (
        NETWORK_KINDS,
        CityDataError,
        Invalid,
        Problems,
        Record,
        Reporter,
        Token,
        bounded,
        describe,
        display_path,
        excerpt,
        leaf,
        list_of,
        one_of,
        read_yaml,
    )
except ImportError:  # the tools and the unit tests have module_utils on sys.path
    from city_model import (  # type: ignore[no-redef]
        NETWORK_KINDS,
        CityDataError,
        Invalid,
        Problems,
        Record,
        Reporter,
        Token,
        bounded,
        describe,
        display_path,
        excerpt,
        leaf,
        list_of,
        one_of,
        read_yaml,
    )

REPO = Path(__file__).resolve().parents[1]
SPEC_FILE = REPO / "workstation_image" / "spec.yml"
PROFILES_FILE = REPO / "inventory" / "stockholm" / "data" / "workstation_profiles.yml"

# The releases and architectures the image is built for (mmdebstrap's suite and --arch).
RELEASES = ("bookworm",)
ARCHITECTURES = ("amd64",)
# The desktops the workstation role knows how to set up.
DESKTOPS = ("xfce",)
# A profile's kind is the host name's middle part: <code>-ws-00042, <code>-lt-00042.
PROFILE_KINDS = ("ws", "lt")
LOGINS = ("staff", "pupils")
MAX_PACKAGES = 2000

# Debian Policy 5.6.1: at least two characters, lower-case letters, digits, + - and .,
# starting with a letter or digit. 100 characters is far beyond any package in Debian.
DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]{1,99}\Z")
PROFILE_ID = re.compile(r"[a-z][a-z0-9-]{0,39}\Z")
LOCALE = re.compile(r"[a-z]{2,3}_[A-Z]{2}\.UTF-8\Z")
KEYBOARD = re.compile(r"[a-z]{2,3}\Z")
TIMEZONE = re.compile(r"[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_+-]+){1,2}\Z")

debian_package = Token("Debian package name", DEBIAN_PACKAGE,
                       "lower-case ASCII letters, digits, '+', '-' and '.', starting with a letter "
                       "or digit, 2 to 100 characters")
profile_id = Token("profile id", PROFILE_ID, "lower-case ASCII letters, digits and '-', starting with "
                                             "a letter, at most 40 characters")
locale = Token("locale", LOCALE, "language_COUNTRY.UTF-8, e.g. sv_SE.UTF-8")
keyboard = Token("keyboard layout", KEYBOARD, "an XKB layout such as se")
timezone = Token("time zone", TIMEZONE, "an Area/City name of the tz database, e.g. Europe/Stockholm")


def boolean(value: Any) -> bool:
    """true or false, as YAML writes them; a quoted 'yes' or a 1 is not one."""
    if isinstance(value, bool):
        return value
    raise Invalid(f"expected true or false, got {describe(value)}")


def network_kind(value: Any) -> str:
    """One of the city's network kinds (city_model.NETWORK_KINDS: admin, edu)."""
    if isinstance(value, str) and value in NETWORK_KINDS:
        return value
    shown = excerpt(value) if isinstance(value, str) else describe(value)
    raise Invalid(f"the city has no network {shown} (its networks: {', '.join(NETWORK_KINDS)})")


PACKAGES = leaf(debian_package)
# A Windows installer on the city's software share: its file name, plain (no path).
MSI_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,99}\.msi\Z")
msi_file = Token("installer file name", MSI_FILE, "a file name ending in .msi: ASCII letters, digits, "
                                                  "'.', '_', '-' and spaces, at most 104 characters")
WINDOWS_SOFTWARE = Record({"name": leaf(bounded(120)), "msi": leaf(msi_file)})

SPEC = Record({
    "release": leaf(one_of(*RELEASES)),
    "architecture": leaf(one_of(*ARCHITECTURES)),
    "locale": leaf(locale),
    "keyboard": leaf(keyboard),
    "timezone": leaf(timezone),
    "desktop": leaf(one_of(*DESKTOPS)),
    "packages": list_of(PACKAGES),
    "windows_software": list_of(WINDOWS_SOFTWARE),
}, optional=["windows_software"])
PROFILE = Record({
    "id": leaf(profile_id),
    "name": leaf(bounded(120)),
    "kind": leaf(one_of(*PROFILE_KINDS)),
    "network": leaf(network_kind),
    "packages": list_of(PACKAGES, empty=True),
    "login": leaf(one_of(*LOGINS)),
    "local_admin": leaf(boolean),
    "offline_login": leaf(boolean),
    "shared": leaf(boolean),
})
PROFILES = Record({"profiles": list_of(PROFILE)})


# ---------------------------------------------------------------------------
# Reading and checking


def _read(path: Path, schema: Record, problems: Problems) -> tuple[dict[str, Any], Reporter]:
    report = problems.reporter(display_path(path))
    document = read_yaml(path, report)
    if document is None:
        return {}, report
    return schema(document, "", report) or {}, report


def _check_profiles(profiles: list[dict[str, Any] | None], report: Reporter) -> dict[str, dict[str, Any]]:
    """The valid profiles by id; a repeated id, and pupils outside the school net, reported."""
    by_id: dict[str, dict[str, Any]] = {}
    first_index: dict[str, int] = {}
    for index, profile in enumerate(profiles):
        if not profile or "id" not in profile:
            continue
        where = f"profiles[{index}]"
        if profile["id"] in first_index:
            report(f"{where}.id", f"duplicate profile id {profile['id']} (first at "
                                  f"profiles[{first_index[profile['id']]}])")
            continue
        first_index[profile["id"]] = index
        if profile.get("login") == "pupils" and profile.get("network") not in (None, "edu"):
            report(f"{where}.login", f"pupils log in on the edu network only, but the profile is for "
                                     f"the {profile['network']} network")
        by_id[profile["id"]] = profile
    return by_id


def check_known_packages(packages: Iterable[Any], where: str, report: Reporter,
                         known: frozenset[str] | set[str]) -> None:
    """Each valid package name that is not in `known` (the mirror's names), reported with the
    closest known name when there is one."""
    for index, package in enumerate(packages):
        if package is None or package in known:
            continue
        close = difflib.get_close_matches(package, _candidates(package, known), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else " (not in the mirror's package lists)"
        report(f"{where}[{index}]", f"unknown Debian package {excerpt(package)}{hint}")


def _candidates(package: str, known: Iterable[str]) -> list[str]:
    """The known names worth comparing: those sharing the first two characters (difflib over
    the mirror's 60,000 names would take a second per unknown package)."""
    return [name for name in known if name[:2] == package[:2]]


def load_profiles(profiles_path: Path | str = PROFILES_FILE) -> list[dict[str, Any]]:
    """The profiles of workstation_profiles.yml, validated; CityDataError naming file and key."""
    problems = Problems()
    document, report = _read(Path(profiles_path), PROFILES, problems)
    profiles = list(_check_profiles(document.get("profiles") or [], report).values())
    problems.raise_if_any()
    return profiles


def load_image_spec(spec_path: Path | str = SPEC_FILE, profiles_path: Path | str = PROFILES_FILE,
                    known_packages: Iterable[str] | None = None) -> dict[str, Any]:
    """The common part and every resolved profile; CityDataError listing every problem.

    With `known_packages` (the mirror's package names), every package must be one of them."""
    problems = Problems()
    common, spec_report = _read(Path(spec_path), SPEC, problems)
    document, profiles_report = _read(Path(profiles_path), PROFILES, problems)
    profiles = _check_profiles(document.get("profiles") or [], profiles_report)
    if known_packages is not None:
        known = known_packages if isinstance(known_packages, (set, frozenset)) else frozenset(known_packages)
        check_known_packages(common.get("packages") or [], "packages", spec_report, known)
        for index, profile in enumerate(document.get("profiles") or []):
            if profile and "packages" in profile:
                check_known_packages(profile["packages"], f"profiles[{index}].packages",
                                     profiles_report, known)
    problems.raise_if_any()
    return {"common": common, "profiles": {pid: resolve(common, p) for pid, p in profiles.items()}}


def resolve(common: Mapping[str, Any], profile: Mapping[str, Any]) -> dict[str, Any]:
    """The common fields, then the profile's; packages common first, each once."""
    packages = list(dict.fromkeys([*common.get("packages", []), *profile.get("packages", [])]))
    return {**common, **profile, "packages": packages}


def spec_hash(profile: Mapping[str, Any]) -> str:
    """A stable SHA-256 (hex) of a resolved profile: its JSON with sorted keys, UTF-8."""
    canonical = json.dumps(profile, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def known_packages_from_apt(apt_cache: str = "apt-cache") -> frozenset[str]:
    """The names of every package apt knows (its lists of the mirror: `apt-cache pkgnames`);
    CityDataError when apt cannot tell."""
    path = shutil.which(apt_cache)
    if path is None:
        raise CityDataError([f"{apt_cache}: not found: the package names are read from apt's lists"])
    result = subprocess.run([path, "pkgnames"], capture_output=True, text=True, check=False)
    names = frozenset(result.stdout.split())
    if result.returncode != 0 or not names:
        raise CityDataError([f"{apt_cache} pkgnames: no package names (exit {result.returncode}): "
                             "run apt-get update against the mirror first"])
    return names
