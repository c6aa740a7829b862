"""Co-handling in the metrics: per assisting unit, its tasks, signed on time and done on time, as
of the report time."""

from datetime import date, timedelta

from sqlmodel import Session, select

from closeloop.cases import tasks
from closeloop.reports.metrics import service as metrics
from models.task import CaseTask, TaskActionInput
from tests.factories import NOW, Org, act, new_case


def _task(session: Session, org: Org) -> CaseTask:
    case = new_case(session, org)
    act(session, org, case, "dispatch", "disp", unit_code="ZJ", assist_unit_codes=["SW"])
    return session.exec(select(CaseTask).where(CaseTask.case_id == case.id)).one()


def _do(session: Session, org: Org, task: CaseTask, action: str, by: str, at, **data) -> None:  # type: ignore[no-untyped-def]
    assert task.id is not None
    tasks.act(
        session,
        actor=org[by],
        case_id=task.case_id,
        task_id=task.id,
        action=action,
        data=TaskActionInput(**data),
        now=at,
    )


def _sw(session: Session, org: Org, as_of):  # type: ignore[no-untyped-def]
    report = metrics.compute(
        session,
        actor=org["disp"],
        date_from=date(2025, 9, 1),
        date_to=date(2025, 12, 31),
        now=NOW + timedelta(days=60),
        group_by="unit",
        as_of=as_of,
    )
    [sw] = [g for g in report.groups if g.key == "SW"]
    return sw, report.total


def test_tasks_signed_and_done_on_time_per_unit(session: Session, org: Org) -> None:
    prompt, late, waived = (_task(session, org) for _ in range(3))
    assert prompt.sign_due_at is not None and late.sign_due_at is not None
    _do(session, org, prompt, "sign", "h_sw", NOW + timedelta(minutes=30))
    _do(session, org, prompt, "complete", "h_sw", NOW + timedelta(hours=1), note="完成")
    _do(session, org, late, "sign", "h_sw", late.sign_due_at + timedelta(hours=1))
    _do(session, org, late, "complete", "h_sw", late.due_at + timedelta(hours=1), note="迟了")
    _do(session, org, waived, "waive", "disp", NOW + timedelta(hours=2), reason="不需要")

    sw, total = _sw(session, org, late.due_at + timedelta(days=1))
    assert (sw.assist_tasks, sw.assist_signed_on_time, sw.assist_done_on_time) == (2, 1, 1)
    assert sw.assist_sign_on_time_rate == 0.5 and sw.assist_done_on_time_rate == 0.5
    assert total.assist_tasks == 2
    # As of before the first completion: nothing done yet, the waived task still counted.
    sw, _ = _sw(session, org, NOW + timedelta(minutes=45))
    assert (sw.assist_tasks, sw.assist_signed_on_time, sw.assist_done_on_time) == (3, 1, 0)
    assert sw.assist_done_on_time_rate == 0.0


def test_the_report_and_the_workbook_show_the_assisting_units() -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    from closeloop.reports.render import render_html
    from closeloop.reports.xlsx import ASSIST_SHEET, SHEETS, render_xlsx
    from tests.reports.test_render import hand_content

    plain = hand_content()
    assert "协办情况" not in render_html(plain)
    assert load_workbook(BytesIO(render_xlsx(plain))).sheetnames[: len(SHEETS)] == list(SHEETS)
    content = hand_content()
    sw = next(g for g in content.by["unit"].groups if g.key == "SW")
    sw.assist_tasks, sw.assist_signed_on_time, sw.assist_sign_on_time_rate = 4, 3, 0.75
    sw.assist_done_on_time, sw.assist_done_on_time_rate = 2, 0.5
    html = render_html(content)
    assert "协办情况" in html and "75.00%" in html and "50.00%" in html
    wb = load_workbook(BytesIO(render_xlsx(content)))
    assert ASSIST_SHEET not in load_workbook(BytesIO(render_xlsx(plain))).sheetnames
    rows = list(wb[ASSIST_SHEET].iter_rows(values_only=True))
    assert rows[0][:3] == ("协办单位", "代码", "协办任务")
    assert rows[1] == ("区水务局", "SW", 4, 3, 0.75, 2, 0.5)
