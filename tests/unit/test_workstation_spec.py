"""The workstation image's spec is validated like the city data (module_utils/workstation_spec.py):
every mistake named by file and key before anything is built."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import city_model
import orders
import personnel
import pytest
import workstation_spec
import yaml
from city_model import CityDataError
from module_runner import run_library_module
from workstation_spec import load_image_spec, load_profiles, spec_hash

REPO = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load(workstation_spec.SPEC_FILE.read_text(encoding="utf-8"))
PROFILES = yaml.safe_load(workstation_spec.PROFILES_FILE.read_text(encoding="utf-8"))
# The mirror's names, as a test gives them: every package the real spec names, and a few more.
KNOWN = frozenset(SPEC["packages"]) | {"network-manager-gnome", "libreoffice-base", "gimp"}


class SpecFiles:
    """spec.yml and workstation_profiles.yml in a temporary directory, the working directory,
    so that messages name them as `spec.yml: ...`."""

    def __init__(self, directory: Path) -> None:
        self.spec_path = directory / "spec.yml"
        self.profiles_path = directory / "workstation_profiles.yml"
        self.spec = copy.deepcopy(SPEC)
        self.profiles = copy.deepcopy(PROFILES)

    def write(self) -> SpecFiles:
        for path, document in ((self.spec_path, self.spec), (self.profiles_path, self.profiles)):
            path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return self

    def load(self, known: frozenset[str] | None = KNOWN) -> dict[str, Any]:
        self.write()
        return load_image_spec(self.spec_path, self.profiles_path, known)

    def errors(self, known: frozenset[str] | None = KNOWN) -> list[str]:
        with pytest.raises(CityDataError) as raised:
            self.load(known)
        return raised.value.errors


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpecFiles:
    monkeypatch.chdir(tmp_path)
    return SpecFiles(tmp_path)


# -- The real spec -------------------------------------------------------------------------


def test_the_real_spec_validates_and_resolves_every_profile_that_orders_name() -> None:
    spec = load_image_spec(known_packages=KNOWN)
    assert list(spec["profiles"]) == ["kontor-stationar", "kontor-barbar", "skola-personal", "skola-elev"]
    laptop = spec["profiles"]["kontor-barbar"]
    assert laptop["name"] == "Kontorsarbetsplats, bärbar dator"
    assert laptop["timezone"] == "Europe/Stockholm" and laptop["locale"] == "sv_SE.UTF-8"
    assert laptop["packages"][: len(SPEC["packages"])] == SPEC["packages"]
    assert laptop["packages"][-1] == "network-manager-gnome"
    assert spec["profiles"]["skola-elev"]["shared"] is True


@pytest.mark.skipif(shutil.which("apt-cache") is None, reason="no apt on this machine: the mirror's "
                                                                 "names cannot be read")
def test_every_package_of_the_real_spec_is_in_apts_lists() -> None:
    known = workstation_spec.known_packages_from_apt()
    assert "libreoffice-writer" in known
    load_image_spec(known_packages=known)


def test_profiles_add_packages_once_in_order(files: SpecFiles) -> None:
    files.profiles["profiles"][0]["packages"] = ["gimp", "firefox-esr", "gimp"]
    packages = files.load()["profiles"]["kontor-stationar"]["packages"]
    assert packages == [*SPEC["packages"], "gimp"]


def test_swedish_letters_in_a_profile_name_are_kept(files: SpecFiles) -> None:
    files.profiles["profiles"][3]["name"] = "Elevdator, Åsö grundskola (Hägersten-Älvsjö)"
    assert files.load()["profiles"]["skola-elev"]["name"] == "Elevdator, Åsö grundskola (Hägersten-Älvsjö)"


def test_the_spec_hash_is_stable_and_changes_with_the_profile() -> None:
    profile = load_image_spec()["profiles"]["kontor-stationar"]
    again = load_image_spec()["profiles"]["kontor-stationar"]
    assert spec_hash(profile) == spec_hash(dict(reversed(list(again.items()))))
    assert len(spec_hash(profile)) == 64
    assert spec_hash({**profile, "packages": [*profile["packages"], "gimp"]}) != spec_hash(profile)


# -- Every mistake, named by file and key -------------------------------------------------


def test_an_unknown_package_is_named_with_the_closest_known_one(files: SpecFiles) -> None:
    files.profiles["profiles"][3]["packages"] = ["libreofice-writer"]
    assert files.errors() == ["workstation_profiles.yml: profiles[3].packages[0]: unknown Debian package "
                              "'libreofice-writer' (did you mean 'libreoffice-writer'?)"]


def test_an_unknown_common_package_is_named_in_the_spec(files: SpecFiles) -> None:
    files.spec["packages"].append("zzzz-not-in-debian")
    index = len(files.spec["packages"]) - 1
    assert files.errors() == [f"spec.yml: packages[{index}]: unknown Debian package 'zzzz-not-in-debian' "
                              "(not in the mirror's package lists)"]


def test_without_the_mirrors_names_an_unknown_package_is_not_checked(files: SpecFiles) -> None:
    files.profiles["profiles"][0]["packages"] = ["not-in-debian"]
    assert files.load(known=None)["profiles"]["kontor-stationar"]["packages"][-1] == "not-in-debian"


@pytest.mark.parametrize(("name", "problem"), [
    ("LibreOffice", "'LibreOffice' is not a valid Debian package name"),
    ("libre office", "'libre office' is not a valid Debian package name"),
    ("-rf", "'-rf' is not a valid Debian package name"),
    ("gim\u0440", "character 4 is U+0440 CYRILLIC SMALL LETTER ER"),
])
def test_a_name_that_is_no_debian_package_name_is_refused(files: SpecFiles, name: str, problem: str) -> None:
    files.profiles["profiles"][1]["packages"] = ["gimp", name]
    errors = files.errors()
    assert len(errors) == 1
    assert errors[0].startswith("workstation_profiles.yml: profiles[1].packages[1]: ")
    assert problem in errors[0]


def test_an_unknown_key_of_the_spec_is_named_with_a_hint(files: SpecFiles) -> None:
    files.spec["desktopp"] = "xfce"
    assert files.errors() == ["spec.yml: desktopp: unknown key (did you mean 'desktop'?)"]


def test_an_unknown_profile_field_is_named(files: SpecFiles) -> None:
    files.profiles["profiles"][2]["local_admins"] = True
    assert files.errors() == ["workstation_profiles.yml: profiles[2].local_admins: unknown key "
                              "(did you mean 'local_admin'?)"]


def test_a_missing_field_is_named(files: SpecFiles) -> None:
    del files.profiles["profiles"][0]["login"]
    assert files.errors() == ["workstation_profiles.yml: profiles[0]: missing key 'login'"]


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("local_admin", "yes", "profiles[0].local_admin: expected true or false, got string 'yes'"),
    ("offline_login", 1, "profiles[0].offline_login: expected true or false, got integer 1"),
    ("packages", "gimp", "profiles[0].packages: expected a list, got string 'gimp'"),
    ("name", 42, "profiles[0].name: expected a string, got integer 42 (quote it if you meant the text)"),
    ("kind", "desktop", "profiles[0].kind: expected one of ws, lt, got string 'desktop'"),
    ("login", "everyone", "profiles[0].login: expected one of staff, pupils, got string 'everyone'"),
])
def test_a_value_of_the_wrong_type_is_named(files: SpecFiles, field: str, value: Any, problem: str) -> None:
    files.profiles["profiles"][0][field] = value
    assert files.errors() == [f"workstation_profiles.yml: {problem}"]


def test_a_network_the_city_does_not_have_is_refused(files: SpecFiles) -> None:
    files.profiles["profiles"][1]["network"] = "dmz"
    assert files.errors() == ["workstation_profiles.yml: profiles[1].network: the city has no network 'dmz' "
                              f"(its networks: {', '.join(city_model.NETWORK_KINDS)})"]


def test_a_duplicate_profile_id_is_refused(files: SpecFiles) -> None:
    files.profiles["profiles"][2]["id"] = "kontor-barbar"
    assert files.errors() == ["workstation_profiles.yml: profiles[2].id: duplicate profile id kontor-barbar "
                              "(first at profiles[1])"]


def test_pupils_log_in_on_the_school_network_only(files: SpecFiles) -> None:
    files.profiles["profiles"][3]["network"] = "admin"
    assert files.errors() == ["workstation_profiles.yml: profiles[3].login: pupils log in on the edu network "
                              "only, but the profile is for the admin network"]


def test_a_repeated_key_and_yamls_implicit_types_are_refused(files: SpecFiles) -> None:
    files.write()
    text = files.profiles_path.read_text(encoding="utf-8")
    repeated = text.replace("  kind: ws\n", "  kind: ws\n  kind: lt\n", 1)
    files.profiles_path.write_text(repeated, encoding="utf-8")
    with pytest.raises(CityDataError, match=r"workstation_profiles.yml: line \d+, column 3: duplicate key "
                                            r"'kind' \(first at line \d+\)"):
        load_profiles(files.profiles_path)
    files.profiles_path.write_text(text.replace("name: Elevdator", "name: 2024-08-19"), encoding="utf-8")
    with pytest.raises(CityDataError, match=r"profiles\[3\].name: expected a string, got date 2024-08-19"):
        load_profiles(files.profiles_path)


def test_every_problem_of_both_files_is_reported_at_once(files: SpecFiles) -> None:
    files.spec["timezone"] = "CET"
    files.profiles["profiles"][0]["network"] = "guest"
    files.profiles["profiles"][3]["packages"] = ["libreofice-writer"]
    errors = files.errors()
    assert [error.split(":")[0] for error in errors] == ["spec.yml", "workstation_profiles.yml",
                                                         "workstation_profiles.yml"]


# -- The CLI and the orders read the same files ---------------------------------------------


def test_the_validate_command_prints_one_line_per_profile_or_every_problem(files: SpecFiles) -> None:
    command = [sys.executable, str(REPO / "workstation_image" / "validate"), "--no-package-check"]
    good = subprocess.run(command, capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stderr
    lines = good.stdout.splitlines()
    assert lines[1].startswith("kontor-stationar: Kontorsarbetsplats, stationär dator; ws on admin")
    assert len(lines) == 1 + len(PROFILES["profiles"])

    files.profiles["profiles"][1]["network"] = "dmz"
    files.write()
    bad = subprocess.run([*command, "--spec", str(files.spec_path), "--profiles", str(files.profiles_path)],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip() == ("workstation_profiles.yml: profiles[1].network: the city has no network "
                                  "'dmz' (its networks: admin, edu)")


def test_the_order_check_module_refuses_an_invalid_profiles_file(
    files: SpecFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    files.profiles["profiles"][0]["kind"] = "tablet"
    files.write()
    order_file = files.profiles_path.parent / "order.yml"
    order_file.write_text("ticket: '7'\n", encoding="utf-8")
    arguments = {"kind": "leaver", "order_file": str(order_file), "organisations": {},
                 "profiles_file": str(files.profiles_path), "base_dn": "DC=lab,DC=gemensam,DC=test",
                 "mail_domain": "lab.gemensam.test"}
    module_utils = {"orders": orders, "personnel": personnel, "city_model": city_model,
                    "workstation_spec": workstation_spec}
    result = run_library_module(monkeypatch, "order_check", arguments, module_utils)
    assert result["failed"] is True
    assert result["msg"] == ("workstation_profiles.yml: profiles[0].kind: expected one of ws, lt, "
                             "got string 'tablet'")


def test_a_windows_installer_that_is_not_a_plain_msi_file_name_is_refused(files: SpecFiles) -> None:
    files.spec["windows_software"][0]["msi"] = "..\\..\\evil.exe"
    errors = files.errors()
    assert len(errors) == 1
    assert errors[0].startswith("spec.yml: windows_software[0].msi: '..\\\\..\\\\evil.exe' is not a valid "
                                "installer file name")
