"""The heavy actions of the clinic app, run as jobs (:mod:`crampwatch.web.jobs`): optimizer runs and twin
refits wait for their result; training the unit model runs in the background and stores the model
inactive. Access checks and their audit entries come first, so a refused user never takes a job slot."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from crampwatch.errors import InputError
from crampwatch.store.kept import JobRecord, finish_job, latest_jobs, start_job
from crampwatch.store.twins import StoredTwin, fit_and_store_twin
from crampwatch.store.unit_models import save_unit_model
from crampwatch.web import access, model_service, services
from crampwatch.web.auth import get_store
from crampwatch.web.jobs import JobRunner, JobsBusy

logger = logging.getLogger("crampwatch.web")
TRAIN = "train_unit_model"
REFIT = "refit_twin"
#: The unit a database serves (one per database).
UNIT = "unit"


def runner(request: Request) -> JobRunner:
    return request.app.state.jobs


async def optimize(request: Request, user: Any, session_id: str) -> dict[str, Any]:
    """The optimizer's result for a session (audited as ``optimize``), computed as a job."""
    store = get_store(request)
    rec, patient = await run_in_threadpool(
        access.load_session, store, user, session_id, "optimize", request.url.path
    )
    return await runner(request).run(services.optimize_session, patient.patient, rec, store)


def _busy(kind: str, subject: str | None, store: Any, fallback_s: int) -> JobsBusy:
    running = next(iter(latest_jobs(store, kind, subject, limit=1)), None)
    who = f" (started by {running.submitted_by})" if running is not None and running.submitted_by else ""
    return JobsBusy(fallback_s, f"the same computation is already running{who}")


def _ledger_job(request: Request, user: Any, kind: str, subject: str) -> JobRecord:
    store = get_store(request)
    job = start_job(store, kind, subject, user.username)
    if job is None:
        raise _busy(kind, subject, store, runner(request).retry_after_s(waiting=runner(request).capacity))
    return job


async def refit_twin(request: Request, user: Any, patient_id: str) -> StoredTwin:
    """Refit the patient's twin (one refit per patient at a time, in any process); audited."""
    store = get_store(request)
    await run_in_threadpool(access.load_patient, store, user, patient_id, REFIT, request.url.path)
    job = await run_in_threadpool(_ledger_job, request, user, REFIT, patient_id)
    jobs = runner(request)

    def work() -> StoredTwin:
        jobs.keep_alive(store, job.id)
        try:
            stored = fit_and_store_twin(store, patient_id, fitted_by=user.username)
        except InputError as exc:
            finish_job(store, job.id, error=exc.message)
            raise
        finally:
            jobs.done(job.id)
        finish_job(store, job.id, result={"version": stored.version})
        return stored

    try:
        return await jobs.run(work)
    except JobsBusy:
        await run_in_threadpool(finish_job, store, job.id, error="refused: the server was busy")
        raise


def start_training(request: Request, user: Any) -> JobRecord:
    """Start training the unit model on every stored session in the background (one at a time per unit).

    The model is stored **inactive**; an administrator activates it on the model card.
    """
    store = get_store(request)
    job = _ledger_job(request, user, TRAIN, UNIT)
    jobs = runner(request)

    def work() -> None:
        jobs.keep_alive(store, job.id)
        try:
            model = model_service.train_from_store(store)
            model_id = save_unit_model(store, model.to_dict(), trained_by=user.username, activate=False)
        except InputError as exc:
            finish_job(store, job.id, error=exc.message)
            return
        except Exception:
            logger.exception("training the unit model failed")
            finish_job(store, job.id, error="internal error (see the server log)")
            return
        finally:
            jobs.done(job.id)
        store.audit(username=user.username, action=TRAIN, detail=f"unit model {model_id} (not active)")
        finish_job(store, job.id, result={"model_id": model_id})

    try:
        jobs.submit(work)
    except JobsBusy:
        finish_job(store, job.id, error="refused: the server was busy")
        raise
    store.audit(username=user.username, action="start_training", detail=f"job {job.id}")
    return job


def training_jobs(store: Any) -> list[JobRecord]:
    """The latest trainings (newest first) for the model card."""
    return latest_jobs(store, TRAIN, UNIT, limit=3)
