"""Pydantic models of a patient, a prescription and a scenario (docs/formats.md "Scenario file").

Every numeric field carries its unit in its name and an allowed range. The ranges are the limits of what a
living adult on hemodialysis can present with (wide on purpose: they reject impossible values such as a
0 kg weight or a plasma Na of 300 mmol/L, not unusual ones); they are modelling choices unless a source is
named. A violation raises :class:`crampwatch.errors.InputError` with a one-line message naming the field
and the allowed range.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo

from crampwatch.errors import InputError
from crampwatch.labs import LAB_FIELDS, resolve_lab_arrays
from crampwatch.quantities import mean_dialysate_na_mmol_l, post_weight_kg_array
from crampwatch.signals import MAX_T_MIN
from crampwatch.units import BUN_MG_DL_PER_UREA_MMOL_L

UfProfileName = Literal["constant", "linear_decreasing", "step"]
#: The named UF profiles.
UF_PROFILE_NAMES: tuple[str, ...] = get_args(UfProfileName)


#: nPCR used when a patient's is unknown: 1.0 g/kg/day (KDOQI 2006 HD adequacy target >= 1.0; HEMO Study and
#: DOPPS means ~1.0 g/kg/day). Plausible range 0.3-2.5 g/kg/day (outside: a measurement or entry error).
DEFAULT_NPCR_G_KG_DAY = 1.0
NPCR_RANGE_G_KG_DAY = (0.3, 2.5)


#: Largest pre-dialysis weight above the dry weight accepted, kg (modelling choice: more is a data-entry
#: error).
MAX_INTERDIALYTIC_GAIN_KG = 12.0


class _Strict(BaseModel):
    """Unknown fields refused; immutable once validated (a change is a new model: :func:`with_changes`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


ModelT = TypeVar("ModelT", bound=BaseModel)


def with_changes(model: ModelT, **changes: Any) -> ModelT:
    """A new ``model`` with ``changes`` (field name -> value), validated like the original: a value out of its
    range raises pydantic's ``ValidationError`` naming the field."""
    return type(model).model_validate({**dict(model), **changes})


class Labs(_Strict):
    """Pre-dialysis laboratory values; each is optional."""

    na_mmol_l: float | None = Field(None, ge=110, le=170, description="plasma sodium, mmol/L")
    k_mmol_l: float | None = Field(None, ge=1.5, le=9.5, description="plasma potassium, mmol/L")
    bun_mg_dl: float | None = Field(None, ge=2, le=300, description="blood urea nitrogen, mg/dL")
    urea_mmol_l: float | None = Field(None, ge=0.7, le=107, description="plasma urea, mmol/L")
    ca_total_mg_dl: float | None = Field(None, ge=4, le=16, description="total calcium, mg/dL")
    ica_mmol_l: float | None = Field(None, ge=0.5, le=2.0, description="ionized calcium, mmol/L")
    albumin_g_dl: float | None = Field(None, ge=1.0, le=6.0, description="serum albumin, g/dL")
    mg_mmol_l: float | None = Field(None, ge=0.2, le=3.0, description="serum magnesium, mmol/L")
    hco3_mmol_l: float | None = Field(None, ge=8, le=45, description="serum bicarbonate, mmol/L")
    hct_pct: float | None = Field(None, ge=15, le=60, description="hematocrit, %")
    glucose_mg_dl: float | None = Field(None, ge=30, le=1000, description="plasma glucose, mg/dL")
    aluminium_ug_l: float | None = Field(None, ge=0, le=1000, description="serum aluminium, µg/L")

    def bun(self) -> float | None:
        """BUN in mg/dL, converted from urea when only urea is given."""
        if self.bun_mg_dl is not None:
            return self.bun_mg_dl
        if self.urea_mmol_l is not None:
            return self.urea_mmol_l * BUN_MG_DL_PER_UREA_MMOL_L
        return None

    def resolved(self) -> tuple[dict[str, float], list[str]]:
        """All labs with defaults filled in, and the names of those that were assumed
        (:func:`resolve_lab_arrays` for one patient)."""
        raw = {
            name: np.array([np.nan if v is None else float(v)])
            for name in LAB_FIELDS
            for v in [getattr(self, name)]
        }
        arrays, assumed_flags = resolve_lab_arrays(raw)
        values = {name: float(v[0]) for name, v in arrays.items()}
        return values, [name for name, flag in assumed_flags.items() if flag[0]]


class Patient(_Strict):
    """A hemodialysis patient (docs/formats.md). Weights in kg, height in cm, vintage in months."""

    id: str = Field("P000", min_length=1, max_length=64)
    sex: Literal["male", "female"]
    age_years: float = Field(..., ge=18, le=110)
    height_cm: float = Field(..., ge=120, le=230)
    pre_weight_kg: float = Field(..., ge=25, le=250)
    dry_weight_kg: float = Field(..., ge=25, le=250)
    vintage_months: float = Field(0, ge=0, le=600)
    diabetes: bool = False
    peripheral_neuropathy: bool | None = None
    active_vitamin_d: bool = False
    labs: Labs = Field(default_factory=Labs)
    # Optional extensions (not in the minimal contract):
    access: Literal["fistula", "graft", "catheter"] = "fistula"
    cramps_outside_sessions: bool | None = None
    residual_kr_ml_min: float = Field(0.0, ge=0, le=30, description="residual kidney urea clearance, mL/min")
    previous_post_weight_kg: float | None = Field(None, ge=25, le=250)
    baroreflex_strength: float = Field(
        1.0, ge=0.0, le=3.0, description="baroreflex gain relative to a healthy adult (1 = normal)"
    )
    refill_capacity: float = Field(
        1.0, ge=0.1, le=4.0, description="capillary filtration coefficient relative to the typical LpS"
    )
    blood_volume_ml_kg: float | None = Field(
        None,
        ge=40,
        le=120,
        description="blood volume per kg dry weight, mL/kg (None: Nadler's 70 men / 65 women; a patient twin "
        "fits it from the relative-blood-volume course)",
    )
    critical_rbv_pct: float | None = Field(None, ge=60, le=100, description="patient's known critical RBV, %")
    pre_sbp_mmhg: float | None = Field(None, ge=60, le=260, description="pre-dialysis systolic BP, mmHg")
    pre_hr_bpm: float | None = Field(None, ge=30, le=180, description="pre-dialysis heart rate, beats/min")
    npcr_g_kg_d: float | None = Field(
        None,
        ge=NPCR_RANGE_G_KG_DAY[0],
        le=NPCR_RANGE_G_KG_DAY[1],
        description="normalized protein catabolic rate (nPCR), g/kg/day; urea generation of the session and "
        f"weekly models (default {DEFAULT_NPCR_G_KG_DAY:g} when unknown)",
    )

    @field_validator("peripheral_neuropathy", "cramps_outside_sessions", mode="before")
    @classmethod
    def _unknown_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in {"unknown", "", "none", "null"}:
            return None
        return value

    @model_validator(mode="after")
    def _weights_consistent(self) -> Patient:
        if self.pre_weight_kg - self.dry_weight_kg > MAX_INTERDIALYTIC_GAIN_KG:
            raise ValueError(
                f"pre_weight_kg: more than {MAX_INTERDIALYTIC_GAIN_KG:g} kg above dry_weight_kg "
                f"(allowed interdialytic gain 0–{MAX_INTERDIALYTIC_GAIN_KG:g} kg)"
            )
        return self

    @property
    def idwg_kg(self) -> float:
        """Interdialytic weight gain: pre-weight minus the previous post-weight (or the dry weight)."""
        reference = (
            self.previous_post_weight_kg if self.previous_post_weight_kg is not None else self.dry_weight_kg
        )
        return self.pre_weight_kg - reference

    @property
    def idwg_pct(self) -> float:
        return 100.0 * self.idwg_kg / self.dry_weight_kg


def _check_time_points(points: list[tuple[float, float]], name: str, value_name: str) -> None:
    """A profile needs at least one ``[t_min, value]`` point, with times >= 0 and increasing."""
    if not points:
        raise ValueError(f"{name}: needs at least one [t_min, {value_name}] point")
    times = [p[0] for p in points]
    if any(t < 0 for t in times) or times != sorted(times):
        raise ValueError(f"{name}: t_min must be >= 0 and increasing")


class Dialysate(_Strict):
    """Dialysate composition (mmol/L) and temperature (°C). Na may be a time profile."""

    na_mmol_l: float = Field(138.0, ge=120, le=160)
    na_profile: list[tuple[float, float]] | None = Field(
        None, description="[[t_min, na_mmol_l], ...], linear interpolation between points"
    )
    k_mmol_l: float = Field(2.0, ge=0, le=5)
    ca_mmol_l: float = Field(1.25, ge=0.5, le=2.5)
    mg_mmol_l: float = Field(0.5, ge=0.0, le=2.0)
    hco3_mmol_l: float = Field(35.0, ge=20, le=45)
    temp_c: float = Field(36.5, ge=33.0, le=39.0)

    @field_validator("na_profile")
    @classmethod
    def _check_na_profile(cls, value: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
        if value is None:
            return None
        _check_time_points(value, "na_profile", "na_mmol_l")
        for _, na in value:
            if not 120 <= na <= 160:
                raise ValueError(f"na_profile: {na} mmol/L is out of range (allowed 120–160 mmol/L)")
        return value


class Prescription(_Strict):
    """A dialysis prescription (docs/formats.md). Flows in mL/min, durations in minutes, volumes in L."""

    duration_min: float = Field(240.0, ge=30, le=600)
    uf_volume_l: float | None = Field(None, ge=0, le=10)
    uf_profile: UfProfileName | list[tuple[float, float]] = "constant"
    qb_ml_min: float = Field(300.0, ge=50, le=600)
    qd_ml_min: float = Field(500.0, ge=100, le=1000)
    dialyzer_koa_ml_min: float = Field(1100.0, ge=200, le=2000)
    dialysate: Dialysate = Field(default_factory=Dialysate)
    sessions_per_week: int = Field(3, ge=1, le=7)
    isolated_uf_min: float = Field(
        0.0,
        ge=0,
        le=600,
        description="minutes at the start of the session with UF running and no dialysate contact "
        "(isolated, sequential UF; Bergström J, Clin Nephrol 1978;9:156); part of duration_min, UF follows "
        "uf_profile over the whole session, at most duration_min",
    )

    @field_validator("uf_profile")
    @classmethod
    def _check_uf_profile(cls, value: Any) -> Any:
        if isinstance(value, list):
            _check_time_points(value, "uf_profile", "fraction_of_mean_rate")
            if any(not 0 <= p[1] <= 5 for p in value):
                raise ValueError("uf_profile: fraction_of_mean_rate out of range (allowed 0–5)")
            if all(p[1] == 0 for p in value):
                raise ValueError("uf_profile: all fractions are 0 (allowed 0–5, not all zero)")
        return value

    @model_validator(mode="after")
    def _isolated_uf_inside_session(self) -> Prescription:
        if self.isolated_uf_min > self.duration_min:
            raise ValueError(
                f"isolated_uf_min: {self.isolated_uf_min:g} min is longer than the session "
                f"(allowed 0–duration_min = {self.duration_min:g} min)"
            )
        return self

    def resolved_uf_volume_l(self, patient: Patient) -> float:
        """The UF goal: ``uf_volume_l`` or, when omitted, pre-weight minus dry weight (never below 0)."""
        if self.uf_volume_l is not None:
            return float(self.uf_volume_l)
        return max(0.0, patient.pre_weight_kg - patient.dry_weight_kg)

    def uf_fraction(self, t_min: np.ndarray) -> np.ndarray:
        """UF rate as a fraction of the session-mean rate at times ``t_min`` (mean over the session = 1).

        Named profiles (modelling choices following common practice, e.g. Donauer 2000 / Brummelhuis 2009):
        ``linear_decreasing`` falls linearly from 1.5x to 0.5x the mean rate; ``step`` uses 1.3x, 1.0x, 0.7x
        over equal thirds. A custom list is piecewise constant from each ``t_min`` on and is rescaled so that
        the full UF volume is removed in the session.
        """
        t = np.asarray(t_min, dtype=float)
        dur = self.duration_min
        inside = (t >= 0) & (t < dur)
        profile = self.uf_profile
        if profile == "constant":
            frac = np.ones_like(t)
        elif profile == "linear_decreasing":
            frac = 1.5 - t / dur
        elif profile == "step":
            frac = np.select([t < dur / 3, t < 2 * dur / 3], [1.3, 1.0], 0.7)
        else:
            frac = _piecewise_constant_normalised(profile, dur, t)
        return np.where(inside, frac, 0.0)

    def dialysate_na_at(self, t_min: np.ndarray) -> np.ndarray:
        """Dialysate Na (mmol/L) at times ``t_min``."""
        t = np.asarray(t_min, dtype=float)
        prof = self.dialysate.na_profile
        if prof is None:
            return np.full_like(t, self.dialysate.na_mmol_l)
        times = np.array([p[0] for p in prof])
        values = np.array([p[1] for p in prof])
        return np.interp(t, times, values)

    def mean_dialysate_na(self) -> float:
        """Time-averaged dialysate Na over the session, mmol/L (the registry's
        :func:`crampwatch.quantities.mean_dialysate_na_mmol_l`)."""
        return mean_dialysate_na_mmol_l(
            self.dialysate.na_mmol_l, self.dialysate.na_profile, self.duration_min
        )


def _piecewise_constant_normalised(
    points: list[tuple[float, float]], dur: float, t: np.ndarray
) -> np.ndarray:
    times = np.array([p[0] for p in points] + [dur])
    fracs = np.array([p[1] for p in points])
    times = np.clip(times, 0, dur)
    if times[0] > 0:  # before the first point the first fraction applies
        times[0] = 0.0
    widths = np.diff(times)
    mean = float(np.sum(widths * fracs) / dur)
    if mean <= 0:
        raise InputError(
            "uf_profile: the profile removes no fluid inside the session", "prescription.uf_profile"
        )
    idx = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(fracs) - 1)
    return fracs[idx] / mean


class Scenario(_Strict):
    """A patient and the prescription of one session."""

    patient: Patient
    prescription: Prescription = Field(default_factory=Prescription)

    @property
    def uf_volume_l(self) -> float:
        return self.prescription.resolved_uf_volume_l(self.patient)

    @property
    def post_weight_kg(self) -> float:
        """Expected post-dialysis weight, kg (:func:`crampwatch.quantities.post_weight_kg_array`)."""
        return float(post_weight_kg_array(self.patient.pre_weight_kg, self.uf_volume_l))


EventKind = Literal[
    "cramp",
    "hypotension_symptom",
    "uf_stopped",
    "saline_bolus",
    "hypertonic_bolus",
    "session_ended_early",
    "other",
]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)


