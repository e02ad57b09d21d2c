"""The clinician's session page, rendered once per version of what it shows and kept per process.

The page depends on the stored session (prescription, trace and its events), the patient record, the
session's stored assessment, and through the assessment on the patient's newest twin and the active unit
model: when the twin is refitted or another unit model is activated, the assessment is redone and stored
under a new id. The key is the store's small version of all of these
(:meth:`crampwatch.store.Store.session_view_version`, two indexed queries), so a request for a page in the
cache reads neither the trace nor the assessment; an entry is never stale, only unused. The viewer's
username and CSRF token are written into the cached page at each request (placeholders), so one rendering
serves every clinician; the view is checked and audited on every request.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from markupsafe import escape
from starlette.responses import HTMLResponse, Response

from crampwatch.store.cache import LRUCache
from crampwatch.store.records import SessionViewVersion
from crampwatch.web.static_files import GZIP_LEVEL

#: Rendered session pages kept per process (~90 kB each with their compressed pieces; modelling choice: a
#: unit's sessions of a week).
SESSION_PAGE_CACHE_SIZE = 128
CSRF_PLACEHOLDER = "csrf-placeholder-5b0d8e"
USER_PLACEHOLDER = "user-placeholder-5b0d8e"
_PLACEHOLDERS = re.compile(f"({CSRF_PLACEHOLDER}|{USER_PLACEHOLDER})")
#: gzip member header (RFC 1952): deflate, no flags, no time, unknown OS; and an empty final deflate block.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_FINAL_BLOCK = b"\x03\x00"


def page_key(version: SessionViewVersion | None, role: str) -> tuple[Any, ...] | None:
    """What the page shows, as a cache key (:meth:`crampwatch.store.Store.session_view_version`: the
    stored session and its events, its latest assessment, the patient record, the patient's newest twin
    and the active unit model) and the viewer's role; ``None`` when the session has no assessment yet."""
    if version is None or version.assessment_id is None:
        return None
    return (version, role)


def placeholder_user(role: str) -> Any:
    """The user the cached page is rendered for."""
    return SimpleNamespace(username=USER_PLACEHOLDER, role=role, notice_failed_logins=0, patient_id=None)


@dataclass(frozen=True)
class RenderedPage:
    """A rendered page split at its placeholders: ``pieces`` alternate between page text and a placeholder,
    and ``deflated`` holds each text piece compressed on its own (raw deflate ending on a full flush, so
    that pieces compressed apart join into one valid stream). A viewer's gzip answer is these pieces with
    their name and token compressed between them: the page is compressed once, not at every view."""

    pieces: tuple[str, ...]
    deflated: tuple[bytes, ...]


def _deflate(text: str, level: int) -> bytes:
    """``text`` as raw deflate blocks that end byte-aligned and refer to nothing before them."""
    packer = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(text.encode()) + packer.flush(zlib.Z_FULL_FLUSH)


def split_page(html: str) -> RenderedPage:
    """``html`` (rendered with the placeholders) ready to be personalized, plain or gzip-compressed."""
    pieces = tuple(_PLACEHOLDERS.split(html))
    return RenderedPage(pieces, tuple(_deflate(text, GZIP_LEVEL) for text in pieces[::2]))


def _values(username: str, csrf: str) -> dict[str, str]:
    return {CSRF_PLACEHOLDER: csrf, USER_PLACEHOLDER: str(escape(username))}


def personalize(page: RenderedPage, *, username: str, csrf: str) -> str:
    """The page with the viewer's name and CSRF token written in."""
    values = _values(username, csrf)
    return "".join(values[p] if i % 2 else p for i, p in enumerate(page.pieces))


def personalized_gzip(page: RenderedPage, *, username: str, csrf: str) -> bytes:
    """:func:`personalize` as a gzip member (RFC 1952), from the pieces compressed once."""
    values = _values(username, csrf)
    body, crc, size = [_GZIP_HEADER], 0, 0
    for i, piece in enumerate(page.pieces):
        data = piece.encode() if i % 2 == 0 else values[piece].encode()
        crc, size = zlib.crc32(data, crc), size + len(data)
        body.append(page.deflated[i // 2] if i % 2 == 0 else _deflate(values[piece], 1))
    body.append(_FINAL_BLOCK)
    body.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
    return b"".join(body)


def page_response(page: RenderedPage, *, username: str, csrf: str, accept_encoding: str) -> Response:
    """The cached page for this viewer: gzip-compressed from its pieces compressed once when the client
    takes gzip (the GZip middleware passes on an answer that names its encoding), else plain."""
    if "gzip" not in accept_encoding:  # the same test as the GZip middleware's
        return HTMLResponse(personalize(page, username=username, csrf=csrf))
    return Response(
        personalized_gzip(page, username=username, csrf=csrf),
        media_type="text/html",
        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
    )


def new_cache() -> LRUCache[RenderedPage]:
    return LRUCache(SESSION_PAGE_CACHE_SIZE)
