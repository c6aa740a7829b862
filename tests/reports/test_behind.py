"""Issue 10, point 7: "建议约谈" and "排名靠后" name only groups actually behind — ranked (enough
accepted cases), not first, and below the score threshold or the mean of the ranked scores; at
most the three worst. A report without enough data says so."""

from closeloop.config import Settings
from closeloop.reports import service as reports
from closeloop.reports.bulletin import wording
from closeloop.reports.content import gather
from closeloop.reports.metrics import ranking
from closeloop.reports.metrics import service as metrics
from models.metrics import GroupMetrics
from tests.reports.october import FIRST, before, sh
from tests.reports.test_render import hand_content


def _g(key: str, score: float | None, accepted: int = 20) -> GroupMetrics:
    return GroupMetrics(key=key, name=key, accepted=accepted, reported=accepted, score=score)


def _behind(groups: list[GroupMetrics], **kw: float) -> list[str]:
    ranked = ranking.rank(
        groups,
        min_accepted=int(kw.get("min_accepted", 10)),
        behind_score=kw.get("behind_score", 80.0),
    )
    return [g.key or "" for g in ranked if g.behind]


def test_with_three_streets_the_best_is_never_marked():
    # All three below the threshold: the two behind the first are marked, never the first.
    assert _behind([_g("S1", 70.0), _g("S2", 60.0), _g("S3", 50.0)]) == ["S2", "S3"]
    # All above the threshold: only the one below the mean (94.0) is behind.
    assert _behind([_g("S1", 95.0), _g("S2", 94.0), _g("S3", 93.0)]) == ["S3"]
    # Equal scores: everybody shares the first rank and nobody is behind.
    assert _behind([_g("S1", 50.0), _g("S2", 50.0), _g("S3", 50.0)]) == []
    # 98 is above the mean (79) and the threshold: not behind; a threshold of 99 makes it so.
    assert _behind([_g("S1", 99.0), _g("S2", 98.0), _g("S3", 40.0)]) == ["S3"]
    assert _behind([_g("S1", 99.0), _g("S2", 98.0), _g("S3", 40.0)], behind_score=99) == [
        "S2",
        "S3",
    ]


def test_at_most_the_three_worst_and_never_an_unranked_group():
    groups = [
        _g("A", 99.0),
        _g("B", 60.0),
        _g("C", 55.0),
        _g("D", 50.0),
        _g("E", 45.0),
        _g("F", 10.0, accepted=3),
    ]
    assert _behind(groups) == ["C", "D", "E"]
    small = next(g for g in groups if g.key == "F")
    assert small.rank is None and not small.behind  # 3 accepted cases: too few to be ranked
    # One ranked group: nobody to compare with.
    assert _behind([_g("A", 40.0), _g("B", 10.0, accepted=9)]) == []


def test_the_minimum_and_the_threshold_come_from_the_settings(session, org, monkeypatch):
    before(session, org)
    sept = {"date_from": sh(10, 1).date(), "date_to": sh(10, 31).date(), "now": FIRST}
    r = metrics.compute(session, actor=org["sup"], group_by="street", **sept)
    # The default minimum is 10 accepted cases: the October streets (6 and 1) are not ranked.
    assert [g.rank for g in r.groups] == [None, None]
    assert r.ranking.min_accepted == 10 and r.ranking.behind_score == 80.0
    assert "立案数少于10件的不参与排名" in r.ranking.method
    monkeypatch.setenv("CLOSELOOP_RANK_MIN_ACCEPTED", "1")
    monkeypatch.setenv("CLOSELOOP_BEHIND_SCORE", "90")
    from closeloop.config import get_settings

    get_settings.cache_clear()
    r = metrics.compute(session, actor=org["sup"], group_by="street", **sept)
    assert sorted(g.rank for g in r.groups if g.rank) == [1, 2]
    assert [g.key for g in r.groups if g.behind] == [r.groups[1].key]
    assert r.ranking.mean_score is not None and "低于90分" in r.ranking.method


def test_a_report_without_enough_data_says_so(session, org):
    before(session, org)
    report = reports.generate(
        session, actor=org["sup"], cadence="monthly", period="2025-10", now=FIRST
    )
    folder = reports.report_dir(reports.get_settings(), report.id or 0)
    html = (folder / "report.html").read_text()
    low = html.split("五、排名靠后单位")[1].split("六、")[0]
    assert 'class="c talk"' not in low  # nobody is proposed for a talk
    assert "立案数达到10件、参与排名的街道不足两个，本期不作排名比较" in low
    bulletin = (folder / "bulletin.html").read_text()
    assert "排名靠后的街道和单位主要负责同志" not in bulletin  # no call-in of nobody
    assert (
        "街道不足两个，街道不作排名比较" in bulletin and "排名靠后的街道和处置单位" not in bulletin
    )


def test_the_unit_behind_is_named_and_nobody_behind_is_said_in_words(session, org, monkeypatch):
    before(session, org)
    monkeypatch.setenv("CLOSELOOP_RANK_MIN_ACCEPTED", "1")
    from closeloop.config import get_settings

    get_settings.cache_clear()
    region = reports.resolve_region(session, actor=org["sup"], region_code=None)
    content = gather(
        session,
        actor=org["sup"],
        region=region,
        period=reports.periods.parse("monthly", "2025-10"),
        now=FIRST,
    )
    # SW: d only, dispatched and never signed → score 0, below ZJ and the mean: behind.
    assert [g.key for g in content.bottom("unit")] == ["SW"]
    text = wording(content, Settings())["ranking"]
    assert "处置单位中区水务局综合指标排名靠后" in text and "区住房和建设局综合指标" not in text

    hand = hand_content()
    for group in ("street", "unit"):
        for g in hand.by[group].groups:
            g.score = 90.0 if g.key else None
        ranking.rank(hand.by[group].groups, min_accepted=1, behind_score=80.0)
    text = wording(hand, Settings())["ranking"]
    assert "参与排名的街道中无排名靠后者" in text and "参与排名的处置单位中无排名靠后者" in text
    assert "具体情况见下表" not in text
