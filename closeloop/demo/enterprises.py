"""The demo district's enterprise and place register, from safety.toml."""

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from closeloop.auth.policy import SYSTEM
from closeloop.safety import enterprises
from models.enterprise import Enterprise, EnterpriseCreate

SAFETY_TOML = Path(__file__).with_name("safety.toml")


def records() -> list[dict[str, Any]]:
    with SAFETY_TOML.open("rb") as f:
        return list(tomllib.load(f)["enterprises"])


def load_enterprises(session: Session, *, now: datetime) -> list[Enterprise]:
    """Registers the demo's enterprises and places (their grids must exist) through the
    register's own service, so the demo's credit codes pass the same check."""
    out = [
        enterprises.create_enterprise(session, actor=SYSTEM, data=EnterpriseCreate(**rec), now=now)
        for rec in records()
    ]
    session.flush()
    return out
