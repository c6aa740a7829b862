"""A letter says only what is true of its cases (issue 10, points 1, 2 and 11): overdue cases as
overdue with their working days, cases not yet due as such, a reply date never before a covered
case's own deadline unless the supervisor chose it, earlier letters named only when they exist;
the preview writes nothing; the letter form keeps the signature with the body and prints a contact
line only when one is configured."""

import re
import shutil
import subprocess
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, select

from closeloop.config import Settings, get_settings
from closeloop.errors import Forbidden, Invalid
from closeloop.letters import render as letter_render
from closeloop.letters import service as letters
from models.case import Case
from models.enums import CaseState, LetterType
from models.history import CaseHistory
from models.letter import Letter, LetterItem
from models.outbox import OutboxMessage
from models.system import Counter
from tests.factories import NOW, Org, case_in
from tests.letters.issuing import LATER, letter_about


def _text(letter: Letter) -> str:
    c = letter.content
    return c["title"] + "".join(c["body"]) + c["requirement"]


def _count(session: Session, table: type) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


# --- point 1: wording follows the facts --------------------------------------------------------


def test_supervision_about_a_case_not_yet_due_says_so(session: Session, org: Org) -> None:
    """SJ…230 of the issue: dispatched today, due in two weeks; a 督办函 at once."""
    case = case_in(session, org, CaseState.rectifying)  # dispatched NOW, due 2025-10-14
    letter = letter_about(session, org, [case], now=NOW)
    text = _text(letter)
    assert letter.title == "关于督促加快整改事件的督办函"
    for false in ("超期", "已超过整改期限", "逾期未"):
        assert false not in letter.title + "".join(letter.content["body"]), false
    assert "尚未整改到位，整改期限为2025年10月14日，尚未到期" in text
    assert "确保于2025年10月14日前整改到位" in letter.content["requirement"]
    # The reply is not asked before the case's own deadline.
    assert case.due_at is not None and letter.reply_due_at is not None
    assert letter.reply_due_at >= case.due_at
    assert letter.content["reply_due_date"] == "2025年10月14日"
    assert "请于2025年10月14日前将整改情况书面反馈" in letter.content["requirement"]
    row = letter.content["cases"][0]
    assert (row["overdue"], row["overdue_text"], row["earlier_text"]) == (False, "未到期", "—")
    html = letter_render.render_html(letter)
    assert "未到期" in html and "最长超期" not in html
    notice = session.exec(select(OutboxMessage).where(OutboxMessage.letter_id == letter.id)).first()
    assert notice is not None and "超期" not in notice.subject + notice.body


def test_the_supervisor_may_choose_an_earlier_reply_date(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying)
    cal_day = NOW.date() + timedelta(days=9)  # 2025-10-09, before the deadline of 10-14
    letter = letter_about(session, org, [case], now=NOW, reply_due_at=cal_day)
    assert letter.content["reply_due_date"] == "2025年10月9日"
    assert letter.reply_due_at is not None and case.due_at is not None
    assert letter.reply_due_at < case.due_at
    own = session.get(Case, letter.case_id)
    assert own is not None and own.due_at == letter.reply_due_at
    # The unit is still told its own deadline for the case.
    assert "确保于2025年10月14日前整改到位" in letter.content["requirement"]


@pytest.mark.parametrize(
    ("kind", "when", "words"),
    [
        (LetterType.supervision, "past", "in the future"),
        (LetterType.warning, "now", "in the future"),
        (LetterType.reminder, "future", "reminder asks for no reply"),
        (LetterType.supervision, "far", "within a year"),
        (LetterType.supervision, "year1", "in the future"),
    ],
)
def test_a_reply_date_that_cannot_be_is_refused(
    session: Session, org: Org, kind: LetterType, when: str, words: str
) -> None:
    case = case_in(session, org, CaseState.rectifying)
    at = {
        "past": NOW - timedelta(days=1),
        "now": NOW,
        "future": NOW + timedelta(days=3),
        "far": NOW + timedelta(days=400),
        "year1": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
    }[when]
    with pytest.raises(Invalid, match=words):
        letter_about(session, org, [case], kind, now=NOW, reply_due_at=at)
    assert _count(session, Letter) == 0
    assert [c for c in session.exec(select(Counter)) if c.name.startswith("letter:")] == []


