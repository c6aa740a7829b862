"""The 综合指标 (weighted score) and the ranking built on it.

score = 100 × Σ wᵢ·cᵢ / Σ wᵢ over the components cᵢ that have a value, with the components
on_time_closure_rate, closure_rate, no_rework (1 − rework_rate) and sign_on_time_rate. With the
default weights (40, 30, 20, 10: they sum to 100) and every component present this is exactly
DESIGN.md's weighted sum. A component without a value (no submissions → no rework rate) is left
out and the others are re-weighted, so a group is neither rewarded nor punished for having had
nothing of that kind; a group with no accepted cases has no score and is not ranked.

Ranks are competition ranks on the score rounded to two decimals, as shown: equal scores share
a rank and the next rank is skipped (1, 2, 2, 4); tied groups are marked `tied` and listed by code.
A group with fewer accepted cases than `rank_min_accepted` (CLOSELOOP_RANK_MIN_ACCEPTED, default
10) is not ranked: a handful of cases says little about a street or unit.

Behind (排名靠后, 建议约谈): a ranked group that is not ranked first and whose score is below
`behind_score` (CLOSELOOP_BEHIND_SCORE, default 80) or below the mean score of the ranked groups
(the plain mean of their scores, each group counting once); at most the BEHIND_MAX worst of them.
With fewer than two ranked groups nobody is behind: there is nobody to compare with.
"""

from collections.abc import Mapping

from closeloop.config import Settings, get_settings
from closeloop.errors import Invalid
from closeloop.reports.metrics.sql import rounded
from closeloop.text import Msg
from models.metrics import GroupMetrics, Metrics, Ranking

BEHIND_MAX = 3  # at most this many groups are named as behind (建议约谈)

DEFAULT_WEIGHTS: dict[str, float] = {
    "on_time_closure_rate": 40.0,
    "closure_rate": 30.0,
    "no_rework": 20.0,  # 1 − rework_rate
    "sign_on_time_rate": 10.0,
    # Follow-up (回访率, 满意率): 0 by default, so DESIGN.md's weighted sum stays as it is;
    # a bureau that ranks by them sets e.g. CLOSELOOP_SCORE_WEIGHTS=satisfaction_rate=20.
    "follow_up_rate": 0.0,
    "satisfaction_rate": 0.0,
}

METHOD = Msg(
    "综合指标 = 100 × Σ(权重 × 指标) / Σ权重，指标为按期办结率、办结率、1−返工率、按时签收率；"
    "无数据的指标不计入（其余按权重重新归一）。立案数少于{n}件的不参与排名。得分（保留两位小数）相同者"
    "并列同一名次，下一名次顺延（1、2、2、4），并列者按编码排列。排名靠后（建议约谈）：参与排名且非第一名、"
    "综合指标低于{t}分或低于参与排名者的平均分（算术平均）的，按得分由低到高至多列{m}个。"
    "回访率、满意率按其权重计入（默认权重为0）。",
    "score = 100 × Σ(weight × component) / Σ weight over on_time_closure_rate, closure_rate, "
    "1 − rework_rate and sign_on_time_rate; a component without data is left out and the rest "
    "re-weighted. A group with fewer than {n} accepted cases is not ranked. Equal scores (two "
    "decimals) share a rank and the next rank is skipped (1, 2, 2, 4); tied groups are listed by "
    "code. Behind: ranked, not first, and scoring below {t} or below the plain mean score of the "
    "ranked groups; at most the {m} lowest. follow_up_rate and satisfaction_rate count by their "
    "weights (0 by default).",
)


def parse_weights(text: str | None) -> dict[str, float]:
    """`on_time_closure_rate=40,closure_rate=30,no_rework=20,sign_on_time_rate=10`; names left
    out keep their default; empty text: the settings' weights, else the defaults."""
    weights = dict(DEFAULT_WEIGHTS)
    text = (text if text is not None else get_settings().score_weights).strip()
    if not text:
        return weights
    for part in text.split(","):
        name, sep, raw = part.partition("=")
        name = name.strip()
        if not sep or name not in DEFAULT_WEIGHTS:
            names = ", ".join(DEFAULT_WEIGHTS)
            raise Invalid(
                Msg(
                    f"权重格式错误：{part.strip()!r}",
                    f"weights must be name=number pairs separated by commas; names: {names}",
                )
            )
        try:
            value = float(raw)
        except ValueError:
            raise Invalid(
                Msg(f"权重 {name} 不是数字", f"weight {name} is not a number: {raw!r}")
            ) from None
        if not 0 <= value <= 1000:
            raise Invalid(
                Msg(f"权重 {name} 应在 0–1000 之间", f"weight {name} must be within 0–1000")
            )
        weights[name] = value
    if sum(weights.values()) <= 0:
        raise Invalid(Msg("权重之和必须大于 0", "the weights must not all be zero"))
    return weights


