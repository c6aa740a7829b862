"""Chosen passwords are hashed with argon2id at the configured cost; a hash keeps its own cost."""

import pytest
from pydantic import ValidationError

from closeloop.auth import security
from closeloop.config import Settings, get_settings


def _cost(password_hash: str) -> str:
    return password_hash.split("$")[3]


def test_a_password_is_hashed_at_the_configured_cost(monkeypatch):
    monkeypatch.setenv("CLOSELOOP_ARGON2_TIME_COST", "2")
    monkeypatch.setenv("CLOSELOOP_ARGON2_MEMORY_KIB", "19456")
    get_settings.cache_clear()
    strong = security.hash_password("correct horse")
    assert strong.startswith("$argon2id$")
    assert _cost(strong) == "m=19456,t=2,p=4"

    monkeypatch.setenv("CLOSELOOP_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("CLOSELOOP_ARGON2_MEMORY_KIB", "1024")
    get_settings.cache_clear()
    # Changing the cost changes new hashes only: the old one still verifies, at its own cost.
    assert _cost(security.hash_password("correct horse")) == "m=1024,t=1,p=4"
    assert security.verify_password(strong, "correct horse")
    assert not security.verify_password(strong, "wrong horse")


def test_the_default_cost_is_argon2s_recommended_one(monkeypatch):
    monkeypatch.delenv("CLOSELOOP_ARGON2_TIME_COST", raising=False)
    monkeypatch.delenv("CLOSELOOP_ARGON2_MEMORY_KIB", raising=False)
    settings = Settings()
    assert (settings.argon2_time_cost, settings.argon2_memory_kib) == (3, 65536)


@pytest.mark.parametrize("environment", ["production", "development"])
def test_outside_test_runs_a_cost_below_the_owasp_minimum_is_refused(environment):
    with pytest.raises(ValidationError, match="OWASP"):
        Settings(environment=environment, argon2_time_cost=1, argon2_memory_kib=65536)
    with pytest.raises(ValidationError, match="OWASP"):
        Settings(environment=environment, argon2_time_cost=3, argon2_memory_kib=8192)
    ok = Settings(environment=environment, argon2_time_cost=2, argon2_memory_kib=19456)
    assert ok.argon2_time_cost == 2
    assert Settings(environment="test", argon2_time_cost=1, argon2_memory_kib=1024)


def test_a_cost_below_argon2s_floor_is_refused_everywhere():
    with pytest.raises(ValidationError, match="at least 1024"):
        Settings(argon2_time_cost=1, argon2_memory_kib=512)
