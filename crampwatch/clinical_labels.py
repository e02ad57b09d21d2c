"""Clinical labels and units of every name crampwatch shows: signals (:mod:`crampwatch.signals`), derived
quantities (:mod:`crampwatch.quantities`) and scenario fields; other names are spelled from their words, with
the unit read from their suffix. Tables, charts, the report and the web pages read them here.
"""

from __future__ import annotations

from crampwatch.quantities import QUANTITY_SPECS
from crampwatch.signals import FIELD_LABELS, SIGNAL_SPECS, TIME, signal, split_unit

#: Words of a name shown in clinical spelling when a label is built from the name itself.
_WORDS = {
    "na": "Na", "k": "K", "ca": "Ca", "mg": "Mg", "hco3": "HCO3", "uf": "UF", "rbv": "RBV", "bp": "BP",
    "sbp": "SBP", "dbp": "DBP", "map": "MAP", "hr": "HR", "ktv": "Kt/V", "urr": "URR", "qb": "Qb", "qd": "Qd",
    "koa": "KoA", "ica": "iCa", "idh": "IDH", "bun": "BUN", "sp": "single-pool",
}  # fmt: skip


def label_and_unit(name: str) -> tuple[str, str]:
    """Clinical label and unit of any quantity name: a signal, a derived quantity, a scenario field, or (for
    other names) the words of the name with the unit read from its suffix."""
    if name in SIGNAL_SPECS or name == TIME.name:
        s = signal(name)
        return s.label, s.unit
    if name in QUANTITY_SPECS:
        q = QUANTITY_SPECS[name]
        return q.label, q.unit
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    stem, unit = split_unit(name)
    words = [_WORDS.get(w, w) for w in stem.split("_") if w]
    text = " ".join(words) or name
    return text[:1].upper() + text[1:], unit


def display_label(name: str) -> str:
    """Clinical label with unit of any quantity name, e.g. ``rbv_pct`` -> ``Relative blood volume (%)``."""
    label, unit = label_and_unit(name)
    return f"{label} ({unit})" if unit else label


def unit_of(name: str) -> str:
    """Display unit of any quantity name (empty for unitless quantities)."""
    return label_and_unit(name)[1]


def display_labels() -> dict[str, dict[str, str]]:
    """Labels for the web pages: name -> ``{"label", "short", "unit", "display"}`` for every signal, derived
    quantity and scenario field."""
    out_: dict[str, dict[str, str]] = {}
    for s in SIGNAL_SPECS.values():
        out_[s.name] = {"label": s.label, "short": s.short, "unit": s.unit, "display": s.display_label}
    for name in [*QUANTITY_SPECS, *FIELD_LABELS]:
        if name in out_:
            continue
        label, unit = label_and_unit(name)
        out_[name] = {"label": label, "short": label, "unit": unit, "display": display_label(name)}
    return out_
