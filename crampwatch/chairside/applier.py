"""Applies stored messages to the early-warning engine of their session, in ``seq`` order, once each, many
sessions per kernel call.

An engine is kept per running session with the ``seq`` of the last message it took in. A batch of messages
is applied with one :func:`crampwatch.live.observe_many` call per round across all sessions. Several
messages of one session in a batch (the engine is behind its input) are folded into one update: all but the
session's last observations are assimilated without a forecast (:func:`crampwatch.live.assimilate_many`),
so no observation is lost, and only the last message gets an update (``step = "update"``, with
``messages_covered``); the others are marked ``step = "coalesced"``. An acknowledgement is applied in order
and gets its own update. A message the engine refuses (an observation that goes back in time) is marked
``step = "failed"`` with the reason and left out.

A message whose ``prev_seq`` is not the engine's last ``seq`` (a fresh process after a restart, a worker that
took over a partition, a session first seen here) first has its engine brought there from the stored
messages and the stored steps of their updates (the engine is deterministic, so the replayed state is the
state the session had: the same messages folded the same way). Which update is stored (and shown) once is
the store's job (:meth:`crampwatch.store.Store.save_live_updates`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from crampwatch.live import LiveEngine, assimilate_many, observe_many
from crampwatch.live.inputs import checked_time, checked_values
from crampwatch.signals import DBP_MMHG, HR_BPM, RBV_PCT, SBP_MMHG, T_MIN, UF_CUM_L, UF_RATE_ML_H
from crampwatch.store.live import ACKNOWLEDGEMENT, UPDATE, LiveMessageRecord, LiveSessionRecord

#: Signals the chairside tile shows with the engine's update (latest value and its time).
TILE_SIGNALS = (RBV_PCT, SBP_MMHG, DBP_MMHG, HR_BPM, UF_RATE_ML_H, UF_CUM_L)
#: ``step`` of a stored row without an update of its own (folded into a later update, refused by the engine);
#: an update's is :data:`crampwatch.store.live.UPDATE`.
COALESCED, FAILED = "coalesced", "failed"


class Engine(Protocol):
    """The early-warning engine of one session (``crampwatch.live.LiveEngine``)."""

    t_now: float

    def observe(self, t_min: float, values: Mapping[str, float]) -> Any: ...

    def assimilate(self, t_min: float, values: Mapping[str, float]) -> None: ...

    def acknowledge(self, t_min: float, reason: str, snooze_min: float = 0) -> Any: ...


EngineFactory = Callable[[LiveSessionRecord], Engine]


@dataclass
class _Chair:
    session: LiveSessionRecord
    engine: Engine
    last_seq: int | None = None
    t_min: float = 0.0  # the engine's time after the ops planned so far
    latest: dict[str, list[float]] = field(default_factory=dict)
    covered: int = 0  # messages folded in since the last update


@dataclass
class _Op:
    """One engine call: ``observe`` (an update), ``assimilate`` or ``acknowledge``; ``message`` is the message
    it finishes (``None`` for a time group before the message's last one); ``emit``: its result is wanted."""

    chair: _Chair
    kind: str
    t_min: float
    values: dict[str, float]
    message: LiveMessageRecord | None
    emit: bool
    ack: tuple[str, float] = ("", 0.0)
    result: Any = None


def _by_time(values: Sequence[tuple[float, str, float]]) -> list[tuple[float, dict[str, float]]]:
    grouped: dict[float, dict[str, float]] = {}
    for t_min, name, value in values:
        grouped.setdefault(t_min, {})[name] = value
    return sorted(grouped.items())


def marker(message: LiveMessageRecord, step: str, **extra: Any) -> dict[str, Any]:
    """The stored row of a message without an update of its own."""
    return {
        "seq": message.seq,
        "live_session_id": message.live_session_id,
        T_MIN: message.t_min,
        "message_t_min": message.t_min,
        "step": step,
        "ended": message.end_of_treatment,
        **extra,
    }


def _failed(message: LiveMessageRecord, exc: Exception) -> dict[str, Any]:
    return marker(message, FAILED, level=None, engine_error=f"{type(exc).__name__}: {exc}"[:300])


def _call(kind: str, batch: Sequence[_Op]) -> list[Any]:
    """One kind of engine call for a batch of ops: one kernel call for early-warning engines, else one call
    per engine."""
    if kind == "acknowledge":
        return [op.chair.engine.acknowledge(op.t_min, *op.ack) for op in batch]  # type: ignore[misc]
    calls = [(op.chair.engine, op.t_min, op.values) for op in batch]
    if all(isinstance(e, LiveEngine) for e, _, _ in calls):
        if kind == "observe":
            return observe_many(calls)  # type: ignore[arg-type]
        assimilate_many(calls)  # type: ignore[arg-type]
        return [None] * len(calls)
    if kind == "observe":
        return [e.observe(t, v) for e, t, v in calls]
    return [e.assimilate(t, v) for e, t, v in calls]


class Applier:
    """Engines of the running sessions, kept in step with the stored messages."""

    def __init__(self, store: Any, make_engine: EngineFactory) -> None:
        self._store = store
        self._make_engine = make_engine
        self._chairs: dict[str, _Chair] = {}
        self.replays = 0  # how often an engine was brought forward from the store (observability, tests)

    @property
    def sessions(self) -> set[str]:
        """The sessions that have an engine here."""
        return set(self._chairs)

    def apply(self, messages: Sequence[LiveMessageRecord]) -> list[tuple[LiveMessageRecord, dict[str, Any]]]:
        """Per message (in ``seq`` order) the stored row: the engine's update (``step = "update"``) or a
        marker (``"coalesced"``, ``"failed"``)."""
        ordered = sorted({m.seq: m for m in messages}.values(), key=lambda m: m.seq)
        next_kind: dict[int, str | None] = {}  # the kind of the same session's next message in the batch
        following: dict[str, str | None] = {}
        for m in reversed(ordered):
            next_kind[m.seq] = following.get(m.live_session_id)
            following[m.live_session_id] = m.kind
        results: dict[int, dict[str, Any]] = {}
        ops: dict[str, list[_Op]] = {}
        for message in ordered:
            sid = message.live_session_id
            try:
                chair = self._ready(message, ops)
            except Exception as exc:  # noqa: BLE001  (an engine failure is shown, not fatal to other chairs)
                self._chairs.pop(sid, None)
                for op in ops.pop(sid, []):
                    if op.emit and op.message is not None:
                        results[op.message.seq] = _failed(op.message, exc)
                results[message.seq] = _failed(message, exc)
                continue
            update = next_kind[message.seq] in (None, ACKNOWLEDGEMENT) or message.end_of_treatment
            planned = self._plan(chair, message, update, emit=True)
            if isinstance(planned, dict):
                results[message.seq] = planned
            else:
                ops.setdefault(sid, []).extend(planned)
        self._run(ops)
        for plan in ops.values():
            for op in plan:
                if op.emit and op.message is not None:
                    results[op.message.seq] = op.result
        for message in ordered:
            if message.end_of_treatment:
                self._chairs.pop(message.live_session_id, None)
        lost = RuntimeError("the engine was rebuilt before this message's update")
        return [(m, results.get(m.seq) or _failed(m, lost)) for m in ordered]

    def forget(self, live_session_id: str) -> None:
        self._chairs.pop(live_session_id, None)

    def forget_all_but(self, running: set[str]) -> None:
        """Drop the engines of sessions that are no longer running (closed by a timeout elsewhere)."""
        for sid in set(self._chairs) - running:
            self._chairs.pop(sid, None)

    # ---------------------------------------------------------------------------------------- planning

    def _ready(self, message: LiveMessageRecord, ops: dict[str, list[_Op]]) -> _Chair:
        """The chair of ``message`` with ops planned up to its predecessor (replayed from the store)."""
        sid = message.live_session_id
        chair = self._chairs.get(sid)
        if chair is not None and chair.last_seq == message.prev_seq:
            return chair
        if message.prev_seq is None or chair is None or (chair.last_seq or 0) > message.prev_seq:
            ops.pop(sid, None)
            session = self._store.get_live_session(sid)
            if session is None:
                raise LookupError(f"live session {sid!r} is not stored")
            chair = _Chair(session, self._make_engine(session))
            chair.t_min = chair.engine.t_now
            self._chairs[sid] = chair
            after = None
        else:
            after = chair.last_seq
        if message.prev_seq is not None:
            self.replays += 1
            steps = self._store.live_update_steps(sid, after_seq=after, upto_seq=message.prev_seq)
            for stored in self._store.live_messages(sid, upto_seq=message.prev_seq, after_seq=after):
                step = steps.get(stored.seq, UPDATE)
                if step == FAILED:
                    chair.last_seq = stored.seq
                    continue
                planned = self._plan(chair, stored, step == UPDATE, emit=False)
                if isinstance(planned, list):
                    ops.setdefault(sid, []).extend(planned)
        return chair

    def _plan(
        self, chair: _Chair, message: LiveMessageRecord, update: bool, *, emit: bool
    ) -> list[_Op] | dict[str, Any]:
        """The engine calls of one message (checked first, so a refused message changes nothing), or its
        ``failed`` marker."""
        try:
            if message.kind == ACKNOWLEDGEMENT:
                t = checked_time(message.t_min, chair.t_min)
                ack = (message.reason, message.snooze_min)
                planned = [_Op(chair, "acknowledge", t, {}, message, emit, ack)]
            else:
                groups = _by_time(message.values)
                planned, t = [], chair.t_min
                for k, (t_group, values) in enumerate(groups):
                    t = checked_time(t_group, t)
                    last = k == len(groups) - 1
                    kind = "observe" if last and update else "assimilate"
                    planned.append(
                        _Op(chair, kind, t, checked_values(values), message if last else None, emit)
                    )
                if not planned:  # nothing observed (an end of treatment alone): an update at the message time
                    t = checked_time(message.t_min, chair.t_min)
                    kind = "observe" if update else "assimilate"
                    planned = [_Op(chair, kind, t, {}, message, emit)]
        except Exception as exc:  # noqa: BLE001  (refused input: the message is left out)
            chair.last_seq = message.seq
            return _failed(message, exc)
        chair.t_min = planned[-1].t_min
        chair.last_seq = message.seq
        return planned

    # ---------------------------------------------------------------------------------------- running

    def _run(self, ops: dict[str, list[_Op]]) -> None:
        """Run the planned ops, one kernel call per kind and round across the chairs."""
        rounds = max((len(plan) for plan in ops.values()), default=0)
        broken: dict[str, Exception] = {}
        for r in range(rounds):
            now = [plan[r] for sid, plan in ops.items() if r < len(plan) and sid not in broken]
            for kind in ("assimilate", "observe", "acknowledge"):
                batch = [op for op in now if op.kind == kind]
                if not batch:
                    continue
                try:
                    outs = _call(kind, batch)
                except Exception as exc:  # noqa: BLE001  (these chairs' engines are rebuilt next time)
                    broken.update({op.chair.session.id: exc for op in batch})
                    continue
                for op, out in zip(batch, outs, strict=True):
                    self._finish(op, out)
        for sid, exc in broken.items():
            self._chairs.pop(sid, None)
            for op in ops[sid]:
                if op.emit and op.message is not None and op.result is None:
                    op.result = _failed(op.message, exc)

    def _finish(self, op: _Op, update: Any) -> None:
        chair, message = op.chair, op.message
        for name, value in op.values.items():
            if name in TILE_SIGNALS:
                chair.latest[name] = [op.t_min, value]
        if message is None:
            return
        chair.covered += 1
        if op.kind == "assimilate":
            if op.emit:
                op.result = marker(message, COALESCED)
            return
        covered, chair.covered = chair.covered, 0
        if not op.emit:
            return
        data = dict(update.to_dict()) if update is not None else {T_MIN: message.t_min}
        data.update(
            seq=message.seq,
            live_session_id=chair.session.id,
            patient_id=chair.session.patient_id,
            message_t_min=message.t_min,
            latest={k: list(v) for k, v in chair.latest.items()},
            ended=message.end_of_treatment,
            step=UPDATE,
            messages_covered=covered,
        )
        op.result = data
