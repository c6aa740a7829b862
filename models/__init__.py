"""SQLModel tables and their schemas. Importing this package registers every table."""

from models.attachment import Attachment
from models.case import Case, CaseRequest
from models.history import CaseHistory
from models.org import Category, Region, Unit
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
    "LoginFailure",
    "Region",
    "RevokedToken",
    "Unit",
    "User",
]
