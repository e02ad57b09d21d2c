"""``docs/formats.md``, generated from the registries: scenario fields (the pydantic models), trace columns
(the signal registry), events, HEMOBP mapping, FHIR codes; the JSON outputs are described in fixed text.

``python3 -m crampwatch.formats`` rewrites ``docs/formats.md``; a test checks that the committed file is
what this module renders.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from crampwatch.causes.registry import CAUSES
from crampwatch.clinical_labels import label_and_unit
from crampwatch.io.fhir.codes import LAB_SPECS, TRACE_SPECS
from crampwatch.io.hemobp import HEMOBP_COLUMNS
from crampwatch.io.tables import UNIT_ALIASES, UNIT_FIXES
from crampwatch.model import EVENT_KINDS, Dialysate, Labs, Patient, Prescription, info_range
from crampwatch.prescription_settings import SETTINGS
from crampwatch.quantities import CUTOFFS, QUANTITY_SPECS, computed_by
from crampwatch.recorded.batch import SCENARIO_COLUMNS, TABLE_METRICS
from crampwatch.recorded.layout import (
    MONITOR_COLUMNS,
    MONITOR_FILE,
    PATIENT_COLUMNS,
    PATIENTS_FILE,
    SESSION_COLUMNS,
    SESSIONS_FILE,
)
from crampwatch.recorded.prepare import ASSUMED_INPUTS
from crampwatch.recorded.summary import CHANGE_STEPS
from crampwatch.recorded.traces import EVENTS_TABLE, SESSIONS_TABLE, SOURCES_FILE, TRACES_FOLDER
from crampwatch.signals import FIELD_LABELS, MAX_T_MIN, SIGNAL_SPECS
from crampwatch.units import (
    CONDUCTIVITY_MS_CM_PER_NA_MMOL_L,
    CONDUCTIVITY_REF_MS_CM,
    CONDUCTIVITY_REF_NA_MMOL_L,
)

DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "formats.md"


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(str(a) for a in get_args(annotation))
    if origin is list:
        return "list of [t_min, value] pairs"
    args = [a for a in get_args(annotation) if a is not type(None)]
    if args:
        return " or ".join(_type_name(a) for a in args)
    name = getattr(annotation, "__name__", str(annotation))
    return {"float": "number", "int": "integer", "bool": "true/false", "str": "text"}.get(name, name)


def _range(field: Any) -> str:
    low, high = info_range(field)
    if math.isinf(low) and math.isinf(high):
        return ""
    return f"{low:g}–{high:g}"


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        return "(nested)"
    return "–" if field.default is None else f"`{field.default}`"


def _model_table(model: type[BaseModel], prefix: str, path: tuple[str, ...] = ()) -> str:
    settings = {s.path: s for s in SETTINGS}
    rows = ["| field | type | unit | allowed | default | meaning |", "|---|---|---|---|---|---|"]
    for name, field in model.model_fields.items():
        if name in ("labs", "dialysate"):
            continue
        label, unit = label_and_unit(name)
        setting = settings.get((*path, name))
        if setting is not None:
            label, unit = setting.label, setting.unit
        meaning = field.description or label
        rows.append(
            f"| `{prefix}{name}` | {_type_name(field.annotation)} | {unit} | {_range(field)} | "
            f"{_default(field)} | {meaning} |"
        )
    return "\n".join(rows)


def _signal_table() -> str:
    rows = [
        "| column | clinical label | unit | UCUM | plausible range | LOINC | contract |",
        "|---|---|---|---|---|---|---|",
        f"| `t_min` | Time from session start | min | min | 0–{MAX_T_MIN:g} | | required |",
    ]
    for s in SIGNAL_SPECS.values():
        loinc = f"{s.loinc.code}{'' if s.loinc.verified else ' (to verify)'}" if s.loinc else ""
        rows.append(
            f"| `{s.name}` | {s.label} | {s.unit} | `{s.ucum}` | {s.low:g}–{s.high:g} | {loinc} | "
            f"{'yes' if s.core else 'model output'} |"
        )
    return "\n".join(rows)


def _aliases_table() -> str:
    rows = ["| column in the file | read as | factor |", "|---|---|---|"]
    rows += [f"| `{a}` | `{t}` | × {f:.6g} |" for a, (t, f) in UNIT_ALIASES.items()]
    return "\n".join(rows)


def _fixes_table() -> str:
    rows = ["| column | values taken for another unit | what is done |", "|---|---|---|"]
    rows += [f"| `{c}` | {lo:g}–{hi:g} | {what} |" for c, ((lo, hi), _, what) in UNIT_FIXES.items()]
    return "\n".join(rows)


def _hemobp_table() -> str:
    rows = ["| HEMOBP column | trace column | factor |", "|---|---|---|"]
    rows += [f"| `{src}` | `{dst}` | × {f:g} |" for src, (dst, f) in HEMOBP_COLUMNS.items()]
    return "\n".join(rows)


def _quantities_table() -> str:
    rows = [
        "| name | clinical label | unit | computed by | cut-offs (value, source) |",
        "|---|---|---|---|---|",
    ]
    for q in QUANTITY_SPECS.values():
        cut = "; ".join(
            f"`{c}` {CUTOFFS[c].value:g} {CUTOFFS[c].unit}: {CUTOFFS[c].source}" for c in q.cutoffs
        )
        rows.append(f"| `{q.name}` | {q.label} | {q.unit} | {computed_by(q)} | {cut} |")
    rows += [f"| `{n}` | {label} | {unit} | scenario | |" for n, (label, unit) in FIELD_LABELS.items()]
    return "\n".join(rows)


def _fhir_table() -> str:
    rows = ["| value | FHIR code | UCUM unit | other units accepted on import |", "|---|---|---|---|"]
    for spec in LAB_SPECS:
        other = ", ".join(f"`{u}`" for u in spec.accepted if u != spec.unit)
        rows.append(f"| lab `{spec.field}` | LOINC {spec.code} | `{spec.unit}` | {other} |")
    for name, spec in TRACE_SPECS.items():
        code = f"LOINC {spec.code}" if SIGNAL_SPECS[name].loinc else "local"
        rows.append(f"| trace `{name}` | {code} (+ local `{name}`) | `{spec.unit}` | |")
    return "\n".join(rows)


_JSON_OUTPUTS = """## Assessment (JSON, `crampwatch analyze --json`)

