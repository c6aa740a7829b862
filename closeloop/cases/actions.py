"""Every case action, defined once. `perform`, `allowed_actions`, the lifecycle machine (built
from this table in lifecycle.py), the notices, the case page's forms and the API documentation
all read `TABLE`; changing what an action does, needs or allows is an edit here.

Each definition says:
- `sources` → `target`: the states it is taken from and the one it leads to (None: a record,
  the state stays), for the case kinds in `kinds` (a letter case, 督办件, is issued, never
  reported: it is never returned, cancelled or merged; only a letter case is withdrawn);
- `who`: the roles that may take it, per kind, and whether the case's own reporter may;
- `needs`: what the input must carry (needs.py: a reason, evidence per kind, days, a unit, a
  target case);
- `precondition`: why it cannot be taken now apart from state, role and input (None: it can);
- `effect`: what it changes besides the state (effects.py);
- `notices`: whom it tells (notices.py), in the action's own transaction;
- `by_hand`: None, or why nobody takes it by hand (perform refuses it with that message).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from closeloop.auth.policy import Principal
from closeloop.cases import (
    effects,
    effects_return,
    followups,
    major,
    notices,
    notices_return,
    tasks,
)
from closeloop.cases.deadlines import within_reopen_window
from closeloop.cases.effects import ActionContext, Effect
from closeloop.cases.needs import Needs
from closeloop.cases.notices import Tell
from closeloop.cases.request_decisions import none_pending, one_pending
from closeloop.cases.requests import Precondition
from closeloop.text import Msg
from models.enums import Action, CaseKind, CaseState, RequestType, Role

S = CaseState
EVERY_KIND = frozenset(CaseKind)
REPORTED_KINDS = frozenset({CaseKind.event, CaseKind.hazard})  # filed, so never a letter case
DESK = frozenset({Role.dispatcher, Role.supervisor})
HANDLER = frozenset({Role.handler})
LEADER = frozenset({Role.supervisor})


@dataclass(frozen=True)
class Who:
    """The roles that may take an action, per case kind (admin takes no case actions), and the
    kinds whose own reporter (the grid worker who filed it) may take it too."""

    roles: Mapping[CaseKind, frozenset[Role]]
    own_reporter: frozenset[CaseKind] = frozenset()

    def roles_for(self, kind: str) -> tuple[Role, ...]:
        allowed = self.roles.get(CaseKind(kind), frozenset())
        return tuple(r for r in Role if r in allowed)

    def may(self, user: Principal, *, kind: str, reporter_id: int | None) -> bool:
        if user.role in self.roles.get(CaseKind(kind), frozenset()):
            return True
        return (
            user.role == Role.reporter
            and CaseKind(kind) in self.own_reporter
            and reporter_id == user.id
        )


def anyone_of(roles: frozenset[Role]) -> Who:
    return Who(dict.fromkeys(CaseKind, roles))


# Verification (核查/销号): events by the desk or the grid worker who reported them; hazards and
# letter cases (a letter's reply) by leadership only.
VERIFIERS = Who(
    {CaseKind.event: DESK, CaseKind.hazard: LEADER, CaseKind.letter: LEADER},
    own_reporter=frozenset({CaseKind.event}),
)


@dataclass(frozen=True)
class Definition:
    action: Action
    zh: str  # its name in Chinese, for messages ("退单")
    en: str  # the same in English, as the subject of a sentence ("returning a case")
    done: str  # what it makes of a case, in English ("returned"), for messages
    sources: tuple[CaseState, ...]
    target: CaseState | None  # None: a record; the state stays
    who: Who
    effect: Effect
    kinds: frozenset[CaseKind] = EVERY_KIND
    needs: Needs = field(default_factory=Needs)
    precondition: Precondition | None = None
    notices: Tell | None = None
    by_hand: Msg | None = None
    refuses: bool = False  # it turns something down (the pages show it as a red button)
    decides: RequestType | None = None  # it grants or refuses a pending request of this type
    # The action the system takes next on the case in the same transaction, if any (an
    # unsatisfied follow-up → rework); perform takes it through the same machine and history.
    then: Callable[[ActionContext], Action | None] | None = None

    @property
    def name(self) -> Msg:
        """The action named in a message: 退单 / Returning a case."""
        return Msg(self.zh, self.en[:1].upper() + self.en[1:])

    @property
    def grants_requested_days(self) -> bool:
        """It grants an extension request: the requested days are its default."""
        return self.decides == RequestType.extension and not self.refuses


REASON = Needs(reason=True)
RETURN_REASON = Needs(reason=True, reason_code=True)  # the text and a reason from the list
_WITHDRAWN_WITH_LETTER = Msg(
    "督办件随其函件作废而撤销，请作废函件",
    "a letter case ends only when its letter is withdrawn: POST /api/v1/letters/{id}/withdraw",
)

_AFTER_FOLLOW_UP = Msg(
    "重办随回访不满意自动发起，请录入回访结果",
    "a case is reworked only after an unsatisfied follow-up: "
    "POST /api/v1/cases/{id}/actions/follow_up with satisfaction unsatisfied",
)

TABLE: dict[Action, Definition] = {
    d.action: d
    for d in (
        Definition(
            Action.dispatch,
            "派遣",
            "dispatching a case",
            "dispatched",
            (S.reported,),
            S.dispatched,
            anyone_of(DESK),
            effects.dispatch,
            needs=Needs(unit=True),
            notices=notices.dispatched,
        ),
        Definition(
            Action.return_,
            "退单",
            "returning a case",
            "returned",
            (S.dispatched,),
            S.reported,
            anyone_of(HANDLER),
            effects_return.return_,
            kinds=REPORTED_KINDS,
            needs=RETURN_REASON,
            precondition=effects_return.first_return,
            notices=notices.to_roles(
                (Role.dispatcher,), "returned", "案件被退单，请重新派遣", "returned: dispatch again"
            ),
            refuses=True,
        ),
        Definition(
            Action.cancel,
            "撤销",
            "cancelling a case",
            "cancelled",
            (S.reported,),
            S.cancelled,
            anyone_of(DESK),
            effects.cancel,
            kinds=REPORTED_KINDS,
            needs=REASON,
            refuses=True,
        ),
        Definition(
            Action.merge,
            "合并",
            "merging a case",
            "merged",
            (S.reported,),
            S.cancelled,
            anyone_of(DESK),
            effects.merge,
            kinds=REPORTED_KINDS,
            needs=Needs(target=True),
        ),
        Definition(
            Action.sign,
            "签收",
            "signing for a case",
            "signed for",
            (S.dispatched,),
            S.rectifying,
            anyone_of(HANDLER),
            effects.sign,
        ),
        Definition(
            Action.suspend,
            "挂起",
            "suspending a case",
            "suspended",
            (S.rectifying,),
            S.suspended,
            anyone_of(LEADER),
            effects.suspend,
            needs=REASON,
            notices=notices.to_unit("suspended", "案件已挂起", "case suspended"),
            decides=RequestType.suspension,
        ),
        Definition(
            Action.resume,
            "恢复",
            "resuming a case",
            "resumed",
            (S.suspended,),
            S.rectifying,
            anyone_of(LEADER),
            effects.resume,
            notices=notices.to_unit("resumed", "案件恢复办理", "case resumed"),
        ),
        Definition(
            Action.submit,
            "提交整改",
            "submitting a rectification",
            "submitted",
            (S.rectifying,),
            S.verifying,
            anyone_of(HANDLER),
            effects.submit,
            needs=Needs(attachments=True, evidence=frozenset({CaseKind.hazard, CaseKind.letter})),
            precondition=tasks.all_of(major.plan_in, tasks.tasks_finished),
            notices=notices.awaiting_verification(VERIFIERS.roles_for),
        ),
        Definition(
            Action.approve,
            "核查通过",
            "approving a rectification",
            "approved",
            (S.verifying,),
            S.closed,
            VERIFIERS,
            effects.approve,
            precondition=major.passing_recheck,
            notices=notices.closed,
        ),
        Definition(
            Action.reject,
            "核查不通过",
            "rejecting a rectification",
            "rejected",
            (S.verifying,),
            S.rectifying,
            VERIFIERS,
            effects.reject,
            needs=REASON,
            notices=notices.to_unit("rework", "核查不通过，请返工", "rework: verification failed"),
            refuses=True,
        ),
        Definition(
            Action.reopen,
            "重新打开",
            "reopening a case",
            "reopened",
            (S.closed,),
            S.rectifying,
            anyone_of(LEADER),
            effects.reopen,
            needs=REASON,
            precondition=within_reopen_window,
            notices=notices.to_unit("reopened", "案件重新打开，请整改", "case reopened"),
        ),
        Definition(
            Action.request_extension,
            "延期申请",
            "requesting an extension",
            "given an extension request",
            (S.rectifying,),
            None,
            anyone_of(HANDLER),
            effects.request_extension,
            needs=Needs(reason=True, days=True),
            precondition=none_pending(RequestType.extension),
            notices=notices.to_roles(
                (Role.supervisor,), "request", "延期申请待审批", "extension requested"
            ),
        ),
        # Decided while rectifying, and also while suspended (a request may be pending then).
        Definition(
            Action.approve_extension,
            "批准延期",
            "granting an extension",
            "granted an extension",
            (S.rectifying, S.suspended),
            None,
            anyone_of(LEADER),
            effects.approve_extension,
            precondition=one_pending(RequestType.extension),
            notices=notices.to_unit("extension", "延期申请已批准", "extension approved"),
            decides=RequestType.extension,
        ),
        Definition(
            Action.reject_extension,
            "驳回延期",
            "refusing an extension",
            "refused an extension",
            (S.rectifying, S.suspended),
            None,
            anyone_of(LEADER),
            effects.reject_extension,
            needs=REASON,
            precondition=one_pending(RequestType.extension),
            notices=notices.to_unit("extension", "延期申请未批准", "extension refused"),
            refuses=True,
            decides=RequestType.extension,
        ),
        Definition(
            Action.request_suspension,
            "挂起申请",
            "requesting a suspension",
            "given a suspension request",
            (S.rectifying,),
            None,
            anyone_of(HANDLER),
            effects.request_suspension,
            needs=REASON,
            precondition=none_pending(RequestType.suspension),
            notices=notices.to_roles(
                (Role.supervisor,), "request", "挂起申请待审批", "suspension requested"
            ),
        ),
        Definition(
            Action.reject_suspension,
            "驳回挂起",
            "refusing a suspension",
            "refused a suspension",
            (S.rectifying,),
            None,
            anyone_of(LEADER),
            effects.reject_suspension,
            needs=REASON,
            precondition=one_pending(RequestType.suspension),
            notices=notices.to_unit("suspension", "挂起申请未批准", "suspension refused"),
            refuses=True,
            decides=RequestType.suspension,
        ),
        # A withdrawn letter (作废) ends its letter case from any open state: the letters service
        # takes it (cases.perform.withdraw_letter_case), nobody by hand.
        Definition(
            Action.withdraw,
            "随函件撤销",
            "withdrawing a letter case",
            "withdrawn with its letter",
            (S.dispatched, S.rectifying, S.suspended, S.verifying),
            S.cancelled,
            anyone_of(frozenset()),
            effects.withdraw,
            kinds=frozenset({CaseKind.letter}),
            by_hand=_WITHDRAWN_WITH_LETTER,
        ),
        # 回访: a closed event asked after by the grid worker who filed it (on site) or by the
        # desk; hazards and letter cases are not followed up (nobody outside reported them).
        Definition(
            Action.follow_up,
            "回访",
            "following up a case",
            "followed up",
            (S.closed,),
            None,
            Who({CaseKind.event: DESK}, own_reporter=frozenset({CaseKind.event})),
            followups.follow_up,
            needs=Needs(satisfaction=True),
            precondition=followups.closed_known,
            then=followups.then_rework,
        ),
        # 重办: an unsatisfied follow-up sends the case back to its unit, also past the reopen
        # window; taken by perform right after that follow-up, nobody by hand.
        Definition(
            Action.rework,
            "重办",
            "reworking a case",
            "reworked",
            (S.closed,),
            S.rectifying,
            anyone_of(frozenset()),
            followups.rework,
            kinds=frozenset({CaseKind.event}),
            notices=notices.to_unit(
                "rework", "回访不满意，案件重办", "rework: the reporter is unsatisfied"
            ),
            by_hand=_AFTER_FOLLOW_UP,
        ),
        # Return review (派单异议审核): a unit that returned the case once and has it again, or
        # any unit after signing for it, asks a supervisor to take it back (effects_return.py).
        Definition(
            Action.request_return,
            "退单申请",
            "requesting a return",
            "given a return request",
            (S.dispatched, S.rectifying),
            None,
            anyone_of(HANDLER),
            effects_return.request_return,
            needs=RETURN_REASON,
            precondition=effects_return.may_request_return,
            notices=notices.to_roles(
                (Role.supervisor,), "request", "退单申请待审核", "return requested"
            ),
        ),
        # Decided while the unit holds it: dispatched, rectifying, or suspended meanwhile.
        Definition(
            Action.approve_return,
            "批准退单",
            "granting a return",
            "granted a return",
            (S.dispatched, S.rectifying, S.suspended),
            S.reported,
            anyone_of(LEADER),
            effects_return.approve_return,
            precondition=one_pending(RequestType.return_),
            notices=notices_return.return_granted,
            decides=RequestType.return_,
        ),
        Definition(
            Action.reject_return,
            "驳回退单",
            "refusing a return",
            "refused a return",
            (S.dispatched, S.rectifying, S.suspended),
            None,
            anyone_of(LEADER),
            effects_return.reject_return,
            needs=REASON,
            precondition=one_pending(RequestType.return_),
            notices=notices.to_unit(
                "return", "退单申请未批准，请继续办理", "return refused: carry on with the case"
            ),
            refuses=True,
            decides=RequestType.return_,
        ),
        # Re-dispatch (改派): the desk moves the case to another unit, with fresh deadlines.
        Definition(
            Action.redispatch,
            "改派",
            "re-dispatching a case",
            "re-dispatched",
            (S.dispatched, S.rectifying),
            S.dispatched,
            anyone_of(DESK),
            effects_return.redispatch,
            needs=Needs(reason=True, unit=True),
            precondition=effects_return.may_redispatch,
            notices=notices_return.redispatched,
        ),
    )
}


def deciding(request_type: str) -> tuple[Action, Action]:
    """The actions that grant and refuse a pending request of this type (申请的批准与驳回)."""
    grant, refuse = (
        next(d.action for d in TABLE.values() if d.decides == request_type and d.refuses is r)
        for r in (False, True)
    )
    return grant, refuse


def verifier_roles(kind: str) -> tuple[Role, ...]:
    """The roles that verify (核查) a case of this kind: whom a verification concerns."""
    return VERIFIERS.roles_for(kind)
