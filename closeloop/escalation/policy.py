"""The escalation ladder as policy: which levels fire when, per kind, category and grade.

The default is closeloop/escalation_default.toml (DESIGN.md's ladder); `settings.escalation_policy`
names another file. `load_policy` validates a file completely and raises PolicyError naming the bad
key or value. `due_levels` is the pure rule: given a case's facts, its ladder, the calendar and
`now`, which levels are due. The sweep and the re-check under the row lock both call it.
"""

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from closeloop.calendar.days import WorkCalendar
from closeloop.errors import Invalid
from closeloop.escalation import warnings
from closeloop.text import Msg
from models.enums import CaseKind, CaseState, EscalationLevel, Grade
from notifications import quiet as quiet_hours

# In ladder order. Letters rise reminder → supervision → warning.
LEVELS = EscalationLevel.ladder()
LETTER_LEVELS = EscalationLevel.letter_levels()
SWITCH_LEVELS = EscalationLevel.switch_levels()  # on or off
MATCH_KEYS = ("kind", "category", "grade")
EXTRA_KEYS = ("warn_at", "quiet")  # warnings.py and notifications/quiet.py
MAX_DAYS = 365
DEFAULT_FILE = "escalation_default.toml"


class PolicyError(Invalid):
    """A policy file that cannot be used; the message names the file, the place and the key."""


@dataclass(frozen=True)
class Ladder:
    """When each level fires; None switches a day-counted level off."""

    due_soon: int | None = 1
    sign_overdue: bool = True
    reminder: int | None = 1
    supervision: int | None = 3
    warning: int | None = 10
    verify_overdue: bool = True
    # Warnings at fractions of the time allowed (warnings.py); the default file sets [0.5, 0.75].
    warn_at: tuple[float, ...] = ()

    @property
    def letter_thresholds(self) -> list[tuple[str, int]]:
        pairs = [(lv, getattr(self, lv)) for lv in LETTER_LEVELS]
        return [(lv, days) for lv, days in pairs if days is not None]


@dataclass(frozen=True)
class Rule:
    kind: str | None = None
    category: str | None = None
    grade: str | None = None
    changes: Mapping[str, Any] = field(default_factory=dict)

    def matches(
        self, *, kind: str, category: str | None, class_code: str | None, grade: str | None
    ) -> bool:
        if self.kind is not None and self.kind != kind:
            return False
        if self.grade is not None and self.grade != grade:
            return False
        if self.category is not None and self.category not in (category, class_code):
            return False
        return True


