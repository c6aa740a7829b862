"""作废 (issue 10, point 3): a supervisor withdraws a letter with a reason; its number is kept and
never reused, it is marked in its documents and lists, its letter case closes as withdrawn, and a
case listed by that warning alone is unlisted. Nothing else changes an issued letter."""

import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from closeloop.cases import service as cases
from closeloop.errors import Conflict, Forbidden, Invalid, NotFound
from closeloop.letters import render as letter_render
from closeloop.letters import service as letters
from models.case import Case
from models.enums import CaseKind, CaseState, Grade, LetterType
from models.history import CaseHistory
from models.letter import Letter
from models.outbox import OutboxMessage
from tests.factories import NOW, Org, act, case_in, evidence
from tests.letters.issuing import LATER, letter_about

WITHDRAWN_AT = LATER + timedelta(days=1)  # 2025-10-21


def _withdraw(
    session: Session, org: Org, letter: Letter, by: str = "sup", reason: str | None = "文号错发"
):  # type: ignore[no-untyped-def]
    return letters.withdraw_letter(
        session, actor=org[by], letter_id=letter.id or 0, reason=reason, now=WITHDRAWN_AT
    )


def _actions(session: Session, case_id: int | None) -> list[str]:
    rows = session.exec(
        select(CaseHistory).where(CaseHistory.case_id == case_id).order_by(col(CaseHistory.seq))
    )
    return [h.action for h in rows]


def test_withdraw_keeps_the_number_and_closes_the_letter_case(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying)
    first = letter_about(session, org, [case])
    content = dict(first.content)
    done = _withdraw(session, org, first)
    assert (done.id, done.number, done.serial) == (first.id, "罗应急督〔2025〕1号", 1)
    assert (done.withdrawn_at, done.withdrawn_by, done.withdraw_reason) == (
        WITHDRAWN_AT,
        org["sup"].id,
        "文号错发",
    )
    assert done.content == content  # the frozen document is never edited
    own = session.get(Case, first.case_id)
    assert own is not None and (own.state, own.cancelled_at) == (CaseState.cancelled, WITHDRAWN_AT)
    entry = session.exec(
        select(CaseHistory).where(CaseHistory.case_id == own.id, CaseHistory.action == "withdraw")
    ).one()
    assert (entry.from_state, entry.to_state, entry.note) == ("dispatched", "cancelled", "文号错发")
    assert entry.data["number"] == first.number
    assert _actions(session, case.id)[-2:] == ["letter", "letter_withdrawn"]
    notice = session.exec(
        select(OutboxMessage).where(OutboxMessage.event == "letter_withdrawn")
    ).first()
    assert notice is not None and "作废" in notice.subject and "文号错发" in notice.body
    # The number stays taken: the next letter of the type gets the next serial.
    second = letter_about(session, org, [case])
    assert second.number == "罗应急督〔2025〕2号"
    public = {x.id: x for x in letters.list_letters(session, actor=org["sup"])}
    assert public[first.id].withdrawn and public[first.id].withdraw_reason == "文号错发"
    assert not public[second.id].withdrawn


def test_withdraw_is_refused_and_changes_nothing(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying)
    letter = letter_about(session, org, [case])
    for user, error in (("h_zj", Forbidden), ("disp", Forbidden), ("sup_s2", Forbidden)):
        with pytest.raises(error):
            _withdraw(session, org, letter, by=user)
    for reason in (None, "", "   "):
        with pytest.raises(Invalid, match="needs a reason"):
            _withdraw(session, org, letter, reason=reason)
    with pytest.raises(NotFound):
        letters.withdraw_letter(
            session, actor=org["sup"], letter_id=424242, reason="x", now=WITHDRAWN_AT
        )
    assert letter.withdrawn_at is None
    assert session.get(Case, letter.case_id).state == CaseState.dispatched  # type: ignore[union-attr]
    _withdraw(session, org, letter)
    with pytest.raises(Conflict, match="already withdrawn"):
        _withdraw(session, org, letter, reason="再次作废")
    assert letter.withdraw_reason == "文号错发"