```json
{"session_id": "...", "overall_risk": 0.0, "idh_risk": 0.0, "risk_kind": "session|predicted",
 "causes": [{"cause": "hypovolemia", "score": 0.0, "confidence": "high|moderate|low",
             "evidence": [{"signal": "rbv_pct", "value": 84.1, "t_min": 150, "threshold": 86,
                           "source": "Preciado 2019 ...", "direction": "supports", "note": "..."}],
             "explanation": "plain-language text",
             "recommendations": [{"action": "...", "evidence": "..."}],
             "thresholds": [{"name": "...", "value": 0.0, "unit": "...", "source": "..."}]}],
 "metrics": {"uf_rate_ml_kg_h": 14.2, "sp_ktv": 1.31, "urr_pct": 68, "...": 0.0},
 "missing_signals": [], "estimated_signals": [], "data_quality": []}
```

`overall_risk`, `idh_risk` and each `score` lie in 0–1; `causes` is sorted by score, highest first.
`risk_kind` is `predicted` when the trace is wholly simulated with no events or history (the risk is then the
predicted risk of the prescription), else `session` (the risk of this recorded session).
Cause identifiers: {causes}. `evidence[].signal` and the `metrics` keys are trace
signals or the derived quantities listed below; `estimated: true` marks a value from a simulator fill-in or a
default lab value. `note` names which value of a signal an item is (`pre-dialysis`: the first sample, or the
lab when the signal was not recorded; `nadir` / `peak`: the lowest / highest sample at `t_min`; `session
mean`; `pre-dialysis minus nadir`: a change); an item with `t_min` and no such note is the value at that time.
`evidence[].direction` says how the item bears on the cause: `supports` (the value is past `threshold` on the
side that points to the mechanism), `against` (a measure of the mechanism on the safe side of its threshold)
or `context` (a susceptibility such as time on dialysis or active vitamin D, a documented history item, a
value that was not measured, or a default lab value the score does not use). Where a score starts to count
before a published cut-off, `threshold` is the most severe limit the value is past (for example dialysate Ca
below 1.5 mmol/L counts a little and below 1.25 fully), else the mildest one. The web pages, the HTML report
and `crampwatch analyze` list the items in these three groups.

