"""Rendering of validation results: a Rich table, JSON, and the Markdown page docs/validation.md (the model's
card: independent validation first, counts per role, the coverage of levers and signals, known limitations
and the comparisons that have no published spread)."""

from __future__ import annotations

import json
import math

from rich.table import Table
from rich.text import Text

from crampwatch.physiology.publications import citation
from crampwatch.validation.coverage import coverage
from crampwatch.validation.limitations import COMPARISONS, LIMITATIONS
from crampwatch.validation.registry import ROLE_MEANINGS, ROLES, Result, role_counts


def format_value(value: float, unit: str) -> str:
    """A model value with a sensible number of digits."""
    if not math.isfinite(value):
        return "n/a"
    digits = 3 if abs(value) < 10 else 2 if abs(value) < 100 else 1
    text = f"{value:.{digits}f}"
    return text if unit in ("1", "r", "") else f"{text} {unit}"


def verdict(r: Result) -> str:
    """``pass``, ``gap`` (a documented shortfall of the model) or ``FAIL``."""
    return "pass" if r.passed else ("gap" if r.check.gap else "FAIL")


def pass_range(r: Result) -> str:
    return f"{r.check.low:g} to {r.check.high:g}"


def rich_table(results: list[Result]) -> Table:
    """The results as a Rich table (one row per check, independent validation first; the source under the
    check's title, so that the table folds into an 80-column terminal)."""
    table = Table(title="crampwatch model card: published vs model")
    for col in ("check (source)", "role", "published", "model", "pass range", "result"):
        table.add_column(col, overflow="fold")
    for r in _by_role(results):
        c = r.check
        colour = "green" if r.passed else "yellow" if c.gap else "red"
        table.add_row(
            Text.assemble(c.title, "\n", (c.source, "dim")),
            c.role,
            c.published,
            format_value(r.value, c.unit),
            pass_range(r),
            f"[{colour}]{verdict(r)}[/{colour}]",
        )
    return table


def _by_role(results: list[Result]) -> list[Result]:
    return sorted(results, key=lambda r: ROLES.index(r.check.role))


def to_json(results: list[Result]) -> str:
    """The results as a JSON document: counts (overall and per role), checks, coverage, comparisons without
    a published spread (model value reported) and known limitations."""
    counts = role_counts(results)
    data = {
        "passed": sum(r.passed for r in results),
        "failed": sum(not r.passed for r in results),
        "roles": {role: {"checks": n, "passed": ok} for role, (n, ok) in counts.items()},
        "checks": [r.to_dict() for r in _by_role(results)],
        "coverage": [
            {
                "name": row.name,
                "kind": row.kind,
                "status": row.status,
                "validation": [{"id": cid, "passed": ok} for cid, ok in row.validation],
                "other_checks": [{"id": cid, "role": role, "passed": ok} for cid, role, ok in row.other],
                "reported": list(row.reported),
                "limitations": list(row.limitations),
            }
            for row in coverage(results)
        ],
        "comparisons": [
            {"id": c.id, "source": c.source, "published": c.published, "model": c.compute()}
            for c in COMPARISONS
        ],
        "limitations": [{"id": lim.id, "covers": list(lim.covers), "text": lim.text} for lim in LIMITATIONS],
    }
    return json.dumps(data, indent=2, allow_nan=False, default=lambda x: None)


def _cell(text: object) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


def _row(cells: list[object]) -> str:
    return "| " + " | ".join(_cell(x) for x in cells) + " |"


