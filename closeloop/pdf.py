"""HTML to an A4 PDF (WeasyPrint): the one renderer of letters, notices, reports and 通报.

Rendering is deterministic (the same HTML, fonts and WeasyPrint give the same bytes) and costs
0.3-2 s of CPU a document, while the same document is asked for again and again: a letter or
notice is rendered on every download, and a unit opens the same letter several times. So the
PDFs rendered last are kept in memory, up to KEEP_BYTES in all, keyed by the SHA-256 of their
HTML: any change to a document (a withdrawal's 作废 mark, a new number) is a new HTML and a new
key, so a kept PDF is always the one its HTML would render now. The documents refer to nothing
outside their HTML (no images, fonts or style sheets by URL)."""

import hashlib
import threading
from collections import OrderedDict

KEEP_BYTES = 32 * 1024 * 1024

_lock = threading.Lock()
_kept: OrderedDict[bytes, bytes] = OrderedDict()
_kept_bytes = 0


def html_to_pdf(html: str) -> bytes:
    """A4 PDF of a standalone HTML document (fonts: Noto CJK; text stays extractable)."""
    key = hashlib.sha256(html.encode()).digest()
    with _lock:
        pdf = _kept.get(key)
        if pdf is not None:
            _kept.move_to_end(key)
            return pdf
    pdf = _render(html)
    _keep(key, pdf)
    return pdf


def _render(html: str) -> bytes:
    from weasyprint import HTML  # imported on first use: it loads Pango and fonts

    pdf = HTML(string=html).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def _keep(key: bytes, pdf: bytes) -> None:
    global _kept_bytes
    if len(pdf) > KEEP_BYTES // 4:  # one document must not push out all the others
        return
    with _lock:
        if key in _kept:
            return
        _kept[key] = pdf
        _kept_bytes += len(pdf)
        while _kept_bytes > KEEP_BYTES:
            _, dropped = _kept.popitem(last=False)
            _kept_bytes -= len(dropped)


def kept() -> tuple[int, int]:
    """(documents, bytes) kept now."""
    with _lock:
        return len(_kept), _kept_bytes
