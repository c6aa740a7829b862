from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Header, Path, Request, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from pydantic import TypeAdapter
from sqlmodel import Session

from api import case_export, case_query, downloads
from api.case_query import CaseQuery, Page, PageSize
from api.deps import CurrentUser, NowDep, Reader, ReaderDep, SessionDep, SignedInDep, TokenDep
from closeloop.auth.policy import Principal
from closeloop.cases import attachments, history, lifecycle
from closeloop.cases import service as cases
from models.attachment import AttachmentPublic
from models.case import ActionInput, CaseCreate, CasePage, CasePublic
from models.enums import Action
from models.history import HistoryPublic

router = APIRouter(tags=["cases"])
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post("/cases", status_code=status.HTTP_201_CREATED, response_model=CasePublic)
async def file_case(
    unit: SignedInDep,
    data: CaseCreate,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="1-200 visible ASCII characters; the same key within 24 hours answers "
            "the first response and files nothing (with another body: 422)",
        ),
    ] = None,
) -> Response:
    def write(session: Session, user: Principal, now: datetime) -> Response:
        filed = cases.file_once(session, actor=user, data=data, now=now, key=idempotency_key)
        return JSONResponse(filed.body, status_code=filed.status)

    return await unit.run(write)


# The answers of a case read and of an action, serialised as FastAPI serialises a response
# model (its fast path: the model's TypeAdapter.dump_json), but in the route's own thread hop
# (api/deps.Reader). A list page's answer is built from its rows (closeloop/cases/page_json.py).
CASE_JSON = TypeAdapter(CasePublic)


def json_response(adapter: TypeAdapter, value: object) -> Response:  # type: ignore[type-arg]
    return Response(adapter.dump_json(value, by_alias=True), media_type="application/json")


@router.get("/cases", include_in_schema=False)
async def list_cases(request: Request, token: TokenDep) -> Response:
    # GET /cases as documented below (list_cases_declared), in ONE thread hop: the sign-in, the
    # query (api/case_query.parse: the same declarations, read in one validation, refused as
    # FastAPI refuses them, after the sign-in as before), the page and its JSON, the commit.
    # FastAPI's own reading of the 24 parameters and the sign-in's hop of its own cost ~1 ms
    # of CPU a request (in-process, alternated: 5.2 -> 4.1 ms a page).
    def read(session: Session, user: Principal, now: datetime) -> Response:
        filters, page, page_size = case_query.parse(request.query_params)
        body = cases.list_page_json(  # CasePage's bytes, built from the rows (page_json.py)
            session, actor=user, filters=filters, page=page, page_size=page_size, now=now
        )
        return Response(body, media_type="application/json")

    return await Reader(request, token).run(read, sign_in=True)


@router.get("/cases", response_model=CasePage, name="list_cases")
async def list_cases_declared(
    reader: ReaderDep, filters: CaseQuery, page: Page = 1, page_size: PageSize = 50
) -> Response:
    # The list's declaration, for its documentation (the route above answers): the same
    # answers through FastAPI's reading of the parameters (tests/api/test_case_query.py
    # holds the two equal).
    def read(session: Session, user: Principal, now: datetime) -> Response:
        body = cases.list_page_json(
            session, actor=user, filters=filters, page=page, page_size=page_size, now=now
        )
        return Response(body, media_type="application/json")

    return await reader.run(read)


@router.get(
    "/cases.xlsx",
    response_class=StreamingResponse,
    responses={200: {"content": {case_export.XLSX: {}}}},
    description="The case list for the same query as `GET /cases`, every page, as a workbook.",
)
def export_cases(
    session: SessionDep, user: CurrentUser, now: NowDep, filters: CaseQuery
) -> Response:
    return case_export.xlsx_response(session, actor=user, filters=filters, now=now)


@router.get("/cases/{case_id}", response_model=CasePublic)
async def get_case(reader: ReaderDep, case_id: PathId) -> Response:
    def read(session: Session, user: Principal, now: datetime) -> Response:
        case, pending = cases.case_read(session, actor=user, case_id=case_id)
        return json_response(CASE_JSON, cases.to_public(case, user, pending=pending, now=now))

    return await reader.run(read)


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
async def act(
    unit: SignedInDep,
    case_id: PathId,
    action: str,
    data: Annotated[ActionInput | None, Body()] = None,
) -> Response:
    def write(session: Session, user: Principal, now: datetime) -> Response:
        case = cases.act(
            session, actor=user, case_id=case_id, action=action, data=data or ActionInput(), now=now
        )
        return json_response(CASE_JSON, case)

    return await unit.run(write)


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