def test_a_mixed_set_says_which_are_overdue_and_which_are_not(session: Session, org: Org) -> None:
    late = case_in(session, org, CaseState.rectifying)  # due 2025-10-14: 4 working days late
    fresh = case_in(session, org, CaseState.rectifying, now=LATER)  # due 2025-10-27
    for kind in LetterType:
        letter = letter_about(session, org, [late, fresh], kind)
        text = _text(letter)
        assert "超期" not in letter.title, letter.title
        assert "其中1件已超过整改期限，超期4个工作日，1件尚未到整改期限" in text, kind
        assert "对尚未到期的1件，请加快整改，确保于2025年10月27日前整改到位" in text, kind
        rows = letter.content["cases"]
        assert [r["overdue_text"] for r in rows] == ["4", "未到期"]
        if kind != LetterType.reminder:
            assert letter.content["reply_due_date"] == "2025年10月27日"  # not before 10-27
        notice = session.exec(
            select(OutboxMessage).where(OutboxMessage.letter_id == letter.id)
        ).first()
        assert notice is not None and "（其中1件已超期）" in notice.body


def test_an_all_overdue_set_keeps_the_overdue_wording(session: Session, org: Org) -> None:
    a, b = (case_in(session, org, CaseState.rectifying) for _ in range(2))
    letter = letter_about(session, org, [a, b])
    assert letter.title == "关于督促加快整改超期事件的督办函"
    assert "以下2件事件已超过整改期限，最长超期4个工作日，至今尚未整改到位" in _text(letter)
    assert "尚未到期" not in _text(letter)
    assert letter.content["reply_due_date"] == "2025年10月23日"  # the usual 3 working days


@pytest.mark.parametrize("state", [CaseState.suspended, CaseState.verifying])
def test_a_letter_is_never_about_a_stopped_or_answered_case(
    session: Session, org: Org, state: CaseState
) -> None:
    case = case_in(session, org, state)
    with pytest.raises(Invalid, match="letters cover cases being rectified"):
        letter_about(session, org, [case])
    assert not letters.may_issue_about(org["sup"], case)
    assert _count(session, Letter) == 0


# --- preview ----------------------------------------------------------------------------------


def test_preview_is_the_letter_and_writes_nothing(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying)
    before = {t: _count(session, t) for t in (Letter, LetterItem, CaseHistory, OutboxMessage, Case)}
    counters = _count(session, Counter)
    html = letters.preview_letter(
        session,
        letter_type=LetterType.warning,
        unit_code="ZJ",
        case_ids=[case.id or 0],
        now=LATER,
        actor=org["sup"],
        reason="多次催办未果",
    )
    assert "文号待定" in html and "预览" in html and "事由：多次催办未果" in html
    assert "关于超期事件逾期未整改到位的警示函" in html and "区住房和建设局主要负责同志" in html
    assert "〔2025〕" not in html  # no number drawn
    session.flush()
    assert {t: _count(session, t) for t in before} == before
    assert _count(session, Counter) == counters  # no counter row touched
    assert session.get(Case, case.id).listed is False  # type: ignore[union-attr]
    # Same checks as issuing.
    with pytest.raises(Forbidden):
        letters.preview_letter(
            session,
            letter_type=LetterType.warning,
            unit_code="ZJ",
            case_ids=[case.id or 0],
            now=LATER,
            actor=org["h_zj"],
        )
    with pytest.raises(Invalid, match="do not exist"):
        letters.preview_letter(
            session,
            letter_type=LetterType.warning,
            unit_code="ZJ",
            case_ids=[999_999],
            now=LATER,
            actor=org["sup"],
        )
    letter = letter_about(session, org, [case], LetterType.warning, reason="多次催办未果")
    assert (letter.serial, letter.number) == (1, "罗应急警〔2025〕1号")
    issued = letter_render.render_html(letter)
    assert 'data-mark="preview"' in html and "预览" not in issued and "文号待定" not in issued
    # Apart from the number and the marks, the preview is the letter as issued.
    strip = re.compile(
        r'<div class="(banner|stamp)"[^>]*>.*?</div>|<title>.*?</title>|'
        r"（本函对应督办件编号：[^）]*）"
    )
    same = re.sub(r"\s+", "", strip.sub("", html).replace("文号待定", letter.number))
    assert same == re.sub(r"\s+", "", strip.sub("", issued))


