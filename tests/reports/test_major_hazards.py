"""The major-hazard statistic (重大事故隐患): Luohu's "200 found, 198 rectified, 2 open" from an
imported case ledger, in the API, the quarterly report's HTML and its XLSX; and what a period
counts of older hazards, of notices and at which moment."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
from sqlmodel import select

from closeloop.db import new_session
from closeloop.imports import files
from closeloop.imports import service as imports
from closeloop.reports.metrics import major
from models.case import Case
from models.dossier import Notice
from models.enums import NoticeType

IMPORTED_AT = datetime(2025, 1, 10, 2, 0, tzinfo=UTC)
NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)  # the clock fixture's now
Q2 = {"date_from": date(2025, 4, 1), "date_to": date(2025, 6, 30)}
END = datetime(2025, 6, 30, 16, 0, tzinfo=UTC)  # 2025-07-01 00:00 Shanghai


def _ledger(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(files.COLUMNS)
    w.writerows(rows)
    return out.getvalue().encode()


def _row(
    number: str,
    reported: datetime,
    state: str,
    closed: datetime | None = None,
    *,
    grade: str = "major",
    grid: str = "G1",
) -> list[str]:
    dispatched = "" if state in ("reported", "cancelled") else reported + timedelta(hours=1)
    return [
        number,
        "hazard",
        "重大事故隐患",
        "0201",
        grid,
        "" if state in ("reported", "cancelled") else "ZJ",
        grade,
        state,
        reported.isoformat(),
        dispatched.isoformat() if dispatched else "",
        "",
        closed.isoformat() if closed else "",
    ]


def _import(engine, org, data: bytes, now: datetime = IMPORTED_AT) -> None:  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        result = imports.import_file(
            s, actor=org["admin"], fileobj=io.BytesIO(data), filename="ledger.csv", now=now
        )
        s.commit()
    assert not result["rejected"], result["rejected"][:3]


@pytest.fixture
def luohu(engine, org):  # type: ignore[no-untyped-def]
    """200 major hazards found in 2024-Q4 (shanghai times), 198 of them rectified in it."""
    start = datetime(2024, 10, 1, 9, 0)
    rows = []
    for n in range(1, 201):
        reported = start + timedelta(hours=8 * n)
        closed = n <= 198
        done = reported + timedelta(days=2, hours=3) if closed else None
        rows.append(_row(f"YH2024{n:06d}", reported, "closed" if closed else "rectifying", done))
    _import(engine, org, _ledger(rows))
    return org


def test_luohu_200_found_198_rectified_2_open(luohu, client, auth):  # type: ignore[no-untyped-def]
    r = client.get(
        "/api/v1/reports/major-hazards",
        headers=auth("sup"),
        params={"from": "2024-10-01", "to": "2024-12-31", "as_of": "2025-01-01T00:00:00+08:00"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["found"], body["rectified"], body["open"]) == (200, 198, 2)
    assert body["rectification_rate"] == 0.99
    assert (body["listed"], body["delisted"], body["rectified_earlier"]) == (0, 0, 0)
    assert body["from"] == "2024-10-01" and body["as_of"].startswith("2025-01-01T00:00:00")

    r = client.post(
        "/api/v1/reports", json={"cadence": "quarterly", "period": "2024-Q4"}, headers=auth("sup")
    )
    assert r.status_code == 201, r.text
    files_ = r.json()["files"]
    html = client.get(files_["html"], headers=auth("sup")).text
    assert "本期发现重大事故隐患 200 项，截至统计时点已整改销号 198 项（整改率 99.00%）" in html
    assert "截至统计时点尚未整改销号的重大事故隐患 2 项（含以前各期发现的）" in html
    book = openpyxl.load_workbook(
        io.BytesIO(client.get(files_["xlsx"], headers=auth("sup")).content), read_only=True
    )
    figures = {
        row[0]: row[1] for row in book["安全生产"].iter_rows(min_row=2, max_col=2, values_only=True)
    }
    assert figures["重大事故隐患（本期发现）"] == 200
    assert figures["已整改销号"] == 198
    assert figures["尚未整改销号（全部）"] == 2
    assert figures["重大隐患整改率"] == 0.99
    bulletin = client.get(files_["bulletin_html"], headers=auth("sup")).text
    assert "本期发现重大事故隐患200项" in bulletin and "已整改销号198项" in bulletin


@pytest.fixture
def quarter(engine, org):  # type: ignore[no-untyped-def]
    """Major hazards around 2025-Q2 (Shanghai times), and their notices."""

    def at(month: int, day: int) -> datetime:
        return datetime(2025, month, day, 9, 0)

    rows = [
        _row("O1", at(3, 10), "closed", at(4, 15)),  # older, rectified in the quarter
        _row("O2", at(3, 12), "rectifying", grid="G3"),  # older, still open (street S2)
        _row("N1", at(5, 1), "closed", at(7, 10)),  # found in it, rectified after it
        _row("N2", at(5, 2), "closed", at(5, 20)),  # found and rectified in it
        _row("N3", at(5, 3), "rectifying", grade="general"),  # not a major hazard
        _row("C1", at(5, 5), "cancelled", at(5, 6)),  # turned down: not found
        _row("N4", at(7, 2), "rectifying"),  # found after the quarter
    ]
    _import(engine, org, _ledger(rows), now=NOW)
    with new_session(engine) as s:
        ids = {c.number: c.id for c in s.exec(select(Case))}

        def notice(kind: NoticeType, number: str, published: datetime | None) -> None:
            s.add(
                Notice(
                    type=kind,
                    case_id=ids[number],
                    due_at=datetime(2025, 1, 1, tzinfo=UTC),
                    published_at=published,
                    created_at=datetime(2025, 1, 1, tzinfo=UTC),
                )
            )

        utc = {"tzinfo": UTC}
        notice(NoticeType.listing, "N2", datetime(2025, 5, 10, **utc))  # counted
        notice(NoticeType.delisting, "O1", datetime(2025, 4, 20, **utc))  # counted
        notice(NoticeType.listing, "O2", datetime(2025, 3, 15, **utc))  # before the quarter
        notice(NoticeType.listing, "N1", None)  # due, never published
        notice(NoticeType.delisting, "N2", datetime(2025, 7, 3, **utc))  # after it
        s.commit()
    return org


def test_a_quarter_counts_its_own_and_the_older_open_ones(engine, quarter):  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        at_end = major.compute(s, actor=quarter["sup"], now=NOW, as_of=END, **Q2)
        later = major.compute(s, actor=quarter["sup"], now=NOW, **Q2)
        street = major.compute(s, actor=quarter["sup_s2"], now=NOW, as_of=END, **Q2)
    assert (at_end.found, at_end.rectified, at_end.rectification_rate) == (2, 1, 0.5)
    assert (at_end.rectified_earlier, at_end.listed, at_end.delisted) == (1, 1, 1)
    assert at_end.open == 2  # O2 (older) and N1, open at the quarter's end
    # Regenerated later: N1 is rectified by now; N4 (found after the quarter) is not counted.
    assert (later.found, later.rectified, later.open, later.delisted) == (2, 2, 1, 1)
    # A street's supervisor sees the street's hazards only.
    assert (street.found, street.open, street.listed) == (0, 1, 0)


def test_who_may_read_the_statistic(quarter, client, auth):  # type: ignore[no-untyped-def]
    params = {"from": "2025-04-01", "to": "2025-06-30"}
    for user in ("disp", "sup", "admin"):
        r = client.get("/api/v1/reports/major-hazards", headers=auth(user), params=params)
        assert r.status_code == 200, (user, r.text)
    for user in ("h_zj", "rep1"):
        r = client.get("/api/v1/reports/major-hazards", headers=auth(user), params=params)
        assert r.status_code == 403, (user, r.text)
    r = client.get(
        "/api/v1/reports/major-hazards",
        headers=auth("sup"),
        params={"from": "2025-06-30", "to": "2025-04-01"},
    )
    assert r.status_code == 422 and "早于" in r.text
    r = client.get(
        "/api/v1/reports/major-hazards",
        headers=auth("sup"),
        params={**params, "as_of": "2025-07-01T00:00:00"},
    )
    assert r.status_code == 422 and "时区" in r.text
    r = client.get(
        "/api/v1/reports/major-hazards",
        headers=auth("sup_s2"),
        params={**params, "region_code": "S1"},
    )
    assert r.status_code == 403