class Event(_Strict):
    """An intradialytic event: minutes from session start, kind, severity 0–10, free text."""

    t_min: float = Field(..., ge=0, le=MAX_T_MIN)
    kind: EventKind
    severity: float | None = Field(None, ge=0, le=10)
    note: str = Field("", max_length=2000)


# --------------------------------------------------------------------------------------------- parsing


def _field_range(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """The allowed range of the field at ``loc`` as text, e.g. 'allowed 25–250'."""
    current: Any = model
    info = None
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            current = None
            continue
        info = fields[part]
        annotation = info.annotation
        nested = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)]
        current = next((a for a in nested if issubclass(a, BaseModel)), None)
    if info is None:
        return ""
    low, high = info_range(info)
    if np.isfinite(low) and np.isfinite(high):
        return f"allowed {low:g}–{high:g}"
    return ""


def info_range(info: FieldInfo) -> tuple[float, float]:
    """The ``ge``/``le`` bounds of a pydantic field (``-inf``/``inf`` where it has none)."""
    low, high = -np.inf, np.inf
    for meta in info.metadata:
        low = float(getattr(meta, "ge", low))
        high = float(getattr(meta, "le", high))
    return low, high


def field_range(model: type[BaseModel], name: str) -> tuple[float, float]:
    """The allowed range of field ``name`` of ``model`` (the one reader of the scenario model's bounds)."""
    return info_range(model.model_fields[name])


