"""An uploaded import file read whole, within the import size limit (CLOSELOOP_MAX_IMPORT_BYTES):
one refusal, the same for the API and the pages."""

from typing import BinaryIO

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
