"""Trace/event readers and writers, HEMOBP mapping, data-quality report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_traces import make

from crampwatch.errors import InputError
from crampwatch.io.traces import read_events, read_hemobp, read_trace, write_trace
from crampwatch.trace import Trace
from crampwatch.units import BUN_MG_DL_PER_UREA_MMOL_L


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_round_trip_keeps_values_and_sources(tmp_path: Path, ext: str) -> None:
    trace, _ = make("osmotic")
    trace.sources["plasma_na_mmol_l"] = "estimated"
    trace.sources["rbv_pct"] = "simulated"
    path = write_trace(trace, tmp_path / f"s.{ext}")
    back, report = read_trace(path)
    assert report.ok and report.n_rows_used == len(trace.data)
    for c in trace.signals:
        np.testing.assert_allclose(back.data[c].to_numpy(), trace.data[c].to_numpy(), rtol=1e-12)
    assert back.sources["plasma_na_mmol_l"] == "estimated"
    assert back.sources["rbv_pct"] == "simulated"
    assert back.sources["sbp_mmhg"] == "measured"
    assert "source" in pd.read_csv(path).columns if ext == "csv" else True


def test_uniform_source_column_and_override(tmp_path: Path) -> None:
    df = pd.DataFrame({"t_min": [0, 1, 2], "sbp_mmhg": [140, 138, 135], "source": ["simulated"] * 3})
    df.to_csv(tmp_path / "a.csv", index=False)
    assert read_trace(tmp_path / "a.csv")[0].sources["sbp_mmhg"] == "simulated"
    assert read_trace(tmp_path / "a.csv", source="measured")[0].sources["sbp_mmhg"] == "measured"


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_unsorted_and_duplicated_times_are_fixed_and_reported(tmp_path: Path) -> None:
    p = _write(tmp_path, "t_min,sbp_mmhg\n0,140\n20,130\n10,135\n20,129\n30,128\n")
    trace, report = read_trace(p)
    assert trace.t_min.tolist() == [0, 10, 20, 30]
    assert trace.data["sbp_mmhg"].tolist() == [140, 135, 130, 128]  # first of the duplicates kept
    msgs = " | ".join(report.messages())
    assert "not in increasing order" in msgs and "row 3" in msgs
    assert "duplicated time" in msgs and "row 4" in msgs
    assert report.dropped_rows == [4]


def test_impossible_values_are_dropped_with_row_and_column(tmp_path: Path) -> None:
    p = _write(tmp_path, "t_min,sbp_mmhg,plasma_na_mmol_l\n0,140,138\n10,900,137\n20,130,30\n")
    trace, report = read_trace(p)
    assert np.isnan(trace.data["sbp_mmhg"].iloc[1]) and np.isnan(trace.data["plasma_na_mmol_l"].iloc[2])
    msgs = report.messages()
    assert any("column sbp_mmhg, row 2" in m and "impossible" in m for m in msgs)
    assert any("column plasma_na_mmol_l, row 3" in m for m in msgs)
    assert report.n_rows_used == 3


def test_unit_mix_ups_are_converted_and_reported(tmp_path: Path) -> None:
    text = (
        "t_min,uf_cum_l,rbv_pct,urea_mmol_l,ica_mmol_l,uf_rate_ml_h\n"
        "0,0,100,21,1.2,750\n"
        "60,750,0.96,150,4.6,0.75\n"
        "120,1.5,93,12,1.15,750\n"
    )
    trace, report = read_trace(_write(tmp_path, text))
    d = trace.data
    assert d["uf_cum_l"].tolist() == pytest.approx([0, 0.75, 1.5])
    assert d["rbv_pct"].tolist() == pytest.approx([100, 96, 93])
    assert d["urea_mmol_l"].iloc[1] == pytest.approx(150 / BUN_MG_DL_PER_UREA_MMOL_L)
    assert d["ica_mmol_l"].iloc[1] == pytest.approx(4.6 / 4.008)
    assert d["uf_rate_ml_h"].tolist() == pytest.approx([750, 750, 750])
    msgs = " | ".join(report.messages())
    for col in ("uf_cum_l", "rbv_pct", "urea_mmol_l", "ica_mmol_l", "uf_rate_ml_h"):
        assert f"column {col}, row 2: unit mix-up" in msgs


def test_bad_input_raises_one_line_input_errors(tmp_path: Path) -> None:
    cases = {
        "empty": ("", "empty"),
        "no_t": ("time,sbp_mmhg\n0,140\n", "t_min"),
        "text": ("t_min,sbp_mmhg\n0,140\n5,high\n", "sbp_mmhg"),
        "negative": ("t_min,sbp_mmhg\n-5,140\n0,138\n", "negative"),
        "header_only": ("t_min,sbp_mmhg\n", "no data rows"),
    }
    for name, (text, needle) in cases.items():
        with pytest.raises(InputError) as exc:
            read_trace(_write(tmp_path, text, f"{name}.csv"))
        assert needle in str(exc.value) and "\n" not in str(exc.value), name
    with pytest.raises(InputError, match="row 2"):
        read_trace(_write(tmp_path, "t_min,sbp_mmhg\n0,140\n5,high\n", "x.csv"))
    with pytest.raises(InputError, match="extension"):
        read_trace(_write(tmp_path, "t_min\n0\n", "x.xlsx"))


def test_lenient_mode_drops_what_is_invalid(tmp_path: Path) -> None:
    p = _write(tmp_path, "t_min,sbp_mmhg\n-5,150\n0,140\n5,high\n10,130\n")
    trace, report = read_trace(p, strict=False)
    assert trace.t_min.tolist() == [0, 5, 10]
    assert np.isnan(trace.data["sbp_mmhg"].iloc[1])
    assert report.dropped_rows == [1]
    assert any("text in a numeric column" in m for m in report.messages())


def test_too_many_rows(tmp_path: Path) -> None:
    p = tmp_path / "big.csv"
    n = 1_000_000
    with p.open("w") as fh:
        fh.write("t_min\n")
        fh.write("\n".join(["1"] * n))
    with pytest.raises(InputError, match="rows"):
        read_trace(p)


def test_events_csv_and_json(tmp_path: Path) -> None:
    p = _write(tmp_path, "t_min,kind,severity,note\n150,cramp,6,left calf\n90,uf_stopped,,\n", "e.csv")
    ev = read_events(p)
    assert ev["kind"].tolist() == ["uf_stopped", "cramp"]
    assert ev["severity"].iloc[1] == 6
    j = tmp_path / "e.json"
    j.write_text(json.dumps([{"t_min": 30, "kind": "cramp"}]))
    assert read_events(j)["t_min"].tolist() == [30.0]
    with pytest.raises(InputError, match="events.kind"):
        read_events(_write(tmp_path, "t_min,kind\n10,headache\n", "bad.csv"))
    with pytest.raises(InputError, match="events.t_min"):
        read_events(_write(tmp_path, "t_min,kind\n-1,cramp\n", "bad2.csv"))


def test_hemobp_mapping(tmp_path: Path) -> None:
    text = (
        "pid,datatime,measuretime,sbp,dbp,dia_temp_value,conductivity,uf,blood_flow,time\n"
        "7,2015-01-05 08:00,08:00,150,80,36.5,14.0,0.8,280,0\n"
        "7,2015-01-05 08:30,08:30,140,76,36.5,14.0,0.8,280,30\n"
        "7,2015-01-05 09:00,09:00,128,70,36.5,13.8,0.8,280,60\n"
        "8,2015-01-06 08:00,08:00,120,70,36.5,14.0,0.5,250,0\n"
    )
    trace, report = read_hemobp(_write(tmp_path, text, "vip.csv"))
    d = trace.data
    assert d["t_min"].tolist() == [0, 30, 60]
    assert d["uf_rate_ml_h"].tolist() == pytest.approx([800, 800, 800])
    assert d["qb_ml_min"].iloc[0] == 280 and d["dialysate_temp_c"].iloc[0] == 36.5
    assert d["dialysate_na_mmol_l"].tolist() == pytest.approx([139.0, 139.0, 137.0])
    assert d["uf_cum_l"].iloc[-1] == pytest.approx(0.8)
    assert trace.sources["dialysate_na_mmol_l"] == "estimated" and trace.sources["sbp_mmhg"] == "measured"
    assert any("2 sessions" in m for m in report.messages())


def test_read_trace_feeds_the_analyzer(tmp_path: Path) -> None:
    from crampwatch.causes import assess

    trace, sc = make("hypovolemia")
    path = write_trace(trace, tmp_path / "h.parquet")
    back, _ = read_trace(path)
    assert isinstance(back, Trace) and back.session_id == "h"
    assert assess(back, sc, fill_missing=False).top_cause.cause == "hypovolemia"


def test_columns_named_in_other_units_are_converted(tmp_path: Path) -> None:
    p = _write(tmp_path, "T_H,UF_CUM_ML,bun_mg_dl\n0,0,60\n1,800,40\n2,1600,25\n")
    trace, report = read_trace(p)
    assert trace.t_min.tolist() == [0, 60, 120]
    assert trace.data["uf_cum_l"].tolist() == pytest.approx([0, 0.8, 1.6])
    assert trace.data["urea_mmol_l"].tolist() == pytest.approx(
        [60 / BUN_MG_DL_PER_UREA_MMOL_L, 40 / BUN_MG_DL_PER_UREA_MMOL_L, 25 / BUN_MG_DL_PER_UREA_MMOL_L]
    )
    assert sum("in other units" in m for m in report.messages()) == 3