## Optimization result (JSON, `crampwatch optimize --json`)

```json
{"current": {"risk": 0.62, "idh_risk": 0.40, "sp_ktv": 1.25, "uf_l": 4.5, "duration_min": 210},
 "recommendations": [{"prescription": {"duration_min": 255, "uf_profile": "linear_decreasing", "...": "..."},
   "risk": 0.31, "risk_range": [0.25, 0.38], "idh_risk": 0.18, "sp_ktv": 1.38, "uf_l": 4.5,
   "changes": ["..."], "addresses": ["hypovolemia"], "rationale": "plain-language text",
   "equivalent_changes": ["Session time 210 → 250 min; UF profile constant → linear_decreasing"]}],
 "infeasible": null,
 "leading_causes": [{"cause": "hypocalcemia", "score": 0.9,
   "levers": ["dialysate_ca_mmol_l", "dialysate_hco3_mmol_l"], "recommendations": [],
   "why_not": ["Dialysate Ca 1.25–1.75 mmol/L (the allowed range) leaves hypocalcemia at 0.90.", "..."]}]}
```

`current.risk` and each recommendation's `risk` are the predicted cramp risk (0–1) of that prescription for
this patient (the nominal patient, or the fitted twin when one is given); `risk_range` is the 10th–90th
percentile over the patient ensemble; `recommendations` are sorted by `risk`, lowest first; `infeasible`
explains when no candidate meets the constraints. `prescription` has the scenario's prescription fields.
`equivalent_changes` lists other prescriptions that change the same settings with the same predicted cramp
and IDH risk (within one percent), each as its changes in clinical text. `leading_causes` are the causes of
the current prescription scoring at least 0.3 (at most three, highest first) with their `levers` (the
prescription settings that act on them, from the cause registry), the 1-based numbers of the
`recommendations` that change one of those levers and lower the cause, and, when none does, `why_not`: one
line per lever (no other value allowed, no allowed value lowers it, the value that would lower it breaks a
limit, or it raises the overall risk), or one line saying that no prescription setting acts on the cause.

## Patient twin (JSON, `crampwatch fit --json` / `--out`)

```json
{"patient_id": "P001", "n_sessions": 6, "model_version": "...",
 "parameters": {"refill_capacity": {"value": 0.62, "ci": [0.48, 0.80], "population": 1.0, "unit": "1"}},
 "fit": {"rmse": {"rbv_pct": 0.6, "sbp_mmhg": 7.9}, "sessions": ["..."]},
 "personal_thresholds": [{"signal": "rbv_pct", "value": 89.0, "n_cramps": 4}]}
```

`refill_capacity` (the patient's plasma refill capacity as a multiple of the population value for their body
size; 1 = typical) is always present; other parameters carry value, confidence interval, population value
and unit. `fit.rmse` is in each signal's unit.
"""


_RECORDED = """## Recorded history (`crampwatch cohort --recorded PATH`)

PATH is one of three forms; each is read in blocks into partitions by patient, never whole.

**HEMOBP tables**: a folder with the three CSV files of Lin et al., Sci Data 2019;6:313 (figshare
doi 10.6084/m9.figshare.6260654 v3). Sessions are a patient's treatment days, joined by `pid` and the
day of `d1.keyindate` / `vip.datatime`; the monitor columns map to trace signals as in the HEMOBP section
above. `NA` or empty is missing; quoted or plain identifiers and dates with or without a time read alike.

| file | columns |
|---|---|
{hemobp}

