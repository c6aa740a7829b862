"""Letters: the snapshot, the letter case and its lifecycle, who is told, refusals, jurisdiction."""

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from closeloop.calendar.service import load_calendar
from closeloop.errors import Forbidden, Invalid, NotFound
from closeloop.letters import render as letter_render
from closeloop.letters import service as letters
from models.case import Case
from models.enums import CaseKind, CaseState, LetterType
from models.history import CaseHistory
from models.letter import Letter, LetterItem
from models.org import Unit
from models.outbox import OutboxMessage
from tests.factories import Org, act, case_in, evidence, new_case
from tests.letters.issuing import LATER, letter_about, open_hazards


def _sw_case(session: Session, org: Org, grid: str = "G3") -> Case:
    case = new_case(session, org, category="0102", grid=grid, by="disp")
    return act(session, org, case, "dispatch", "disp", unit_code="SW")


def test_content_is_a_snapshot_with_working_days_overdue(session: Session, org: Org) -> None:
    a, b = open_hazards(session, org, 2)
    b.address = ""  # the place falls back to the grid's name
    session.flush()
    letter = letter_about(session, org, [a, b], reason="多次催办未果")
    c = letter.content
    assert c["number"] == letter.number == "罗应急督〔2025〕1号"
    assert c["title"] == letter.title == "关于督促加快整改超期隐患的督办函"
    assert (c["unit_name"], c["addressee"]) == ("区住房和建设局", "区住房和建设局")
    assert (c["issuer_name"], c["issued_date"]) == ("罗湖区应急管理局", "2025年10月20日")
    assert c["reply_due_date"] == "2025年10月23日" and c["reason"] == "多次催办未果"
    assert "请于2025年10月23日前将整改情况书面反馈" in c["requirement"]
    assert c["contact"] == ""  # no contact configured: none printed (issue 10, point 11)
    row_a, row_b = c["cases"]
    assert (row_a["seq"], row_a["number"], row_a["title"]) == (1, a.number, a.title)
    assert (row_a["place"], row_b["place"]) == ("东门路1号", "湖贝第一网格")
    assert (row_a["dispatched_date"], row_a["due_date"]) == ("2025-09-30", "2025-10-14")
    # Due 14 October; 15, 16, 17 and 20 October are working days, the weekend is not.
    assert row_a["days_overdue"] == 4
    html_before = letter_render.render_html(letter)
    a.title = "后来改了标题"
    session.flush()
    session.refresh(letter)
    assert letter_render.render_html(letter) == html_before


def test_supervision_opens_a_letter_case_that_walks_the_lifecycle(
    session: Session, org: Org
) -> None:
    a = case_in(session, org, CaseState.rectifying, kind=CaseKind.hazard)
    b = case_in(session, org, CaseState.dispatched)
    letter = letter_about(session, org, [a, b])
    own = session.get(Case, letter.case_id)
    assert own is not None
    due, _ = load_calendar(session).due_after(LATER, 3)
    assert (own.kind, own.state, own.unit_code) == (CaseKind.letter, CaseState.dispatched, "ZJ")
    assert (own.number, own.title) == ("DB2025000001", letter.title)
    assert own.due_at == due == letter.reply_due_at
    assert (own.dispatched_at, own.deadline_version) == (LATER, 1)
    assert own.sign_due_at is not None and own.sign_due_at > LATER
    assert own.region_path == "/D1/S1/C1/G1/"
    assert letter.content["case_number"] == own.number
    issue = session.exec(select(CaseHistory).where(CaseHistory.case_id == own.id)).one()
    assert (issue.action, issue.from_state, issue.to_state) == ("issue", None, "dispatched")
    assert issue.data["number"] == letter.number and issue.actor == org["sup"].display_name
    for case in (a, b):
        entry = session.exec(
            select(CaseHistory).where(
                CaseHistory.case_id == case.id, CaseHistory.action == "letter"
            )
        ).one()
        assert entry.from_state == entry.to_state == case.state
        assert entry.data == {
            "letter_id": letter.id,
            "number": letter.number,
            "type": "supervision",
        }

    act(session, org, own, "sign", "h_zj", LATER)
    with pytest.raises(Invalid, match="evidence"):
        act(session, org, own, "submit", "h_zj", LATER, note="已整改")
    proof = [evidence(session, org, own, now=LATER)]
    act(session, org, own, "submit", "h_zj", LATER, note="整改情况报告", attachment_ids=proof)
    with pytest.raises(Forbidden):
        act(session, org, own, "approve", "disp", LATER)
    act(session, org, own, "reject", "sup", LATER, reason="反馈材料不完整")
    assert (own.state, own.rework_count) == (CaseState.rectifying, 1)
    act(session, org, own, "submit", "h_zj", LATER, note="补充材料", attachment_ids=proof)
    act(session, org, own, "approve", "sup", LATER, note="同意销号")
    assert own.state == CaseState.closed


