"""Enterprises for the risk register's tests, inserted directly (the register's service is
another piece's); their street and region path follow from the grid as the register's do."""

from datetime import datetime

from sqlmodel import Session

from closeloop.cases.lookup import street_and_community
from models.enterprise import Enterprise
from models.enums import EnterpriseKind
from models.org import Region
from tests.factories import NOW


def add_enterprise(session: Session, code: str, grid: str, now: datetime = NOW) -> Enterprise:
    region = session.get(Region, grid)
    assert region is not None
    street, community = street_and_community(region.path)
    row = Enterprise(
        code=code,
        name=f"{code} 有限公司",
        kind=EnterpriseKind.place,
        grid_code=grid,
        street_code=street,
        community_code=community,
        region_path=region.path,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row