The session's scenario: pre-, post- and dry weight from `d1` (UF volume = the weight lost; the weight gain
from the previous session's post-weight when that is at most a week earlier), duration `dialysisend -
dialysisstart` (else the last record's time), blood flow, dialysate Na (from conductivity) and temperature
as the medians of the session's records, sex, age (session year - birth year), diabetes and time on
dialysis from `idp`. Not in these tables, so the defaults stand in (flagged estimated): {assumed}.

**Trace dataset**: a folder with `{sessions}` (one row per session: `patient_id`, `session_id`,
`session_date`, and the scenario as columns named by their path in the scenario file: `patient.sex`,
`patient.pre_weight_kg`, `prescription.duration_min`, ...), `{traces}/` (Parquet files of `patient_id`,
`session_id`, `t_min` and trace signals), optionally `{events}` (`session_id`, `t_min`, `kind`) and
`{sources}` (`{{signal: source}}`).

**The store**: a database URL; its sessions are exported page by page as a trace dataset.

Outputs in `--out`: `sessions/` (Parquet, one row per session: `session_id`, `patient_id`,
`session_date`, `status` (`analysed` or why not), `n_records`, {scenario_cols}, `score_<cause>`,
`top_cause`, `top_score`, `overall_risk`, `idh_risk`, {metrics}, `estimated_signals`); `patients/` (one
row per patient: sessions, first and last, mean and recent risk, `risk_trend_per_30_days`,
`recurring_cause` and its share, mean IDH risk and UF rate, twin refill capacity and blood volume with
95 % intervals); `changes/` (prescription changes of {changes}, with risk and causes before and after);
`twins/` (twin JSON per patient); `learning/` (with `--learning-table`: the unit model's inputs per
session, `cramp` from the events); `quality.json` (what the reader dropped or repaired, with counts; run
time, peak memory); `report.html` (the unit report). A killed run started again with the same `--out`
resumes with the partitions it had not finished."""


def _recorded_section() -> str:
    """The recorded-history inputs and outputs of ``crampwatch cohort --recorded``."""
    tables = (
        (PATIENTS_FILE, PATIENT_COLUMNS),
        (SESSIONS_FILE, SESSION_COLUMNS),
        (MONITOR_FILE, MONITOR_COLUMNS),
    )
    return _RECORDED.format(
        hemobp="\n".join(f"| `{name}` | {', '.join(f'`{c}`' for c in cols)} |" for name, cols in tables),
        assumed="; ".join(ASSUMED_INPUTS),
        sessions=SESSIONS_TABLE,
        traces=TRACES_FOLDER,
        events=EVENTS_TABLE,
        sources=SOURCES_FILE,
        scenario_cols=", ".join(f"`{c}`" for c in SCENARIO_COLUMNS.values()),
        metrics=", ".join(f"`{m}`" for m in TABLE_METRICS),
        changes=", ".join(f"`{k}` (step {v:g})" for k, v in CHANGE_STEPS.items()),
    )


def _scenario_section() -> list[str]:
    """The scenario section: patient, labs, prescription and dialysate fields."""
    return [
        "## Scenario (YAML or JSON): patient and prescription",
        "",
        "A mapping with `patient` and `prescription`; see `examples/*.yaml`. Labs are pre-dialysis values, "
        "each optional (a missing lab takes a typical value, flagged as assumed); give `bun_mg_dl` or "
        "`urea_mmol_l`, `ca_total_mg_dl` or `ica_mmol_l`.",
        "",
        "### patient",
        "",
        _model_table(Patient, ""),
        "",
        "### patient.labs",
        "",
        _model_table(Labs, "labs."),
        "",
        "### prescription",
        "",
        _model_table(Prescription, ""),
        "",
        "`uf_volume_l` omitted means pre-weight minus dry weight. `uf_profile` is `constant`, "
        "`linear_decreasing` (1.5× to 0.5× the mean rate), `step` (1.3×, 1.0×, 0.7× over thirds) or a list "
        "`[[t_min, fraction_of_mean_rate], ...]`.",
        "",
        "### prescription.dialysate",
        "",
        _model_table(Dialysate, "dialysate.", ("dialysate",)),
        "",
    ]


def _trace_section() -> list[str]:
    """The trace section: signals, unit aliases and fixes, the conductivity relation."""
    na_per_c = 1 / CONDUCTIVITY_MS_CM_PER_NA_MMOL_L
    return [
        "## Trace (CSV or Parquet, one row per time point)",
        "",
        "`t_min` is required; any signal below may be present (empty = not measured). A `source` column per "
        "row (`measured`, `simulated`, `estimated`) or a sidecar `<file>.sources.json` (`{signal: source}`) "
        "tells where values come from. A value outside the plausible range is set to missing and reported "
        "with its row; text in a numeric column, negative times or times beyond "
        f"{MAX_T_MIN:g} min stop the read.",
        "",
        _signal_table(),
        "",
        "Columns named in another unit are converted:",
        "",
        _aliases_table(),
        "",
        "Single values that are impossible in the column's unit but plausible in a common other unit are "
        "converted and reported:",
        "",
        _fixes_table(),
        "",
        "Dialysate conductivity and sodium are related by one relation, used by the simulator's output and "
        f"every reader: Na (mmol/L) = {CONDUCTIVITY_REF_NA_MMOL_L:g} + {na_per_c:g} × "
        f"(conductivity (mS/cm) − {CONDUCTIVITY_REF_MS_CM:g}).",
        "",
    ]


def _input_files_section() -> list[str]:
    """The events, session manifest and machine-export sections."""
    return [
        "## Events (CSV or JSON list)",
        "",
        "Columns `t_min, kind, severity, note`: `t_min` 0–"
        f"{MAX_T_MIN:g} min from the session start, `kind` one of "
        + ", ".join(f"`{k}`" for k in EVENT_KINDS)
        + ", `severity` 0–10 (optional), `note` free text. A JSON file holds a list of such objects (or "
        '`{"events": [...]}`). See `examples/machine/events.csv`.',
        "",
        "## Session manifest (CSV)",
        "",
        "Columns `trace,scenario[,events]`: paths relative to the manifest file, one row per session "
        '(multi-session commands such as `fit` and `calibrate`; a session is labelled "cramp" when its '
        "events include kind `cramp`). `fit` takes the sessions of one patient; `calibrate` needs the "
        "`events` column (its labels). An error names the manifest line and the column.",
        "",
        "## HEMOBP-style machine export (CSV)",
        "",
        "Columns of the HEMOBP `vip.csv` (Lin et al., Sci Data 2019;6:313); `time`, `sbp`, `dbp` are "
        "required and a file with these and no `t_min` is recognised automatically "
        "(`crampwatch analyze --hemobp`). "
        "With `pid`/`datatime` columns only the first session is read (a whole history of many sessions: "
        "`crampwatch cohort --recorded`, below). Dialysate Na is derived from "
        "conductivity and cumulative UF from the UF rate (both flagged `estimated`). See "
        "`examples/machine/`.",
        "",
        _hemobp_table(),
        "",
    ]


def _fhir_section() -> list[str]:
    """The FHIR R4 section."""
    return [
        "## FHIR R4 codes",
        "",
        "`crampwatch export --format fhir` writes a collection Bundle: Patient, Procedure (SNOMED 302497006) "
        "with the prescription as JSON in an extension, Observations and QuestionnaireResponses for cramp "
        "reports. Trace signals are by default one Observation per signal with a `valueSampledData` time "
        "series (origin 0 in the signal's unit, factor 1, period = the largest step that puts every record "
        "time on the grid, `E` where there is no value); `--fhir-series points` writes one Observation per "
        "value instead. `import` reads both forms. Values, codes and units:",
        "",
        _fhir_table(),
        "",
    ]


def render_formats_markdown() -> str:
    """The text of ``docs/formats.md``."""
    parts = [
        "# crampwatch file formats",
        "",
        "<!-- Generated by `python3 -m crampwatch.formats` from the registries; edit the code, not this "
        "file. -->",
        "",
        "Every quantity carries its unit in its name (`uf_rate_ml_h`, `na_mmol_l`). Invalid input stops the "
        "command with exit code 2 and one line naming the field and the allowed range (HTTP 422 in the API); "
        "nothing is half written.",
        "",
        *_scenario_section(),
        *_trace_section(),
        *_input_files_section(),
        _recorded_section(),
        "",
        _JSON_OUTPUTS.rstrip().replace("{causes}", ", ".join(f"`{c}`" for c in CAUSES)),
        "",
        "## Derived quantities (evidence and metrics)",
        "",
        _quantities_table(),
        "",
        *_fhir_section(),
    ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Write ``docs/formats.md`` (or the path given)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DOC_PATH
    path.write_text(render_formats_markdown(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
