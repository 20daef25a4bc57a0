"""Fixtures of the unit tests; the fixture city itself is in city_fixture.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from city_fixture import CityFixture


@pytest.fixture
def city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CityFixture:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GEMENSAM_SERVICE_NETWORK", raising=False)
    return CityFixture(tmp_path).write()
