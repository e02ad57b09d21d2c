"""Observation codes a machine message may carry, mapped to the signal registry, with accepted units.

OBX-3 may be coded three ways (the same table serves HL7 v2, JSON and FHIR):

* IEEE 11073 reference ids (``MDC``), as profiled by the Dialysis Machine HL7 Implementation Guide
  (Dialysis Interoperability Consortium, Rev 4.0, March 2023; its "Dialysis Machine Data Standard: IEEE
  11073 identifiers and containment" table, webinar packet of 2023-01-12, dialysisinterop.org) for the
  dialysis machine VMD, and IEEE 11073-10101 for the NIBP and pulse codes (``MDC_PRESS_BLD_NONINV_*``,
  ``MDC_PULS_RATE_NON_INV``, ``MDC_ECG_HEART_RATE``). Codes marked ``verified=False`` were not found
  word for word in the public excerpts of the guide and are matched as the guide's naming pattern gives them;
* LOINC vital signs (``LN``), from the signal registry (:mod:`crampwatch.signals`);
* the signal registry's own names in the local coding system ``99CW`` (any signal, in its unit).

A code is matched on either OBX-3 component 1 (identifier) or 2 (text), so
``150021^MDC_PRESS_BLD_NONINV_SYS^MDC`` and ``MDC_PRESS_BLD_NONINV_SYS^^MDC`` both work. Codes not in the
table are ignored (machines send many
observations crampwatch does not use, e.g. device status).
"""

from __future__ import annotations

from dataclasses import dataclass

from crampwatch.signals import (
    CONDUCTIVITY_MS_CM,
    DBP_MMHG,
    DIALYSATE_TEMP_C,
    HCT_PCT,
    HR_BPM,
    MAP_MMHG,
    QB_ML_MIN,
    RBV_PCT,
    SBP_MMHG,
    SIGNAL_SPECS,
    UF_CUM_L,
    UF_RATE_ML_H,
)

LOCAL_SYSTEM = "99CW"
MDC_SYSTEM = "MDC"
LOINC_SYSTEMS = ("LN", "LOINC", "http://loinc.org")
#: The machine's mode of operation (IG value table: PRETX, TX, POSTTX, DIS, IDL, SVC).
MODE_OF_OPERATION = "MDC_HDIALY_MACH_MODE_OF_OPERATION"
#: Modes that end a treatment: post-treatment, disinfection, idle, service (IG value table).
END_MODES = frozenset({"POSTTX", "DIS", "IDL", "SVC"})
#: The local code of an end-of-treatment observation (OBX-5 any value, e.g. ``1``).
LOCAL_END = "treatment_end"


@dataclass(frozen=True)
class MachineCode:
    """An MDC reference id for a signal; ``verified`` is False where the exact id was not confirmed."""

    refid: str
    signal: str
    verified: bool = True


MDC_CODES: tuple[MachineCode, ...] = (
    MachineCode("MDC_PRESS_BLD_NONINV_SYS", SBP_MMHG),
    MachineCode("MDC_PRESS_BLD_NONINV_DIA", DBP_MMHG),
    MachineCode("MDC_PRESS_BLD_NONINV_MEAN", MAP_MMHG),
    MachineCode("MDC_PULS_RATE_NON_INV", HR_BPM),
    MachineCode("MDC_ECG_HEART_RATE", HR_BPM),
    MachineCode("MDC_HDIALY_BLD_PUMP_BLOOD_FLOW_RATE", QB_ML_MIN, verified=False),
    MachineCode("MDC_HDIALY_UF_RATE", UF_RATE_ML_H, verified=False),
    MachineCode("MDC_HDIALY_UF_ACTUAL_REMOVED_VOL", UF_CUM_L, verified=False),
    MachineCode("MDC_HDIALY_DIALYSATE_TEMP", DIALYSATE_TEMP_C, verified=False),
    MachineCode("MDC_HDIALY_DIALYSATE_CONDUCTIVITY", CONDUCTIVITY_MS_CM, verified=False),
    MachineCode("MDC_HDIALY_BLD_VOL_RELATIVE", RBV_PCT, verified=False),
    MachineCode("MDC_HDIALY_BLD_HCT", HCT_PCT, verified=False),
)

#: Units accepted per signal besides its registry UCUM code: UCUM code -> factor to the registry unit.
_EXTRA_UNITS: dict[str, dict[str, float]] = {
    UF_CUM_L: {"mL": 0.001},
    UF_RATE_ML_H: {"L/h": 1000.0},
    HR_BPM: {"{beats}/min": 1.0, "{beat}/min": 1.0},
    DIALYSATE_TEMP_C: {"cel": 1.0},
}
#: Common non-UCUM spellings sent by devices, mapped to UCUM.
UNIT_ALIASES = {"mmhg": "mm[Hg]", "bpm": "/min", "1/min": "/min", "ml/min": "mL/min", "ml/h": "mL/h",
                "l": "L", "ml": "mL", "degc": "Cel", "°c": "Cel", "ms/cm": "mS/cm", "l/h": "L/h"}  # fmt: skip


def _code_index() -> dict[tuple[str, str], str]:
    index: dict[tuple[str, str], str] = {(LOCAL_SYSTEM, name): name for name in SIGNAL_SPECS}
    for code in MDC_CODES:
        index[(MDC_SYSTEM, code.refid)] = code.signal
    for spec in SIGNAL_SPECS.values():
        if spec.loinc is not None:
            for system in LOINC_SYSTEMS:
                index[(system, spec.loinc.code)] = spec.name
    return index


#: (coding system, code) -> signal name.
CODE_INDEX: dict[tuple[str, str], str] = _code_index()


def signal_of(system: str, identifier: str, text: str = "") -> str | None:
    """The signal an observation code stands for, or ``None`` when crampwatch does not use it."""
    system = (system or "").strip()
    for code in (identifier, text):
        code = (code or "").strip()
        if code and (system, code) in CODE_INDEX:
            return CODE_INDEX[(system, code)]
    return None


def unit_factor(signal: str, unit: str) -> float | None:
    """Factor from ``unit`` (UCUM, or a common spelling) to the registry unit of ``signal``; ``None`` when the
    unit does not fit the signal (a unit mismatch). An empty unit is taken as the registry unit."""
    spec = SIGNAL_SPECS[signal]
    unit = (unit or "").strip()
    if not unit:
        return 1.0
    unit = UNIT_ALIASES.get(unit.lower(), unit)
    accepted = {spec.ucum: 1.0, **_EXTRA_UNITS.get(signal, {})}
    if unit in accepted:
        return accepted[unit]
    lowered = {k.lower(): v for k, v in accepted.items()}
    return lowered.get(unit.lower())
