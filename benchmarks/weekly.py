"""Timing of the weekly urea-kinetics model: ``python3 benchmarks/weekly.py``.

Prints the mean time of one :func:`crampwatch.weekly.simulate_week` call per model, and the errors against
the 149 golden cases of T. W. Meyer's simulator (crampwatch/validation/data/dialsim-meyer-cases.csv).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from crampwatch.weekly import simulate_week

BASE = dict(
    duration_h=4, qb_ml_min=400, qd_ml_min=600, koa_ml_min=1000, hct_pct=33, generation_mg_day=8000, v_l=36
)
CASES = Path(__file__).resolve().parents[1] / "crampwatch" / "validation" / "data" / "dialsim-meyer-cases.csv"


def _time(repeats: int = 200, **kw: object) -> float:
    simulate_week(**{**BASE, **kw})
    t0 = time.perf_counter()
    for _ in range(repeats):
        simulate_week(**{**BASE, **kw})
    return (time.perf_counter() - t0) / repeats * 1e3


def main() -> None:
    print(f"single_pool            {_time():7.3f} ms/call")
    print(f"variable_volume (UF)   {_time(model='variable_volume', fluid_gain_l_day=1.5):7.3f} ms/call")
    print(f"two_pool               {_time(model='two_pool'):7.3f} ms/call")
    print(f"two_pool (UF)          {_time(50, model='two_pool', fluid_gain_l_day=1.5):7.3f} ms/call")
    df = pd.read_csv(CASES)
    rows = []
    for _, r in df.iterrows():
        w = simulate_week(
            duration_h=r.duration,
            qb_ml_min=r.bloodflow,
            qd_ml_min=r.dialysateflow,
            koa_ml_min=r.koa,
            hct_pct=r.hematocrit,
            generation_mg_day=r.generationrate,
            v_l=r.volumeofdist,
            kr_ml_min=0.0 if pd.isna(r.endogenousclearance) else r.endogenousclearance,
        )
        rows.append((w.avg_clearance_ml_min, w.tac_mg_dl, w.avg_peak_mg_dl))
    got = np.array(rows)
    for j, col in enumerate(("avgclearance", "timeavgconc", "avgpeakconc")):
        rel = np.abs(got[:, j] / df[col].to_numpy() - 1.0)
        print(f"{col:13s} vs Meyer: median {np.median(rel) * 100:.2f} %, max {rel.max() * 100:.2f} %")


if __name__ == "__main__":
    main()
