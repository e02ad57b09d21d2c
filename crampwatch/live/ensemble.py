"""The filter's ensemble: plausible versions of the patient, each with its own twin parameters and model
state, advanced together on the compiled kernel and corrected by every observation.

Members start from the patient twin's fitted distribution (its Laplace posterior of the log multiples of
refill capacity, vascular reserve and blood volume) or, without a twin, from the population prior of the
same parameters (:data:`crampwatch.twin.priors.FITTED`); member 0 is the central value. Each member also
carries an additive offset of its systolic BP (the session's BP level; the twin fit's per-session offset).

Assimilation is the serial ensemble adjustment Kalman filter (Anderson JL, Mon Weather Rev 2001;129:2884):
for each scalar observation the predicted observations are moved deterministically to the Gaussian posterior
and every filtered quantity (plasma, interstitial and cell water, log refill capacity, log vascular reserve,
BP offset, and the predicted values of the later observations) moves by its ensemble regression on that
observation. Refill capacity, vascular reserve, plasma volume and the BP offset also take a small random walk
between observations (model error; seeded, so replaying the same calls gives the same ensemble). Blood volume
stays at each member's draw: it sets the RBV denominator and the protein mass, which the model holds fixed
within a session.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from crampwatch.model import Scenario, with_changes
from crampwatch.physiology.model import IDX, OUTPUTS
from crampwatch.physiology.parameters import P
from crampwatch.signals import RBV_PCT, SBP_MMHG
from crampwatch.simulator import patient_parameters
from crampwatch.simulator.stepping import parameter_table, start_states
from crampwatch.twin import PatientTwin
from crampwatch.twin.fit import apply_multipliers
from crampwatch.twin.priors import FITTED, OBSERVED

_SBP_OBS = next(s for s in OBSERVED if s.name == SBP_MMHG)
#: Rows of the filtered vector: the member's blood volume as % of its start (its modelled RBV; the plasma
#: volume is its state), log refill capacity, log vascular reserve and the BP offset. Volumes are filtered
#: relative to each member's own start: members differ in blood volume, so absolute volumes would mix
#: their levels into the regressions.
FILTERED = ("blood_volume_pct", "log_refill_capacity", "log_vascular_reserve", "sbp_offset_mmhg")
N_FILTERED = len(FILTERED)
#: What each observation may correct (localization against spurious ensemble correlations, Houtekamer &
#: Mitchell, Mon Weather Rev 1998;126:796): RBV the plasma volume and the refill capacity; systolic BP the
#: vascular reserve and the BP offset (RBV measures the volume far more closely than a cuff).
CORRECTS: dict[str, tuple[str, ...]] = {
    RBV_PCT: ("blood_volume_pct", "log_refill_capacity"),
    SBP_MMHG: ("log_vascular_reserve", "sbp_offset_mmhg"),
}
J_RBV = OUTPUTS.index(RBV_PCT)
J_SBP = OUTPUTS.index(SBP_MMHG)
_LOG_LOWER = np.log([p.lower for p in FITTED])
_LOG_UPPER = np.log([p.upper for p in FITTED])


@dataclass(frozen=True)
class FilterSettings:
    """Ensemble size, BP-offset prior and model-error random walks of the filter (modelling choices; the
    random-walk sizes were chosen on the training patients of ``benchmarks/warning.py``)."""

    members: int = 32
    #: Prior SD of the session's systolic BP offset, mmHg: the twin fit's per-session offset when the
    #: scenario has a pre-dialysis SBP, else the spread of pre-dialysis SBP between patients (modelling
    #: choice).
    sbp_offset_sd_known_mmhg: float = _SBP_OBS.offset_sd
    sbp_offset_sd_unknown_mmhg: float = 20.0
    #: Random-walk SDs per square-root minute.
    refill_log_sd: float = 0.01
    reserve_log_sd: float = 0.005
    blood_volume_sd_pct: float = 0.1
    sbp_offset_sd_mmhg: float = 0.5


def draw_thetas(twin: PatientTwin | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws [n, 3] of the log multiples of :data:`FITTED` (row 0: the central value), clipped to the
    fitting bounds."""
    if twin is not None:
        mean, cov = np.asarray(twin.log_mean, dtype=float), np.asarray(twin.log_cov, dtype=float)
    else:
        mean = np.zeros(len(FITTED))
        cov = np.diag([p.prior_log_sd**2 for p in FITTED])
    draws = rng.multivariate_normal(mean, cov, size=max(n - 1, 0), method="eigh")
    return np.clip(np.vstack([mean[None, :], draws]), _LOG_LOWER, _LOG_UPPER)


def member_scenario(scenario: Scenario, twin: PatientTwin | None, theta: np.ndarray) -> Scenario:
    """The scenario of a member with log multiples ``theta`` (with a twin: its personal critical RBV and Na
    set point too)."""
    if twin is None:
        return apply_multipliers(scenario, np.exp(theta))
    patient = twin.personalize_patient(scenario.patient, np.exp(theta))
    return with_changes(scenario, patient=patient)


