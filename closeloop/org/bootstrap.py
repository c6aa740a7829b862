"""First-run set-up: the first admin."""

from datetime import datetime

from sqlmodel import Session, select

from closeloop.org import service as org
from models.enums import Role
from models.user import User, UserCreate


def ensure_admin(session: Session, *, username: str, password: str, now: datetime) -> bool:
    """Create the admin unless a user of that name exists; True when created."""
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        return False
    org.create_user(
        session,
        now=now,
        data=UserCreate(
            username=username, password=password, display_name="系统管理员", role=Role.admin
        ),
    )
    return True
