"""The Typer application object and the error handling shared by every command.

Each command lives in its own module (``crampwatch/cli/<name>_cmd.py``) and registers itself with
``@app.command()``; ``crampwatch.cli`` imports them all.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from crampwatch.errors import InputError
from crampwatch.optional import missing_extra_message

app = typer.Typer(
    name="crampwatch",
    help="Find out why a hemodialysis patient cramps, and what to change so that it stops.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_INVALID_INPUT = 2

F = TypeVar("F", bound=Callable[..., Any])


def longest_word(header: str) -> int:
    """The width a table column needs so that its header folds between words, never inside one."""
    return max((len(word) for word in header.split()), default=0)


def fail(message: str, code: int = EXIT_INVALID_INPUT) -> None:
    """Print a one-line error to stderr and exit with ``code`` (2 = invalid input, per docs/formats.md)."""
    first_line = " ".join(str(message).split())
    print(f"error: {first_line}", file=sys.stderr)
    raise typer.Exit(code)


def handle_input_errors(func: F) -> F:
    """Decorator: turn :class:`InputError` (and unreadable files) into a one-line message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            fail(exc.message)
        except FileNotFoundError as exc:
            fail(f"file not found: {exc.filename or exc}")
        except IsADirectoryError as exc:
            fail(f"expected a file, got a directory: {exc.filename or exc}")
        except PermissionError as exc:
            fail(f"permission denied: {exc.filename or exc}")
        except UnicodeDecodeError as exc:
            fail(f"file is not valid UTF-8 text: {exc.reason}")
        except ModuleNotFoundError as exc:
            message = missing_extra_message(exc.name or "")
            if message is None:
                raise
            fail(message)

    return wrapper  # type: ignore[return-value]