def test_a_closed_letter_case_stays_closed(session: Session, org: Org) -> None:
    letter = letter_about(session, org, [case_in(session, org, CaseState.rectifying)])
    own = session.get(Case, letter.case_id)
    assert own is not None
    act(session, org, own, "sign", "h_zj", LATER)
    proof = [evidence(session, org, own, now=LATER)]
    act(session, org, own, "submit", "h_zj", LATER, note="已整改", attachment_ids=proof)
    act(session, org, own, "approve", "sup", LATER, note="同意")
    _withdraw(session, org, letter)
    assert own.state == CaseState.closed and "withdraw" not in _actions(session, own.id)
    # Only an open letter case can be withdrawn, even by the letters service's own path.
    event = case_in(session, org, CaseState.rectifying)
    for case in (own, event):
        with pytest.raises(Conflict, match="only an open letter case"):
            cases.withdraw_letter_case(
                session, case=case, actor=org["sup"], reason="x", now=WITHDRAWN_AT, letter={}
            )
    assert event.state == CaseState.rectifying and event.cancelled_at is None


def test_a_warning_withdrawn_unlists_only_what_it_alone_listed(session: Session, org: Org) -> None:
    alone = case_in(session, org, CaseState.rectifying)
    twice = case_in(session, org, CaseState.rectifying)
    major = case_in(session, org, CaseState.rectifying, kind=CaseKind.hazard, grade=Grade.major)
    assert major.listed  # listed from dispatch on
    other = letter_about(session, org, [twice], LetterType.warning)
    wrong = letter_about(session, org, [alone, twice, major], LetterType.warning)
    assert alone.listed and twice.listed
    _withdraw(session, org, wrong)
    assert (alone.listed, twice.listed, major.listed) == (False, True, True)
    unlist = session.exec(
        select(CaseHistory).where(CaseHistory.case_id == alone.id, CaseHistory.action == "unlist")
    ).one()
    assert "警示函作废" in (unlist.note or "") and unlist.data["number"] == wrong.number
    assert "unlist" not in _actions(session, twice.id) + _actions(session, major.id)
    # The other warning, withdrawn too, now unlists `twice`.
    _withdraw(session, org, other)
    assert twice.listed is False


def test_withdrawn_letters_are_marked_in_their_documents(session: Session, org: Org) -> None:
    letter = letter_about(session, org, [case_in(session, org, CaseState.rectifying)])
    assert "作废" not in letter_render.render_html(letter)
    _withdraw(session, org, letter)
    html = letter_render.render_html(letter)
    assert "本函已于2025年10月21日作废。作废原因：文号错发。" in html
    assert '<div class="stamp">作废</div>' in html and letter.number in html
    if shutil.which("pdftotext"):
        pdf = letter_render.render_pdf(letter)
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        flat = re.sub(r"\s+", "", text)
        assert "本函已于2025年10月21日作废" in flat and "文号错发" in flat
        assert letter.number in flat


def test_metrics_count_a_letter_until_it_is_withdrawn(session: Session, org: Org) -> None:
    """Letters issued and not withdrawn by the report time count: a report as of a moment before
    the withdrawal still counts the letter (it stood then), one after it does not."""
    from closeloop.reports.metrics import service as metrics

    case = case_in(session, org, CaseState.rectifying)
    letter = letter_about(session, org, [case])
    _withdraw(session, org, letter)
    session.flush()

    def supervision(as_of):  # type: ignore[no-untyped-def]
        report = metrics.compute(
            session,
            actor=org["sup"],
            date_from=NOW.date(),
            date_to=LATER.date() + timedelta(5),
            now=WITHDRAWN_AT + timedelta(days=30),
            as_of=as_of,
        )
        return report.total.letters.supervision

    assert supervision(WITHDRAWN_AT - timedelta(hours=1)) == 1
    assert supervision(WITHDRAWN_AT + timedelta(hours=1)) == 0
