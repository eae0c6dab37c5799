"""Pelgrom's law for the relative current mismatch of a device: σ = A / √(W·L).

σ is dimensionless (σ(ln I), or σ(I)/I while small), W and L are in µm, so A is in µm (1 % · µm
= 0.01 µm). The fit is through the origin and minimises the *relative* residual (each width
counts the same whether its σ is 2 % or 40 %): A = Σ(x/y) / Σ(x²/y²), x = 1/√(W·L), y = σ.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from imcflow.errors import DataError


def pelgrom_x(w_um: np.ndarray, l_um: float | np.ndarray) -> np.ndarray:
    """1/√(W·L), 1/µm."""
    area = np.asarray(w_um, dtype=float) * np.asarray(l_um, dtype=float)
    if np.any(area <= 0):
        raise DataError("Pelgrom fit: W·L must be positive")
    return 1.0 / np.sqrt(area)


@dataclass(frozen=True)
class PelgromFit:
    """A = ``a_um`` (σ · µm); residuals of the fit relative to the measured σ."""

    a_um: float
    rel_residual_rms: float      # RMS of (fit − measured)/measured over the widths
    rel_residual_max: float      # largest |fit − measured|/measured
    n_points: int

    def predict(self, w_um: np.ndarray, l_um: float | np.ndarray) -> np.ndarray:
        """σ the fit gives for W × L (µm)."""
        return self.a_um * pelgrom_x(w_um, l_um)

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def fit_pelgrom(w_um: np.ndarray, l_um: float | np.ndarray, sigma_rel: np.ndarray) -> PelgromFit:
    """Fit σ = A/√(W·L) (see the module doc); ``sigma_rel`` dimensionless (fractions)."""
    x = pelgrom_x(w_um, l_um)
    y = np.asarray(sigma_rel, dtype=float)
    if x.shape != y.shape or x.size < 1:
        raise DataError("Pelgrom fit: need one σ per width, at least one")
    if not np.all(np.isfinite(y)) or np.any(y <= 0):
        raise DataError("Pelgrom fit: every σ must be finite and positive")
    a = float(np.sum(x / y) / np.sum(x ** 2 / y ** 2))
    rel = (a * x - y) / y
    return PelgromFit(a_um=a, rel_residual_rms=float(np.sqrt(np.mean(rel ** 2))),
                      rel_residual_max=float(np.max(np.abs(rel))), n_points=int(x.size))


def sigma_ci(sigma: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of a standard deviation ``sigma`` estimated from ``n`` normal samples
    (χ² with n − 1 degrees of freedom); same unit as ``sigma``."""
    if n < 2:
        return float("nan"), float("nan")
    dof = n - 1
    lo_q, hi_q = stats.chi2.ppf([(1 + level) / 2, (1 - level) / 2], dof)
    return float(sigma * np.sqrt(dof / lo_q)), float(sigma * np.sqrt(dof / hi_q))
