"""The demo district's enterprise and place register, from safety.toml."""

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from closeloop.cases.lookup import street_and_community
from models.enterprise import Enterprise
from models.org import Region

SAFETY_TOML = Path(__file__).with_name("safety.toml")


def records() -> list[dict[str, Any]]:
    with SAFETY_TOML.open("rb") as f:
        return list(tomllib.load(f)["enterprises"])


def load_enterprises(session: Session, *, now: datetime) -> list[Enterprise]:
    """Registers the demo's enterprises and places (their grids must exist)."""
    out = []
    for rec in records():
        grid = session.get(Region, rec["grid_code"])
        assert grid is not None, rec["grid_code"]
        street, community = street_and_community(grid.path)
        row = Enterprise(
            **rec,
            street_code=street,
            community_code=community,
            region_path=grid.path,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        out.append(row)
    session.flush()
    return out