@dataclass(frozen=True)
class Policy:
    ladder: Ladder = Ladder()
    rules: tuple[Rule, ...] = ()
    source: str = DEFAULT_FILE
    quiet: quiet_hours.QuietHours = quiet_hours.QuietHours()

    def ladder_for(
        self,
        *,
        kind: str,
        category: str | None = None,
        class_code: str | None = None,
        grade: str | None = None,
    ) -> Ladder:
        ladder = self.ladder
        for rule in self.rules:
            if rule.matches(kind=kind, category=category, class_code=class_code, grade=grade):
                ladder = replace(ladder, **rule.changes)  # type: ignore[arg-type]
        return ladder

    @property
    def max_due_soon(self) -> int:
        """The widest due_soon window of any rule: how far ahead the sweep must look."""
        days = [self.ladder.due_soon or 0]
        days += [int(r.changes.get("due_soon") or 0) for r in self.rules]
        return max(days)

    @property
    def top_warning(self) -> str | None:
        """The highest warning level any ladder may fire (the sweep's bound for warnings)."""
        fractions = list(self.ladder.warn_at)
        fractions += [f for r in self.rules for f in r.changes.get("warn_at", ())]
        return warnings.level_of(max(fractions)) if fractions else None


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy in `path` (TOML), or the default ladder when `path` is None or empty."""
    if path is None or str(path).strip() == "":
        text = resources.files("closeloop").joinpath(DEFAULT_FILE).read_text(encoding="utf-8")
        return parse_policy(text, source=DEFAULT_FILE)
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(_msg(str(file), "文件不存在", "file not found")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(_msg(str(file), "无法读取", f"cannot be read: {exc}")) from None
    return parse_policy(text, source=str(file))


def parse_policy(text: str, *, source: str = "<policy>") -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(
            _msg(source, f"TOML 格式错误（{exc}）", f"is not valid TOML: {exc}")
        ) from None
    _no_unknown(source, "", data, ("ladder", "rule", "quiet_hours"))
    base = data.get("ladder", {})
    if not isinstance(base, dict):
        raise PolicyError(_msg(source, "[ladder] 必须是表", "[ladder] must be a table"))
    _no_unknown(source, "[ladder]", base, LEVELS + ("warn_at",))
    changes = _levels(source, "[ladder]", {k: v for k, v in base.items() if k in LEVELS})
    changes.update(_warn_at(source, "[ladder]", base))
    ladder = replace(Ladder(), **changes)  # type: ignore[arg-type]
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
        raise PolicyError(
            _msg(source, "rule 必须写成 [[rule]] 表", "rules must be [[rule]] tables")
        )
    rules = tuple(_rule(source, i, raw) for i, raw in enumerate(raw_rules, start=1))
    try:
        quiet = quiet_hours.parse(data, source=source)
    except quiet_hours.QuietError as exc:
        raise PolicyError(exc.msg) from None
    return Policy(ladder=ladder, rules=rules, source=source, quiet=quiet)


def _warn_at(source: str, where: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    if "warn_at" not in raw:
        return {}
    parsed = warnings.parse_warn_at(raw["warn_at"], where=where)
    if parsed and isinstance(parsed[0], str):
        raise PolicyError(_msg(source, str(parsed[0]), str(parsed[1])))
    return {"warn_at": parsed}


def _rule(source: str, number: int, raw: dict[str, Any]) -> Rule:
    where = f"[[rule]] #{number}"
    _no_unknown(source, where, raw, MATCH_KEYS + LEVELS + EXTRA_KEYS)
    match = {k: raw[k] for k in MATCH_KEYS if k in raw}
    if not match:
        raise PolicyError(
            _msg(
                source,
                f"{where} 未指定 kind、category 或 grade（全局设置请写在 [ladder]）",
                f"{where} matches nothing: give kind, category or grade (put global levels in [ladder])",
            )
        )
    allowed = {"kind": [k.value for k in CaseKind], "grade": [g.value for g in Grade]}
    for key, value in match.items():
        if not isinstance(value, str) or not value.strip():
            raise PolicyError(
                _msg(
                    source,
                    f"{where} 的 {key} 必须是非空字符串",
                    f"{where}: {key} must be a non-empty string, got {value!r}",
                )
            )
        if key in allowed and value not in allowed[key]:
            raise PolicyError(
                _msg(
                    source,
                    f"{where} 的 {key} = {value!r} 无效，可选：{'、'.join(allowed[key])}",
                    f"{where}: {key} = {value!r} is not one of {', '.join(allowed[key])}",
                )
            )
    changes: dict[str, Any] = _levels(source, where, {k: v for k, v in raw.items() if k in LEVELS})
    changes.update(_warn_at(source, where, raw))
    if not changes and "quiet" not in raw:
        raise PolicyError(
            _msg(
                source,
                f"{where} 未修改任何级别",
                f"{where} changes no level; set one of {', '.join(LEVELS + EXTRA_KEYS)}",
            )
        )
    return Rule(
        kind=match.get("kind"),
        category=match.get("category"),
        grade=match.get("grade"),
        changes=changes,
    )


def _levels(source: str, where: str, raw: Mapping[str, Any]) -> dict[str, int | bool | None]:
    out: dict[str, int | bool | None] = {}
    for key, value in raw.items():
        if key in SWITCH_LEVELS:
            if not isinstance(value, bool):
                raise PolicyError(
                    _msg(
                        source,
                        f"{where} 的 {key} 必须是 true 或 false",
                        f"{where}: {key} must be true or false, got {value!r}",
                    )
                )
            out[key] = value
        elif value is False:
            out[key] = None
        elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
            raise PolicyError(
                _msg(
                    source,
                    f"{where} 的 {key} 必须是 1–{MAX_DAYS} 的工作日数或 false",
                    f"{where}: {key} must be a number of working days from 1 to {MAX_DAYS}, "
                    f"or false to switch it off; got {value!r}",
                )
            )
        else:
            out[key] = value
    return out


def _no_unknown(source: str, where: str, raw: Mapping[str, Any], known: tuple[str, ...]) -> None:
    for key in raw:
        if key not in known:
            place = f"{where} " if where else ""
            raise PolicyError(
                _msg(
                    source,
                    f"{place}未知的键 {key!r}，可用：{'、'.join(known)}",
                    f"{place}unknown key {key!r}; known keys: {', '.join(known)}",
                )
            )


def _msg(source: str, zh: str, en: str) -> Msg:
    return Msg(f"升级策略 {source}：{zh}", f"escalation policy {source}: {en}")


# --- the pure rule -------------------------------------------------------------------------


class Facts(NamedTuple):
    """What the ladder looks at, read from one case row (a named tuple: the sweep makes one per
    row it reads, thousands a run)."""

    case_id: int
    kind: str
    state: str
    unit_code: str | None
    deadline_version: int
    due_at: datetime | None = None
    sign_due_at: datetime | None = None
    verify_due_at: datetime | None = None
    category: str | None = None
    grade: str | None = None
    rework_count: int = 0
    region_path: str = "/"
    dispatched_at: datetime | None = None


CLOCK_RUNNING = tuple(s.value for s in CaseState.clock_running_states())


def overdue_working_days(due_at: datetime, cal: WorkCalendar, now: datetime) -> int:
    """Working days after the deadline's local date up to and including today (0 if not late)."""
    if now <= due_at:
        return 0
    return cal.working_days_between(cal.local_date(due_at), cal.local_date(now))


