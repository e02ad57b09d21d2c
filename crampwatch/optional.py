"""The optional dependencies: which extra of pyproject.toml installs each, and their one importer.

The numerical library and the core commands need only the core dependencies; the clinic application and its
store (``app``), FHIR (``fhir``) and the Dask cohort runs (``cohort``) need their extra. Code that uses a
third-party package of an extra imports it when it runs, never at module level, with plain import statements
inside ``with extra_imports():`` (so the import graph shows them), and the core install imports every module
that does not need the extra; a missing package then raises :class:`MissingExtra`, whose message names the
extra to install (the CLI prints it as its one-line error).
Modules of crampwatch that need an extra themselves (the store, the web application, the chairside service,
the FHIR readers) are imported inside the commands that use them, each marked so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

#: The extra of pyproject.toml that installs each optional top-level module.
EXTRA_OF_MODULE: dict[str, str] = {
    **dict.fromkeys(
        (
            "fastapi",
            "starlette",
            "uvicorn",
            "jinja2",
            "multipart",
            "plotly",
            "sqlalchemy",
            "alembic",
            "psycopg",
            "argon2",
            "httpx",
            "hl7",
            "sse_starlette",
            "redis",
        ),
        "app",
    ),
    "fhir": "fhir",
    **dict.fromkeys(("dask", "distributed"), "cohort"),
}


def missing_extra_message(module: str) -> str | None:
    """The one-line message for a missing optional module (``None`` when ``module`` is not optional)."""
    top = module.split(".")[0]
    extra = EXTRA_OF_MODULE.get(top)
    if extra is None:
        return None
    return (
        f"this command needs the optional '{extra}' dependencies (Python package {top!r} is not installed): "
        f"python3 -m pip install 'crampwatch[{extra}]'"
    )


class MissingExtra(ModuleNotFoundError):
    """An optional dependency is not installed; the message names the extra that installs it."""


@contextmanager
def extra_imports() -> Iterator[None]:
    """Around the import statements of optional dependencies: a missing package of an extra raises
    :class:`MissingExtra` naming the extra (a missing module outside the extras is re-raised as it is)."""
    try:
        yield
    except ModuleNotFoundError as exc:
        message = missing_extra_message(exc.name or "")
        if message is None:
            raise
        raise MissingExtra(message, name=exc.name) from None
