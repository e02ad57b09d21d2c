"""Test harness: a real server and a real browser for end-to-end checks, benchmarks and screenshots.

:class:`LiveServer` runs ``uvicorn --factory crampwatch.web.app:app_from_env`` in a subprocess on a free
loopback port; :func:`launch_chromium` and :func:`browser_login` drive Debian's chromium through Playwright
(imported lazily: Playwright is only needed by the callers that use a browser).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

#: The directory holding the ``crampwatch`` package, put on the server's PYTHONPATH (source checkouts).
PACKAGE_PARENT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
#: Seconds a server may take to import, migrate and answer /healthz: ~10 s on a busy 2-core machine,
#: several times that while a parallel test run loads it (modelling choice).
START_TIMEOUT_S = 120.0
#: Headless, offline chromium: no GPU, no sandbox (containers), no background network traffic.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``uvicorn --factory crampwatch.web.app:app_from_env`` (``workers`` processes) on ``127.0.0.1:port``.

    ``factory`` names another application factory (tests with a stand-in engine), ``env`` adds environment
    variables. ``secret_key`` ``None`` lets the server draw its own (give one with several workers). The
    server's stderr goes to a temporary file whose tail is shown when the server exits during start-up.
    """

    def __init__(
        self,
        database_url: str,
        secret_key: str | None = None,
        port: int | None = None,
        workers: int = 1,
        *,
        factory: str = "crampwatch.web.app:app_from_env",
        env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.factory = factory
        self.extra_env = dict(env or {})
        self.workers = workers
        self.secret_key = secret_key
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._stderr: Any = None

    def start(self, timeout_s: float = START_TIMEOUT_S) -> LiveServer:
        """Start the server and wait until ``/healthz`` answers (RuntimeError when it does not)."""
        env = {
            **os.environ,
            "CRAMPWATCH_DATABASE_URL": self.database_url,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")])),
        }
        if self.secret_key is not None:
            env["CRAMPWATCH_SECRET_KEY"] = self.secret_key
        env.update(self.extra_env)
        if self._stderr is not None:
            self._stderr.close()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed by stop())
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                self.factory,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                *(["--workers", str(self.workers)] if self.workers > 1 else []),
                "--no-proxy-headers",
                "--no-server-header",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._stderr.seek(0)
                raise RuntimeError(f"server exited: {self._stderr.read().decode(errors='replace')[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (SIGKILL after 10 s) and release the log file."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def launch_chromium(playwright: Any) -> Any:
    """A headless Debian chromium browser from a started ``sync_playwright()`` object."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def browser_login(page: Any, base: str, username: str, password: str, *, wait_until: str = "load") -> None:
    """Log in through the login form of the server at ``base`` and wait for the landing page."""
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state(wait_until)
