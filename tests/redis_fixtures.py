"""A real ``redis-server`` (Debian package) on a free loopback port, without persistence, for the tests of
the Redis Streams path. Skipped locally when the binary is missing; under ``CI`` the test fails instead
(``.ci/run`` installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
from live_server import free_port


def require_redis_server() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (CI is set: .ci/run installs it)", pytrace=False)
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    return binary


def redis_server(tmp_path) -> Iterator[str]:
    """Start ``redis-server`` and yield its URL; SIGTERM after."""
    binary = require_redis_server()
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)
    try:
        yield url
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)
