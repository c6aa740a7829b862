"""Return reasons (退单原因): the list a unit picks from when it returns a case; the admin keeps it
(closeloop/cases/reasons.py)."""

from fastapi import APIRouter, status

from api.deps import AdminUser, CurrentUser, SessionDep
from closeloop.cases import reasons
from models.reason import ReturnReasonCreate, ReturnReasonPublic, ReturnReasonUpdate

router = APIRouter(tags=["return reasons"])


@router.get("/return-reasons", response_model=list[ReturnReasonPublic])
def list_reasons(session: SessionDep, _: CurrentUser, include_inactive: bool = False) -> object:
    """The active reasons in their order (with `include_inactive=true`, the deactivated too)."""
    return reasons.list_reasons(session, include_inactive=include_inactive)


@router.post(
    "/return-reasons", status_code=status.HTTP_201_CREATED, response_model=ReturnReasonPublic
)
def create_reason(session: SessionDep, admin: AdminUser, data: ReturnReasonCreate) -> object:
    return reasons.create_reason(session, actor=admin, data=data)


@router.patch("/return-reasons/{code}", response_model=ReturnReasonPublic)
def update_reason(
    session: SessionDep, admin: AdminUser, code: str, data: ReturnReasonUpdate
) -> object:
    """Rename, reorder, or deactivate (`"active": false`) / reactivate a reason."""
    return reasons.update_reason(session, actor=admin, code=code, data=data)
