"""The three ways to validate the city outside the inventory plugin: the command line tool
(`make validate`), the city_validate module, and the validate play that opens every run."""

from __future__ import annotations

import subprocess
import sys

from city_fixture import REPO, CityFixture, run_ansible

SUMMARY = "3 organisations, 5 sites, 6 networks, 4 service hosts, 6 workstations"


def validate_city(*paths) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "tools/validate_city.py"), *map(str, paths)],
                          capture_output=True, text=True, check=False)


def break_stage(city: CityFixture) -> str:
    city.edit_yaml("organisations/sodermalm.yml", lambda o: o.update(stage=3))
    return f"{city.data}/organisations/sodermalm.yml: stage: expected one of 1, 2, got integer 3"


def test_tool_prints_one_summary_line_per_configuration_and_data_dir(city):
    result = validate_city(city.root, city.data)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"city.yml: {SUMMARY}", f"data: {SUMMARY}"]


def test_tool_prints_the_errors_and_exits_1(city):
    expected = break_stage(city).replace(f"{city.root}/", "")
    result = validate_city(city.config)
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["city.yml: 1 problem", f"  {expected}"]


def test_module_fails_with_the_same_messages(city):
    expected = break_stage(city)
    result = run_ansible("ansible", "localhost", "-c", "local", "-i", "localhost,", "-m", "city_validate",
                         "-a", f"data_dir={city.data}", "-e", f"ansible_python_interpreter={sys.executable}")
    assert result.returncode != 0
    assert "The city data is invalid (1 problems)" in result.stdout
    assert expected in result.stdout


def test_validate_play_finds_the_configuration_behind_an_inventory_dir(city):
    result = run_ansible("ansible-playbook", "-i", str(city.root), "playbooks/validate.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    # The YAML callback folds long lines.
    assert f"{city.config}: {SUMMARY}" in " ".join(result.stdout.split())


def test_validate_play_refuses_an_inventory_without_city(tmp_path):
    (tmp_path / "hosts.yml").write_text("---\nall:\n  hosts:\n    somewhere:\n", encoding="utf-8")
    result = run_ansible("ansible-playbook", "-i", str(tmp_path / "hosts.yml"), "playbooks/validate.yml")
    assert result.returncode != 0
    assert "holds a city plugin configuration" in result.stdout
