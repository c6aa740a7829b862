"""SQLModel tables and their schemas. Importing this package registers every table."""

from models.attachment import Attachment
from models.case import Case, CaseRequest
from models.cohort import CaseCohortDay
from models.dossier import HazardPlan, Notice, Recheck
from models.enterprise import Enterprise
from models.escalation import DeadlineFire, EscalationFire
from models.followup import FollowUp
from models.geo import GridGeometry
from models.history import CaseHistory
from models.idempotency import IdempotencyKey
from models.inspection import Checklist, ChecklistItem, Inspection, InspectionItem
from models.jobs import JobLease, JobRun
from models.letter import Letter, LetterItem
from models.org import Category, Region, Unit
from models.outbox import OutboxMessage
from models.reason import ReturnReason
from models.report import Report
from models.risk import RiskPoint, RiskReport
from models.system import AppSetting, CalendarOverride, Counter
from models.task import CaseTask
from models.user import LoginFailure, RevokedToken, User

__all__ = [
    "AppSetting",
    "Attachment",
    "CalendarOverride",
    "Case",
    "CaseCohortDay",
    "CaseHistory",
    "CaseRequest",
    "CaseTask",
    "Category",
    "Checklist",
    "ChecklistItem",
    "Counter",
    "DeadlineFire",
    "Enterprise",
    "EscalationFire",
    "FollowUp",
    "GridGeometry",
    "HazardPlan",
    "IdempotencyKey",
    "Inspection",
    "InspectionItem",
    "JobLease",
    "JobRun",
    "Letter",
    "LetterItem",
    "LoginFailure",
    "Notice",
    "OutboxMessage",
    "Recheck",
    "Region",
    "Report",
    "ReturnReason",
    "RevokedToken",
    "RiskPoint",
    "RiskReport",
    "Unit",
    "User",
]
