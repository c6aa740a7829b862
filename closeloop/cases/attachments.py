"""Evidence uploads: size and type limits, content sniffing, storage by SHA-256."""

import hashlib
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal
from closeloop.cases.service import load_case
from closeloop.config import Settings, get_settings
from closeloop.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from closeloop.labels import STATE
from closeloop.text import Msg
from models.attachment import Attachment
from models.case import Case
from models.enums import CaseState, Role

CHUNK = 1024 * 1024


def sniff(head: bytes) -> str | None:
    """The content type the bytes actually are, for the types we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "image/heic"
    return None


# What a refusal calls each accepted type.
TYPE_NAMES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WebP",
    "image/heic": "HEIC",
    "application/pdf": "PDF",
}


def refused_type(name: str, accepted: tuple[str, ...]) -> Msg:
    """An upload of a type not accepted, naming the file and the types that are."""
    names = [TYPE_NAMES.get(t, t) for t in accepted]
    return Msg(
        f"不支持的文件类型 {name}；可上传：{'、'.join(names)}（按文件内容判断，不看扩展名）",
        f"{name!r} is not an accepted type; accepted: {', '.join(names)} "
        "(judged by the file's content, not its name)",
    )


def blob_path(settings: Settings, sha256: str) -> Path:
    return settings.data_dir / blob_name(sha256)


def blob_name(sha256: str) -> Path:
    """Where an attachment's bytes lie under the data dir (content-addressed, written once)."""
    return Path("attachments") / sha256[:2] / sha256


def add_attachment(
    session: Session,
    *,
    actor: Principal,
    case_id: int,
    filename: str,
    stream: BinaryIO,
    now: datetime,
    settings: Settings | None = None,
) -> Attachment:
    settings = settings or get_settings()
    case = load_case(session, actor=actor, case_id=case_id)
    _require_uploader(actor, case)
    if case.state in CaseState.closed_states():
        raise Conflict(
            Msg(
                f"案件{STATE[CaseState(case.state)]:zh}，不能再上传附件",
                f"case {case.number} is {STATE[CaseState(case.state)].en.lower()}; "
                "nothing can be attached to it",
            )
        )
    name = os.path.basename(filename or "").strip() or "upload"
    folder = settings.data_dir / "attachments"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    with tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp:
        try:
            while chunk := stream.read(CHUNK):
                if len(head) < 16:
                    head += chunk[: 16 - len(head)]
                size += len(chunk)
                if size > settings.max_upload_bytes:
                    raise PayloadTooLarge(
                        Msg(
                            f"文件超过 {settings.max_upload_bytes // (1024 * 1024)} MB 上限",
                            "the file "
                            f"is larger than the limit of {settings.max_upload_bytes} bytes",
                        )
                    )
                digest.update(chunk)
                tmp.write(chunk)
            if size == 0:
                raise Invalid(Msg("文件为空", "the file is empty"))
            kind = sniff(head)
            if kind is None or kind not in settings.upload_types:
                raise UnsupportedMediaType(refused_type(name, settings.upload_types))
        except BaseException:
            os.unlink(tmp.name)
            raise
    sha = digest.hexdigest()
    target = blob_path(settings, sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        os.unlink(tmp.name)  # same content stored once
    else:
        os.replace(tmp.name, target)
    row = Attachment(
        case_id=case_id,
        sha256=sha,
        filename=name[:255],
        content_type=kind,
        size=size,
        uploaded_by=actor.id or 0,
        uploaded_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _require_uploader(actor: Principal, case: Case) -> None:
    if actor.role == Role.admin:
        raise Forbidden(Msg("管理员不处理案件", "an admin does not add evidence to cases"))


def list_attachments(session: Session, *, actor: Principal, case_id: int) -> list[Attachment]:
    load_case(session, actor=actor, case_id=case_id)
    return list(
        session.exec(
            select(Attachment).where(Attachment.case_id == case_id).order_by(col(Attachment.id))
        )
    )  # type: ignore[arg-type]


def open_attachment(
    session: Session, *, actor: Principal, attachment_id: int, settings: Settings | None = None
) -> tuple[Attachment, Path]:
    settings = settings or get_settings()
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound(
            Msg(f"附件 {attachment_id} 不存在", f"attachment {attachment_id} does not exist")
        )
    load_case(session, actor=actor, case_id=row.case_id)
    path = blob_path(settings, row.sha256)
    if not path.exists():
        raise NotFound(
            Msg("附件文件丢失", f"the stored file of attachment {attachment_id} is missing")
        )
    return row, path
