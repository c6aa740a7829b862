"""The re-inspection (复查) of a rectified major hazard, by a supervisor within jurisdiction while
the case awaits verification. `approve` (销号) of a major hazard needs the latest recheck since its
rectification was submitted to be a pass (closeloop.cases.major.passing_recheck). A failing
recheck leaves the case awaiting verification: the supervisor then rejects it (核查不通过), which
sends it back for rework as for any case, and the next submit needs a new recheck."""

from datetime import datetime

from sqlmodel import Session, col, select

from closeloop import labels
from closeloop.auth.policy import Principal
from closeloop.cases import service as cases
from closeloop.errors import Forbidden, Invalid
from closeloop.safety.dossier_common import major_hazard, record
from closeloop.text import Msg
from models.attachment import Attachment
from models.dossier import Recheck, RecheckIn, RecheckPublic
from models.enums import CaseState, HistoryAction, RecheckResult, Role
from models.user import User

RECHECK = Msg("复查", "a re-inspection")


def record_recheck(
    session: Session, *, actor: Principal, case_id: int, data: RecheckIn, now: datetime
) -> Recheck:
    if actor.role != Role.supervisor:
        raise Forbidden(Msg("复查由督办人员进行", "a re-inspection is recorded by a supervisor"))
    case = major_hazard(
        session, actor=actor, case_id=case_id, states=(CaseState.verifying,), step=RECHECK
    )
    note = data.note.strip()
    if data.result == RecheckResult.fail and not note:
        raise Invalid(
            Msg(
                "复查不合格须填写说明（哪些方面未整改到位）",
                "note: a failed re-inspection needs a note saying what is not rectified",
            ),
            fields=["note"],
        )
    ids = list(dict.fromkeys(data.attachment_ids))
    if ids:
        found = set(
            session.exec(
                select(Attachment.id).where(
                    col(Attachment.id).in_(ids), Attachment.case_id == case.id
                )
            )
        )
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise Invalid(
                Msg(
                    f"附件 {', '.join(missing)} 不属于本案件",
                    f"attachment_ids: {', '.join(missing)} are not attachments of case "
                    f"{case.number}",
                )
            )
    assert case.id is not None
    row = Recheck(
        case_id=case.id, result=data.result, note=note, attachment_ids=ids, by=actor.id or 0, at=now
    )
    session.add(row)
    session.flush()
    result = labels.RECHECK_RESULT[data.result]
    record(
        session,
        case,
        action=HistoryAction.recheck,
        actor=actor,
        now=now,
        note=f"复查{result.zh}" + (f"：{note}" if note else ""),
        data={"recheck_id": row.id, "result": str(data.result), "attachment_ids": ids},
    )
    session.flush()
    return row


def list_rechecks(session: Session, *, actor: Principal, case_id: int) -> list[Recheck]:
    """A case's rechecks, oldest first (404 / 403 as for the case)."""
    cases.load_case(session, actor=actor, case_id=case_id)
    return list(
        session.exec(
            select(Recheck)
            .where(Recheck.case_id == case_id)
            .order_by(col(Recheck.at), col(Recheck.id))
        )
    )


def recheck_public(session: Session, row: Recheck) -> RecheckPublic:
    user = session.get(User, row.by)
    return RecheckPublic(
        **row.model_dump(exclude={"result"}),
        result=RecheckResult(row.result),
        by_name=user.display_name if user else "",
    )