def test_reminder_has_no_reply_and_no_case(session: Session, org: Org) -> None:
    cases = open_hazards(session, org, 1)
    letter = letter_about(session, org, cases, LetterType.reminder, actor=None)
    assert letter.case_id is None and letter.reply_due_at is None and letter.issued_by is None
    assert letter.content["reply_due_date"] is None and letter.content["case_number"] is None
    assert session.exec(select(func.count()).where(Case.kind == CaseKind.letter)).one() == 0
    entry = session.exec(select(CaseHistory).where(CaseHistory.action == "letter")).one()
    assert entry.actor == "系统"
    assert "书面反馈" not in letter.content["requirement"]


def test_letters_reach_the_unit_and_warnings_its_head(session: Session, org: Org) -> None:
    unit = session.get(Unit, "ZJ")
    assert unit is not None
    unit.email, unit.head_email = "zj@example.cn", "head@example.cn"
    cases = open_hazards(session, org, 1)
    supervision = letter_about(session, org, cases)
    warning = letter_about(session, org, cases, LetterType.warning)
    assert warning.content["addressee"] == "区住房和建设局主要负责同志"
    for letter, to in (
        (supervision, {"zj@example.cn"}),
        (warning, {"zj@example.cn", "head@example.cn"}),
    ):
        msgs = session.exec(select(OutboxMessage).where(OutboxMessage.letter_id == letter.id)).all()
        assert {m.event for m in msgs} == {"letter"}
        assert {m.recipient for m in msgs if m.channel == "email"} == to
        assert {m.user_id for m in msgs if m.channel == "inapp"} == {org["h_zj"].id}
        assert all(m.key.startswith(f"letter:{letter.id}:") for m in msgs)
        assert all(m.case_id == letter.case_id for m in msgs)
        assert letter.number in msgs[0].subject


def test_warning_about_an_unanswered_letter(session: Session, org: Org) -> None:
    supervision = letter_about(session, org, open_hazards(session, org, 1))
    own = session.get(Case, supervision.case_id)
    assert own is not None
    late = LATER + timedelta(days=10)
    warning = letter_about(session, org, [own], LetterType.warning, now=late, actor=None)
    assert warning.title == "关于督办事项逾期未反馈的警示函"
    assert warning.content["cases"][0]["number"] == own.number
    assert warning.content["cases"][0]["place"] == "—"
    assert session.get(Case, warning.case_id).region_path == own.region_path  # type: ignore[union-attr]


def test_letter_case_region_is_the_common_path(session: Session, org: Org) -> None:
    g1 = _sw_case(session, org, grid="G1")
    g2 = _sw_case(session, org, grid="G2")
    g3 = _sw_case(session, org, grid="G3")
    narrow = letter_about(session, org, [g1, g2])
    wide = letter_about(session, org, [g1, g3])
    assert session.get(Case, narrow.case_id).region_path == "/D1/S1/C1/"  # type: ignore[union-attr]
    own = session.get(Case, wide.case_id)
    assert own is not None and (own.region_path, own.street_code) == ("/D1/", None)
    assert letters.common_region_path(["/D1/S1/", "/D1/S1/C1/G1/"]) == "/D1/S1/"


