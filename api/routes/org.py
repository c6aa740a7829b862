from fastapi import APIRouter, status

from api.deps import AdminUser, CurrentUser, NowDep, SessionDep
from closeloop.org import service as org
from models.org import (
    CategoryCreate,
    CategoryPublic,
    RegionCreate,
    RegionPublic,
    UnitCreate,
    UnitPublic,
)
from models.user import UserCreate, UserPublic

router = APIRouter(tags=["organisation"])


@router.post("/regions", status_code=status.HTTP_201_CREATED, response_model=RegionPublic)
def create_region(session: SessionDep, _: AdminUser, data: RegionCreate) -> object:
    return org.create_region(session, data=data)


@router.get("/regions", response_model=list[RegionPublic])
def list_regions(session: SessionDep, _: CurrentUser) -> object:
    return org.list_regions(session)


@router.post("/units", status_code=status.HTTP_201_CREATED, response_model=UnitPublic)
def create_unit(session: SessionDep, _: AdminUser, data: UnitCreate) -> object:
    return org.create_unit(session, data=data)


@router.get("/units", response_model=list[UnitPublic])
def list_units(session: SessionDep, _: CurrentUser) -> object:
    return org.list_units(session)


@router.post("/categories", status_code=status.HTTP_201_CREATED, response_model=CategoryPublic)
def create_category(session: SessionDep, _: AdminUser, data: CategoryCreate) -> object:
    row = org.create_category(session, data=data)
    return CategoryPublic(**row.model_dump(), is_leaf=True)


@router.get("/categories", response_model=list[CategoryPublic])
def list_categories(session: SessionDep, _: CurrentUser) -> object:
    return org.list_categories(session)


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
def create_user(session: SessionDep, _: AdminUser, now: NowDep, data: UserCreate) -> object:
    return org.create_user(session, data=data, now=now)


@router.get("/users", response_model=list[UserPublic])
def list_users(session: SessionDep, _: AdminUser) -> object:
    return org.list_users(session)
