"""No code names before people: every page of the clinic app (clinician, patient, admin; panels and charts
included) and every CLI table is walked for identifiers from the registries (signals, derived quantities,
causes, prescription settings, thresholds, labs, event kinds, UF profiles, urea models, audit actions) and
for any other snake_case word; CLI tables must fit 80 columns with headers folded between words."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient
from test_web_helpers import form_csrf, page_login
from typer.testing import CliRunner

from crampwatch.causes.registry import CAUSES
from crampwatch.causes.thresholds import THRESHOLDS
from crampwatch.cli.main import app as cli
from crampwatch.io.manifest import write_session_manifest
from crampwatch.io.traces import write_trace
from crampwatch.model import EVENT_KINDS, Labs, load_scenario
from crampwatch.prescription_settings import SETTINGS, UF_PROFILE_NAMES
from crampwatch.quantities import QUANTITY_SPECS
from crampwatch.signals import FIELD_LABELS, SIGNAL_SPECS
from crampwatch.simulator import simulate
from crampwatch.store.audit import AUDIT_ACTION_LABELS
from crampwatch.twin.virtual import virtual_sessions
from crampwatch.weekly import MODELS

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: Every identifier a registry defines that a person could meet on a page or in a table.
IDENTIFIERS = sorted(
    {
        *SIGNAL_SPECS,
        *QUANTITY_SPECS,
        *FIELD_LABELS,
        *CAUSES,
        *(s.name for s in SETTINGS),
        *THRESHOLDS,
        *Labs.model_fields,
        *EVENT_KINDS,
        *UF_PROFILE_NAMES,
        *MODELS,
        *AUDIT_ACTION_LABELS,
    }
    - {"id", "sex", "access", "diabetes"},  # plain words that are field names too
    key=len,
    reverse=True,
)
#: Identifiers with an underscore: never in running text. Those without one (cause ids such as
#: "hypovolemia") are words; they may be written, but not as a lower-case code name in a table cell.
CODE_NAMES = [i for i in IDENTIFIERS if "_" in i]
SNAKE = re.compile(r"(?<![\w./-])[a-z][a-z0-9]*(?:_[a-z0-9.]+)+(?![\w/-])")


class _Visible(HTMLParser):
    """The text a person sees on a page: element text (no script or style), labels of the charts."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip: list[str] = []
        self._figure = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip.append(tag)
            self._figure = dict(attrs).get("class") == "plot-figure"
        for name, value in attrs:
            if name in ("title", "placeholder", "aria-label", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)
        elif self._figure:
            self.parts.extend(_figure_text(json.loads(data)))


def _figure_text(node: object, key: str = "") -> list[str]:
    """Strings a chart shows: trace names, titles, annotations, tick suffixes, hover text."""
    if isinstance(node, dict):
        return [s for k, v in node.items() if k not in ("template", "config") for s in _figure_text(v, k)]
    if isinstance(node, list):
        return [s for v in node for s in _figure_text(v, key)]
    if isinstance(node, str) and key in ("name", "text", "ticksuffix", "hovertemplate"):
        return [re.sub(r"%\{[^}]*\}|<[^>]+>", " ", node)]
    return []