def score(m: Metrics, weights: Mapping[str, float]) -> float | None:
    if not m.accepted:
        return None
    components = {
        "on_time_closure_rate": m.on_time_closure_rate,
        "closure_rate": m.closure_rate,
        "no_rework": None if m.rework_rate is None else 1 - m.rework_rate,
        "sign_on_time_rate": m.sign_on_time_rate,
        "follow_up_rate": m.follow_up_rate,
        "satisfaction_rate": m.satisfaction_rate,
    }
    present = {k: v for k, v in components.items() if v is not None and weights.get(k, 0) > 0}
    total_weight = sum(weights[k] for k in present)
    if not total_weight:
        return None
    return rounded(100 * sum(weights[k] * v for k, v in present.items()) / total_weight)


def limits(settings: Settings | None = None) -> tuple[int, float]:
    """(minimum accepted cases to be ranked, behind-score threshold) from the settings."""
    settings = settings or get_settings()
    return max(int(settings.rank_min_accepted), 1), min(max(settings.behind_score, 0.0), 100.0)


def rank(
    groups: list[GroupMetrics], *, min_accepted: int = 1, behind_score: float = 0.0
) -> list[GroupMetrics]:
    """Set rank, tied and behind on the groups; returns them ranked first (best first), then the
    rest (unranked: no key, no score, or too few accepted cases)."""
    for group in groups:
        group.rank, group.tied, group.behind = None, False, False
    ranked = sorted(
        (
            g
            for g in groups
            if g.key is not None and g.score is not None and g.accepted >= min_accepted
        ),
        key=lambda g: (-(g.score or 0), g.key or ""),
    )
    position = 0
    previous: float | None = None
    for index, group in enumerate(ranked, start=1):
        if group.score != previous:
            position, previous = index, group.score
        group.rank = position
    counts: dict[int, int] = {}
    for group in ranked:
        assert group.rank is not None
        counts[group.rank] = counts.get(group.rank, 0) + 1
    for group in ranked:
        group.tied = counts[group.rank or 0] > 1
    mean = mean_score(ranked)
    if mean is not None and len(ranked) > 1:
        candidates = [
            g
            for g in ranked
            if g.rank != 1 and ((g.score or 0) < behind_score or (g.score or 0) < mean)
        ]
        for group in candidates[-BEHIND_MAX:]:
            group.behind = True
    rest = sorted((g for g in groups if g.rank is None), key=lambda g: (g.key is None, g.key or ""))
    return ranked + rest


def mean_score(ranked: list[GroupMetrics]) -> float | None:
    """The plain mean of the ranked groups' scores (two decimals), None without ranked groups."""
    scores = [g.score for g in ranked if g.rank is not None and g.score is not None]
    return rounded(sum(scores) / len(scores)) if scores else None


def method(*, min_accepted: int, behind_score: float) -> Msg:
    """How the score is built and ranked, in words: the API's `ranking.method` shows both
    languages, a report the Chinese."""
    return METHOD.format(n=min_accepted, t=number_text(behind_score), m=BEHIND_MAX)


def ranking(
    weights: Mapping[str, float],
    *,
    min_accepted: int = 1,
    behind_score: float = 0.0,
    groups: list[GroupMetrics] | None = None,
) -> Ranking:
    return Ranking(
        weights=dict(weights),
        method=method(min_accepted=min_accepted, behind_score=behind_score).both(),
        min_accepted=min_accepted,
        behind_score=behind_score,
        mean_score=mean_score(groups or []),
    )


def number_text(value: float) -> str:
    return f"{value:g}"