def format_validation_error(
    exc: ValidationError, model: type[BaseModel], prefix: str = "", *, echo_input: bool = True
) -> str:
    """One line naming the first invalid field, the value given (unless ``echo_input`` is false, as in the
    web application's answers) and the allowed range."""
    err = exc.errors()[0]
    loc = tuple(err.get("loc", ()))
    field = ".".join(str(p) for p in loc) or model.__name__
    if prefix:
        field = f"{prefix}.{field}" if loc else prefix
    given = err.get("input")
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    rng = _field_range(model, loc)
    if err.get("type") == "missing":
        return f"{field}: required field is missing" + (f" ({rng})" if rng else "")
    if err.get("type") == "extra_forbidden":
        return f"{field}: unknown field"
    given_repr = repr(given)
    if len(given_repr) > 40:  # never echo large input
        given_repr = given_repr[:37] + "..."
    given_text = "" if isinstance(given, dict | list) or not echo_input else f" {given_repr}"
    text = f"{field}:{given_text} {msg.rstrip('.')}".replace("\n", " ")
    if rng and rng not in text:
        text += f" ({rng})"
    return text


def parse_scenario(data: Any) -> Scenario:
    """Validate a scenario mapping; raise :class:`InputError` with a one-line message on failure."""
    if not isinstance(data, dict):
        raise InputError("scenario: expected a mapping with 'patient' and 'prescription'", "scenario")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err_loc = tuple(exc.errors()[0].get("loc", ()))
        raise InputError(format_validation_error(exc, Scenario), ".".join(map(str, err_loc))) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario from a JSON or YAML file (docs/formats.md)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"scenario file {p.name}: not valid JSON/YAML ({first})", "scenario") from None
    return parse_scenario(data)


def as_scenario(
    scenario_or_patient: Scenario | Patient, prescription: Prescription | None = None
) -> Scenario:
    """A :class:`Scenario` from either a scenario or a patient plus a prescription (default prescription)."""
    if isinstance(scenario_or_patient, Scenario):
        if prescription is not None:
            return with_changes(scenario_or_patient, prescription=prescription)
        return scenario_or_patient
    if isinstance(scenario_or_patient, Patient):
        return Scenario(patient=scenario_or_patient, prescription=prescription or Prescription())
    raise InputError("scenario: expected a Scenario or a Patient (with a Prescription)", "scenario")


def dump_scenario(scenario: Scenario) -> dict[str, Any]:
    """A JSON-ready mapping of a scenario (round-trips through :func:`parse_scenario`)."""
    return scenario.model_dump(mode="json", exclude_none=True)
