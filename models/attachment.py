"""Evidence files (photos, PDFs), stored on disk by content hash."""

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from models.types import LocalTime, UTCDateTime


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    uploaded_by: int = Field(foreign_key="user.id")
    uploaded_at: datetime = Field(sa_type=UTCDateTime)


class AttachmentPublic(BaseModel):
    id: int
    case_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: LocalTime
