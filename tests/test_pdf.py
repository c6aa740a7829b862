"""closeloop.pdf: a PDF asked for again is the one its HTML renders now, served from memory; a
changed document is rendered anew; what is kept stays within its bound."""

import re
import subprocess
from datetime import timedelta

import pytest
from sqlmodel import Session

from closeloop import pdf
from closeloop.letters import render as letter_render
from closeloop.letters import service as letters
from models.enums import CaseState
from tests.factories import Org, case_in
from tests.letters.issuing import LATER, letter_about


def page(text: str) -> str:
    return f"<html><head><meta charset='utf-8'></head><body><p>{text}</p></body></html>"


def flat_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return re.sub(r"\s+", "", out.stdout.decode())


def test_the_same_html_is_rendered_once_and_gives_the_same_bytes() -> None:
    html = page("关于东门街道隐患整改情况的督办函 第一份")
    first = pdf.html_to_pdf(html)
    assert first.startswith(b"%PDF-") and "第一份" in flat_text(first)
    assert pdf.html_to_pdf(html) is first  # the kept bytes, not a second rendering
    assert pdf._render(html) == first  # what a rendering gives now
    other = pdf.html_to_pdf(page("关于东门街道隐患整改情况的督办函 第二份"))
    assert other != first and "第二份" in flat_text(other)


def test_what_is_kept_stays_within_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    one = pdf.html_to_pdf(page("界限 0"))
    monkeypatch.setattr(pdf, "KEEP_BYTES", len(one) * 4 + len(one) // 2)  # room for four
    rendered = [pdf.html_to_pdf(page(f"界限 {i}")) for i in range(1, 8)]
    documents, size = pdf.kept()
    assert size <= pdf.KEEP_BYTES and documents <= 4
    assert pdf.html_to_pdf(page("界限 7")) is rendered[-1]  # the newest are kept
    assert pdf.html_to_pdf(page("界限 1")) is not rendered[0]  # the oldest were let go
    assert pdf.html_to_pdf(page("界限 1")) == rendered[0]


def test_a_withdrawn_letter_is_rendered_anew_with_its_mark(session: Session, org: Org) -> None:
    letter = letter_about(session, org, [case_in(session, org, CaseState.rectifying)])
    before = letter_render.render_pdf(letter)
    assert letter_render.render_pdf(letter) == before
    assert "作废" not in flat_text(before)
    letters.withdraw_letter(
        session,
        actor=org["sup"],
        letter_id=letter.id or 0,
        reason="文号错发",
        now=LATER + timedelta(days=1),
    )
    after = letter_render.render_pdf(letter)
    assert after != before and "本函已于2025年10月21日作废" in flat_text(after)
