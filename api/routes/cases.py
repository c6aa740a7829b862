from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, UploadFile, status
from fastapi.responses import FileResponse, Response

from api import downloads
from api.deps import CurrentUser, NowDep, SessionDep
from closeloop.cases import attachments, history, lifecycle
from closeloop.cases import service as cases
from models.attachment import AttachmentPublic
from models.case import ActionInput, CaseCreate, CasePage, CasePublic
from models.enums import Action, CaseKind, CaseState
from models.history import HistoryPublic

router = APIRouter(tags=["cases"])
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post("/cases", status_code=status.HTTP_201_CREATED, response_model=CasePublic)
def file_case(session: SessionDep, user: CurrentUser, now: NowDep, data: CaseCreate) -> object:
    case = cases.file_case(session, actor=user, data=data, now=now)
    return cases.public_one(session, case, user, now)


@router.get("/cases", response_model=CasePage)
def list_cases(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    state: CaseState | None = None,
    kind: CaseKind | None = None,
    unit_code: str | None = None,
    region_code: str | None = None,
    overdue: bool | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> object:
    filters = cases.CaseFilter(
        state=state, kind=kind, unit_code=unit_code, region_code=region_code, overdue=overdue, q=q
    )
    return cases.list_cases(
        session, actor=user, filters=filters, page=page, page_size=page_size, now=now
    )


@router.get("/cases/{case_id}", response_model=CasePublic)
def get_case(session: SessionDep, user: CurrentUser, now: NowDep, case_id: PathId) -> object:
    case = cases.load_case(session, actor=user, case_id=case_id)
    return cases.public_one(session, case, user, now)


ACTIONS_DOC = (
    "Take one lifecycle action on the case. The actions, from the action table "
    "(closeloop/cases/actions.py):\n\n"
    + "\n".join(f"- {lifecycle.describe(a)}" for a in Action)
    + "\n\nAn unknown action is 404; a role that may not take it, or a case outside your "
    "jurisdiction, 403; a stale `version`, a state that does not allow it, or an unmet "
    "precondition, 409 (naming the state and the actions allowed now); a missing reason, "
    "evidence or other input, 422."
)


@router.post(
    "/cases/{case_id}/actions/{action}", response_model=CasePublic, description=ACTIONS_DOC
)
def act(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    case_id: PathId,
    action: str,
    data: Annotated[ActionInput | None, Body()] = None,
) -> object:
    return cases.act(
        session, actor=user, case_id=case_id, action=action, data=data or ActionInput(), now=now
    )


@router.get("/cases/{case_id}/history", response_model=list[HistoryPublic])
def case_history(session: SessionDep, user: CurrentUser, case_id: PathId) -> object:
    cases.load_case(session, actor=user, case_id=case_id)
    return history.history_of(session, case_id=case_id)


@router.post(
    "/cases/{case_id}/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentPublic,
)
def upload(
    session: SessionDep, user: CurrentUser, now: NowDep, case_id: PathId, file: UploadFile
) -> object:
    return attachments.add_attachment(
        session,
        actor=user,
        case_id=case_id,
        filename=file.filename or "",
        stream=file.file,
        now=now,
    )


@router.get("/cases/{case_id}/attachments", response_model=list[AttachmentPublic])
def list_uploads(session: SessionDep, user: CurrentUser, case_id: PathId) -> object:
    return attachments.list_attachments(session, actor=user, case_id=case_id)


@router.get("/attachments/{attachment_id}", response_class=FileResponse)
def download(session: SessionDep, user: CurrentUser, attachment_id: PathId) -> Response:
    return downloads.attachment(session, actor=user, attachment_id=attachment_id, inline=False)
