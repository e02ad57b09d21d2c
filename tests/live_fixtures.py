"""Builders for the chairside tests (no tests here): ORU^R01 texts, a store with patients that have a stored
prescription, a stand-in engine with the interface of ``crampwatch.live.LiveEngine``, and an in-process live
service with its MLLP listener on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from live_app import StandInEngine
from store_fixtures import at, make_patient, make_prescription, make_trace

from crampwatch.chairside.mllp import MllpListener
from crampwatch.chairside.service import LiveService
from crampwatch.chairside.settings import LiveSettings
from crampwatch.store import Store

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def hl7_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S") + "+0000"


def oru(
    control_id: str,
    patient_id: str = "P001",
    minute: float = 0.0,
    values: Mapping[str, float] | None = None,
    *,
    end: bool = False,
    facility: str = "UNIT1",
    extra_obx: str = "",
) -> str:
    """An ORU^R01 text: one OBX per value (registry names in 99CW), observed ``minute`` after :data:`T0`."""
    when = hl7_time(T0 + timedelta(minutes=minute))
    lines = [
        f"MSH|^~\\&|DIALYZER|{facility}|CRAMPWATCH|CLINIC|{when}||ORU^R01^ORU_R01|{control_id}|P|2.6",
        f"PID|||{patient_id}",
        f"OBR|1|||TREATMENT|||{when}",
    ]
    for k, (name, value) in enumerate((values if values is not None else {"rbv_pct": 99.0}).items(), start=1):
        lines.append(f"OBX|{k}|NM|{name}^{name}^99CW||{value}|{_UNITS.get(name, '')}|||||F|||{when}")
    if end:
        lines.append(f"OBX|{len(lines)}|ST|0^MDC_HDIALY_MACH_MODE_OF_OPERATION^MDC||POSTTX|||||||F|||{when}")
    if extra_obx:
        lines.append(extra_obx)
    return "\r".join(lines) + "\r"


_UNITS = {
    "rbv_pct": "%",
    "sbp_mmhg": "mm[Hg]",
    "dbp_mmhg": "mm[Hg]",
    "uf_rate_ml_h": "mL/h",
    "hr_bpm": "/min",
}


def session_values(minute: int) -> dict[str, float]:
    """A falling blood volume with a BP reading every 15 min (a plausible machine stream)."""
    values = {"rbv_pct": round(100 - 0.08 * minute, 2), "uf_rate_ml_h": 900.0}
    if minute % 15 == 0:
        values.update(sbp_mmhg=round(140 - 0.1 * minute, 1), dbp_mmhg=80.0)
    return values


def make_live_store(url: str, patients: tuple[str, ...] = ("P001", "P002")) -> Store:
    """A store whose patients each have one recorded session (their stored prescription)."""
    store = Store.open(url)
    for k, pid in enumerate(patients):
        store.add_patient(make_patient(pid), name=f"Patient {pid}")
        store.add_session(pid, make_prescription(), make_trace(seed=k), started_at=at(8))
    return store


class LoopThread:
    """An asyncio loop in a thread running a live service and its MLLP listener (a real socket)."""

    def __init__(
        self,
        store: Store,
        settings: LiveSettings | None = None,
        make_engine: Any = StandInEngine,
        streams: Any = None,
    ):
        self.store = store
        self.settings = settings or LiveSettings(mllp_port=0, session_timeout_min=30)
        self.make_engine = make_engine
        self.streams = streams
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.service: LiveService | None = None
        self.listener: MllpListener | None = None
        self.port = 0
        self.shown: list[dict[str, Any]] = []  # what a screen subscribed to the hub received

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> LoopThread:
        self.thread.start()
        self.service = LiveService(self.store, self.settings, self.make_engine)
        self.run(self.service.start(self.streams))
        self.screen = self.run(self._start_screen())
        self.listener = MllpListener(self.service)
        self.port = self.run(self.listener.start())
        return self

    async def _start_screen(self) -> asyncio.Task[None]:
        return asyncio.create_task(self._screen())

    async def _screen(self) -> None:
        async for data in self.service.hub.subscribe():
            self.shown.append(data)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every stored message of the running sessions has its engine update."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self.service.unapplied_messages():
                return
            time.sleep(0.02)
        raise AssertionError("engine updates did not follow the stored messages")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.loop.call_soon_threadsafe(self.screen.cancel)
            self.run(self.listener.stop())
            self.run(self.service.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@contextlib.contextmanager
def running_service(store: Store, **kwargs: Any) -> Iterator[LoopThread]:
    runner = LoopThread(store, **kwargs).start()
    try:
        yield runner
    finally:
        runner.stop()
