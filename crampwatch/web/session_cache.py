"""The clinician's session page, rendered once per version of what it shows and kept per process.

The page depends on the stored session (prescription, trace and its events), the patient record, the
session's stored assessment, and through the assessment on the patient's newest twin and the active unit
model: when the twin is refitted or another unit model is activated, the assessment is redone and stored
under a new id, so the key changes. The key names all of these; an entry is never stale, only unused.
The viewer's username and CSRF token are written into the cached page at each request (placeholders), so
one rendering serves every clinician.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from markupsafe import escape

from crampwatch.store.cache import LRUCache
from crampwatch.web import charts, model_service

#: Rendered session pages kept per process (~70 kB each; modelling choice: a unit's sessions of a week).
SESSION_PAGE_CACHE_SIZE = 128
CSRF_PLACEHOLDER = "csrf-placeholder-5b0d8e"
USER_PLACEHOLDER = "user-placeholder-5b0d8e"


def page_key(session: Any, patient: Any, assessment: Any, role: str) -> tuple[Any, ...] | None:
    """What the page shows, as a cache key; ``None`` when the assessment is not the stored one yet."""
    if session.assessment_id is None or assessment is not session.assessment:
        return None
    return (
        session.id,
        session.created_at,
        charts.session_chart_key(session),
        session.assessment_id,
        session.assessment_model_version,  # the twin it used
        model_service.model_id_of(assessment),  # the unit model it used
        patient.id,
        patient.name,
        patient.recurring_cause,
        role,
    )


def placeholder_user(role: str) -> Any:
    """The user the cached page is rendered for."""
    return SimpleNamespace(username=USER_PLACEHOLDER, role=role, notice_failed_logins=0, patient_id=None)


def cached_page(
    cache: LRUCache[str], key: tuple[Any, ...], render: Callable[[], str], *, username: str, csrf: str
) -> str:
    """The page for this viewer: rendered once per key, then the viewer's name and token written in."""
    html = cache.get_or_create(key, render)
    return html.replace(CSRF_PLACEHOLDER, csrf).replace(USER_PLACEHOLDER, str(escape(username)))


def new_cache() -> LRUCache[str]:
    return LRUCache(SESSION_PAGE_CACHE_SIZE)
