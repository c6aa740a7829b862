"""Fixtures of the report tests."""

import pytest

from closeloop.config import get_settings


@pytest.fixture
def rank_small_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hand-worked data has a handful of cases per street or unit: rank groups from one accepted
    case (the default minimum, CLOSELOOP_RANK_MIN_ACCEPTED=10, would rank none of them)."""
    monkeypatch.setenv("CLOSELOOP_RANK_MIN_ACCEPTED", "1")
    get_settings.cache_clear()