# --- point 2: earlier letters named only when they exist ---------------------------------------


def test_a_first_warning_mentions_no_earlier_letters(session: Session, org: Org) -> None:
    """SJ…032 of the issue: already ≥ 10 working days late when first seen; straight to a 警示函."""
    case = case_in(session, org, CaseState.rectifying)
    late = NOW + timedelta(days=40)  # far past 2025-10-14
    warning = letter_about(session, org, [case], LetterType.warning, now=late, actor=None)
    text = _text(warning)
    for false in ("经提醒", "提醒、督办", "此前", "督办函"):
        assert false not in "".join(warning.content["body"]), false
    assert re.search(r"已超过整改期限，超期\d+个工作日，至今尚未整改到位", text)
    assert warning.content["cases"][0]["earlier_text"] == "—"
    assert "此前函件" in letter_render.render_html(warning)


def test_a_warning_names_the_earlier_letters_of_each_case(session: Session, org: Org) -> None:
    chased, fresh = (case_in(session, org, CaseState.rectifying) for _ in range(2))
    reminder = letter_about(
        session, org, [chased], LetterType.reminder, now=NOW + timedelta(days=16)
    )
    supervision = letter_about(session, org, [chased], now=LATER)
    withdrawn = letter_about(session, org, [fresh], now=LATER)
    letters.withdraw_letter(
        session, actor=org["sup"], letter_id=withdrawn.id or 0, reason="发错单位", now=LATER
    )
    warning = letter_about(
        session, org, [chased, fresh], LetterType.warning, now=LATER + timedelta(days=7)
    )
    body = "".join(warning.content["body"])
    assert (
        "此前，我局已就其中1件事件发出提醒函（罗应急提〔2025〕1号，2025年10月16日）、"
        "督办函（罗应急督〔2025〕1号，2025年10月20日）" in body
    )
    assert "罗应急督〔2025〕2号" not in body  # withdrawn: as if never sent
    rows = warning.content["cases"]
    assert rows[0]["earlier_text"] == (
        f"{reminder.number}（2025年10月16日）、{supervision.number}（2025年10月20日）"
    )
    assert rows[1]["earlier_text"] == "—"
    html = letter_render.render_html(warning)
    assert reminder.number in html and "—" in html


def test_a_warning_about_an_unanswered_letter_names_that_letter(session: Session, org: Org) -> None:
    supervision = letter_about(session, org, [case_in(session, org, CaseState.rectifying)])
    own = session.get(Case, supervision.case_id)
    assert own is not None
    warning = letter_about(
        session, org, [own], LetterType.warning, now=LATER + timedelta(days=10), actor=None
    )
    assert warning.title == "关于督办事项逾期未反馈的警示函"
    assert warning.content["cases"][0]["earlier_text"] == f"{supervision.number}（2025年10月20日）"
    assert f"督办函（{supervision.number}，2025年10月20日）" in "".join(warning.content["body"])


# --- point 11: the letter form -----------------------------------------------------------------


