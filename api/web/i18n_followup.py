"""The follow-up (回访) pages' words (zh, en), added to api/web/i18n.T."""

from closeloop import labels

TEXTS: dict[str, tuple[str, str]] = {
    "followup.queue": ("待回访", "Follow-ups due"),
    "followup.due": ("回访期限", "Follow up by"),
    "followup.overdue": ("回访超期", "Overdue"),
    "followup.closed": ("办结时间", "Closed"),
    "followup.satisfaction": ("满意度", "Satisfaction"),
    "followup.note": ("回访情况", "What the reporter said"),
    "followup.history": ("回访记录", "Follow-ups"),
    "followup.channel": ("方式", "Channel"),
    "followup.by": ("回访人", "By"),
    "followup.rework_hint": (
        "不满意将自动重办：退回原处置单位重新整改",
        "Unsatisfied sends the case back to its unit for rework",
    ),
    **{f"satisfaction.{k}": (m.zh, m.en) for k, m in labels.SATISFACTION.items()},
    **{f"fuchannel.{k}": (m.zh, m.en) for k, m in labels.FOLLOW_UP_CHANNEL.items()},
}
