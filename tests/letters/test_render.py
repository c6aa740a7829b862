"""A letter's documents: the HTML with its table, escaped, and the A4 PDF with extractable
Chinese."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlmodel import Session

from closeloop.letters import render as letter_render
from models.enums import CaseKind, CaseState, LetterType
from tests.factories import Org, case_in
from tests.letters.issuing import letter_about, open_hazards

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_html_has_the_table_and_escapes(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying, kind=CaseKind.hazard)
    case.title = "<b>围挡</b> & 脚手架"
    session.flush()
    html = letter_render.render_html(letter_about(session, org, [case], LetterType.warning))
    assert "罗应急警〔2025〕1号" in html and "区住房和建设局主要负责同志：" in html
    assert "&lt;b&gt;围挡&lt;/b&gt; &amp; 脚手架" in html and "<b>围挡" not in html
    table = html[html.index("<table") : html.index("</table>")]
    for cell in (
        "序号",
        "编号",
        "地点",
        "派遣日期",
        "整改期限",
        case.number,
        "东门路1号",
        "2025-10-14",
    ):
        assert cell in table
    assert "挂牌督办" in html and "2025年10月20日" in html


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdf_is_a4_with_extractable_chinese(session: Session, org: Org) -> None:
    cases = open_hazards(session, org, 2)
    cases[1].title = "东门路施工围挡倒塌风险"
    session.flush()
    letter = letter_about(session, org, cases, reason="经多次电话催办仍未整改")
    pdf = letter_render.render_pdf(letter)
    assert pdf.startswith(b"%PDF")
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "letter-supervision.pdf"  # kept for a human to look at
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    for expected in (
        "罗应急督〔2025〕1号",
        "关于督促加快整改超期隐患的督办函",
        "区住房和建设局",
        "东门路施工围挡倒塌风险",
        "罗湖区应急管理局",
        "2025年10月23日",
    ):
        assert expected in flat, expected
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    assert "595.276 x 841.89" in info or "A4" in info
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", "-singlefile", str(path), str(path.with_suffix(""))],
            check=True,
        )
