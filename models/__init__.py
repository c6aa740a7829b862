"""SQLModel tables and their schemas. Importing this package registers every table."""

from models.attachment import Attachment
from models.case import Case, CaseRequest
from models.escalation import EscalationFire
from models.history import CaseHistory
from models.idempotency import IdempotencyKey
from models.jobs import JobLease, JobRun
from models.letter import Letter, LetterItem
from models.org import Category, Region, Unit
from models.outbox import OutboxMessage
from models.report import Report
from models.system import AppSetting, CalendarOverride, Counter
from models.user import LoginFailure, RevokedToken, User

__all__ = [
    "AppSetting",
    "Attachment",
    "CalendarOverride",
    "Case",
    "CaseHistory",
    "CaseRequest",
    "Category",
    "Counter",
    "EscalationFire",
    "IdempotencyKey",
    "JobLease",
    "JobRun",
    "Letter",
    "LetterItem",
    "OutboxMessage",
    "LoginFailure",
    "Region",
    "Report",
    "RevokedToken",
    "Unit",
    "User",
]
