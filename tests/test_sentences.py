"""Sentences from data: over a virtual population, every direction word a finding shows agrees with the
numbers it stands between, and the numbers it names come from the trace, the labs or the prescription.

The population is the seeded virtual population (``crampwatch.population``) with its histories varied
(vitamin D, neuropathy, first sessions, aluminium, a known critical RBV, cramp and hypotension events) and a
third of its sessions sampled every 15 min as a recorded session would be. For each finding:

- "X fell|rose from A before dialysis to B at the end (nadir N at T min)": A is the first sample of X, B its
  last sample of the session, N its minimum at time T, and the verb matches A vs B;
- "... was V [at T min], below|above|at the L limit": V compares with L as the word says, V is the value the
  subject names (pre-dialysis value, nadir, peak, value at a time, change) in the trace or labs, and the
  pair (V, L) is an evidence item of the finding that supports it (or, in a sentence saying the cause is
  unlikely, one that does not);
- every "fell", "rose", "below" or "above" of an explanation sits in one of the sentences above;
- each evidence item's text puts its value on the side of its threshold that the numbers say, and its
  direction is "supports" exactly when its value is past the threshold on the side that points to the cause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from crampwatch.causes import assess
from crampwatch.causes.findings import Assessment, Evidence, Finding
from crampwatch.causes.sentences import DIRECTIONS, MINUS, evidence_text, side
from crampwatch.model import Scenario
from crampwatch.population import virtual_population
from crampwatch.signals import SIGNAL_SPECS
from crampwatch.simulator import simulate_batch
from crampwatch.trace import Trace

N_SESSIONS = 240
NUM = rf"[{MINUS}-]?\d+(?:\.\d+)?"
UNIT = r"mmol/L|mg/dL|mOsm/kg|mL/kg/h|mL/h|mmHg|%/h|%|kg|min|months?|µg/L"
DIRECTION_WORDS = re.compile(r"\b(fell|rose|below|above)\b")
COURSE = re.compile(
    rf"(?P<label>[a-z][a-z ]*?) (?:(?P<verb>fell|rose) from (?P<a>{NUM}) (?P<u>{UNIT}) before dialysis to "
    rf"(?P<b>{NUM}) (?P=u) at the end|stayed at (?P<s>{NUM}) (?P<su>{UNIT}) from before dialysis to the end)"
    rf"(?: \(nadir (?P<n>{NUM}) (?:{UNIT}) at (?P<t>{NUM}) min\))?"
)
STATEMENT = re.compile(
    rf"(?P<subject>[A-Za-z][\w ()+/-]*?) was (?P<v>{NUM})(?: (?P<u>{UNIT}))?(?: at (?P<t>{NUM}) min)?, "
    rf"(?P<w>below|above|at) the (?P<l>{NUM})(?: (?P<lu>{UNIT}))? "
    r"(?:limit|critical limit|limit for this weight)"
)
GRADIENT = re.compile(
    rf"\((?P<x>{NUM}) (?P<u>{UNIT})\) was (?P<d>{NUM}) (?P=u) (?P<w>below|above) the [a-z -]+ "
    rf"\((?P<y>{NUM}) (?P=u)\)"
)
EVIDENCE_SIDE = re.compile(rf"(?P<w>below|above) the (?P<l>{NUM})(?: [^ ]+)? limit|at the (?P<a>{NUM})")
#: Running-text labels of the trace signals ("ionized calcium" -> ica_mmol_l).
LABEL_SIGNALS = {spec.label.lower(): name for name, spec in SIGNAL_SPECS.items()}
#: Explanation subjects that name a value of a trace signal: (signal, which value).
SUBJECTS = {
    "pre-dialysis ionized calcium": ("ica_mmol_l", "pre"),
    "the lowest ionized calcium": ("ica_mmol_l", "nadir"),
    "pre-dialysis plasma magnesium": ("mg_mmol_l", "pre"),
    "the lowest plasma magnesium": ("mg_mmol_l", "nadir"),
    "the lowest plasma sodium": ("plasma_na_mmol_l", "nadir"),
    "the lowest systolic blood pressure": ("sbp_mmhg", "nadir"),
    "the lowest relative blood volume": ("rbv_pct", "nadir"),
    "relative blood volume": ("rbv_pct", "at"),
    "the highest bicarbonate": ("hco3_mmol_l", "peak"),
    "the fall in systolic blood pressure from before dialysis to its nadir": ("sbp_mmhg", "fall"),
    "the fall in plasma sodium from before dialysis to its nadir": ("plasma_na_mmol_l", "fall"),
}
#: Words of an explanation that says the cause is unlikely: there a comparison may cite evidence that
#: does not support the cause.
UNLIKELY = ("adequate", "safe range", "on purpose")


def _float(text: str) -> float:
    return float(text.replace(MINUS, "-"))


def _close(shown: str, value: float) -> bool:
    """Whether ``shown`` is ``value`` as rounded for display (half a unit of its last digit)."""
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return abs(_float(shown) - value) <= 0.5 * 10.0**-decimals + 1e-9


@dataclass
class Session:
    scenario: Scenario
    trace: Trace
    assessment: Assessment

    def series(self, signal: str) -> tuple[np.ndarray, np.ndarray]:
        """(t, values) of ``signal`` during the session (no NaN)."""
        d = self.trace.data
        ok = d[signal].notna() & (d["t_min"] <= self.scenario.prescription.duration_min + 1e-9)
        return d.loc[ok, "t_min"].to_numpy(float), d.loc[ok, signal].to_numpy(float)

    def value(self, signal: str, which: str, t_min: float | None = None) -> float:
        t, x = self.series(signal)
        if which == "pre":
            return float(x[0])
        if which == "end":
            return float(x[-1])
        if which == "nadir":
            return float(x.min())
        if which == "peak":
            return float(x.max())
        if which == "fall":
            return float(x[0] - x.min())
        assert t_min is not None
        return float(x[np.argmin(np.abs(t - t_min))])


def _vary(scenario: Scenario, rng: np.random.Generator) -> Scenario:
    """The scenario with a history drawn so that every kind of evidence occurs in the population."""
    p = scenario.patient
    aluminium = [None, 8.0, 45.0, 140.0][rng.choice(4, p=[0.6, 0.2, 0.1, 0.1])]
    labs = p.labs.model_copy(update={"aluminium_ug_l": aluminium})
    update = {
        "active_vitamin_d": bool(rng.random() < 0.5),
        "peripheral_neuropathy": [True, False, None][rng.choice(3)],
        "cramps_outside_sessions": [True, False, None][rng.choice(3)],
        "vintage_months": float(rng.choice([0.0, 0.5, 6.0, p.vintage_months])),
        "critical_rbv_pct": float(rng.uniform(85, 92)) if rng.random() < 0.3 else None,
        "labs": labs,
    }
    return scenario.model_copy(update={"patient": p.model_copy(update=update)})


def _events(rng: np.random.Generator, duration: float) -> pd.DataFrame | None:
    if rng.random() < 0.4:
        return None
    rows = [{"t_min": float(rng.uniform(30, duration)), "kind": "cramp", "severity": 6.0, "note": ""}]
    if rng.random() < 0.5:
        rows.append(
            {"t_min": float(rng.uniform(30, duration)), "kind": "saline_bolus", "severity": None, "note": ""}
        )
    return pd.DataFrame(rows)


def _recorded(trace: Trace) -> Trace:
    """The trace as a recorded session: one row every 15 min, sources measured."""
    data = trace.data[trace.data["t_min"] % 15 == 0].reset_index(drop=True)
    return Trace(data, trace.events, {k: "measured" for k in trace.sources}, trace.session_id)


@pytest.fixture(scope="module")
def sessions() -> list[Session]:
    rng = np.random.default_rng(18)
    scenarios = [_vary(s, rng) for s in virtual_population(N_SESSIONS, seed=18)]
    batch = simulate_batch(scenarios)
    out = []
    for i, sc in enumerate(scenarios):
        if batch.failed is not None and batch.failed[i]:
            continue
        trace = batch.trace(i)
        if i % 3 == 0:
            trace = _recorded(trace)
        events = _events(rng, sc.prescription.duration_min)
        if events is not None:
            trace = trace.with_events(events)
        out.append(Session(sc, trace, assess(trace, sc, fill_missing=False)))
    assert len(out) >= 0.95 * N_SESSIONS
    return out


def _signal_named(words: str) -> str:
    """The trace signal whose label ends ``words`` ("n this session ionized calcium" -> ica_mmol_l)."""
    names = [label for label in LABEL_SIGNALS if words == label or words.endswith(" " + label)]
    assert names, words
    return LABEL_SIGNALS[max(names, key=len)]


def _check_course(m: re.Match, s: Session, text: str) -> None:
    signal = _signal_named(m["label"])
    if m["verb"]:
        a, b = _float(m["a"]), _float(m["b"])
        assert (a > b) if m["verb"] == "fell" else (a < b), text
        assert _close(m["a"], s.value(signal, "pre")), (text, s.value(signal, "pre"))
        assert _close(m["b"], s.value(signal, "end")), (text, s.value(signal, "end"))
    else:
        assert _close(m["s"], s.value(signal, "pre")) and _close(m["s"], s.value(signal, "end")), text
    if m["n"]:
        assert _close(m["n"], s.value(signal, "nadir")), (text, s.value(signal, "nadir"))
        t, x = s.series(signal)
        assert _close(m["t"], float(t[np.argmin(x)])), text


def _check_statement(m: re.Match, s: Session, f: Finding, text: str) -> None:
    v, limit = _float(m["v"]), _float(m["l"])
    assert (m["u"] or "") == (m["lu"] or ""), text
    assert m["w"] == ("below" if v < limit else "above" if v > limit else "at"), text
    subject = m["subject"].split("; ")[-1].strip()
    for prefix in ("In this session ", "During this session "):
        subject = subject.removeprefix(prefix)
    if subject in SUBJECTS:
        signal, which = SUBJECTS[subject]
        if which == "pre" and not s.trace.has(signal):
            pass  # the lab stood in: checked through the evidence item below
        else:
            t = _float(m["t"]) if m["t"] else None
            assert _close(m["v"], s.value(signal, which, t)), (text, s.value(signal, which, t))
    cited = [
        e
        for e in f.evidence
        if isinstance(e.value, float | int)
        and isinstance(e.threshold, float | int)
        and _close(m["v"], float(e.value))
        and _close(m["l"], float(e.threshold))
    ]
    assert cited, f"{f.cause}: no evidence item with {m['v']} vs {m['l']}: {text}"
    if not any(word in text for word in UNLIKELY):
        assert any(e.direction == "supports" for e in cited), (
            f"{f.cause}: cites non-supporting evidence: {text}"
        )


def _check_explanation(s: Session, f: Finding) -> None:
    text = f.explanation
    covered: list[tuple[int, int]] = []
    for m in COURSE.finditer(text):
        _check_course(m, s, text)
        covered.append(m.span())
    for m in STATEMENT.finditer(text):
        _check_statement(m, s, f, text)
        covered.append(m.span())
    for m in GRADIENT.finditer(text):
        x, y, d = _float(m["x"]), _float(m["y"]), _float(m["d"])
        assert m["w"] == ("below" if x < y else "above"), text
        assert abs(abs(y - x) - d) <= 0.11, text
        covered.append(m.span())
    for w in DIRECTION_WORDS.finditer(text):
        assert any(a <= w.start() < b for a, b in covered), f"{f.cause}: unchecked {w[0]!r} in: {text}"


def _check_evidence(s: Session, f: Finding, e: Evidence) -> None:
    assert e.direction in DIRECTIONS
    item = e.to_dict()
    assert item["direction"] == e.direction
    text = evidence_text(item, s.assessment.metrics)
    numeric = isinstance(e.value, float | int) and not isinstance(e.value, bool)
    if numeric and isinstance(e.threshold, float | int) and not isinstance(e.threshold, bool):
        m = EVIDENCE_SIDE.search(text)
        assert m is not None, text
        expected = side(float(e.value), float(e.threshold))
        assert (m["w"] or "at") == expected, (text, e)
        if e.sense is not None:
            past = expected == ("below" if e.sense == "low" else "above")
            assert (e.direction == "supports") == past, (f.cause, text, e.direction)
    if numeric and e.signal in SIGNAL_SPECS and s.trace.has(e.signal) and e.t_min is not None:
        which = {"pre-dialysis": "pre", "nadir": "nadir", "peak": "peak"}.get(e.note.split(",")[0], "at")
        assert _close(f"{float(e.value):.4f}", s.value(e.signal, which, e.t_min)), (f.cause, text, which)


def test_every_direction_word_and_number_agrees_with_the_data(sessions: list[Session]) -> None:
    checked = {"explanations": 0, "items": 0, "supports": 0, "against": 0, "context": 0}
    for s in sessions:
        for f in s.assessment.causes:
            _check_explanation(s, f)
            checked["explanations"] += 1
            for e in f.evidence:
                _check_evidence(s, f, e)
                checked["items"] += 1
                checked[e.direction] += 1
    # the population reaches every direction and every kind of sentence
    assert min(checked["supports"], checked["against"], checked["context"]) > 100, checked


def test_the_population_reaches_every_sentence_kind(sessions: list[Session]) -> None:
    text = " ".join(f.explanation for s in sessions for f in s.assessment.causes)
    assert " fell from " in text and " rose from " in text
    for subject in SUBJECTS:
        assert f"{subject} was " in text or subject.capitalize() in text, subject
    causes = {f.cause for s in sessions for f in s.assessment.causes if f.score > 0.1}
    assert len(causes) == 8, causes
