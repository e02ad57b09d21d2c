"""The registry of published checks: each one names its role, its source, the conditions, the published value
with its spread, where its pass range comes from, and how the model value is computed and judged.

Roles (:data:`ROLES`): ``validation`` compares the model with a publication no parameter was taken from or
fitted to (independent); ``calibration`` with a number a parameter was fitted to, or with the same data
set; ``verification`` checks the code against published formula vectors or another simulator;
``consistency`` checks the model against itself. ``publications`` names the compared publications by their
keys in :data:`crampwatch.physiology.publications.PUBLICATIONS`, so a test can show that no ``validation``
check compares the model with a source of its own parameters. ``covers`` names the prescription settings
(levers) and trace signals the check compares (``after:<signal>`` for a signal's course after dialysis).

Other modules add checks with :func:`register` (the check modules of this package register theirs when
:mod:`crampwatch.validation` is imported). :func:`run_checks` computes every model value and returns
:class:`Result` rows, in registration order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from crampwatch.errors import InputError
from crampwatch.physiology.publications import POPULATION_SOURCES, PUBLICATIONS, session_model_sources

#: The roles of a check, in the order the card shows them (independent validation first).
ROLES: tuple[str, ...] = ("validation", "calibration", "verification", "consistency")
ROLE_MEANINGS: dict[str, str] = {
    "validation": "compared with a publication that no parameter was taken from or fitted to",
    "calibration": "a parameter was fitted to this number or to the same data set",
    "verification": "the code against published formula vectors or another simulator",
    "consistency": "the model against itself",
}
#: What a check's model value depends on: the session model (its parameter table), the session model on
#: the virtual population (also the numbers the population was tuned to), the weekly urea model, or a
#: closed-form formula alone.
DEPENDS: tuple[str, ...] = ("session", "session_population", "weekly", "formula")


@dataclass(frozen=True)
class Check:
    """One published number the model is compared with.

    ``compute`` returns the model value (a float in ``unit``) and a short note on how it was obtained; the
    check passes when ``low <= value <= high``. ``range_basis`` says where the pass range comes from (the
    published uncertainty, stated before the model was run).
    """

    id: str
    area: str
    title: str
    source: str
    conditions: str
    published: str
    unit: str
    low: float
    high: float
    compute: Callable[[], tuple[float, str]]
    role: str
    publications: tuple[str, ...] = ()
    range_basis: str = ""
    covers: tuple[str, ...] = ()
    depends: str = "session"
    #: a known, documented shortfall of the current model (why it fails); the report shows it as a gap and
    #: ``crampwatch validate`` still counts it as failing
    gap: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"check {self.id}: role {self.role!r} is not one of {', '.join(ROLES)}")
        if self.depends not in DEPENDS:
            raise ValueError(f"check {self.id}: depends {self.depends!r} is not one of {', '.join(DEPENDS)}")
        unknown = [k for k in self.publications if k not in PUBLICATIONS]
        if unknown:
            raise ValueError(f"check {self.id}: unknown publication {unknown[0]!r}")
        if not self.low <= self.high:
            raise ValueError(f"check {self.id}: empty pass range {self.low}..{self.high}")


@dataclass(frozen=True)
class Result:
    """A check with its model value and verdict."""

    check: Check
    value: float
    note: str
    passed: bool

    def to_dict(self) -> dict[str, object]:
        c = self.check
        return {
            "id": c.id,
            "area": c.area,
            "title": c.title,
            "role": c.role,
            "source": c.source,
            "publications": list(c.publications),
            "conditions": c.conditions,
            "published": c.published,
            "unit": c.unit,
            "pass_range": [c.low, c.high],
            "range_basis": c.range_basis,
            "covers": list(c.covers),
            "model_value": self.value,
            "model_note": self.note,
            "passed": self.passed,
            "known_gap": c.gap or None,
        }


#: Every registered check by id, in registration order.
REGISTRY: dict[str, Check] = {}


def register(check: Check, gap: str = "") -> Check:
    """Add a check to :data:`REGISTRY` (ids are unique); ``gap`` documents a known shortfall of the model."""
    if gap:
        check = replace(check, gap=gap)
    if check.id in REGISTRY:
        raise ValueError(f"validation check {check.id!r} is registered twice")
    REGISTRY[check.id] = check
    return check


def register_all(checks: Iterable[Check], gaps: Mapping[str, str] | None = None) -> None:
    """Register ``checks`` in order, each with its known shortfall from ``gaps`` (by check id); every id in
    ``gaps`` must name one of ``checks``."""
    gaps = gaps or {}
    ids = [register(check, gaps.get(check.id, "")).id for check in checks]
    stray = sorted(set(gaps) - set(ids))
    if stray:
        raise ValueError(f"gap for {stray[0]!r}, which is not one of the checks registered with it")


def run_checks(ids: Iterable[str] | None = None) -> list[Result]:
    """Run the checks ``ids`` (default: all), in registration order."""
    wanted = list(REGISTRY) if ids is None else list(ids)
    unknown = [i for i in wanted if i not in REGISTRY]
    if unknown:
        raise InputError(
            f"check: {unknown[0]!r} is not a validation check (one of {', '.join(REGISTRY)})", "check"
        )
    out: list[Result] = []
    for cid in wanted:
        c = REGISTRY[cid]
        value, note = c.compute()
        value = float(value)
        out.append(Result(c, value, note, bool(c.low <= value <= c.high)))
    return out


def role_counts(results: Iterable[Result]) -> dict[str, tuple[int, int]]:
    """(checks, passed) per role, in :data:`ROLES` order."""
    rows = list(results)
    return {
        role: (sum(r.check.role == role for r in rows), sum(r.passed and r.check.role == role for r in rows))
        for role in ROLES
    }


def dependency_sources(check: Check) -> frozenset[str]:
    """The publications the parameters behind ``check``'s model value were taken from or fitted to: the
    session model's (and the virtual population's, for population checks); none for the weekly model's
    published constants and for closed-form formulas."""
    if check.depends == "session":
        return session_model_sources()
    if check.depends == "session_population":
        return session_model_sources() | frozenset(POPULATION_SOURCES)
    return frozenset()


def source_conflicts(check: Check) -> frozenset[str]:
    """Publications ``check`` compares the model with that are also sources of its parameters; a
    ``validation`` check must have none (it would be calibration)."""
    return frozenset(check.publications) & dependency_sources(check)
