"""DC fits: a synapse or discharger current versus membrane voltage, as a reversal potential.

Over the membrane range the device current is close to linear in the membrane (drain) voltage,
I(V) ≈ I₀ + s·(V − V₀). In the PNN's normalised membrane v = −(V − V₀)/V_th that is

    I(v) = I₀ (1 − β v),   β = s·V_th / I₀,

so the reversal potential is E = 1/β (PAPERS.md §1.1, §1.4: β⁺ = V_th λ_N, β⁻ = −V_th λ_P with
λ = s/I₀ taken at V₀). NMOS synapses (discharging) have s > 0 ⇒ E⁺ > 0; PMOS synapses (charging)
carry a current that falls as V rises, s < 0 ⇒ E⁻ < 0; the discharger gives β_d the same way.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from imcflow.errors import DataError


@dataclass(frozen=True)
class LinearCurrentFit:
    """A least-squares line through I(V) over ``v_range``.

    Attributes:
        i0_A: current magnitude at V₀ (A), i.e. at v = 0.
        lambda_per_V: λ = (dI/dV)/I₀ (1/V), signed.
        beta: normalised β = λ·V_th (E = 1/β); positive for discharging devices.
        max_rel_residual: max |I_fit − I|/|I| over the fitted points.
        v_range: (V_lo, V_hi) of the fit (V).
    """

    i0_A: float
    lambda_per_V: float
    beta: float
    max_rel_residual: float
    v_range: tuple[float, float]

    @property
    def E(self) -> float:
        """Reversal potential 1/β (normalised); ±inf for β = 0."""
        return math.copysign(math.inf, self.beta) if self.beta == 0 else 1.0 / self.beta

    def to_dict(self) -> dict:
        d = asdict(self)
        d["E"] = self.E
        return d


def fit_linear_current(v_mem: np.ndarray, current: np.ndarray, *, v0: float, v_th: float,
                       v_range: tuple[float, float]) -> LinearCurrentFit:
    """Fit I(V) = I₀ + s (V − V₀) to |current| over ``v_range`` (V).

    Args:
        v_mem: membrane (drain) voltages of the sweep (V).
        current: device current at each voltage (A); its sign is ignored.
        v0: reset voltage V₀ (V), where v = 0.
        v_th: normalisation voltage V_th (V).
        v_range: the membrane range used by the circuit (V).
    """
    v = np.asarray(v_mem, dtype=float)
    i = np.abs(np.asarray(current, dtype=float))
    lo, hi = v_range
    m = (v >= lo - 1e-12) & (v <= hi + 1e-12)
    if m.sum() < 3:
        raise DataError(f"DC sweep has {int(m.sum())} points in [{lo:g}, {hi:g}] V; need >= 3")
    A = np.stack([np.ones(m.sum()), v[m] - v0], axis=1)
    (i0, s), *_ = np.linalg.lstsq(A, i[m], rcond=None)
    if i0 <= 0:
        raise DataError(f"DC fit gives a non-positive current at V0 = {v0:g} V")
    fit = A @ np.array([i0, s])
    rel = np.abs(fit - i[m]) / np.maximum(np.abs(i[m]), 1e-30)
    lam = s / i0
    return LinearCurrentFit(i0_A=float(i0), lambda_per_V=float(lam), beta=float(lam * v_th),
                            max_rel_residual=float(rel.max()), v_range=(float(lo), float(hi)))


def valid_range(v_mem: np.ndarray, current: np.ndarray, fit: LinearCurrentFit, *, v0: float,
                tol: float) -> tuple[float, float]:
    """The widest sweep interval (V) around V₀ over which ``fit`` stays within ``tol`` of the
    measured current, relative to the current at V₀: |I_fit(V) − I(V)| ≤ tol · I₀.

    Relative to I₀ because that is the scale of the synapse's weight: an error of tol · I₀ is an
    error of tol in the membrane slope a unit weight gives. Returns (V₀, V₀) if even the sweep
    point nearest V₀ misses.
    """
    v = np.asarray(v_mem, dtype=float)
    i = np.abs(np.asarray(current, dtype=float))
    pred = fit.i0_A * (1.0 + fit.lambda_per_V * (v - v0))
    ok = np.abs(pred - i) <= tol * fit.i0_A
    k0 = int(np.argmin(np.abs(v - v0)))
    if not ok[k0]:
        return (v0, v0)
    lo = k0
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    hi = k0
    while hi < len(v) - 1 and ok[hi + 1]:
        hi += 1
    return (float(v[lo]), float(v[hi]))


def to_normalised(v_volts: float, v0: float, v_th: float) -> float:
    """Membrane voltage (V) as the PNN's normalised v = −(V − V₀)/V_th."""
    return -(v_volts - v0) / v_th


def membrane_range(v0: float, v_th: float, v_lo: float = -0.05, v_hi: float = 1.05
                   ) -> tuple[float, float]:
    """Membrane voltages (V) spanned by normalised v in [v_lo, v_hi]: V = V₀ − V_th v."""
    return (v0 - v_th * v_hi, v0 - v_th * v_lo)
