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

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from markupsafe import escape

from crampwatch.store.cache import LRUCache
from crampwatch.store.records import SessionViewVersion

#: Rendered session pages kept per process (~70 kB each; modelling choice: a unit's sessions of a week).
SESSION_PAGE_CACHE_SIZE = 128
CSRF_PLACEHOLDER = "csrf-placeholder-5b0d8e"
USER_PLACEHOLDER = "user-placeholder-5b0d8e"


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


def personalize(html: str, *, username: str, csrf: str) -> str:
    """A cached page with the viewer's name and CSRF token written in."""
    return html.replace(CSRF_PLACEHOLDER, csrf).replace(USER_PLACEHOLDER, str(escape(username)))


def cached_page(
    cache: LRUCache[str], key: tuple[Any, ...], render: Callable[[], str], *, username: str, csrf: str
) -> str:
    """The page for this viewer: rendered once per key, then the viewer's name and token written in."""
    return personalize(cache.get_or_create(key, render), username=username, csrf=csrf)


def new_cache() -> LRUCache[str]:
    return LRUCache(SESSION_PAGE_CACHE_SIZE)
