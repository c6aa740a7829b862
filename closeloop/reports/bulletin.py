"""The 通报 (bulletin) that goes with a report, in official-document form like the letters:
文号 罗应急通〔2025〕3号 numbered without gaps per issuer and year, title, 主送, the overall
figures, the lowest-ranked streets and units, the listed cases, the requirements, issuer and date.
Chinese only."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from closeloop.cases.numbering import next_value
from closeloop.config import Settings
from closeloop.reports.charts import number, percent
from closeloop.reports.metrics import followups
from closeloop.reports.render import (
    cn_date,
    definitions,
    env,
    moment,
    period_span,
    safety_definitions,
    show,
)
from models.enums import RegionLevel
from models.system import Counter
from models.types import SHANGHAI

if TYPE_CHECKING:
    from closeloop.reports.content import Content


def bulletin_number(session: Session, *, issuer_short: str, now: datetime) -> str:
    """Draw the next 通报 number for the issuer and the (Shanghai) year: 罗应急通〔2025〕3号.
    The counter is in the caller's transaction: a rolled-back report gives its number back."""
    year = now.astimezone(SHANGHAI).year
    serial = next_value(session, _counter(issuer_short, year))
    return f"{issuer_short}通〔{year}〕{serial}号"


def expected_number(session: Session, *, issuer_short: str, now: datetime) -> str:
    """The 通报 number the next draw will give if nobody draws before it; draws nothing."""
    year = now.astimezone(SHANGHAI).year
    counter = session.get(Counter, _counter(issuer_short, year))
    return f"{issuer_short}通〔{year}〕{(counter.value if counter else 0) + 1}号"


def _counter(issuer_short: str, year: int) -> str:
    return f"bulletin:{issuer_short}:{year}"


def bulletin_title(content: "Content") -> str:
    return f"关于{content.period.label}安全隐患整改情况的通报"


def _addressee(content: "Content") -> str:
    level = RegionLevel(content.region.level)
    if level == RegionLevel.district:
        return "各街道办事处，区直有关单位"
    if level == RegionLevel.street:
        return f"{content.region.name}各社区工作站，有关单位"
    return f"{content.region.name}有关单位"


def _names(groups: list[Any]) -> str:
    return "、".join(g.name for g in groups)


def wording(content: "Content", settings: Settings) -> dict[str, Any]:
    t = content.total
    streets, units = content.bottom("street"), content.bottom("unit")
    intro = (
        "为进一步压实安全隐患整改责任，推动隐患排查治理闭环管理，现将"
        f"{content.period.label}（{period_span(content)}）{content.region.name}"
        "安全隐患和网格事件整改情况通报如下："
    )
    overall = (
        f"{content.period.label}，全{_unit_word(content)}共上报安全隐患和网格事件"
        f"{number(t.reported)}件，立案{number(t.accepted)}件，办结{number(t.closed)}件，"
        f"办结率{percent(t.closure_rate)}，按期办结率{percent(t.on_time_closure_rate)}。"
        f"截至{moment(content.as_of)}，超期未办结{number(t.overdue_open)}件，"
        f"挂牌督办{number(t.listed)}件（均含以前各期上报尚未办结的案件）。"
        f"本期共发出提醒函{t.letters.reminder}件、"
        f"督办函{t.letters.supervision}件、警示函{t.letters.warning}件。"
    )
    kinds = content.by["kind"].groups if "kind" in content.by else []
    if len(kinds) > 1:
        overall += (
            "其中，"
            + "；".join(
                f"{g.name}上报{number(g.reported)}件，立案{number(g.accepted)}件，办结{number(g.closed)}件，"
                f"办结率{percent(g.closure_rate)}"
                for g in kinds
            )
            + "。"
        )
    overall += followups.sentence(t)  # 回访率, 满意率 (when events closed in the period)
    ranking = _ranking(content)
    requirements = [
        "各单位要对照本通报，逐件核查超期未办结和挂牌督办事项，落实整改责任人和整改时限，"
        "确保按期整改到位、闭环销号。",
    ]
    if streets or units:
        requirements.append(
            "排名靠后的街道和单位主要负责同志要认真分析原因，制定整改措施，"
            f"{_self(settings.issuer_name)}将视情况对其进行约谈。"
        )
    requirements.append(
        "挂牌督办事项整改完成后，承办单位要及时在闭环管理系统中提交整改材料，申请核查销号；"
        "逾期未整改到位的，将继续予以通报。"
    )
    return {
        "intro": intro,
        "overall": overall,
        "ranking": ranking,
        "requirements": requirements,
        "addressee": _addressee(content),
        "low": [("街道", g) for g in streets] + [("处置单位", g) for g in units],
        "definitions": definitions(content)
        + (safety_definitions(content) if content.safety else []),
        "safety": _safety(content),
    }


