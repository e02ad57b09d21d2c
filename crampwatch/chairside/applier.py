"""Applies stored messages to the early-warning engine of their session, in ``seq`` order, once each.

An engine is kept per running session with the ``seq`` of the last message it saw. A message whose
``prev_seq`` is not that ``seq`` (a fresh process after a restart, a worker that took over a partition, a
session first seen here) gets a new engine replayed from the stored messages up to ``prev_seq``: the engine
is deterministic, so the replayed state is the state the session had. Which update is stored (and shown) once
is the store's job (:meth:`crampwatch.store.Store.save_live_updates`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from crampwatch.store.live import ACKNOWLEDGEMENT, LiveMessageRecord, LiveSessionRecord

#: Signals the chairside tile shows with the engine's update (latest value and its time).
TILE_SIGNALS = ("rbv_pct", "sbp_mmhg", "dbp_mmhg", "hr_bpm", "uf_rate_ml_h", "uf_cum_l")


class Engine(Protocol):
    """The early-warning engine of one session (``crampwatch.live.LiveEngine``)."""

    def observe(self, t_min: float, values: Mapping[str, float]) -> Any: ...

    def acknowledge(self, t_min: float, reason: str, snooze_min: float = 0) -> Any: ...


EngineFactory = Callable[[LiveSessionRecord], Engine]


@dataclass
class _Chair:
    session: LiveSessionRecord
    engine: Engine
    last_seq: int | None = None
    latest: dict[str, list[float]] = field(default_factory=dict)

    def step(self, message: LiveMessageRecord) -> dict[str, Any]:
        """Feed one message to the engine; the update as JSON data for the store and the screen."""
        if message.kind == ACKNOWLEDGEMENT:
            update = self.engine.acknowledge(message.t_min, message.reason, message.snooze_min)
        else:
            update = None
            for t_min, values in _by_time(message.values):
                update = self.engine.observe(t_min, values)
                for name, value in values.items():
                    if name in TILE_SIGNALS:
                        self.latest[name] = [t_min, value]
        self.last_seq = message.seq
        data = dict(update.to_dict()) if update is not None else {"t_min": message.t_min}
        data.update(
            seq=message.seq,
            live_session_id=self.session.id,
            patient_id=self.session.patient_id,
            message_t_min=message.t_min,
            latest={k: list(v) for k, v in self.latest.items()},
            ended=message.end_of_treatment,
        )
        return data


def _by_time(values: Sequence[tuple[float, str, float]]) -> list[tuple[float, dict[str, float]]]:
    grouped: dict[float, dict[str, float]] = {}
    for t_min, name, value in values:
        grouped.setdefault(t_min, {})[name] = value
    return sorted(grouped.items())


def _failed(message: LiveMessageRecord, exc: Exception) -> dict[str, Any]:
    return {
        "seq": message.seq,
        "live_session_id": message.live_session_id,
        "t_min": message.t_min,
        "message_t_min": message.t_min,
        "level": None,
        "engine_error": f"{type(exc).__name__}: {exc}"[:300],
        "ended": message.end_of_treatment,
    }


class Applier:
    """Engines of the running sessions, kept in step with the stored messages."""

    def __init__(self, store: Any, make_engine: EngineFactory) -> None:
        self._store = store
        self._make_engine = make_engine
        self._chairs: dict[str, _Chair] = {}
        self.replays = 0  # how often an engine was rebuilt from the store (observability, tests)

    def apply(self, messages: Sequence[LiveMessageRecord]) -> list[tuple[LiveMessageRecord, dict[str, Any]]]:
        """The engine's update after each message (in ``seq`` order)."""
        out = []
        for message in sorted(messages, key=lambda m: m.seq):
            try:
                chair = self._chairs.get(message.live_session_id)
                if chair is None or chair.last_seq != message.prev_seq:
                    chair = self._replayed(message.live_session_id, message.prev_seq)
                out.append((message, chair.step(message)))
            except Exception as exc:  # noqa: BLE001  (an engine failure is shown, not fatal to other chairs)
                self._chairs.pop(message.live_session_id, None)
                out.append((message, _failed(message, exc)))
            if message.end_of_treatment:
                self._chairs.pop(message.live_session_id, None)
        return out

    def forget(self, live_session_id: str) -> None:
        self._chairs.pop(live_session_id, None)

    def _replayed(self, live_session_id: str, upto_seq: int | None) -> _Chair:
        session = self._store.get_live_session(live_session_id)
        if session is None:
            raise LookupError(f"live session {live_session_id!r} is not stored")
        chair = _Chair(session, self._make_engine(session))
        if upto_seq is not None:
            self.replays += 1
            for message in self._store.live_messages(live_session_id, upto_seq=upto_seq):
                chair.step(message)
        self._chairs[live_session_id] = chair
        return chair
