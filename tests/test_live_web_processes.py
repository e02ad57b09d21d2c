"""Several application processes on one Redis: each shows the measured values it stored itself at once and
those the others stored through their measured streams, never its own twice; a process that starts later
gets what the others store from then on."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from live_server import free_port
from redis_fixtures import redis_server
from typer.testing import CliRunner

import crampwatch.cli.web_cmd  # noqa: F401  (registers the commands)
from crampwatch.chairside.streams import RedisStreams
from crampwatch.cli.app import app as cli_app


@pytest.fixture
def redis_url(tmp_path):
    yield from redis_server(tmp_path)


class Screen:
    """Stands in for a process's hub: what reached its screens."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    def publish_many(self, events):
        self.events.extend(events)


def measured(seq: int) -> dict:
    return {"event": "measured", "live_session_id": "S1", "seq": seq, "values": {"rbv_pct": [seq, 99.0]}}


async def wait_for(predicate, what: str, timeout_s: float = 10.0) -> None:
    end = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_measured_values_reach_the_other_processes_only(redis_url):
    async def scenario() -> tuple[list, list, list]:
        a, b = RedisStreams(redis_url, 4), RedisStreams(redis_url, 4)
        screen_a, screen_b, screen_c = Screen(), Screen(), Screen()
        tasks = [asyncio.create_task(s.forward_updates(h)) for s, h in ((a, screen_a), (b, screen_b))]
        await asyncio.sleep(0.3)
        await asyncio.to_thread(a.publish, [], [measured(1), measured(2)])
        await wait_for(lambda: len(screen_b.events) == 2, "process B to show A's measured values")
        c = RedisStreams(redis_url, 4)  # starts later: sees what is stored from now on
        tasks.append(asyncio.create_task(c.forward_updates(screen_c)))
        await asyncio.sleep(0.3)
        await asyncio.to_thread(a.publish, [], [measured(3)])
        await asyncio.to_thread(b.publish, [], [measured(4)])
        await wait_for(lambda: len(screen_c.events) == 2, "process C to show the later measured values")
        await wait_for(lambda: len(screen_a.events) == 1, "process A to show B's measured value")
        await asyncio.sleep(1.5)  # past a heartbeat: nothing more arrives
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for s in (a, b, c):
            s.close()
        return screen_a.events, screen_b.events, screen_c.events

    shown_a, shown_b, shown_c = asyncio.run(scenario())
    assert [e["seq"] for e in shown_a] == [4]  # its own (1, 2, 3) never come back
    assert [e["seq"] for e in shown_b] == [1, 2, 3]
    assert sorted(e["seq"] for e in shown_c) == [3, 4]


@pytest.fixture
def served(monkeypatch) -> list[tuple]:
    """``crampwatch serve`` in this process with the server start recorded instead of run (the variables it
    sets for its processes restored after the test)."""
    import crampwatch.cli.web_cmd as web_cmd

    calls: list[tuple] = []
    monkeypatch.setattr(web_cmd, "_run", lambda *args: calls.append(args))
    for name in ("CRAMPWATCH_MLLP_PORT", "CRAMPWATCH_MLLP_HOST", "CRAMPWATCH_DATABASE_URL"):
        monkeypatch.setenv(name, "")
    return calls


def test_serve_shares_the_mllp_port_among_several_processes_only_through_redis(tmp_path, monkeypatch, served):
    def serve() -> object:
        args = ["serve", "--port", str(free_port()), "--mllp-port", str(mllp_port), "--workers", "2"]
        return CliRunner().invoke(cli_app, [*args, "--database-url", f"sqlite:///{tmp_path / 'c.db'}"])

    mllp_port = free_port()
    monkeypatch.delenv("CRAMPWATCH_REDIS_URL", raising=False)
    refused = serve()
    assert refused.exit_code == 2 and "CRAMPWATCH_REDIS_URL" in refused.output and served == []
    monkeypatch.setenv("CRAMPWATCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    result = serve()
    assert result.exit_code == 0, result.output
    (call,) = served
    assert call[0] is None and call[3] == 2  # the processes build the application from the environment
    assert os.environ["CRAMPWATCH_MLLP_PORT"] == str(mllp_port)
    assert os.environ["CRAMPWATCH_MLLP_HOST"] == "127.0.0.1"
