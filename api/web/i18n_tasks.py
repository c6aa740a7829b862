"""The co-handling pages' words (zh, en), added to api/web/i18n.T."""

from closeloop import labels

TEXTS: dict[str, tuple[str, str]] = {
    "task.section": ("协办任务", "Assisting units' tasks"),
    "task.inbox": ("协办待办", "Assisting tasks"),
    "task.unit": ("协办单位", "Assisting unit"),
    "task.assist_units": ("协办单位（可多选）", "Assisting units (any number)"),
    "task.due_at": ("完成期限", "Due"),
    "task.sign_due_at": ("签收期限", "Sign by"),
    "task.overdue": ("已超期", "Overdue"),
    "task.sign_overdue": ("签收超时", "Not signed in time"),
    "task.note": ("办理情况", "What was done"),
    "task.reason": ("免除原因", "Reason"),
    "task.evidence": ("证明材料", "Evidence"),
    "task.lead": ("主办单位", "Lead unit"),
    "task.done": ("协办任务已更新", "Task updated"),
    **{f"task.state.{k}": (m.zh, m.en) for k, m in labels.TASK_STATE.items()},
    **{f"task.act.{k}": (m.zh, m.en) for k, m in labels.TASK_ACTION.items()},
}
