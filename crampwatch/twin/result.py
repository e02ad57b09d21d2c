"""The patient twin (docs/formats.md "Patient twin"): JSON form, and how the analyzer and optimizer use it.

* :meth:`PatientTwin.personalize` -- a scenario with this patient's fitted physiology (refill capacity,
  vascular reserve, blood volume), personal critical RBV and Na set point in place of the population values;
* :meth:`PatientTwin.ensemble` -- plausible versions of the patient drawn from the twin's uncertainty
  (multivariate normal on the log scale, the Laplace posterior);
* :meth:`PatientTwin.evidence` -- the evidence lines a finding cites when it used the twin.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crampwatch.causes.ids import HYPOVOLEMIA, OSMOTIC
from crampwatch.causes.sentences import plural
from crampwatch.errors import InputError
from crampwatch.model import Patient, Scenario, with_changes
from crampwatch.signals import PLASMA_NA_MMOL_L, RBV_PCT, SBP_MMHG
from crampwatch.twin.priors import BY_NAME, CI_LEVEL, FITTED, NAMES, population_blood_volume_ml_kg

#: Which causes' findings cite which twin parameters and thresholds.
CITED_BY_CAUSE: dict[str, tuple[str, ...]] = {
    HYPOVOLEMIA: ("refill_capacity", "vascular_reserve", "blood_volume_l", RBV_PCT, SBP_MMHG),
    OSMOTIC: ("na_set_point_mmol_l", PLASMA_NA_MMOL_L),
}


@dataclass(frozen=True)
class PatientTwin:
    """A fitted patient twin. ``parameters[name]`` has ``value, ci, population, unit`` (+ label,
    identified, note, source); ``log_mean``/``log_cov`` are the posterior of the log multipliers of
    :data:`crampwatch.twin.priors.FITTED`."""

    patient_id: str
    n_sessions: int
    model_version: str
    parameters: dict[str, dict[str, Any]]
    fit: dict[str, Any]
    personal_thresholds: list[dict[str, Any]]
    log_mean: np.ndarray
    log_cov: np.ndarray
    created_at: str = ""
    warnings: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------------------------ JSON

    def to_dict(self) -> dict[str, Any]:
        return {
            "patient_id": self.patient_id,
            "n_sessions": self.n_sessions,
            "model_version": self.model_version,
            "created_at": self.created_at,
            "ci_level": CI_LEVEL,
            "parameters": self.parameters,
            "fit": self.fit,
            "personal_thresholds": self.personal_thresholds,
            "uncertainty": {
                "parameters": list(NAMES),
                "scale": "natural log of the multiple of the population value",
                "log_mean": [float(v) for v in self.log_mean],
                "log_cov": [[float(v) for v in row] for row in self.log_cov],
            },
            "warnings": list(self.warnings),
        }

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Any, name: str = "twin") -> PatientTwin:
        """Parse and check a twin JSON object; :class:`InputError` names the first bad field."""
        if not isinstance(data, dict):
            raise InputError(f"{name}: expected a JSON object (the patient twin)", name)
        for key in ("patient_id", "n_sessions", "parameters", "uncertainty"):
            if key not in data:
                raise InputError(
                    f"{name}.{key}: missing (see docs/formats.md 'Patient twin')", f"{name}.{key}"
                )
        params = data["parameters"]
        if not isinstance(params, dict) or "refill_capacity" not in params:
            raise InputError(f"{name}.parameters.refill_capacity: missing", f"{name}.parameters")
        unc = data["uncertainty"]
        try:
            mean = np.asarray(unc["log_mean"], dtype=float)
            cov = np.asarray(unc["log_cov"], dtype=float)
            order = list(unc["parameters"])
        except (KeyError, TypeError, ValueError):
            raise InputError(
                f"{name}.uncertainty: needs parameters, log_mean and log_cov", f"{name}.uncertainty"
            ) from None
        n = len(NAMES)
        if order != list(NAMES) or mean.shape != (n,) or cov.shape != (n, n):
            raise InputError(
                f"{name}.uncertainty: expected parameters {', '.join(NAMES)} with a {n}x{n} log_cov",
                f"{name}.uncertainty",
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))) or np.any(np.diag(cov) < 0):
            raise InputError(
                f"{name}.uncertainty: values must be finite, variances >= 0", f"{name}.uncertainty"
            )
        for i, p in enumerate(FITTED):
            if not math.log(p.lower) - 1e-9 <= mean[i] <= math.log(p.upper) + 1e-9:
                raise InputError(
                    f"{name}.uncertainty.log_mean: {p.name} x{math.exp(mean[i]):.3g} is out of range "
                    f"(allowed x{p.lower:g}–x{p.upper:g})",
                    f"{name}.uncertainty.log_mean",
                )
        return cls(
            patient_id=str(data["patient_id"]),
            n_sessions=int(data["n_sessions"]),
            model_version=str(data.get("model_version", "")),
            parameters=params,
            fit=dict(data.get("fit") or {}),
            personal_thresholds=list(data.get("personal_thresholds") or []),
            log_mean=mean,
            log_cov=0.5 * (cov + cov.T),
            created_at=str(data.get("created_at", "")),
            warnings=list(data.get("warnings") or []),
        )

    # ------------------------------------------------------------------------------------ use

    @property
    def multipliers(self) -> np.ndarray:
        """Fitted multiples of the population value (order of :data:`FITTED`)."""
        return np.exp(self.log_mean)

    def threshold(self, signal: str) -> dict[str, Any] | None:
        return next((t for t in self.personal_thresholds if t.get("signal") == signal), None)

    def personalize_patient(self, patient: Patient, theta: np.ndarray | None = None) -> Patient:
        """``patient`` with the twin's physiology (``theta``: multipliers, default the fitted ones),
        personal critical RBV (unless one is entered) and Na set point (when the day's Na is missing)."""
        refill, reserve, bv = (float(v) for v in (self.multipliers if theta is None else theta))
        update: dict[str, Any] = {
            "refill_capacity": _clip(refill, "refill_capacity"),
            "baroreflex_strength": _clip(reserve, "vascular_reserve"),
            "blood_volume_ml_kg": min(max(bv * population_blood_volume_ml_kg(patient.sex), 40.0), 120.0),
        }
        rbv = self.threshold(RBV_PCT)
        if rbv is not None and patient.critical_rbv_pct is None:
            update["critical_rbv_pct"] = float(rbv["value"])
        na = self.parameters.get("na_set_point_mmol_l", {}).get("value")
        if na is not None and patient.labs.na_mmol_l is None:
            update["labs"] = with_changes(patient.labs, na_mmol_l=float(na))
        return with_changes(patient, **update)

    def check_patient(self, patient: Patient) -> None:
        """:class:`InputError` when ``patient`` is not the patient this twin was fitted to."""
        if patient.id != self.patient_id:
            raise InputError(
                f"twin: fitted to patient {self.patient_id!r}, but the scenario is patient {patient.id!r}",
                "twin",
            )

    def personalize(self, scenario: Scenario) -> Scenario:
        """``scenario`` with this patient's twin in place of the population patient."""
        self.check_patient(scenario.patient)
        return with_changes(scenario, patient=self.personalize_patient(scenario.patient))

    def ensemble(self, patient: Patient, n: int, seed: int = 0) -> list[Patient]:
        """``n`` plausible versions of ``patient`` drawn from the twin's uncertainty (member 0: the fitted
        values). Seeded, reproducible."""
        if n < 1:
            raise ValueError("n must be >= 1")
        self.check_patient(patient)
        rng = np.random.default_rng([seed, 7])
        draws = rng.multivariate_normal(self.log_mean, self.log_cov, size=max(n - 1, 0), method="eigh")
        thetas = [self.multipliers] + [np.exp(d) for d in draws]
        return [self.personalize_patient(patient, th) for th in thetas]

    def summary(self) -> str:
        """One line: the fitted refill capacity and vascular reserve with intervals and the session count."""
        parts = []
        for name in ("refill_capacity", "vascular_reserve"):
            p = self.parameters.get(name)
            if p:
                parts.append(f"{BY_NAME[name].label} {p['value']:.2f} x population ({_ci_text(p)})")
        return f"patient twin fitted on {plural(self.n_sessions, 'session', 'sessions')}: " + "; ".join(parts)

    def evidence(self, cause: str) -> list[dict[str, Any]]:
        """Evidence entries (signal, value, threshold, source, note) for ``cause``'s finding."""
        out = []
        source = f"patient twin fitted on {plural(self.n_sessions, 'session', 'sessions')}"
        for key in CITED_BY_CAUSE.get(cause, ()):
            p = self.parameters.get(key)
            if p is not None:
                unit = "" if p["unit"] == "1" else f" {p['unit']}"
                note = f"{_ci_text(p)}; population value {_fmt(p['population'])}{unit}"
                if not p.get("identified", True):
                    note += "; not identified by the sessions: population prior"
                # the fitted physiology the simulation used: context for the finding, whose own evidence
                # shows its effect on the session
                out.append(
                    {
                        "signal": key,
                        "value": p["value"],
                        "threshold": None,
                        "source": source,
                        "note": note,
                        "direction": "context",
                    }
                )
            t = self.threshold(key)
            if t is not None:
                out.append(
                    {
                        "signal": key,
                        "value": None,
                        "threshold": t["value"],
                        "source": source,
                        "note": t["text"],
                        "direction": "context",
                    }
                )
        return out


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _ci_text(p: dict[str, Any]) -> str:
    lo, hi = p["ci"]
    return f"{round(100 * CI_LEVEL)} % interval {_fmt(lo)}–{_fmt(hi)}"


def _clip(value: float, name: str) -> float:
    p = BY_NAME[name]
    return float(min(max(value, p.lower), p.upper))


def load_twin(path: str | Path) -> PatientTwin:
    """Read a twin JSON file (``crampwatch fit --out``)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"twin: {p} does not exist", "twin")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"twin file {p.name}: not valid JSON ({exc.msg})", "twin") from None
    return PatientTwin.from_dict(data, name="twin")