def test_contact_line_only_when_configured(session: Session, org: Org, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    case = case_in(session, org, CaseState.rectifying)
    plain = letter_render.render_html(letter_about(session, org, [case]))
    assert "联系人" not in plain and "0755-00000000" not in plain and 'class="contact"' not in plain
    settings = Settings(issuer_contact="联系人：督办科 张三，电话：0755-82212345")
    html = letter_render.render_html(letter_about(session, org, [case], settings=settings))
    assert "（联系人：督办科 张三，电话：0755-82212345）" in html
    # A letter frozen with the old placeholder never prints it.
    old = letter_about(session, org, [case])
    old.content = {**old.content, "contact": "联系人：督办科，电话：0755-00000000"}
    assert "0755-00000000" not in letter_render.render_html(old)
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(issuer_contact="联系人：督办科，电话：0755-00000000")
    assert get_settings().issuer_contact == ""


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_the_signature_never_stands_alone_on_a_page(session: Session, org: Org) -> None:
    """Letters whose tables grow 1..N rows, so the end falls at every place of a page: the page
    with the signature's date always carries body text besides 特此函告."""
    cases = [case_in(session, org, CaseState.rectifying) for _ in range(30)]
    pages_seen = set()
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(1, 31):
            letter = letter_about(session, org, cases[:n])
            path = Path(tmp) / f"{n}.pdf"
            path.write_bytes(letter_render.render_pdf(letter))
            # Withdrawn, so the next letter names no earlier letters: only the row count grows.
            letters.withdraw_letter(
                session, actor=org["sup"], letter_id=letter.id or 0, reason="版式测试", now=LATER
            )
            info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
            pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
            signed = []
            for k in range(1, pages + 1):
                text = subprocess.run(
                    ["pdftotext", "-f", str(k), "-l", str(k), str(path), "-"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                flat = re.sub(r"\s+", "", text)
                if "罗湖区应急管理局2025年10月20日" in flat:
                    signed.append((k, flat))
            assert len(signed) == 1, (n, [k for k, _ in signed])
            k, flat = signed[0]
            pages_seen.add((pages, k))
            # Before 特此函告 on that page: at least the last lines of the requirement.
            before = flat.split("特此函告。")[0]
            requirement = re.sub(r"\s+", "", letter.content["requirement"])
            assert len(before) >= 20 and before.endswith(requirement[-20:]), (n, k, flat)
    assert any(k > 1 for _, k in pages_seen)  # the end did move onto a later page


def test_the_first_page_carries_the_red_double_line_at_its_foot(
    session: Session, org: Org, tmp_path: Path
) -> None:
    """信函格式: red lines under the masthead and near the foot of the first page only; later
    pages carry the page number instead."""
    from PIL import Image

    cases = [case_in(session, org, CaseState.rectifying) for _ in range(14)]
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(letter_render.render_pdf(letter_about(session, org, cases)))
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) >= 2

    def red_rows_in_foot(path: Path) -> int:
        img = Image.open(path).convert("RGB")
        w, h = img.size
        px = img.load()
        return sum(
            1
            for y in range(int(h * 0.8), h)
            if sum(1 for x in range(w) if (p := px[x, y])[0] > 150 and p[1] < 90 and p[2] < 90)
            > w // 3
        )

    assert red_rows_in_foot(pages[0]) >= 1
    assert all(red_rows_in_foot(p) == 0 for p in pages[1:])


def test_the_number_stands_flush_right_under_the_red_line(
    session: Session, org: Org, tmp_path: Path
) -> None:
    """信函格式: the 文号 sits under the masthead's red line, flush with the right edge of the
    text block (the document form centres it; a letter does not)."""
    letter = letter_about(session, org, [case_in(session, org, CaseState.rectifying)])
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(letter_render.render_pdf(letter))
    xml = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-bbox", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    words = [
        (float(x0), float(y0), float(x1), text)
        for x0, y0, x1, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>',
            xml,
        )
    ]
    width = float(re.search(r'<page width="([\d.]+)"', xml).group(1))  # type: ignore[union-attr]
    masthead = next(w for w in words if w[3] == get_settings().issuer_name)
    number = next(w for w in words if w[3] == letter.number)
    right_edge = max(w[2] for w in words if w is not number)  # the body, justified
    assert number[1] > masthead[1]  # under the masthead (and its red line)
    assert number[0] > width / 2  # not centred
    assert abs(number[2] - right_edge) < 3, (number, right_edge)  # flush right