def _check_table(rows: list[Result]) -> list[str]:
    lines = [
        "| check | covers | source | conditions | published | model | pass range (basis) | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c = r.check
        model = format_value(r.value, c.unit) + (f" ({r.note})" if r.note else "")
        rng = pass_range(r) + (f" ({c.range_basis})" if c.range_basis else "")
        covers = ", ".join(f"`{x}`" for x in c.covers) or "–"
        lines.append(
            _row(
                [f"{c.title} (`{c.id}`)", covers, c.source, c.conditions, c.published, model, rng, verdict(r)]
            )
        )
    return lines + [""]


def _summary(results: list[Result]) -> list[str]:
    counts = role_counts(results)
    n_val, ok_val = counts["validation"]
    lines = [
        f"**Independent validation: {ok_val} of {n_val} checks pass.** "
        f"All roles: {sum(r.passed for r in results)} of {len(results)} checks pass.",
        "",
        "| role | meaning | checks | pass |",
        "|---|---|---|---|",
    ]
    lines += [_row([role, ROLE_MEANINGS[role], counts[role][0], counts[role][1]]) for role in ROLES]
    return lines + [""]


HEADER = [
    "# Model validation",
    "",
    "Generated by `crampwatch validate --markdown docs/validation.md`; do not edit by hand. Every row "
    "compares",
    "the session model, the weekly urea model or a closed-form formula with a published number. Each check "
    "has",
    "a role: *validation* (the publication is independent: no parameter was taken from or fitted to it),",
    "*calibration* (a parameter was fitted to this number or to the same data set), *verification* (the code",
    "against formula vectors or another simulator) or *consistency* (the model against itself). Which",
    "publications each parameter comes from is recorded in `crampwatch/physiology/publications.py`, and a "
    "test",
    "fails when a validation check compares the model with one of them. A check passes when the model value",
    "lies in its pass range; each range states its basis: the published uncertainty (a 95 % confidence",
    "interval of a mean, or the interquartile range of patients where only that is published), combined with",
    "the virtual population's own sampling error for population statistics; where a publication gives no",
    "spread the range says so. A failing check is shown as a *gap* with its reason, never widened to pass.",
    "Population checks use a seeded virtual population (`crampwatch.population`), so the card is",
    "reproducible. Equations and sources: [model.md](model.md); calibration record:",
    "[calibration.md](calibration.md).",
    "",
]


def to_markdown(results: list[Result]) -> str:
    """docs/validation.md: the card, independent validation first."""
    lines = [*HEADER, *_summary(results)]
    by_role = {role: [r for r in results if r.check.role == role] for role in ROLES}
    lines += ["## Independent validation", "", *_check_table(by_role["validation"])]
    gaps = [r for r in results if not r.passed and r.check.gap]
    if gaps:
        lines += ["## Known gaps (checks the model fails, listed, not hidden)", ""]
        lines += [f"* `{r.check.id}` ({r.check.role}): {r.check.gap}" for r in gaps] + [""]
    lines += _coverage_lines(results)
    lines += ["## Known limitations", ""]
    lines += [f"* `{lim.id}`: {lim.text}" for lim in LIMITATIONS] + [""]
    lines += [
        "## Published comparisons without a spread (reported, not judged)",
        "",
        "| comparison | source | published | model |",
        "|---|---|---|---|",
    ]
    lines += [_row([f"{c.title} (`{c.id}`)", c.source, c.published, c.compute()]) for c in COMPARISONS]
    lines.append("")
    for role in ROLES[1:]:
        lines += [f"## {role.capitalize()}", "", *_check_table(by_role[role])]
    keys = sorted(
        {k for r in results for k in r.check.publications} | {k for c in COMPARISONS for k in c.publications}
    )
    lines += ["## Publications compared", ""] + [f"* `{k}`: {citation(k)}" for k in keys]
    return "\n".join(lines)


def _coverage_lines(results: list[Result]) -> list[str]:
    lines = [
        "## Coverage of levers and signals",
        "",
        "Every lever the optimizer pulls and every signal the model outputs, with the checks that compare it "
        "with a publication. ✓ passes, ✗ fails.",
        "",
        "| lever or signal | status | independent validation | other checks | reported only | limitations |",
        "|---|---|---|---|---|---|",
    ]
    for row in coverage(results):
        val = ", ".join(f"`{cid}` {'✓' if ok else '✗'}" for cid, ok in row.validation) or "–"
        other = ", ".join(f"`{cid}` ({role}) {'✓' if ok else '✗'}" for cid, role, ok in row.other) or "–"
        rep = ", ".join(f"`{x}`" for x in row.reported) or "–"
        lim = ", ".join(f"`{x}`" for x in row.limitations) or "–"
        kind = "signal" if row.kind == "after dialysis" else row.kind
        lines.append(_row([f"{row.label} ({kind})", row.status, val, other, rep, lim]))
    return lines + [""]
