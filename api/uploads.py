"""An uploaded import file read whole, within the import size limit (CLOSELOOP_MAX_IMPORT_BYTES):
one refusal, the same for the API and the pages."""

from typing import BinaryIO

from fastapi import UploadFile

from closeloop.config import get_settings
from closeloop.errors import PayloadTooLarge
from closeloop.text import Msg


def read_import(fileobj: BinaryIO) -> bytes:
    """The file's bytes; larger than the limit → 413 saying the limit (nothing is read beyond)."""
    limit = get_settings().max_import_bytes
    data = fileobj.read(limit + 1)
    if len(data) > limit:
        size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} 字节"
        raise PayloadTooLarge(
            Msg(
                f"文件超过 {size}上限",
                f"the file is larger than the limit of {limit} bytes (CLOSELOOP_MAX_IMPORT_BYTES)",
            )
        )
    return data


def check_ledger_size(file: UploadFile) -> None:
    """A ledger imported as a stream (cases, enterprises, risk points and reports): larger than the
    import limit → 413 saying the limit and to split the file; nothing is read."""
    limit = get_settings().max_import_bytes
    if file.size is not None and file.size > limit:
        raise PayloadTooLarge(
            Msg(
                f"台账文件超过 {limit // (1024 * 1024)} MB 上限",
                "the ledger is larger than the limit of "
                f"{limit} bytes (CLOSELOOP_MAX_IMPORT_BYTES); split it into several files",
            )
        )
