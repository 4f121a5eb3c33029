"""Fixtures shared by the unit and integration tests."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.routing import calendar


@pytest.fixture
def calendar_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The shipped official-calendar files in a directory of the test's own, read afresh: a test adds a year's
    file there and clears `calendar._year`'s cache, as a deployment with the new file would."""
    for source in calendar.CALENDAR_DIR.glob("cn_*.json"):
        shutil.copy(source, tmp_path / source.name)
    monkeypatch.setattr(calendar, "CALENDAR_DIR", tmp_path)
    calendar._year.cache_clear()
    yield tmp_path
    calendar._year.cache_clear()
