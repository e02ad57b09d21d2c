"""The session manifest reader shared by ``fit`` and ``calibrate`` (crampwatch.io.manifest)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers_traces import make

from crampwatch.errors import InputError
from crampwatch.io.manifest import parse_manifest, read_session_manifest, write_session_manifest
from crampwatch.learn.sources import read_manifest as read_training_manifest
from crampwatch.model import parse_scenario
from crampwatch.twin import read_manifest as read_twin_manifest

MACHINE = Path(__file__).resolve().parents[1] / "examples" / "machine"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The example machine session, its files in sub-folders relative to the manifest."""
    for sub, name in [("traces", "machine.csv"), ("scenarios", "patient.yaml"), ("events", "events.csv")]:
        (tmp_path / sub).mkdir()
        shutil.copy(MACHINE / name, tmp_path / sub / name)
    return tmp_path


def _manifest(folder: Path, text: str) -> Path:
    path = folder / "manifest.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_paths_are_relative_to_the_manifest_and_rows_are_read(folder: Path, monkeypatch) -> None:
    path = _manifest(
        folder,
        "Trace, Scenario, Events\ntraces/machine.csv,scenarios/patient.yaml,events/events.csv\n"
        "traces/machine.csv,scenarios/patient.yaml,\n",
    )
    monkeypatch.chdir(folder / "traces")  # the working directory plays no part
    manifest = parse_manifest(path)
    assert manifest.columns == ("trace", "scenario", "events")
    assert [r.events for r in manifest.rows] == [folder / "events" / "events.csv", None]
    assert [r.where for r in manifest.rows] == [
        "manifest manifest.csv line 2",
        "manifest manifest.csv line 3",
    ]
    first, second = read_session_manifest(path)
    assert first.scenario.patient.id == "EX-MACHINE" and first.session_id == "machine"
    assert list(first.events["kind"]).count("cramp") == 1
    assert first.trace.has("sbp_mmhg") and len(first.trace.data) > 10
    assert second.events.empty  # no events file: the trace's own events (none in a machine export)


@pytest.mark.parametrize(
    ("text", "message", "field"),
    [
        ("trace,events\ntraces/machine.csv,events/events.csv\n", "missing column scenario", "scenario"),
        ("scenario\nscenarios/patient.yaml\n", "missing column trace", "trace"),
        ("trace,scenario\n", "no sessions listed", "manifest"),
        ("", "not valid CSV", "manifest"),
        ('trace,scenario\n"traces/machine.csv,scenarios/patient.yaml\n', "not valid CSV", "manifest"),
        ("trace,scenario\ntraces/machine.csv,scenarios/patient.yaml,extra\n", "not valid CSV", "manifest"),
        (
            "trace,scenario\ntraces/absent.csv,scenarios/patient.yaml\n",
            "line 2: trace file traces/absent.csv does not exist",
            "trace",
        ),
        ("trace,scenario\ntraces/machine.csv\n", "line 2: scenario is empty", "scenario"),
        (
            "trace,scenario,events\ntraces/machine.csv,scenarios/patient.yaml,e.csv\n",
            "line 2: events file e.csv does not exist",
            "events",
        ),
    ],
)
def test_bad_manifest_is_one_line_naming_the_field(folder: Path, text: str, message: str, field: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        parse_manifest(_manifest(folder, text))
    assert caught.value.field == field and "\n" not in caught.value.message


def test_missing_or_folder_manifest(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        parse_manifest(tmp_path / "absent.csv")
    with pytest.raises(InputError, match="is a directory"):
        parse_manifest(tmp_path)


def test_a_file_a_reader_refuses_names_the_manifest_line(folder: Path) -> None:
    (folder / "traces" / "bad.csv").write_text("t_min,sbp_mmhg\n0,abc\n")
    path = _manifest(
        folder,
        "trace,scenario\ntraces/machine.csv,scenarios/patient.yaml\ntraces/bad.csv,scenarios/patient.yaml\n",
    )
    with pytest.raises(InputError, match=r"^manifest manifest.csv line 3: sbp_mmhg: text"):
        read_session_manifest(path)


def test_each_command_adds_its_own_rule(folder: Path) -> None:
    no_events = _manifest(folder, "trace,scenario\ntraces/machine.csv,scenarios/patient.yaml\n")
    with pytest.raises(InputError, match="missing column events") as caught:
        read_training_manifest(no_events)
    assert caught.value.field == "events"
    assert len(read_twin_manifest(no_events)) == 1  # fit: events optional

    other = parse_scenario({**make("osmotic")[1].model_dump(mode="json")})
    (folder / "scenarios" / "other.yaml").write_text(
        (folder / "scenarios" / "patient.yaml").read_text().replace("EX-MACHINE", other.patient.id)
    )
    two = _manifest(
        folder,
        "trace,scenario,events\ntraces/machine.csv,scenarios/patient.yaml,events/events.csv\n"
        "traces/machine.csv,scenarios/other.yaml,\n",
    )
    with pytest.raises(InputError, match="2 patients"):
        read_twin_manifest(two)
    data = read_training_manifest(two)
    assert list(data.cramp) == [1, 0] and list(data.patient_ids) == ["EX-MACHINE", other.patient.id]


def test_written_manifest_reads_back(folder: Path, tmp_path: Path) -> None:
    sessions = read_session_manifest(
        _manifest(
            folder, "trace,scenario,events\ntraces/machine.csv,scenarios/patient.yaml,events/events.csv\n"
        )
    )
    back = read_session_manifest(write_session_manifest(sessions, tmp_path / "out"))
    assert back[0].scenario == sessions[0].scenario and back[0].session_id == "machine"
    assert list(back[0].events["kind"]) == list(sessions[0].events["kind"])
    assert list(back[0].trace.data.columns) == list(sessions[0].trace.data.columns)
