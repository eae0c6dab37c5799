"""Observables from transient waveforms: output spike times, membrane traces, supply charge.

Conventions (RC-Spike, DESIGN.md):

* output spike of neuron i of layer k = first rising crossing of ``v(<layer>_out<i>)`` through
  VDD/2 inside layer k's fire phase, linearly interpolated between the two samples around it;
* normalised spike time ``t = (t_cross − t_fire,k) / T`` ∈ [0, 1];
* no crossing inside the fire phase ⇒ the neuron did not fire: ``fired = False`` and ``t = 1.0``
  (clipped to the end of the window, the PNN's convention for RC-Spike);
* membrane: ``v(<layer>_mem<i>)`` linearly resampled on a fixed grid over the layer's accumulate
  and fire phases, normalised time τ ∈ [0, 2] (0 = start of accumulate, 1 = start of fire);
* supply charge ``Q = ∫ −i(vdd) dt`` over the whole run (C; ngspice's ``i(vdd)`` is negative when
  the supply delivers current), energy = VDD · Q (J).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imcflow.netlist.testbench import phase_times
from imcflow.sim.engines import SimResult
from imcflow.spec import DesignSpec


@dataclass
class LayerObservables:
    """One layer of one run."""

    t_out: np.ndarray  # [n_out] normalised spike time in [0, 1] (1 = did not fire)
    fired: np.ndarray  # [n_out] bool
    mem: np.ndarray | None  # [n_out, G] membrane voltage, V, on the grid (None if not saved)


def rising_crossing(t: np.ndarray, v: np.ndarray, level: float, t_lo: float,
                    t_hi: float) -> float | None:
    """Time (s) of the first rising crossing of ``level`` by ``v(t)`` inside [t_lo, t_hi],
    linearly interpolated; None if there is none. A waveform already above ``level`` at ``t_lo``
    counts as crossing at ``t_lo`` only if it rose there (a sample below level just before)."""
    t = np.asarray(t, dtype=float)
    v = np.asarray(v, dtype=float)
    above = v >= level
    # index k: sample k-1 below, sample k at/above
    idx = np.nonzero(above[1:] & ~above[:-1])[0] + 1
    for k in idx:
        t0, t1, v0, v1 = t[k - 1], t[k], v[k - 1], v[k]
        tc = t1 if v1 == v0 else t0 + (level - v0) * (t1 - t0) / (v1 - v0)
        if tc > t_hi:
            return None
        if tc >= t_lo:
            return float(tc)
    return None


def membrane_grid(n_grid: int) -> np.ndarray:
    """Normalised membrane time grid τ ∈ [0, 2] (accumulate then fire) with ``n_grid`` points."""
    if n_grid < 2:
        raise ValueError("n_grid must be >= 2")
    return np.linspace(0.0, 2.0, n_grid)


def layer_observables(spec: DesignSpec, res: SimResult, k: int,
                      n_grid: int | None = 201) -> LayerObservables:
    """Spike times, fired flags and (if ``n_grid``) membrane traces of layer ``k``."""
    layer = spec.layers[k]
    ph = phase_times(spec, k)
    t = res["time"]
    level = spec.vdd / 2.0
    t_out = np.ones(layer.n_out)
    fired = np.zeros(layer.n_out, dtype=bool)
    for i in range(layer.n_out):
        tc = rising_crossing(t, res[f"v({layer.name}_out{i})"], level, ph.fire, ph.end)
        if tc is not None:
            t_out[i] = min(max((tc - ph.fire) / spec.T, 0.0), 1.0)
            fired[i] = True
    mem = None
    if n_grid:
        grid_abs = ph.accumulate + membrane_grid(n_grid) * spec.T
        mem = np.stack([np.interp(grid_abs, t, res[f"v({layer.name}_mem{i})"])
                        for i in range(layer.n_out)])
    return LayerObservables(t_out=t_out, fired=fired, mem=mem)


def supply_charge(res: SimResult) -> float:
    """Charge drawn from VDD over the run, C (``∫ −i(vdd) dt``, trapezoidal)."""
    t, i = res["time"], res["i(vdd)"]
    return float(-np.sum(0.5 * (i[1:] + i[:-1]) * np.diff(t)))


def observables(spec: DesignSpec, res: SimResult,
                n_grid: int | None = 201) -> tuple[list[LayerObservables], float]:
    """Every layer's observables and the supply charge (C) of one run."""
    return ([layer_observables(spec, res, k, n_grid) for k in range(len(spec.layers))],
            supply_charge(res))
