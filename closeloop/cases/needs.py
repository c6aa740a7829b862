"""What an action's input must carry, declared per action in the table (actions.py) as `Needs`,
and the one check that reads it: a reason; evidence (per case kind); days; a unit; a target case.
The check resolves what it verified (the unit, the target case, the evidence) onto the context,
so the effect works on checked values only."""

from dataclasses import dataclass

from annotated_types import Le
from sqlmodel import col, select

from closeloop.cases import followups, reasons
from closeloop.cases.effects import ActionContext
from closeloop.cases.lookup import category_and_unit, load_case, require_unit
from closeloop.errors import Invalid, NotFound
from closeloop.labels import KIND
from closeloop.org import service as org
from closeloop.text import Msg
from models.attachment import Attachment
from models.case import ActionInput
from models.enums import CaseKind, CaseState

KIND_ZH = {CaseKind.event: "事件", CaseKind.hazard: "隐患", CaseKind.letter: "督办件"}
# The most working days an extension may ask for (ActionInput.days says it).
MAX_DAYS = next(m.le for m in ActionInput.model_fields["days"].metadata if isinstance(m, Le))


@dataclass(frozen=True)
class Needs:
    reason: bool = False  # a reason (or a note) that is not blank
    evidence: frozenset[CaseKind] = frozenset()  # kinds whose action needs attachment_ids
    attachments: bool = False  # takes attachment_ids (each must be the case's own)
    days: bool = False  # working days asked for
    unit: bool = False  # unit_code, or the category's default unit
    target: bool = False  # target_case_id: another case, visible and not cancelled
    satisfaction: bool = False  # a follow-up's answer (回访满意度): enums.Satisfaction
    reason_code: bool = False  # a return reason from the admin's list (default: other)


def check(ctx: ActionContext, name: Msg, needs: Needs) -> None:
    """Refuse (422) an input that lacks what `needs` asks for, in this order: reason, days,
    unit, target case, evidence. `name` is the action's (Definition.name: 退单 / Returning a
    case): a message names the action and the field, never their codes."""
    if needs.reason and not (ctx.text or "").strip():
        raise Invalid(Msg(f"{name:zh}需要填写原因", f"{name:en} needs a reason"))
    if needs.reason_code:
        ctx.return_reason = reasons.choose(ctx.session, ctx.data.reason_code)
    if needs.days and not ctx.data.days:
        raise Invalid(
            Msg(
                f"{name:zh}需要填写延期天数（1 到 {MAX_DAYS} 个工作日）",
                f"{name:en} needs the extension days (1 to {MAX_DAYS} working days)",
            )
        )
    if needs.unit:
        _unit(ctx, name)
    if needs.target:
        _target(ctx, name)
    if needs.attachments or needs.evidence:
        _evidence(ctx, name, needs.evidence)
    if needs.satisfaction:
        followups.check_satisfaction(ctx.data.satisfaction, name)


def _unit(ctx: ActionContext, name: Msg) -> None:
    case = ctx.case
    ctx.category, unit = category_and_unit(ctx.session, case.category_code, ctx.data.unit_code)
    ctx.unit_code = ctx.data.unit_code or (ctx.category.unit_code if ctx.category else None)
    if not ctx.unit_code:
        raise Invalid(
            Msg(
                f"{name:zh}需要指定处置单位（该类别没有默认处置单位）",
                f"{name:en} needs a unit: the category names no default unit",
            )
        )
    if unit is None:
        unit = require_unit(ctx.session, ctx.unit_code)  # refused: it does not exist
    if not unit.active:
        raise Invalid(
            Msg(
                f"unit_code：处置单位 {unit.code} 已停用，请选择其他单位",
                f"unit_code: unit {unit.code} is deactivated; choose another unit",
            )
        )
    if not org.serves(unit, case.region_path):
        raise Invalid(
            Msg(
                f"unit_code：处置单位 {unit.code} 属于 {unit.region_code}，不服务本案件所在的区",
                f"unit_code: unit {unit.code} serves district {unit.region_code}, "
                "not this case's district",
            )
        )


def _target(ctx: ActionContext, name: Msg) -> None:
    target_id = ctx.data.target_case_id
    if target_id is None:
        raise Invalid(
            Msg(
                f"{name:zh}需要指定目标案件（与之重复的案件）",
                f"{name:en} needs the target case: the case this one duplicates",
            )
        )
    if target_id == ctx.case.id:
        raise Invalid(Msg("不能与自身合并", "a case cannot be merged into itself"))
    try:
        target = load_case(ctx.session, actor=ctx.actor, case_id=target_id)
    except NotFound:
        raise Invalid(
            Msg(f"目标案件 {target_id} 不存在", f"the target case {target_id} does not exist")
        ) from None
    if target.state == CaseState.cancelled:
        raise Invalid(
            Msg(f"目标案件 {target.number} 已撤销", f"target case {target.number} is cancelled")
        )
    ctx.target = target


def _evidence(ctx: ActionContext, name: Msg, kinds: frozenset[CaseKind]) -> None:
    case = ctx.case
    ids = list(dict.fromkeys(ctx.data.attachment_ids or []))
    if case.kind in kinds and not ids:
        named = [KIND[k] for k in CaseKind if k in kinds]
        raise Invalid(
            Msg(
                f"{'和'.join(k.zh for k in named)}{name:zh}需附证明材料（整改后照片或文件）",
                f"{name:en} of a {' or '.join(k.en.lower() for k in named)} needs evidence: "
                "upload after-photos or a document",
            )
        )
    if ids:
        found = set(
            ctx.session.exec(
                select(Attachment.id).where(
                    col(Attachment.id).in_(ids), Attachment.case_id == case.id
                )
            )
        )
        missing = [i for i in ids if i not in found]
        if missing:
            listed = ", ".join(str(i) for i in missing)
            raise Invalid(
                Msg(
                    f"附件 {listed} 不属于本案件",
                    f"attachments {listed} are not attachments of case {case.number}",
                )
            )
    ctx.attachment_ids = ids
