import pytest

from closeloop.org import service as org_service
from models.enums import RegionLevel
from models.org import RegionCreate, UnitCreate


@pytest.fixture
def two_districts(session, org):  # type: ignore[no-untyped-def]
    """A second district D2 (street S9, community C9, grid G9) and a unit of each district:
    FT serves D2 only, LH serves D1 only; ZJ and SW serve every district."""
    for code, level, parent in (
        ("D2", RegionLevel.district, None),
        ("S9", RegionLevel.street, "D2"),
        ("C9", RegionLevel.community, "S9"),
        ("G9", RegionLevel.grid, "C9"),
    ):
        org_service.create_region(
            session,
            data=RegionCreate(code=code, name=f"{code} 名", level=level, parent_code=parent),
        )
    org_service.create_unit(
        session,
        data=UnitCreate(code="FT", name="福田区城管局", short_name="福城", region_code="D2"),
    )
    org_service.create_unit(
        session,
        data=UnitCreate(code="LH", name="罗湖区城管局", short_name="罗城", region_code="D1"),
    )
    session.flush()
    return org
