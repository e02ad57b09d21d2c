"""Web application: clinician pages, the patient phone page and the JSON API (FastAPI + Jinja2 + htmx)."""

from crampwatch.web.app import create_app

__all__ = ["create_app"]
