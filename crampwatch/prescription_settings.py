"""Registry of the adjustable prescription settings: one record per setting, read by every surface.

Each :class:`PrescriptionSetting` names a setting once (the name used by the what-if API and form, the
optimizer's change lists, the CLI and the cohort columns), says where it lives in a
:class:`~crampwatch.model.Prescription`, its display label and unit, the range the model accepts (read
from the pydantic field constraints of :mod:`crampwatch.model`, so it is never typed twice) and the
default range and step the optimizer searches (with the source of that range). :func:`describe_changes`
is the one description of what differs between two prescriptions, both as code lines
(``"duration_min 210 -> 255"``, docs/formats.md "changes") and as clinical text
(``"Dialysate Na 138 → 144 mmol/L"``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, create_model

from crampwatch.errors import InputError
from crampwatch.model import UF_PROFILE_NAMES, Dialysate, Patient, Prescription, Scenario, field_range
from crampwatch.scenario_table import uf_volume_l
from crampwatch.signals import DIALYSATE_NA_MMOL_L, DIALYSATE_TEMP_C, QB_ML_MIN

SettingKind = Literal["number", "integer", "uf_profile", "na_profile"]

#: The named UF profiles a prescription accepts (``Prescription.uf_fraction`` defines their shapes).

#: Free piecewise UF profiles the optimizer offers besides the named ones (fractions of the mean rate
#: over quarters of the session). Front-loading UF while the interstitium is full and easing off late,
#: when cramps and hypotension cluster (Lynch 2014), is the rationale; the numbers are a modelling choice.
FREE_UF_PROFILES: dict[str, tuple[tuple[float, float], ...]] = {
    "front_loaded": ((0.0, 1.4), (0.25, 1.2), (0.5, 0.9), (0.75, 0.5)),
    "late_rest": ((0.0, 1.2), (0.25, 1.2), (0.5, 1.1), (0.75, 0.5)),
}


def _model_range(model: type[BaseModel], field: str) -> tuple[float, float] | None:
    """The ``ge``/``le`` bounds of a pydantic field (the model's validation range)."""
    lo, hi = field_range(model, field)
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None


@dataclass(frozen=True)
class PrescriptionSetting:
    """One adjustable prescription setting.

    ``name`` is the one identifier on every surface; ``path`` its place in the prescription;
    ``valid_range`` what the model accepts; ``search_range``/``search_step`` the optimizer's default
    lattice (``None`` where the optimizer derives it per patient or keeps the prescribed value);
    ``form`` whether the what-if form offers it as an input; ``search_source`` cites the search range.
    """

    name: str
    path: tuple[str, ...]
    label: str
    unit: str
    kind: SettingKind
    valid_range: tuple[float, float] | None = None
    search_range: tuple[float, float] | None = None
    search_step: float | None = None
    form: bool = True
    search_source: str = ""
    description: str = ""

    @property
    def label_with_unit(self) -> str:
        """``"Dialysate Na (mmol/L)"``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def get(self, prescription: Prescription | Mapping[str, Any]) -> Any:
        """The raw value of this setting in a prescription (model or JSON mapping)."""
        value: Any = (
            prescription.model_dump(mode="json") if isinstance(prescription, Prescription) else prescription
        )
        for part in self.path:
            value = value.get(part) if isinstance(value, Mapping) else None
        return value


def _setting(name: str, path: tuple[str, ...], label: str, unit: str, kind: SettingKind, **kw: Any):
    model = Dialysate if path[0] == "dialysate" else Prescription
    valid = _model_range(model, path[-1]) if kind in ("number", "integer") else None
    return PrescriptionSetting(name, path, label, unit, kind, valid_range=valid, **kw)


#: Every adjustable prescription setting, in display order.
SETTINGS: tuple[PrescriptionSetting, ...] = (
    _setting(
        "duration_min",
        ("duration_min",),
        "Session time",
        "min",
        "number",
        search_range=(180.0, 300.0),
        search_step=15.0,
        search_source="≥ 180 min with little residual function (KDOQI 2015 HD adequacy, guideline 3.3); "
        "300 min is the default unit maximum (modelling choice, configurable)",
    ),
    _setting("uf_volume_l", ("uf_volume_l",), "UF volume", "L", "number", description="per session"),
    PrescriptionSetting(
        "uf_profile",
        ("uf_profile",),
        "UF profile",
        "",
        "uf_profile",
        description="a named profile or [[t_min, fraction_of_mean_rate], ...]",
    ),
    _setting(
        DIALYSATE_NA_MMOL_L,
        ("dialysate", "na_mmol_l"),
        "Dialysate Na",
        "mmol/L",
        "number",
        search_step=1.0,
        search_source="gradient to plasma Na within −2..+2 mmol/L (Arramreddy 2012; Trinh & Weber 2017)",
    ),
    PrescriptionSetting(
        "dialysate_na_profile",
        ("dialysate", "na_profile"),
        "Dialysate Na profile",
        "mmol/L",
        "na_profile",
        form=False,
        description="[[t_min, na_mmol_l], ...], linear between points",
    ),
    _setting("dialysate_k_mmol_l", ("dialysate", "k_mmol_l"), "Dialysate K", "mmol/L", "number"),
    _setting(
        "dialysate_ca_mmol_l",
        ("dialysate", "ca_mmol_l"),
        "Dialysate Ca",
        "mmol/L",
        "number",
        search_range=(1.25, 1.50),
        search_step=0.25,
        search_source="KDIGO CKD-MBD 2017",
    ),
    _setting(
        "dialysate_mg_mmol_l",
        ("dialysate", "mg_mmol_l"),
        "Dialysate Mg",
        "mmol/L",
        "number",
        search_range=(0.5, 1.0),
        search_step=0.25,
        search_source="0.375 → 0.5 cut cramps (Lynch 2014); 1.0 ceiling a modelling choice",
    ),
    _setting(
        "dialysate_hco3_mmol_l",
        ("dialysate", "hco3_mmol_l"),
        "Dialysate bicarbonate",
        "mmol/L",
        "number",
        search_range=(30.0, 38.0),
        search_step=2.0,
        search_source="> 38 mmol/L: higher mortality (DOPPS, Tentori 2013); 30 floor a modelling choice",
    ),
    _setting(
        DIALYSATE_TEMP_C,
        ("dialysate", "temp_c"),
        "Dialysate temperature",
        "°C",
        "number",
        search_range=(35.0, 37.0),
        search_step=0.5,
        search_source="cool dialysate < 36 °C cuts IDH (Selby & McIntyre 2006; Tsujimoto 2019)",
    ),
    _setting(
        QB_ML_MIN,
        (QB_ML_MIN,),
        "Blood flow (Qb)",
        "mL/min",
        "number",
        search_range=(200.0, 450.0),
        search_step=50.0,
        search_source="usual range of AV-fistula pumps (modelling choice)",
    ),
    _setting("qd_ml_min", ("qd_ml_min",), "Dialysate flow (Qd)", "mL/min", "number"),
    _setting("dialyzer_koa_ml_min", ("dialyzer_koa_ml_min",), "Dialyzer KoA", "mL/min", "number"),
    _setting("sessions_per_week", ("sessions_per_week",), "Sessions per week", "/week", "integer"),
    _setting(
        "isolated_uf_min",
        ("isolated_uf_min",),
        "Isolated UF at the start",
        "min",
        "number",
        search_range=(0.0, 60.0),
        search_step=15.0,
        search_source="modelling choice: up to the first hour of the session as sequential UF (Bergström "
        "1978 Clin Nephrol 9:156: UF alone without diffusion keeps plasma osmolality and blood pressure)",
        description="minutes at the start of the session with UF running and no dialysate flow "
        "(sequential UF); part of the session time",
    ),
)

#: Settings by name.
SETTING_BY_NAME: dict[str, PrescriptionSetting] = {s.name: s for s in SETTINGS}
#: Settings the what-if form offers as inputs (the profiles arrive from optimizer suggestions).
FORM_SETTINGS: tuple[PrescriptionSetting, ...] = tuple(s for s in SETTINGS if s.form)


def setting(name: str) -> PrescriptionSetting:
    """The registry record of ``name`` (``KeyError`` names the unknown setting)."""
    return SETTING_BY_NAME[name]


# ------------------------------------------------------------------------------------- applying changes

#: Profile points ``[[t_min, value], ...]`` (at most 48: one every 5 min over 4 h; modelling choice).
ProfilePoints = Annotated[list[tuple[float, float]], Field(min_length=1, max_length=48)]


def _field_type(s: PrescriptionSetting) -> tuple[Any, Any]:
    if s.kind == "uf_profile":
        return (Literal[UF_PROFILE_NAMES] | ProfilePoints | None, Field(None, description=s.description))  # type: ignore[valid-type]
    if s.kind == "na_profile":
        return (ProfilePoints | None, Field(None, description=s.description))
    lo, hi = s.valid_range or (None, None)
    # Strict: JSON true/false or "5" is not a number (a form's text is converted before validation).
    number: type = int if s.kind == "integer" else float
    typ = Annotated[number, Strict()]
    return (typ | None, Field(None, ge=lo, le=hi, description=f"{s.label}, {s.unit}"))


#: The pydantic model of a set of changes (every setting optional; unknown names rejected): the body of
#: the what-if API and the validation of the what-if form.
SettingChanges: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "SettingChanges",
    __config__=ConfigDict(extra="forbid", allow_inf_nan=False),
    __doc__="Changes to a prescription by setting name; omitted settings keep their value.",
    **{s.name: _field_type(s) for s in SETTINGS},
)


def change_error_text(exc: ValidationError) -> str:
    """The first problem of a set of changes (a :class:`SettingChanges` validation error) in a clinician's
    words: the setting's label, the value given and the allowed range with its unit ("Session time: 5 min
    is outside the allowed 30–600 min")."""
    err = exc.errors()[0]
    loc = err.get("loc") or ("",)
    s = SETTING_BY_NAME.get(str(loc[0]))
    if s is None:
        return f"{str(loc[0]).replace('_', ' ') or 'Changes'}: not a setting of the prescription"
    given = err.get("input")
    shown = given if isinstance(given, str | int | float) and not isinstance(given, bool) else None
    unit = f" {s.unit}" if s.unit else ""
    allowed = (
        f"the allowed {format_number(s.valid_range[0])}–{format_number(s.valid_range[1])}{unit}"
        if s.valid_range
        else "an allowed value"
    )
    if s.kind == "uf_profile":
        names = ", ".join(n.replace("_", " ") for n in UF_PROFILE_NAMES)
        return f"{s.label}: not one of {names} or a list of time points"
    if s.kind == "na_profile":
        return f"{s.label}: not a list of time points with their Na"
    kind = str(err.get("type", ""))
    # Text that is not a number is never repeated (it may be anything); a number is shown as read.
    if kind == "finite_number" or (_is_number_text(shown) and not math.isfinite(float(shown))):
        return f"{s.label}: not a finite number (enter {allowed})"
    if "parsing" in kind or shown is None or not _is_number_text(shown):
        return f"{s.label}: not a number (enter {allowed})"
    if kind.startswith("int_"):
        return f"{s.label}: {shown} is not a whole number (enter {allowed})"
    return f"{s.label}: {shown}{unit} is outside {allowed}"


def _is_number_text(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def apply_changes(
    prescription: Prescription | Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    """A prescription mapping with ``changes`` (setting name -> value) applied.

    ``None`` or ``""`` leaves a setting unchanged; a new constant dialysate Na replaces a Na profile.
    Unknown names and non-finite numbers are an :class:`InputError`; the result is not yet validated.
    """
    data = (
        prescription.model_dump(mode="json") if isinstance(prescription, Prescription) else dict(prescription)
    )
    data = {**data, "dialysate": dict(data.get("dialysate") or {})}
    new_na = changes.get(DIALYSATE_NA_MMOL_L)
    replaces_profile = new_na not in (None, "") and new_na != data["dialysate"].get("na_mmol_l")
    if replaces_profile and not changes.get("dialysate_na_profile"):
        data["dialysate"]["na_profile"] = None
    for name, value in changes.items():
        if value is None or value == "":
            continue
        if name not in SETTING_BY_NAME:
            raise InputError(f"{name}: not an adjustable prescription setting", name)
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{name}: must be a finite number", name)
        path = SETTING_BY_NAME[name].path
        target = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return data


def settings_of(prescription: Prescription | Mapping[str, Any]) -> dict[str, Any]:
    """Every setting's value in a prescription (profiles included; unset settings left out)."""
    out: dict[str, Any] = {}
    for s in SETTINGS:
        value = s.get(prescription)
        if value is not None:
            out[s.name] = value
    return out


def table_value(s: PrescriptionSetting, scenario: Scenario) -> Any:
    """A setting's value as one table cell: numbers as floats (the UF volume resolved, dialysate Na
    time-averaged over a profile), a custom UF profile as ``"custom"``; ``None`` for the Na profile
    (its mean is the dialysate Na column)."""
    rx = scenario.prescription
    if s.kind == "na_profile":
        return None
    if s.kind == "uf_profile":
        return rx.uf_profile if isinstance(rx.uf_profile, str) else "custom"
    if s.name == "uf_volume_l":
        return float(scenario.uf_volume_l)
    if s.name == DIALYSATE_NA_MMOL_L:
        return rx.mean_dialysate_na()
    value = s.get(rx)
    return int(value) if s.kind == "integer" else float(value)


def table_column(s: PrescriptionSetting, cols: Mapping[str, Any]) -> Any:
    """:func:`table_value` of every row of a scenario table (:mod:`crampwatch.scenario_table`: constant UF
    and the time-averaged dialysate Na); ``None`` for the Na profile."""
    n = len(cols["patient.pre_weight_kg"])
    if s.kind == "na_profile":
        return None
    if s.kind == "uf_profile":
        return np.full(n, "constant", dtype=object)
    if s.name == "uf_volume_l":
        return uf_volume_l(cols)
    if s.name == DIALYSATE_NA_MMOL_L:
        return np.asarray(cols["prescription.dialysate.na_mean_mmol_l"], dtype=float)
    values = np.asarray(cols["prescription." + ".".join(s.path)], dtype=float)
    return values.astype(np.int64) if s.kind == "integer" else values


# ------------------------------------------------------------------------------------- describing


def format_number(x: float) -> str:
    """A setting value for display: up to two decimals, no trailing zeros (``138``, ``1.25``)."""
    x = float(x)
    return f"{x:g}" if abs(x - round(x, 2)) < 1e-9 else f"{x:.2f}"


def uf_profile_text(profile: Any, duration_min: float) -> str:
    """A UF profile in words: its name, or its parts as fractions of the mean rate."""
    if isinstance(profile, str):
        return profile
    shape = tuple((float(t) / duration_min, float(f)) for t, f in profile)
    rounded = tuple((round(t, 6), f) for t, f in shape)
    for name, pts in FREE_UF_PROFILES.items():
        if rounded == tuple((round(t, 6), f) for t, f in pts):
            return f"{name} [{', '.join(format_number(f) for _, f in pts)}]"
    n = len(shape)
    if n > 1 and all(abs(t - i / n) < 1e-6 for i, (t, _) in enumerate(shape)):
        return f"piecewise, {n} equal parts [{', '.join(format_number(f) for _, f in shape)}] x mean rate"
    return (
        "piecewise ["
        + ", ".join(f"{format_number(f)} from {format_number(100 * t)}%" for t, f in shape)
        + "]"
    )


def uf_profile_words(profile: Any, duration_min: float) -> str:
    """:func:`uf_profile_text` for clinicians: names in words ("linear decreasing", "front loaded [...]")."""
    return uf_profile_text(profile, duration_min).replace("_", " ")


def na_text(prescription: Prescription) -> str:
    """Dialysate Na in words: ``"138"`` or ``"profile 144->136 (mean 140)"``."""
    prof = prescription.dialysate.na_profile
    if prof is None:
        return format_number(prescription.dialysate.na_mmol_l)
    mean = format_number(round(prescription.mean_dialysate_na(), 1))
    return f"profile {format_number(prof[0][1])}->{format_number(prof[-1][1])} (mean {mean})"


@dataclass(frozen=True)
class Change:
    """One setting that differs between two prescriptions, with both values as display text."""

    setting: PrescriptionSetting
    before: str
    after: str
    note: str = ""

    @property
    def code(self) -> str:
        """``"duration_min 210 -> 255"`` (docs/formats.md "changes")."""
        return f"{self.setting.name} {self.before} -> {self.after}" + (f" {self.note}" if self.note else "")

    @property
    def text(self) -> str:
        """``"Dialysate Na 138 → 144 mmol/L"`` (clinician pages; profile names in words)."""
        unit = f" {self.setting.unit}" if self.setting.unit and self.setting.kind != "integer" else ""
        tail = f" {self.note}" if self.note else ""
        before, after = self.before, self.after
        if self.setting.kind == "uf_profile":
            before, after = before.replace("_", " "), after.replace("_", " ")
        return f"{self.setting.label} {before} → {after}{unit}{tail}"


def _shown(value: float | None) -> str:
    return "–" if value is None else format_number(value)


def describe_changes(
    before: Prescription, after: Prescription, *, patient: Patient | None = None
) -> list[Change]:
    """The settings that differ from ``before`` to ``after``, in registry order.

    Dialysate Na and its profile are one change (named ``dialysate_na_profile`` when either side has a
    profile). With ``patient``, an omitted UF volume counts as pre-weight minus dry weight.
    """
    out: list[Change] = []
    for s in SETTINGS:
        if s.name == "dialysate_na_profile":
            continue
        if s.name == DIALYSATE_NA_MMOL_L:
            a_prof, b_prof = before.dialysate.na_profile, after.dialysate.na_profile
            if a_prof is None and b_prof is None:
                if abs(before.dialysate.na_mmol_l - after.dialysate.na_mmol_l) > 1e-9:
                    out.append(Change(s, na_text(before), na_text(after)))
            elif a_prof != b_prof or abs(before.mean_dialysate_na() - after.mean_dialysate_na()) > 1e-9:
                out.append(Change(SETTING_BY_NAME["dialysate_na_profile"], na_text(before), na_text(after)))
            continue
        if s.name == "uf_profile":
            a_txt = uf_profile_text(before.uf_profile, before.duration_min)
            b_txt = uf_profile_text(after.uf_profile, after.duration_min)
            if a_txt != b_txt:
                out.append(Change(s, a_txt, b_txt))
            continue
        a, b = s.get(before), s.get(after)
        if s.name == "uf_volume_l" and patient is not None:
            a, b = before.resolved_uf_volume_l(patient), after.resolved_uf_volume_l(patient)
        if a is None or b is None:
            if a != b:
                out.append(Change(s, _shown(a), _shown(b)))
        elif round(float(a), 4) != round(float(b), 4):
            out.append(Change(s, format_number(a), format_number(b)))
    return out