class Ensemble:
    """The members' parameters (a structured table), states [N_STATES, n], baroreflex warm starts [n], log
    multiples [n, 3] and BP offsets [n]."""

    def __init__(
        self, scenario: Scenario, twin: PatientTwin | None, settings: FilterSettings, rng: np.random.Generator
    ) -> None:
        self.settings = settings
        self.rng = rng
        self.theta = draw_thetas(twin, settings.members, rng)
        members = [member_scenario(scenario, twin, th) for th in self.theta]
        params = patient_parameters(members)
        self.table = parameter_table(params)
        self.y, self.s = start_states(params)
        offset_sd = (
            settings.sbp_offset_sd_known_mmhg
            if scenario.patient.pre_sbp_mmhg is not None
            else settings.sbp_offset_sd_unknown_mmhg
        )
        self.sbp_offset = np.concatenate([[0.0], rng.normal(0.0, offset_sd, settings.members - 1)])
        # parameter parts that do not change with the filtered multiples
        self._kf_unit = P["lps_ml_min_mmhg"] / 1000.0
        self._dp0_sum = self.table["dp0"] + self.table["lymph0"] / self.table["kf"]
        reserve = np.exp(self.theta[:, 1])
        self._baro_a_unit = self.table["baro_a"] / reserve
        self._baro_strength_unit = self.table["baro_strength"] / reserve

    @property
    def n(self) -> int:
        return int(self.theta.shape[0])

    def apply_theta(self) -> None:
        """Write the members' refill capacity and vascular reserve into their parameters."""
        self.theta = np.clip(self.theta, _LOG_LOWER, _LOG_UPPER)
        kf = self._kf_unit * np.exp(self.theta[:, 0])
        self.table["kf"] = kf
        self.table["dp0"] = self._dp0_sum - self.table["lymph0"] / kf
        reserve = np.exp(self.theta[:, 1])
        self.table["baro_a"] = self._baro_a_unit * reserve
        self.table["baro_strength"] = self._baro_strength_unit * reserve

    def random_walk(self, minutes: float) -> None:
        """Model error over ``minutes``: random walks of refill, reserve, plasma volume and BP offset."""
        if minutes <= 0:
            return
        st = self.settings
        root = math.sqrt(minutes)
        z = self.rng.standard_normal((4, self.n))
        self.theta[:, 0] += st.refill_log_sd * root * z[0]
        self.theta[:, 1] += st.reserve_log_sd * root * z[1]
        self._set_blood_volume_pct(self._blood_volume_pct() + st.blood_volume_sd_pct * root * z[2])
        self.sbp_offset += st.sbp_offset_sd_mmhg * root * z[3]
        self.apply_theta()

    def _blood_volume_pct(self) -> np.ndarray:
        return 100.0 * (self.y[IDX["v_pl"]] + self.table["v_rbc"]) / self.table["bv0"]

    def _set_blood_volume_pct(self, pct: np.ndarray) -> None:
        v_pl = pct / 100.0 * self.table["bv0"] - self.table["v_rbc"]
        self.y[IDX["v_pl"]] = np.maximum(v_pl, 0.2 * self.y[IDX["v_pl"]])

    def filtered(self) -> np.ndarray:
        """The filtered vector of every member [N_FILTERED, n]."""
        return np.vstack([self._blood_volume_pct(), self.theta[:, 0], self.theta[:, 1], self.sbp_offset])

    def set_filtered(self, z: np.ndarray) -> None:
        self._set_blood_volume_pct(z[0])
        self.theta[:, 0], self.theta[:, 1], self.sbp_offset = z[1], z[2], z[3]
        self.apply_theta()

    def predicted(self, outputs_now: np.ndarray, name: str) -> np.ndarray:
        """Each member's value of an assimilated signal at the current time (outputs [n, N_OUTPUTS])."""
        if name == RBV_PCT:
            return outputs_now[:, J_RBV].copy()
        return outputs_now[:, J_SBP] + self.sbp_offset

    def assimilate(self, outputs_now: np.ndarray, observed: dict[str, tuple[float, float]]) -> None:
        """Serial EAKF update with ``observed`` = {signal: (value, measurement SD)}."""
        if not observed:
            return
        names = list(observed)
        z = np.vstack([self.filtered(), *[self.predicted(outputs_now, name)[None, :] for name in names]])
        for k, name in enumerate(names):
            value, sd = observed[name]
            rows = [FILTERED.index(q) for q in CORRECTS[name]] + list(range(N_FILTERED, z.shape[0]))
            eakf_update(z, N_FILTERED + k, value, sd * sd, np.array(rows))
        self.set_filtered(z[:N_FILTERED])


def eakf_update(z: np.ndarray, row: int, value: float, obs_var: float, rows: np.ndarray) -> None:
    """One scalar observation of row ``row`` of ``z`` [quantities, members]; corrects ``rows`` (in place;
    Anderson 2001)."""
    y = z[row]
    n = y.shape[0]
    mean = float(y.mean())
    dev = y - mean
    var = float(dev @ dev) / (n - 1)
    if not (var > 1e-12 and math.isfinite(var)):
        return
    post_var = 1.0 / (1.0 / var + 1.0 / obs_var)
    post_mean = post_var * (mean / var + value / obs_var)
    dy = post_mean + math.sqrt(post_var / var) * dev - y
    anomalies = z[rows] - z[rows].mean(axis=1, keepdims=True)
    regression = anomalies @ dev / (n - 1) / var
    z[rows] += regression[:, None] * dy[None, :]
