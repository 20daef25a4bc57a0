"""Fixtures of the unit tests; the fixture city itself is in city_fixture.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from city_fixture import CityFixture


@pytest.fixture(autouse=True)
def no_lab_subnet(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Makefile exports the lab's GEMENSAM_SERVICE_NETWORK, which moves every service
    network loaded (production's too) onto the lab's subnet; a unit test that wants it sets
    it itself."""
    monkeypatch.delenv("GEMENSAM_SERVICE_NETWORK", raising=False)


@pytest.fixture
def city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CityFixture:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GEMENSAM_SERVICE_NETWORK", raising=False)
    return CityFixture(tmp_path).write()
