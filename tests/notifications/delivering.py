"""The delivery job as the scheduler runs it — the delivery flow, in-process — with the settings a
test gives: they reach the flow the way they reach production, through CLOSELOOP_* variables
(undone by monkeypatch when the test ends)."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from closeloop.config import Settings, get_settings

Deliver = Callable[..., dict[str, Any]]


def delivery_job(monkeypatch: pytest.MonkeyPatch) -> Deliver:
    def deliver_due(
        engine: Engine, *, now: datetime, settings: Settings | None = None, limit: int = 200
    ) -> dict[str, Any]:
        from workflows.flows import run_job

        if settings is not None:
            for name in settings.model_fields_set:
                monkeypatch.setenv(f"CLOSELOOP_{name.upper()}", str(getattr(settings, name)))
            get_settings.cache_clear()
        return run_job("delivery", now=now, engine=engine, limit=limit)

    return deliver_due
