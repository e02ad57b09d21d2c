"""Refusals of the web application; ``crampwatch.web.app`` turns each into its HTTP answer."""

from __future__ import annotations


class NotAuthenticated(Exception):
    """No valid session: 401 JSON for ``/api``, a redirect to ``/login`` for pages."""


class Forbidden(Exception):
    """Logged in but not allowed: 403 (audited)."""

    def __init__(self, detail: str = "not allowed") -> None:
        super().__init__(detail)
        self.detail = detail


class CsrfFailed(Exception):
    """Missing or wrong CSRF token on an unsafe request: 403 (audited)."""


class RateLimited(Exception):
    """Too many failed logins: 429 with ``Retry-After`` (audited)."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class NotFound(Exception):
    """A resource that does not exist (or is hidden from this user): 404."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