@pytest.mark.parametrize(
    "setup, error, words",
    [
        ("empty", Invalid, "at least one case"),
        ("missing", Invalid, "do not exist"),
        ("unit", Invalid, "unit_code"),
        ("closed", Invalid, "is closed"),
        ("cancelled", Invalid, "is cancelled"),
        ("reported", Invalid, "not dispatched"),
        ("other_unit", Invalid, "not dispatched to unit ZJ"),
        ("outside", Forbidden, "outside your jurisdiction"),
        ("handler", Forbidden, "supervisor"),
    ],
)
def test_manual_issue_is_refused_and_writes_nothing(
    session: Session, org: Org, setup: str, error: type, words: str
) -> None:
    ok = case_in(session, org, CaseState.rectifying)
    actor, unit, ids = org["sup"], "ZJ", [ok.id]
    if setup == "empty":
        ids = []
    elif setup == "missing":
        ids = [ok.id, 999_999]
    elif setup == "unit":
        unit = "NOPE"
    elif setup in ("closed", "cancelled", "reported"):
        ids = [ok.id, case_in(session, org, CaseState(setup)).id]
    elif setup == "other_unit":
        ids = [ok.id, _sw_case(session, org).id]
    elif setup == "outside":
        actor = org["sup_s2"]
    elif setup == "handler":
        actor = org["h_zj"]
    with pytest.raises(error, match=words):
        letters.issue_letter(
            session,
            letter_type=LetterType.supervision,
            unit_code=unit,
            case_ids=ids,  # type: ignore[arg-type]
            now=LATER,
            actor=actor,
        )
    assert session.exec(select(func.count()).select_from(Letter)).one() == 0
    assert session.exec(select(func.count()).select_from(LetterItem)).one() == 0


@pytest.mark.parametrize(("step", "steps"), [(2, 100), (3, 100), (2, 2), (3, 1), (200, 2)])
def test_a_limited_list_is_the_newest_of_the_full_list(
    session: Session, org: Org, step: int, steps: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A region's user asking for the newest N letters (the dashboard) gets the first N of the
    full list, however the letters fall into the steps they are checked in, and when the steps
    run out before N are found (the one query answers): letters of two streets interleaved,
    several issued at the same moment."""
    from closeloop.letters import reads

    monkeypatch.setattr(reads, "STEP", step)
    monkeypatch.setattr(reads, "STEPS", steps)
    for i in range(7):
        case = _sw_case(session, org) if i % 3 else case_in(session, org, CaseState.rectifying)
        letter_about(session, org, [case], now=LATER + timedelta(hours=i // 2))
    for user in ("sup", "sup_s2", "disp_s2"):
        full = letters.list_letters(session, actor=org[user])
        assert full, user
        for n in range(1, len(full) + 2):
            assert letters.list_letters(session, actor=org[user], limit=n) == full[:n], (user, n)
    assert letters.list_letters(session, actor=org["sup_s2"], unit_code="ZJ", limit=5) == []


def test_list_and_get_follow_jurisdiction(session: Session, org: Org) -> None:
    s1 = letter_about(session, org, [case_in(session, org, CaseState.rectifying)])  # ZJ, street S1
    s2 = letter_about(session, org, [_sw_case(session, org)], LetterType.reminder)  # SW, street S2
    both = letter_about(session, org, [_sw_case(session, org, "G1"), _sw_case(session, org, "G3")])

    def seen(user: str, **kw: object) -> set[int]:
        return {x.id for x in letters.list_letters(session, actor=org[user], **kw)}  # type: ignore[arg-type]

    every = {s1.id, s2.id, both.id}
    assert seen("admin") == seen("sup") == seen("disp") == every
    assert seen("sup_s2") == seen("disp_s2") == {s2.id, both.id}  # `both` through its G3 case
    assert seen("h_zj") == {s1.id} and seen("h_sw") == {s2.id, both.id}
    assert seen("admin", letter_type=LetterType.reminder) == {s2.id}
    assert seen("admin", unit_code="SW") == {s2.id, both.id}
    about = {x.id: x for x in letters.list_letters(session, actor=org["admin"])}[both.id].case_ids[
        0
    ]
    assert seen("admin", case_id=about) == {both.id}  # only the letters about that case
    assert seen("sup_s2", case_id=about) == {both.id}
    newest = letters.list_letters(session, actor=org["admin"])
    assert letters.list_letters(session, actor=org["admin"], limit=2) == newest[:2]
    with pytest.raises(Forbidden):
        letters.list_letters(session, actor=org["rep1"])
    assert letters.get_letter(session, actor=org["h_zj"], letter_id=s1.id).id == s1.id  # type: ignore[arg-type]
    for user, letter_id in (("sup_s2", s1.id), ("h_sw", s1.id), ("rep1", s1.id)):
        with pytest.raises(Forbidden):
            letters.get_letter(session, actor=org[user], letter_id=letter_id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        letters.get_letter(session, actor=org["admin"], letter_id=424242)
    public = letters.letter_public(session, both)
    assert public.case_ids == [c["id"] for c in both.content["cases"]]
    assert public.model_dump(mode="json")["issued_at"] == "2025-10-20T10:00:00+08:00"
