"""Fixtures for the store tests: a database URL per backend (SQLite file, PostgreSQL schema) and sample data.

PostgreSQL tests run in a fresh schema each (``search_path`` set through the URL), so parallel runs never
share tables. When the server cannot be reached they are skipped, except under ``CI`` where they fail.
"""

from __future__ import annotations

import functools
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import psycopg
import pytest
from sqlalchemy.engine import make_url

from crampwatch.model import Patient, Prescription
from crampwatch.store import Store
from crampwatch.trace import Trace

PG_URL = os.environ.get("CRAMPWATCH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@functools.cache
def _pg_problem() -> str | None:
    """``None`` when PostgreSQL answers, else why not."""
    try:
        with psycopg.connect(_libpq_dsn(PG_URL), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {make_url(PG_URL).render_as_string(hide_password=True)} unreachable: " + (
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        )
    return None


def require_postgres() -> None:
    problem = _pg_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{problem} (CI is set, so PostgreSQL tests must run)", pytrace=False)
    pytest.skip(problem)


def fresh_pg_schema_url() -> Iterator[str]:
    """A URL whose ``search_path`` is a new, empty schema; the schema is dropped afterwards."""
    require_postgres()
    schema = f"cw_test_{uuid.uuid4().hex[:12]}"
    dsn = _libpq_dsn(PG_URL)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def use_cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with 1 pass over 1 MiB: same code path, ~100x faster (production parameters are tested)."""
    from argon2 import PasswordHasher

    from crampwatch.store import security

    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crampwatch.db'}"
    else:
        yield from fresh_pg_schema_url()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store.open(database_url)
    try:
        yield s
    finally:
        s.close()


def make_patient(patient_id: str = "P001", **changes) -> Patient:
    data = {
        "id": patient_id,
        "sex": "female",
        "age_years": 58,
        "height_cm": 165,
        "pre_weight_kg": 70.0,
        "dry_weight_kg": 67.5,
        "vintage_months": 14,
        "labs": {"na_mmol_l": 136, "ca_total_mg_dl": 8.7},
    }
    data.update(changes)
    return Patient.model_validate(data)


def make_trace(n: int = 49, cramp_at: float | None = 150.0, seed: int = 0) -> Trace:
    """A 240-min trace with a few signals (5-min steps) and, optionally, a cramp event."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 240.0, n)
    data = pd.DataFrame(
        {
            "t_min": t,
            "sbp_mmhg": 140 - 0.1 * t + rng.normal(0, 2, n),
            "hr_bpm": 72 + 0.02 * t,
            "rbv_pct": 100 - 0.05 * t,
            "plasma_na_mmol_l": np.where(t < 100, np.nan, 137.0),
        }
    )
    events = pd.DataFrame(
        {
            "t_min": [cramp_at, 160.0] if cramp_at is not None else [160.0],
            "kind": ["cramp", "saline_bolus"] if cramp_at is not None else ["saline_bolus"],
            "severity": [7.0, np.nan] if cramp_at is not None else [np.nan],
            "note": ["left calf", ""] if cramp_at is not None else [""],
        }
    )
    return Trace(data, events, {"sbp_mmhg": "measured", "hr_bpm": "measured", "rbv_pct": "estimated"})


def make_prescription(**changes) -> Prescription:
    return Prescription.model_validate({"duration_min": 240, "uf_volume_l": 2.5, **changes})


def at(hour: int, day: int = 2) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)


def run_in_threads(target: Callable[..., object], args_per_thread: Iterable[tuple]) -> list[BaseException]:
    """Run ``target(*args)`` in one thread per ``args`` and wait; the exceptions raised (empty: none)."""
    errors: list[BaseException] = []

    def guarded(*args: object) -> None:
        try:
            target(*args)
        except BaseException as exc:  # collected for the caller to assert on
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=args) for args in args_per_thread]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
