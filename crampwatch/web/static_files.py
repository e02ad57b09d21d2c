"""plotly.js from the installed ``plotly`` package, gzip-compressed once per process (no CDN).

Other responses are compressed on the fly by Starlette's ``GZipMiddleware`` (installed in ``app.py``);
plotly.min.js (~4.8 MB) is compressed once and served as stored bytes to clients that accept gzip.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crampwatch import optional

#: Responses smaller than this are sent uncompressed (gzip's header overhead outweighs the gain).
GZIP_MIN_BYTES = 1000
#: zlib level of on-the-fly compression: 5 compresses HTML nearly as well as 9 at a third of the time
#: (modelling choice, measured on session pages).
GZIP_LEVEL = 5
CACHE_CONTROL = "public, max-age=86400"

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=1)
def plotly_js_path() -> Path:
    """The minified plotly.js shipped inside the installed ``plotly`` Python package."""
    with optional.extra_imports():
        import plotly
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


@lru_cache(maxsize=1)
def plotly_js_bytes() -> tuple[bytes, bytes]:
    """(plain, gzip-compressed) plotly.min.js, read and compressed once."""
    plain = plotly_js_path().read_bytes()
    return plain, gzip.compress(plain, compresslevel=9, mtime=0)


def accepts_gzip(request: Request) -> bool:
    codings = request.headers.get("accept-encoding", "")
    return any(part.split(";")[0].strip() == "gzip" for part in codings.split(","))


@router.get("/static/plotly.min.js")
def plotly_js(request: Request) -> Response:
    plain, packed = plotly_js_bytes()
    headers = {"Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if accepts_gzip(request):
        return Response(packed, media_type="text/javascript", headers={**headers, "Content-Encoding": "gzip"})
    return Response(plain, media_type="text/javascript", headers=headers)
