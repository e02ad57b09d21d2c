"""One home for names: code names a signal (and the time axis ``t_min``) by its constant in
crampwatch/signals.py and a cause by its constant in crampwatch/causes/ids.py, so a misspelt name fails at
import instead of at run time.

The guard reads the source of crampwatch/: a string literal (docstrings excepted; the expressions inside
f-strings included) that spells a signal name, ``t_min`` or a cause id outside its home is a second copy of
the name,
unless :data:`ALLOWED` lists it with its reason (a different thing that happens to spell the same). It is
shown to fail on a planted copy (``test_the_name_guard_can_fail``).
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from crampwatch.causes.ids import CAUSE_IDS
from crampwatch.signals import SIGNAL_SPECS, TIME

ROOT = Path(__file__).resolve().parents[1]
#: The home of each kind of name, relative to the repository root.
SIGNAL_HOME = "crampwatch/signals.py"
CAUSE_HOME = "crampwatch/causes/ids.py"
#: The names whose home is crampwatch/signals.py: the signals and the time axis.
SIGNAL_NAMES = frozenset(SIGNAL_SPECS) | {TIME.name}

_DIALYSATE = (
    "field of the Dialysate model (contracts.md: prescription.dialysate.*), the dialysate concentration, "
    "not the plasma signal of the same spelling"
)
_KNOB = (
    "optimizer knob named after its Dialysate field (the dialysate concentration, not the plasma signal); "
    "KNOB_SETTINGS maps it to its prescription setting"
)
_NEUROPATHY = "the patient's peripheral-neuropathy flag (a context column), not the cause id"

#: (file, literal) -> (how many stay, why): literals that spell a name but mean something else.
ALLOWED: dict[tuple[str, str], tuple[int, str]] = {
    ("crampwatch/prescription_settings.py", "mg_mmol_l"): (1, _DIALYSATE),
    ("crampwatch/prescription_settings.py", "hco3_mmol_l"): (1, _DIALYSATE),
    ("crampwatch/optimizer/space.py", "mg_mmol_l"): (3, _KNOB),
    ("crampwatch/optimizer/space.py", "hco3_mmol_l"): (3, _KNOB),
    ("crampwatch/optimizer/candidates.py", "mg_mmol_l"): (1, _KNOB),
    ("crampwatch/optimizer/candidates.py", "hco3_mmol_l"): (1, _KNOB),
    ("crampwatch/optimizer/explain.py", "mg_mmol_l"): (1, _KNOB),
    ("crampwatch/optimizer/explain.py", "hco3_mmol_l"): (1, _KNOB),
    ("crampwatch/cohort.py", "neuropathy"): (1, _NEUROPATHY),
    ("crampwatch/causes/neurologic.py", "neuropathy"): (1, _NEUROPATHY),
}


def docstring_ids(tree: ast.AST) -> set[int]:
    """``id`` of every docstring constant in ``tree`` (also read by scripts/code_counts.py)."""
    out = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        value = first.value if isinstance(first, ast.Expr) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            out.add(id(value))
    return out


def name_literals(package: Path) -> list[tuple[str, int, str]]:
    """``(file, line, literal)`` of every string literal in ``package`` (docstrings excepted) that spells a
    signal name or ``t_min`` outside :data:`SIGNAL_HOME` or a cause id outside :data:`CAUSE_HOME`; ``file``
    is relative to the folder above ``package``. Alembic migrations (frozen records) are not read."""
    found = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent).as_posix()
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = docstring_ids(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in docs:
                continue
            if (node.value in SIGNAL_NAMES and rel != SIGNAL_HOME) or (
                node.value in CAUSE_IDS and rel != CAUSE_HOME
            ):
                found.append((rel, node.lineno, node.value))
    return sorted(found)


def unlisted_literals(package: Path, allowed: dict[tuple[str, str], tuple[int, str]]) -> list[str]:
    """``file:line literal`` of each name literal beyond what ``allowed`` lets stay in its file, and
    ``file literal: listed N, found M`` for each allowance that no longer matches the code."""
    found = name_literals(package)
    counts = Counter((rel, value) for rel, _, value in found)
    problems = [f"{rel}:{line} {value!r}" for rel, line, value in found if (rel, value) not in allowed]
    for (rel, value), n in counts.items():
        if (rel, value) in allowed and allowed[rel, value][0] != n:
            problems.append(f"{rel} {value!r}: listed {allowed[rel, value][0]}, found {n}")
    problems += [
        f"{rel} {value!r}: listed {n}, found 0"
        for (rel, value), (n, _) in allowed.items()
        if not counts[rel, value]
    ]
    return problems


def test_no_signal_or_cause_name_is_typed_outside_its_home() -> None:
    assert unlisted_literals(ROOT / "crampwatch", ALLOWED) == []


def test_every_allowance_names_a_real_name_and_a_reason() -> None:
    for (rel, value), (n, reason) in ALLOWED.items():
        assert (ROOT / rel).is_file(), rel
        assert value in SIGNAL_NAMES or value in CAUSE_IDS, value
        assert n >= 1 and len(reason) > 20, (rel, value)


def test_the_name_guard_can_fail(tmp_path: Path) -> None:
    package = tmp_path / "crampwatch"
    (package / "causes").mkdir(parents=True)
    (package / "signals.py").write_text(
        'SBP_MMHG = "sbp_mmhg"\nT_MIN = "t_min"\n'
    )  # the homes may spell the names
    (package / "causes" / "ids.py").write_text('OSMOTIC = "osmotic"\n')
    (package / "planted.py").write_text(
        '"""A docstring may say sbp_mmhg and osmotic."""\n'
        "def f(values, scores):\n"
        '    """Reads "rbv_pct"."""\n'
        '    return values["sbp_mmhg"], scores.get("osmotic"), f"{values[\'rbv_pct\']:.1f}"\n'
        'UNRELATED = ("sbp", "t_max", "osmotic_gradient")\n'
        'EVENT = {"t_min": 12.0, "kind": "cramp"}\n'
        'FLAG = "neuropathy"\n'
    )
    allowed = {("crampwatch/planted.py", "neuropathy"): (1, _NEUROPATHY)}
    assert unlisted_literals(package, allowed) == [
        "crampwatch/planted.py:4 'osmotic'",
        "crampwatch/planted.py:4 'rbv_pct'",
        "crampwatch/planted.py:4 'sbp_mmhg'",
        "crampwatch/planted.py:6 't_min'",
    ]
    stale = {**allowed, ("crampwatch/planted.py", "hco3_mmol_l"): (1, _DIALYSATE)}
    assert unlisted_literals(package, {**stale, ("crampwatch/planted.py", "neuropathy"): (2, "x")})[-2:] == [
        "crampwatch/planted.py 'neuropathy': listed 2, found 1",
        "crampwatch/planted.py 'hco3_mmol_l': listed 1, found 0",
    ]