def _safety(content: "Content") -> str:
    """The 安全生产 paragraph: the report's section in one sentence ("" without the section)."""
    s = content.safety
    if s is None:
        return ""
    t, m, p = s.total, s.major, s.total.risk_points
    return (
        f"安全生产方面，本期开展安全生产检查{number(t.inspections)}次，检查发现隐患"
        f"{number(t.hazards_found)}项；本期发现重大事故隐患{number(m.found)}项，截至"
        f"{moment(content.as_of)}已整改销号{number(m.rectified)}项，以前各期发现的重大事故隐患本期"
        f"整改销号{number(m.rectified_earlier)}项，尚未整改销号的重大事故隐患{number(m.open)}项"
        f"（含以前各期发现的）；本期发布挂牌督办公告{number(m.listed)}件、摘牌公告"
        f"{number(m.delisted)}件。截至同一时点，在册风险点位{number(s.risk_points_total)}个，其中重大风险"
        f"{number(p.major)}个、较大风险{number(p.significant)}个、一般风险{number(p.general)}个、"
        f"低风险{number(p.low)}个；本期风险信息上报{number(t.risk_reports)}条，已审核"
        f"{number(t.risk_reviewed)}条，审核率{percent(t.review_rate)}。"
    )


def _ranking(content: "Content") -> str:
    """The 排名靠后 sentence: exactly the groups ranking.rank marked as behind, and in words why
    there are none when there are none (too few ranked, or nobody behind)."""
    method = content.by["street"].ranking
    parts: list[str] = []
    for group, label in (("street", "街道"), ("unit", "处置单位")):
        behind = content.bottom(group)
        if behind:
            prefix = "" if group == "street" else "处置单位中"
            parts.append(f"{prefix}{_names(behind)}综合指标排名靠后")
        elif content.ranked(group) < 2:
            parts.append(
                f"立案数达到{method.min_accepted}件、参与排名的{label}不足两个，{label}不作排名比较"
            )
        else:
            parts.append(f"参与排名的{label}中无排名靠后者")
    rule = (
        f"按综合指标（按期办结率、办结率、返工率、按时签收率加权）排名，参与排名须立案数不少于"
        f"{method.min_accepted}件；非第一名且综合指标低于{method.behind_score:g}分或低于参与排名者"
        "平均分的，列为排名靠后（至多3个）。"
    )
    table = "，具体情况见下表。" if content.bottom("street") or content.bottom("unit") else "。"
    return rule + "本期" + "；".join(parts) + table


def _unit_word(content: "Content") -> str:
    level = RegionLevel(content.region.level)
    return {RegionLevel.district: "区", RegionLevel.street: "街道"}.get(level, "辖区")


def _self(issuer_name: str) -> str:
    return "我局" if issuer_name.endswith("局") else "我单位"


def render_bulletin_html(content: "Content", *, number_text: str, settings: Settings) -> str:
    return (
        env()
        .get_template("bulletin.html")
        .render(
            c=content,
            b=wording(content, settings),
            number_text=number_text,
            title=bulletin_title(content),
            issuer_name=settings.issuer_name,
            contact=settings.issuer_contact.strip(),
            issued_date=cn_date(content.generated_at),
            show=show,
        )
    )