class DueKey(NamedTuple):
    """All the ladder reads of a case at a moment, besides the ladder itself (due_key): two
    cases with the same key and ladder have the same claim levels due, so a sweep works them out
    once per key (SweepContext.due) — the late cases share their lateness by the thousand."""

    before: tuple[datetime, datetime | None] | None  # running, not late: (due_at, dispatched_at)
    late: int | None  # clock running and late: working days late
    signing: bool  # dispatched and its signing overdue
    verifying: bool  # verifying and its verification overdue
    rework_count: int  # the verification round (only while `verifying`)


def due_key(
    facts: Facts,
    cal: WorkCalendar,
    now: datetime,
    late_days: Callable[[datetime], int] | None = None,
) -> DueKey:
    """What the ladder reads of this case at `now`. `late_days`: overdue_working_days(due_at,
    cal, now) when the caller keeps it per deadline.

    Suspended cases never escalate (the clock stands still); submitted ones (verifying) only for
    an overdue verification; the rectification levels need the clock running (dispatched,
    rectifying)."""
    before: tuple[datetime, datetime | None] | None = None
    late: int | None = None
    if facts.state in CLOCK_RUNNING and facts.due_at is not None:
        if now <= facts.due_at:  # due_soon (by local date) and the warnings (by the moment)
            before = (facts.due_at, facts.dispatched_at)
        elif late_days is not None:
            late = late_days(facts.due_at)
        else:
            late = overdue_working_days(facts.due_at, cal, now)
    signing = (
        facts.state == CaseState.dispatched
        and facts.sign_due_at is not None
        and now > facts.sign_due_at
    )
    verifying = (
        facts.state == CaseState.verifying
        and facts.verify_due_at is not None
        and now > facts.verify_due_at
    )
    return DueKey(before, late, signing, verifying, facts.rework_count if verifying else 0)


def due_levels(
    facts: Facts,
    rule: Ladder,
    cal: WorkCalendar,
    now: datetime,
    *,
    late_days: Callable[[datetime], int] | None = None,
) -> list[str]:
    """Every level due for this case now, in ladder order (whether or not it already fired)."""
    return levels_due(due_key(facts, cal, now, late_days), rule, cal, now)


def levels_due(key: DueKey, rule: Ladder, cal: WorkCalendar, now: datetime) -> list[str]:
    """Every level due now for a case of this key, in ladder order."""
    levels: list[str] = []
    if key.before is not None:
        due_at, dispatched_at = key.before
        if rule.due_soon is not None:
            left = cal.working_days_between(cal.local_date(now), cal.local_date(due_at))
            if left <= rule.due_soon:
                levels.append(EscalationLevel.due_soon)
        levels += warnings.warn_levels(
            fractions=rule.warn_at, dispatched_at=dispatched_at, due_at=due_at, cal=cal, now=now
        )
    if key.late is not None:
        levels += [lv for lv, days in rule.letter_thresholds if key.late >= days]
    if rule.sign_overdue and key.signing:
        levels.append(EscalationLevel.sign_overdue)
    if rule.verify_overdue and key.verifying:
        levels.append(EscalationLevel.verify_overdue)
    return sorted(levels, key=_order)


def _order(level: str) -> tuple[int, float]:
    """Ladder order; warnings (by fraction) come before due_soon."""
    if warnings.is_warn(level):
        return (-1, warnings.fraction_of(level))
    return (LEVELS.index(level), 0.0)


def claim_level(level: str, facts: Facts) -> str:
    """The level as claimed: a verification round is per submission, and rework (a rejected
    verification) does not move the deadline version, so the round number joins the key."""
    if level == EscalationLevel.verify_overdue and facts.rework_count:
        return f"verify_overdue.{facts.rework_count}"
    return level
