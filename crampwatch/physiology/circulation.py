"""Lumped circulation with a baroreflex (a reduced Ursino & Innocenti 1997 / Lim 2008 type model).

Blood volume above the unstressed volume sets the mean systemic filling pressure (``Pms = Vs/C``); venous
return ``CO = (Pms - Pra)/Rvr`` meets a linear Frank-Starling heart ``CO = HR E k Pra``; ``MAP = CO TPR +
Pra``. The baroreflex acts in seconds, i.e. instantly on the time scale of a session, so its activation
``s`` is the solution of ``s = tanh(a (MAP_set - MAP(s)))`` (Newton iterations, warm-started). Activation
raises resistance, heart rate, contractility and mobilises unstressed (venous) volume. Contractility scales
with ionized Ca; core temperature above its pre-dialysis value dilates resistance and capacitance vessels.
Pulse pressure scales with stroke volume.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

#: Circulation state solved by :func:`circulation` (pressures mmHg, HR 1/min, CO L/min, TPR mmHg min/L,
#: baroreflex activation ``s`` dimensionless).
Circulation = namedtuple("Circulation", ("map", "sbp", "dbp", "hr", "co", "pms", "tpr", "s"))


def fast_tanh(x: Any) -> Any:
    """``tanh`` through one ``expm1`` (about two thirds the cost of ``tanh`` in compiled code; exact to
    round-off), saturated beyond |x| = 20 where tanh is 1 to double precision."""
    e = np.expm1(-2.0 * np.minimum(np.abs(x), 20.0))
    return -np.copysign(1.0, x) * e / (e + 2.0)


def circulation(p: Any, bv: Any, ica_rel: Any, temp_dev: Any, s0: Any, n_iter: int) -> Circulation:
    """Solve the baroreflex and return pressures (mmHg), HR (1/min), CO (L/min), Pms and activation ``s``."""
    theta_v = 1.0 + p.g_temp_v * temp_dev
    log_ica = np.log(ica_rel)
    cf = np.exp(p.ca_exp * log_ica)  # contractility, ica_rel ** ca_exp
    # resistance: tpr0 exp(g_r s) x arteriolar tone ica_rel ** ca_tone_exp x warm dilation exp(-g_temp_r dT),
    # one exponential (the hot loop's cost is its transcendental calls)
    log_tone = p.ca_tone_exp * log_ica - p.g_temp_r * temp_dev
    vu_t = p.vu0 * theta_v
    s = s0
    i = 0
    while True:
        tpr = p.tpr0 * np.exp(p.g_r * s + log_tone)
        hr = p.hr0 * (1.0 + p.g_hr * s)
        e = (1.0 + p.g_e * s) * cf
        vs = bv - vu_t * (1.0 - p.g_v * s)
        root = np.sqrt(vs * vs + p.vs_eps * p.vs_eps)
        pms = 0.5 * (vs + root) / p.c_sys
        q = hr * e * p.k_fs
        rt = p.r_vr + 1.0 / q
        co = pms / rt
        pra = co / q
        mp = co * tpr + pra
        if i == n_iter:
            break
        th = fast_tanh(p.baro_a * (p.map_set - mp))
        dpms = 0.5 * (1.0 + vs / root) * vu_t * p.g_v / p.c_sys
        dq = p.k_fs * (p.hr0 * p.g_hr * e + hr * p.g_e * cf)
        drt = -dq / (q * q)
        dco = dpms / rt - pms * drt / (rt * rt)
        dmp = dco * tpr + co * tpr * p.g_r + dco / q - co * dq / (q * q)
        s = s - (s - th) / (1.0 + p.baro_a * (1.0 - th * th) * dmp)
        s = np.minimum(np.maximum(s, -0.99), 0.99)
        i += 1
    pp = p.pp0 * (co / hr) / p.sv0
    return Circulation(mp, mp + pp * (2.0 / 3.0), mp - pp / 3.0, hr, co, pms, tpr, s)
