"""October 2025 in the test district, walked through the real services, in two parts: what had
happened by 5 November (when the October report is first generated), and what happened between
6 November and 19 December (closes, a reopen, an extension, a return, a resumption, escalation
letters and listing) before it is generated again on 20 December.

At the end of October (T = 1 November 00:00 Shanghai) — worked out by hand:
  a  ZJ, overdue (due 15 Oct)                      → closed 10 Nov
  b  ZJ, closed 13 Oct, on time                    → reopened 6 Nov (new deadline 13 Nov)
  c  ZJ, overdue (due 16 Oct)                      → 20 working days' extension 6 Nov
  d  SW, dispatched, not signed, overdue (17 Oct)  → returned 6 Nov (reported, no unit)
  e  ZJ, suspended (clock stopped, not overdue)    → resumed 10 Nov
  f  ZJ, major hazard, listed, overdue (29 Oct)    → closed 20 Nov
  h  ZJ, reported in September, overdue (backlog)  → still open
  i  ZJ, overdue (due 28 Oct), in street S2        → listed by the escalation of 20 Nov
  g  reported 3 November: never in October's figures
  A 督办函 about a on 28 Oct; the escalation's letters of 20 Nov are not October's.
So at T: reported 8 in October (a b c d e f i + the cancelled x), overdue_open 6 (a c d f h i),
listed 1 (f), closed 1 (b).
"""

from datetime import datetime

from sqlmodel import Session

from closeloop.escalation import service as escalation
from closeloop.letters import service as letters
from models.case import Case
from models.enums import CaseKind, Grade, LetterType
from models.types import SHANGHAI
from tests.factories import Org, act, evidence, is_major, new_case, plan_for, recheck_pass

OCTOBER_END = datetime(2025, 11, 1, 0, 0, tzinfo=SHANGHAI)
FIRST = datetime(2025, 11, 5, 10, 0, tzinfo=SHANGHAI)  # the report made on 5 November
SECOND = datetime(2025, 12, 20, 10, 0, tzinfo=SHANGHAI)  # and again on 20 December


def sh(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2025, month, day, hour, 0, tzinfo=SHANGHAI)


def _close(session: Session, o: Org, case: Case, at: datetime, by: str = "h_zj") -> None:
    ids = [evidence(session, o, case, by=by, now=at)]
    if is_major(case):  # the dossier: plan before submit, passing recheck before approve
        plan_for(session, o, case, at, by=by)
    act(session, o, case, "submit", by, at, note="已整改", attachment_ids=ids)
    if is_major(case):
        recheck_pass(session, o, case, at)
    verifier = "disp" if case.kind == CaseKind.event else "sup"
    act(session, o, case, "approve", verifier, at, note="核查通过")


def _open(session: Session, o: Org, at: datetime, **kw: object) -> Case:
    case = new_case(session, o, now=at, **kw)  # type: ignore[arg-type]
    act(session, o, case, "dispatch", "sup" if kw.get("kind") else "disp", at)
    act(session, o, case, "sign", "h_zj", at)
    return case


def before(session: Session, o: Org) -> dict[str, Case]:
    """Everything up to 5 November."""
    c: dict[str, Case] = {}
    c["h"] = _open(session, o, sh(9, 22))
    c["a"] = _open(session, o, sh(10, 9))
    c["b"] = _open(session, o, sh(10, 9))
    _close(session, o, c["b"], sh(10, 13))
    c["c"] = _open(session, o, sh(10, 10), grid="G2", by="disp")
    c["d"] = new_case(session, o, now=sh(10, 14), grid="G3", by="rep3", category="0102")
    act(session, o, c["d"], "dispatch", "disp", sh(10, 14))  # to SW, never signed
    c["e"] = _open(session, o, sh(10, 20))
    act(session, o, c["e"], "request_suspension", "h_zj", sh(10, 21), reason="等待管线迁改")
    act(session, o, c["e"], "suspend", "sup", sh(10, 21), reason="同意挂起")
    c["f"] = new_case(
        session,
        o,
        kind=CaseKind.hazard,
        grade=Grade.major,
        now=sh(10, 15),
        grid="G2",
        category="0201",
    )
    act(session, o, c["f"], "dispatch", "sup", sh(10, 15))  # a major hazard: listed
    act(session, o, c["f"], "sign", "h_zj", sh(10, 15))
    c["i"] = new_case(session, o, now=sh(10, 21), grid="G3", by="rep3")
    act(session, o, c["i"], "dispatch", "disp", sh(10, 21))
    act(session, o, c["i"], "sign", "h_zj", sh(10, 21))
    c["x"] = new_case(session, o, now=sh(10, 22))
    act(session, o, c["x"], "cancel", "disp", sh(10, 22), reason="重复上报")
    assert c["a"].id is not None
    letters.issue_letter(
        session,
        letter_type=LetterType.supervision,
        unit_code="ZJ",
        case_ids=[c["a"].id],
        now=sh(10, 28),
        actor=o["sup"],
    )
    c["g"] = _open(session, o, sh(11, 3))
    session.flush()
    return c


def after(session: Session, o: Org, c: dict[str, Case]) -> None:
    """What happened between 6 November and 19 December."""
    act(session, o, c["b"], "reopen", "sup", sh(11, 6), reason="问题反弹")
    act(session, o, c["c"], "request_extension", "h_zj", sh(11, 6), days=20, reason="工程量大")
    act(session, o, c["c"], "approve_extension", "sup", sh(11, 6))
    act(session, o, c["d"], "return", "h_sw", sh(11, 6), reason="不属于本单位职责")
    _close(session, o, c["a"], sh(11, 10))
    act(session, o, c["e"], "resume", "sup", sh(11, 10))
    escalation.run(session, now=sh(11, 20, 9))  # letters and 挂牌督办 for what is long overdue
    _close(session, o, c["f"], sh(11, 20))
    session.flush()
