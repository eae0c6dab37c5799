"""Fidelity metrics of DESIGN.md: spike-time and membrane errors of a model against SPICE."""

from __future__ import annotations

import numpy as np


def spike_time_errors(t_model: np.ndarray, t_spice: np.ndarray, T_s: float,
                      mask: np.ndarray | None = None) -> dict[str, float]:
    """RMS, median |e|, p95 |e| and max |e| of (t_model − t_spice), in ns and in % of T.

    Times are normalised to the phase length ``T_s`` (s); ``mask`` selects the entries compared
    (default: both finite).
    """
    tm, ts = np.asarray(t_model, dtype=float), np.asarray(t_spice, dtype=float)
    m = np.isfinite(tm) & np.isfinite(ts)
    if mask is not None:
        m &= np.asarray(mask, dtype=bool)
    e = tm[m] - ts[m]
    if e.size == 0:
        return {"n": 0, "rms_ns": float("nan"), "rms_pct_T": float("nan"),
                "median_ns": float("nan"), "p95_ns": float("nan"), "max_ns": float("nan")}
    ae = np.abs(e)
    rms = float(np.sqrt(np.mean(e ** 2)))
    return {"n": int(e.size), "rms_ns": rms * T_s * 1e9, "rms_pct_T": 100 * rms,
            "median_ns": float(np.median(ae)) * T_s * 1e9,
            "p95_ns": float(np.percentile(ae, 95)) * T_s * 1e9,
            "max_ns": float(ae.max()) * T_s * 1e9, "bias_ns": float(e.mean()) * T_s * 1e9}


#: Output times closer than this (normalised) are a tie.
TIE_TOL = 1e-9


def ttfs_accuracy(t_out: np.ndarray, labels: np.ndarray) -> float:
    """Classification accuracy of time-to-first-spike outputs: the predicted class of a sample
    is its earliest output spike (``argmin`` over [N, n_classes] normalised times; pass t = 1
    for a neuron that did not fire). A sample whose earliest time is shared by several outputs
    (within :data:`TIE_TOL` — saturated outputs that all fire at the start of the fire phase,
    or none firing) is not classified: it counts as wrong, since in silicon the tie is broken
    by noise, not by an output's index."""
    t, y = np.asarray(t_out, dtype=float), np.asarray(labels)
    if t.ndim != 2 or y.shape != (t.shape[0],):
        raise ValueError(f"t_out must be [N, classes] and labels [N]; got {t.shape}, {y.shape}")
    first = t.min(axis=1, keepdims=True)
    unique = (t <= first + TIE_TOL).sum(axis=1) == 1
    return float(np.mean((np.argmin(t, axis=1) == y) & unique))