def visible_text(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def code_names(text: str) -> list[str]:
    """Registry identifiers and other snake_case words in ``text``."""
    found = [i for i in CODE_NAMES if re.search(rf"(?<![\w/.-]){re.escape(i)}(?![\w/-])", text)]
    return found + [w for w in SNAKE.findall(text) if w not in found]


# ------------------------------------------------------------------------------------------------ pages


def _pages(app, db) -> dict[str, str]:
    """Every page and panel of the app, as each role sees it (with a fitted twin, a what-if result, a
    what-if error, the optimizer's suggestions and a cramp report in place)."""
    out: dict[str, str] = {}
    patient = TestClient(app)
    page_login(patient, "pat1")
    me = patient.get("/me").text
    key = re.search(r'name="idempotency_key" value="(\w+)"', me).group(1)
    report = {"csrf_token": form_csrf(me), "idempotency_key": key, "muscle": "calf", "severity": "6"}
    out["report received"] = patient.post("/me/reports", data=report).text
    out["report error"] = patient.post(
        "/me/reports", data={**report, "idempotency_key": key + "x", "severity": ""}
    ).text
    for path in ("/me", f"/sessions/{db.s1}", "/password"):
        out[f"patient {path}"] = patient.get(path).text
    clin = TestClient(app)
    out["login"] = clin.get("/login").text
    page_login(clin, "clin")
    token = form_csrf(clin.get("/patients").text)
    hx = {"X-CSRF-Token": token, "HX-Request": "true"}
    clin.post(f"/patients/{db.p1}/twin", data={"csrf_token": token}, headers=hx)
    for path in (
        "/patients",
        "/unit",
        f"/patients/{db.p1}",
        f"/patients/{db.p1}/trend",
        f"/sessions/{db.s1}",
        f"/sessions/{db.s2}",
        "/model",
        "/password",
        "/no-such-page",
    ):
        out[path] = clin.get(path).text
    out["twin panel"] = clin.get(f"/patients/{db.p1}/twin", headers=hx).text
    form = {"duration_min": "270", "uf_profile": "linear_decreasing", "dialysate_na_mmol_l": "140"}
    out["what-if"] = clin.post(f"/sessions/{db.s1}/whatif", data=form, headers=hx).text
    out["what-if error"] = clin.post(f"/sessions/{db.s1}/whatif", data={"duration_min": "5"}, headers=hx).text
    out["optimizer"] = clin.post(f"/sessions/{db.s1}/optimize", headers=hx).text
    admin = TestClient(app)
    page_login(admin, "adm")
    for path in ("/admin", "/model"):
        out[f"admin {path}"] = admin.get(path).text
    return out


def test_no_page_shows_a_code_name_or_float_noise(app, db):
    pages = _pages(app, db)
    assert "Hypovolemia" in visible_text(pages[f"/sessions/{db.s1}"])  # the walk reads the page text
    assert "Relative blood volume" in visible_text(pages[f"/sessions/{db.s1}"])  # and the charts' labels
    assert "linear decreasing" in visible_text(pages["what-if"])
    found = {name: code_names(visible_text(page)) for name, page in pages.items()}
    assert {k: v for k, v in found.items() if v} == {}
    # numbers as a clinician reads them: no float noise ("-0.0353"), "1 session" not "1 sessions"
    for name, page in pages.items():
        text = visible_text(page)
        assert not re.search(r"\d\.\d{4,}", text), (name, re.findall(r"\S*\d\.\d{4,}\S*", text))
        assert not re.search(r"(?<![\d.])1 (months|patients|sessions|reports)\b", text), name


# -------------------------------------------------------------------------------------------- CLI tables


def _fit_manifest(tmp: Path) -> Path:
    return write_session_manifest(virtual_sessions({"refill_capacity": 0.5}, 3, seed=2), tmp / "fit")


def _cli_outputs(tmp: Path) -> dict[str, str]:
    runner = CliRunner()
    env = {"COLUMNS": "80"}
    sc = EXAMPLES / "low_ca_first_year.yaml"
    trace = write_trace(simulate(load_scenario(sc)), tmp / "session.csv")
    runs = {
        "analyze": ["analyze", str(trace), "--scenario", str(sc)],
        "optimize": ["optimize", str(EXAMPLES / "high_uf.yaml"), "--ensemble", "1"],
        "fit": ["fit", str(_fit_manifest(tmp))],
        "cohort": ["cohort", "--patients", "4", "--partitions", "1", "--scheduler", "synchronous"],
    }
    weekly = ["weekly", "--duration-h", "4", "--qb", "300", "--qd", "500", "--koa", "1100", "--hct", "33",
              "--generation-mg-day", "9000", "--v-l", "40"]  # fmt: skip
    for model in MODELS:
        gain = [] if model == "single_pool" else ["--fluid-gain-l-day", "1"]
        runs[f"weekly {model}"] = [*weekly, "--model", model, *gain]
    out = {}
    for name, args in runs.items():
        result = runner.invoke(cli, args, env=env)
        assert result.exit_code == 0, (name, result.output)
        out[name] = result.stdout
    return out


def _headers(output: str) -> list[list[str]]:
    """The header cells of each Rich table (the rows between its top border and the ┡ line), per column."""
    tables, rows = [], []
    inside = False
    for line in output.splitlines():
        if line.lstrip().startswith("┏"):
            inside, rows = True, []
        elif line.lstrip().startswith("┡") and inside:
            inside = False
            cells = [r.strip("┃").split("┃") for r in rows]
            tables.append([" ".join(c[i].strip() for c in cells).strip() for i in range(len(cells[0]))])
        elif inside:
            rows.append(line.strip())
    return tables


def test_cli_tables_fit_80_columns_in_words(tmp_path):
    outputs = _cli_outputs(tmp_path)
    for name, output in outputs.items():
        assert "…" not in output, name
        assert max(len(line) for line in output.splitlines()) <= 80, name
        # headers fold between words: every word of a header is a word of the clinical vocabulary used
        for headers in _headers(output):
            for header in headers:
                for word in header.split():
                    assert word in output.replace("┃", " ").split() or len(word) <= 2, (name, header)
        assert code_names(output) == [], (name, code_names(output))
        assert not re.search(r"\d\.\d{4,}", output), (name, re.findall(r"\S*\d\.\d{4,}\S*", output))
    assert "Leading cause, % of sessions" in outputs["cohort"]
    assert "single pool, fixed volume" in outputs["weekly single_pool"]
    assert "Sessions" in " ".join(h for t in _headers(outputs["optimize"]) for h in t)
