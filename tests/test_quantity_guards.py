"""One home for derived quantities: no cut-off or formula of crampwatch/quantities.py is typed anywhere else.

Like the conversion-factor guard (tests/test_units_signals.py), these read the source of crampwatch/:

* a registered cut-off value compared with, assigned to, or passed as the default or keyword value of a name
  that speaks of its quantity (``sp_ktv < 1.2``, ``UFR_LIMIT = 13``, ``target_std_ktv=2.1``), or the Na set
  point 137.9 mmol/L as a number anywhere, is a second copy of the cut-off;
* the post-dialysis weight (pre-weight minus UF), the UF rate (``1000 UF / (t / 60)``), the dialysate-plasma
  Na gradient and the time-averaged dialysate Na (a trapezoid over a Na profile) written out again are second
  copies of their formulas.

Each check is shown to fail on a planted copy (``test_*_can_fail``).
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

from crampwatch.quantities import CUTOFFS

ROOT = Path(__file__).resolve().parents[1]
HOME = "quantities.py"

#: Cut-offs and the words of the names that speak of their quantity.
CUTOFF_WORDS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("ufr_10_ml_kg_h", "ufr_13_ml_kg_h", "ufr_severe_ml_kg_h"): ("ufr", "uf_rate"),
    ("sp_ktv_min", "sp_ktv_target", "sp_ktv_severe"): ("sp_ktv", "spktv", "ktv_min", "ktv_target"),
    ("urr_min_pct", "urr_target_pct"): ("urr",),
    ("std_ktv_min", "std_ktv_target"): ("std_ktv", "stdktv", "weekly_ktv"),
    ("idh_nadir_sbp_mmhg", "idh_nadir_sbp_high_pre_mmhg", "idh_high_pre_sbp_mmhg"): ("sbp", "nadir"),
    ("idh_sbp_fall_mmhg", "idh_sbp_fall_severe_mmhg"): ("sbp_fall", "sbp_drop"),
    ("idh_map_fall_mmhg",): ("map_fall", "map_drop"),
    ("na_set_point_mmol_l", "na_set_point_sd_mmol_l"): ("set_point", "setpoint"),
    ("na_gradient_neutral_mmol_l", "na_gradient_severe_mmol_l"): ("gradient",),
    ("dialysate_na_low_mmol_l",): ("dialysate_na", "dial_na"),
    ("hyponatremia_mmol_l",): ("plasma_na", "na_pre", "hyponat"),
    (
        "rbv_low_1h_pct",
        "rbv_low_2h_pct",
        "rbv_low_3h_pct",
        "rbv_critical_pct",
        "rbv_slope_steep_pct_h",
    ): ("rbv",),
    ("idwg_kg", "idwg_onset_kg", "idwg_pct", "idwg_pct_high"): ("idwg", "weight_gain"),
    ("eff_osm_fall_mosm_kg", "eff_osm_fall_severe_mosm_kg"): ("eff_osm", "osm_fall"),
    ("kcqa_short_session_min",): ("kcqa", "short_session"),
    ("below_dry_weight_kg",): ("below_dry", "under_dry"),
    ("plasma_na_fall_mmol_l", "plasma_na_fall_severe_mmol_l"): ("na_fall",),
}
#: Cut-off values distinctive enough to be a copy wherever they appear as a number.
DISTINCTIVE = {"137.9"}


def _sources(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*.py") if p.name != HOME)


def _text(node: ast.AST) -> str:
    return ast.unparse(node).lower()


def _number(node: ast.AST) -> float | None:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    return None


def _numbers_with_names(tree: ast.AST) -> list[tuple[ast.AST, str]]:
    """Each number literal that is compared with, assigned to, or the default or keyword value of a name,
    with the text of that name (or of the other side of the comparison)."""
    pairs: list[tuple[ast.AST, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            names = " ".join(_text(s) for s in sides if _number(s) is None)
            pairs += [(s, names) for s in sides if _number(s) is not None]
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if _number(node.value) is not None:
                pairs.append((node.value, " ".join(_text(t) for t in targets)))
        elif isinstance(node, ast.keyword) and node.arg and _number(node.value) is not None:
            pairs.append((node.value, node.arg.lower()))
        elif isinstance(node, ast.arguments):
            positional = node.posonlyargs + node.args
            defaults = list(
                zip(positional[len(positional) - len(node.defaults) :], node.defaults, strict=True)
            )
            defaults += [
                (a, d) for a, d in zip(node.kwonlyargs, node.kw_defaults, strict=True) if d is not None
            ]
            pairs += [(d, a.arg.lower()) for a, d in defaults if _number(d) is not None]
    return pairs


def retyped_cutoffs(package: Path) -> list[str]:
    """``path:line value (name)`` of every copy of a registered cut-off outside crampwatch/quantities.py."""
    found = set()
    for path in _sources(package):
        source = path.read_text(encoding="utf-8")
        rel = path.relative_to(package.parent)
        for literal, names in _numbers_with_names(ast.parse(source)):
            value = _number(literal)
            for cutoffs, words in CUTOFF_WORDS.items():
                if any(w in names for w in words) and any(
                    abs(CUTOFFS[c].value - value) < 1e-12 for c in cutoffs
                ):
                    found.add(f"{rel}:{literal.lineno} {value:g} ({names[:60]})")
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NUMBER and tok.string in DISTINCTIVE:
                found.add(f"{rel}:{tok.start[0]} {tok.string}")
    return sorted(found)


def retyped_formulas(package: Path) -> list[str]:
    """``path:line formula: code`` of every registered formula written out again outside quantities.py."""
    found = set()
    for path in _sources(package):
        rel = path.relative_to(package.parent)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            kind = None
            if isinstance(node, ast.BinOp):
                left, right, whole = _text(node.left), _text(node.right), _text(node)
                if (
                    isinstance(node.op, ast.Sub)
                    and ("pre_w" in left or "pre_weight" in left)
                    and "uf" in right
                ):
                    kind = "post-dialysis weight (post_weight_kg_array)"
                elif (
                    isinstance(node.op, ast.Sub)
                    and "dia" in left
                    and "na" in left
                    and any(w in right for w in ("plasma_na", "na_pre", "labs.na", "'na_mmol_l'"))
                ):
                    kind = "Na gradient (na_gradient_mmol_l_array)"
                elif (
                    isinstance(node.op, ast.Mult | ast.Div)
                    and "uf" in whole
                    and "1000" in whole
                    and "60" in whole
                ):
                    kind = "UF rate (uf_rate_ml_h_array / uf_rate_ml_kg_h_array)"
            elif isinstance(node, ast.Call) and _text(node.func).endswith(("trapezoid", "trapz")):
                kind = "mean dialysate Na (mean_dialysate_na_mmol_l)" if "na" in _text(node) else None
            if kind is not None:
                found.add(f"{rel}:{node.lineno} {kind}")
    return sorted(found)


def test_every_registered_cutoff_is_guarded() -> None:
    """A new cut-off in crampwatch/quantities.py needs the words of its quantity here."""
    guarded = [name for names in CUTOFF_WORDS for name in names]
    assert sorted(guarded) == sorted(CUTOFFS)


def test_no_registered_cutoff_is_typed_outside_quantities() -> None:
    assert retyped_cutoffs(ROOT / "crampwatch") == []


def test_no_registered_formula_is_typed_outside_quantities() -> None:
    assert retyped_formulas(ROOT / "crampwatch") == []


def _plant(tmp_path: Path, code: str) -> Path:
    package = tmp_path / "crampwatch"
    package.mkdir()
    (package / "planted.py").write_text(code)
    (package / HOME).write_text("SP_KTV_MIN = 1.2\npost = pre_weight_kg - uf_volume_l\n")  # the home may
    return package


def test_the_cutoff_guard_can_fail(tmp_path: Path) -> None:
    package = _plant(
        tmp_path,
        "def f(sp_ktv, ufr, target_std_ktv=2.1):\n"
        "    low = sp_ktv < 1.2\n"
        "    UFR_LIMIT_ML_KG_H = 13.0\n"
        "    return low, ufr > UFR_LIMIT_ML_KG_H, g(na_set_point_sd=2.4), 137.9\n"
        "# 137.9 in a comment, and 1.2 next to an unrelated name, are not copies\n"
        "age_factor = min(1.2, 0.4)\n",
    )
    assert retyped_cutoffs(package) == [
        "crampwatch/planted.py:1 2.1 (target_std_ktv)",
        "crampwatch/planted.py:2 1.2 (sp_ktv)",
        "crampwatch/planted.py:3 13 (ufr_limit_ml_kg_h)",
        "crampwatch/planted.py:4 137.9",
        "crampwatch/planted.py:4 2.4 (na_set_point_sd)",
    ]


def test_the_formula_guard_can_fail(tmp_path: Path) -> None:
    package = _plant(
        tmp_path,
        "post_w = pre_weight_kg - uf_l\n"
        "ufr = uf_volume_l * 1000 / (duration_min / 60) / post_w\n"
        "gradient = dialysate_na - plasma_na_pre\n"
        "mean_na = np.trapezoid(np.interp(grid, times, na_values), grid)\n"
        "change = before.dialysate.na_mmol_l - after.dialysate.na_mmol_l\n",
    )
    assert retyped_formulas(package) == [
        "crampwatch/planted.py:1 post-dialysis weight (post_weight_kg_array)",
        "crampwatch/planted.py:2 UF rate (uf_rate_ml_h_array / uf_rate_ml_kg_h_array)",
        "crampwatch/planted.py:3 Na gradient (na_gradient_mmol_l_array)",
        "crampwatch/planted.py:4 mean dialysate Na (mean_dialysate_na_mmol_l)",
    ]


def test_features_compute_each_registered_reduction_as_the_registry_says() -> None:
    """Every feature the registry names as a reduction of a signal equals that reduction of the signal (and
    its lab where the signal has no value), on sessions with gaps and samples after the end of dialysis."""
    import numpy as np

    from crampwatch.causes.context import build_context
    from crampwatch.causes.features import FEATURE_SIGNALS, compute_features
    from crampwatch.model import load_scenario
    from crampwatch.quantities import QUANTITY_SPECS, reduce_signal

    scenario = load_scenario(ROOT / "examples" / "stable.yaml")
    ctx = build_context([scenario] * 4)
    end = float(scenario.prescription.duration_min)
    t = np.arange(0.0, end + 61.0, 15.0)  # an hour of samples after the end
    rng = np.random.default_rng(3)
    signals = {name: 100.0 + rng.normal(0.0, 5.0, (4, t.size)) for name in FEATURE_SIGNALS}
    for x in signals.values():
        x[rng.random(x.shape) < 0.3] = np.nan
        x[1, :] = np.nan  # one session without any value
        x[2, t > end] = x[2, t > end] + 40.0  # after the end: far from the session's values
    features = compute_features(t, signals, ctx)
    checked = []
    for q in QUANTITY_SPECS.values():
        if q.reduce is None or q.name not in features.values:
            continue
        expected = reduce_signal(q.name, signals, t, ctx.duration_min)[0]
        if q.lab:
            expected = np.where(np.isnan(expected), ctx.labs[q.lab], expected)
        np.testing.assert_array_equal(features[q.name], expected, err_msg=q.name)
        checked.append(q.name)
    assert {"plasma_na_end_mmol_l", "plasma_na_pre_mmol_l", "sbp_nadir_mmhg", "rbv_slope_pct_h"} <= set(
        checked
    )
    # the end value is the session's, not the last sample after it
    assert np.nanmax(signals["plasma_na_mmol_l"][2, t > end]) > features["plasma_na_end_mmol_l"][2] + 20.0
