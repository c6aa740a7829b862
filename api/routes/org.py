from fastapi import APIRouter, Response, status

from api.deps import AdminUser, CurrentUser, NowDep, SessionDep
from closeloop.org import service as org
from models.org import (
    CategoryCreate,
    CategoryPublic,
    CategoryUpdate,
    RegionCreate,
    RegionNode,
    RegionPublic,
    RegionUpdate,
    UnitCreate,
    UnitPublic,
    UnitUpdate,
)
from models.user import UserCreate, UserPublic, UserUpdate

router = APIRouter(tags=["organisation"])


@router.post("/regions", status_code=status.HTTP_201_CREATED, response_model=RegionPublic)
def create_region(session: SessionDep, _: AdminUser, data: RegionCreate) -> object:
    return org.create_region(session, data=data)


@router.get("/regions", response_model=list[RegionPublic])
def list_regions(session: SessionDep, _: CurrentUser) -> object:
    return org.list_regions(session)


@router.get("/regions/tree", response_model=list[RegionNode], summary="区域树及案件数 / the tree")
def region_tree(session: SessionDep, _: AdminUser) -> object:
    return org.region_tree(session)


@router.patch("/regions/{code}", response_model=RegionPublic)
def update_region(session: SessionDep, _: AdminUser, code: str, data: RegionUpdate) -> object:
    return org.update_region(session, code=code, data=data)


@router.post("/units", status_code=status.HTTP_201_CREATED, response_model=UnitPublic)
def create_unit(session: SessionDep, _: AdminUser, data: UnitCreate) -> object:
    return org.create_unit(session, data=data)


@router.get("/units", response_model=list[UnitPublic])
def list_units(session: SessionDep, _: CurrentUser, region_code: str | None = None) -> object:
    """Every unit; with `region_code`, the active units serving that region's district."""
    if region_code:
        return org.units_for(session, region_code=region_code)
    return org.list_units(session)


@router.patch("/units/{code}", response_model=UnitPublic)
def update_unit(session: SessionDep, _: AdminUser, code: str, data: UnitUpdate) -> object:
    return org.update_unit(session, code=code, data=data)


@router.post("/categories", status_code=status.HTTP_201_CREATED, response_model=CategoryPublic)
def create_category(session: SessionDep, _: AdminUser, data: CategoryCreate) -> object:
    row = org.create_category(session, data=data)
    return CategoryPublic(**row.model_dump(), is_leaf=True)


@router.get("/categories", response_model=list[CategoryPublic])
def list_categories(session: SessionDep, _: CurrentUser) -> object:
    return org.list_categories(session)


@router.patch("/categories/{code}", response_model=CategoryPublic)
def update_category(session: SessionDep, _: AdminUser, code: str, data: CategoryUpdate) -> object:
    row = org.update_category(session, code=code, data=data)
    return org.category_public(session, row)


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
def create_user(session: SessionDep, _: AdminUser, now: NowDep, data: UserCreate) -> object:
    return org.create_user(session, data=data, now=now)


@router.get("/users", response_model=list[UserPublic])
def list_users(session: SessionDep, _: AdminUser) -> object:
    return org.list_users(session)


@router.patch("/users/{username}", response_model=UserPublic)
def update_user(
    session: SessionDep, _: AdminUser, now: NowDep, username: str, data: UserUpdate
) -> object:
    return org.update_user(session, username=username, data=data, now=now)


@router.post("/users/{username}/reset-password", summary="重置为一次性密码 / one-time password")
def reset_password(session: SessionDep, _: AdminUser, now: NowDep, username: str) -> dict[str, str]:
    """The one-time password is in this answer only; the user must change it at next login."""
    password = org.reset_password(session, username=username, now=now)
    return {"username": username, "password": password}


@router.post(
    "/users/{username}/unlock",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="解除登录锁定 / lift the failed-login lock",
)
def unlock_user(session: SessionDep, _: AdminUser, username: str) -> Response:
    org.unlock_user(session, username=username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
