"""Strict request input: JSON without NaN, Infinity, out-of-range numbers or lone surrogates; no NUL.

Python's ``json`` module accepts ``NaN``, ``Infinity`` and ``1e400`` (which becomes ``inf``) and decodes
``"\\ud800"`` to a string that no database or UTF-8 encoder accepts; RFC 8259 allows none of them
(numbers are finite, strings are Unicode text). A NUL character is refused everywhere (path, query, JSON
strings, form fields): PostgreSQL text cannot hold it. :class:`StrictInputMiddleware` checks every request
before any route sees it and answers 422 naming the problem; the body was already limited in size.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Integers with more digits than this are refused (no field of the API needs more; modelling choice).
MAX_INTEGER_DIGITS = 30
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NUL_PROBLEM = "text contains a NUL character (U+0000), which is not allowed"
_NUL_ENCODED = re.compile(rb"%00|\x00")


class _Refused(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number JSON allows (numbers must be finite)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("a number is beyond the range of a double (numbers must be finite)")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(f"an integer has more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _text_problem(value: Any) -> str | None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return NUL_PROBLEM
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "text contains a lone surrogate (\\ud800–\\udfff), which is not Unicode text"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def json_problem(body: bytes) -> str | None:
    """Why ``body`` is not strict JSON, or ``None`` (also for malformed JSON: the route reports that)."""
    try:
        value = json.loads(
            body, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int
        )
    except _Refused as exc:
        return str(exc)
    except json.JSONDecodeError:
        return None
    except (ValueError, RecursionError) as exc:  # not UTF-8, too deeply nested, ...
        return f"not readable JSON ({type(exc).__name__})"
    return _text_problem(value)


def _body_kind(headers: Headers) -> str | None:
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json" or (ctype.startswith("application/") and ctype.endswith("+json")):
        return "json"
    if ctype == "application/x-www-form-urlencoded":
        return "form"
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, problem: str, where: str) -> None:
    error = {"type": "value_error", "loc": [where], "msg": problem}
    await JSONResponse({"detail": f"{where}: {problem}", "errors": [error]}, status_code=422)(
        scope, receive, send
    )


class StrictInputMiddleware:
    """Refuse NUL in path or query; read JSON and form bodies once, refuse them when not strict, else pass
    them on unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or _NUL_ENCODED.search(scope.get("query_string", b"")):
            await _refuse(scope, receive, send, NUL_PROBLEM, "url")
            return
        kind = _body_kind(Headers(scope=scope)) if scope.get("method") in _BODY_METHODS else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if kind == "json":
            problem = json_problem(body) if body else None
        else:
            problem = NUL_PROBLEM if _NUL_ENCODED.search(body) else None
        if problem is not None:
            await _refuse(scope, receive, send, problem, "body")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
