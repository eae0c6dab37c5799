"""Transient testbenches: phase clocks, PWL input spikes and a supply-current probe.

Timing (layer k = 0, 1, …; phase length T; all layers pipelined as in the paper):

* reset  : ``[0, (k+1)T)`` — every layer is held in reset until its accumulate phase starts;
* accumulate : ``[(k+1)T, (k+2)T)`` — layer 0's inputs are the testbench spikes; layer k+1's
  inputs are layer k's outputs, produced during layer k's fire phase;
* fire   : ``[(k+2)T, (k+3)T)``; output spike time (normalised) = (t_cross − (k+2)T)/T.

An input spike at normalised time t ∈ [0, 1) is a step whose 50 % point is at T(1 + t), high until
the end of the accumulate phase (2T); t ≥ 1 or +inf means "no spike". Every PWL source has the
same number of points whatever the pattern, so a long-lived ngspice can ``alter`` them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from imcflow import pdk
from imcflow.errors import SpecError
from imcflow.netlist.cells import network_ports, network_subckts
from imcflow.netlist.format import fmt
from imcflow.netlist.models import model_lines, title_suffix
from imcflow.spec import DesignSpec

#: Points per stimulus PWL (fixed, so sources can be altered in place).
PWL_POINTS = 5
#: Maximum time step as a fraction of T, and the transient options. Measured on the demo against a
#: reference at reltol=1e-5, tmax=0.1 ns: the default reltol=1e-3 moves spike times by 4 ns RMS
#: whatever tmax; reltol=1e-4 with Gear integration gives 0.1 ns RMS at tmax = T/100 with fewer
#: time points than the default did at T/500.
TMAX_FRACTION = 1.0 / 100.0
TRAN_OPTIONS = ".options reltol=1e-4 method=gear"


@dataclass(frozen=True)
class PhaseTimes:
    """Absolute phase boundaries of one layer, s."""

    accumulate: float
    fire: float
    end: float


def phase_times(spec: DesignSpec, k: int) -> PhaseTimes:
    """Phase boundaries of layer ``k`` (0-based)."""
    T = spec.T
    return PhaseTimes(accumulate=(k + 1) * T, fire=(k + 2) * T, end=(k + 3) * T)


def t_stop(spec: DesignSpec) -> float:
    """End of the last layer's fire phase, s."""
    return phase_times(spec, len(spec.layers) - 1).end


def _pwl_text(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{fmt(t)} {fmt(v)}" for t, v in points)


def spike_pwl(spec: DesignSpec, t_norm: float, inverted: bool = False) -> list[tuple[float, float]]:
    """PWL points (s, V) of one input spike line of layer 0 (``inverted``: the ``inb`` line)."""
    T, e, vdd = spec.T, spec.t_edge, spec.vdd
    lo, hi = (vdd, 0.0) if inverted else (0.0, vdd)
    if math.isnan(t_norm) or t_norm < 0:
        raise SpecError(f"input spike time {t_norm} must be >= 0 (or inf for no spike)")
    if t_norm >= 1.0:  # no spike: keep the shape (5 points), stay low
        return [(0.0, lo), (T, lo), (T + e, lo), (2 * T, lo), (2 * T + e, lo)]
    t_abs = T * (1.0 + t_norm)
    # the edge never starts at t = 0 (DC operating point) and ends an edge before the phase
    # does (a spike at t_norm > 1 − e/2T would otherwise give ngspice non-monotonic PWL times)
    t_on = min(max(t_abs - e / 2, e), 2 * T - 2 * e)
    return [(0.0, lo), (t_on, lo), (t_on + e, hi), (2 * T, hi), (2 * T + e, lo)]


def stimuli(spec: DesignSpec, pattern: np.ndarray) -> dict[str, list[tuple[float, float]]]:
    """PWL points of every input source (``vin<j>``, ``vinb<j>``) for one input pattern of
    normalised spike times [n_inputs]."""
    pattern = np.asarray(pattern, dtype=float).reshape(-1)
    if pattern.shape[0] != spec.n_inputs:
        raise SpecError(f"pattern has {pattern.shape[0]} spike times, the network has "
                        f"{spec.n_inputs} inputs")
    out: dict[str, list[tuple[float, float]]] = {}
    for j, t in enumerate(pattern):
        out[f"vin{j}"] = spike_pwl(spec, float(t))
        out[f"vinb{j}"] = spike_pwl(spec, float(t), inverted=True)
    return out


def _clock(spec: DesignSpec, t_rise: float | None, t_fall: float | None,
           inverted: bool = False) -> str:
    """PWL text of a clock high in [t_rise, t_fall) (None = from 0 / forever)."""
    e, vdd = spec.t_edge, spec.vdd
    lo, hi = (vdd, 0.0) if inverted else (0.0, vdd)
    pts: list[tuple[float, float]] = [(0.0, hi if t_rise is None else lo)]
    if t_rise is not None:
        pts += [(t_rise, lo), (t_rise + e, hi)]
    if t_fall is not None:
        pts += [(t_fall, hi), (t_fall + e, lo)]
    return _pwl_text(pts)


@dataclass(frozen=True)
class Testbench:
    """A complete transient deck (no ``.control`` block) and what an engine needs to drive it."""

    title: str
    text: str
    stimuli: dict[str, list[tuple[float, float]]]
    vectors: tuple[str, ...]
    t_stop: float
    t_step: float


def probe_vectors(spec: DesignSpec, membranes: bool = True) -> tuple[str, ...]:
    """ngspice vector names saved by the testbench (lower case, as ngspice reports them)."""
    vecs = []
    for layer in spec.layers:
        vecs += [f"v({layer.name}_out{i})".lower() for i in range(layer.n_out)]
        if membranes:
            vecs += [f"v({layer.name}_mem{i})".lower() for i in range(layer.n_out)]
    vecs.append("i(vdd)")
    return tuple(vecs)


def build_transient(spec: DesignSpec, pattern: np.ndarray, *, corner: str | None = None,
                    temperature: float | None = None, membranes: bool = True,
                    subckts: str | None = None, mc_seed: int | None = None) -> Testbench:
    """The transient deck of ``spec`` driven by one input pattern (normalised spike times).

    ``subckts`` replaces the generated network subcircuits (e.g. a post-layout extraction that
    defines the same ``imc_net_<name>`` ports). ``mc_seed`` makes the deck one seeded
    Monte-Carlo mismatch instance (:func:`imcflow.netlist.models.model_lines`); None: nominal.
    """
    corner = corner or spec.corner
    if corner not in pdk.corners():
        raise SpecError(f"corner {corner!r} is not one of {', '.join(pdk.corners())}")
    temp = spec.temperature if temperature is None else float(temperature)
    T = spec.T
    stim = stimuli(spec, pattern)
    tstop = t_stop(spec)
    tstep = T / 1000.0
    lines = [
        f"* imcflow transient testbench: {spec.name} ({'-'.join(map(str, spec.shape))}), "
        f"corner {corner}, {fmt(temp)} C{title_suffix(mc_seed)}",
        *model_lines(corner, temp, mc_seed),
        TRAN_OPTIONS,
        "",
        subckts if subckts is not None else network_subckts(spec),
        "* device under test",
        "Xdut " + " ".join(network_ports(spec)) + f" imc_net_{spec.name}",
        "",
        "* supply (its current is the energy probe) and ground reference",
        f"Vdd vdd 0 {fmt(spec.vdd)}",
        "Vss vss 0 0",
    ]
    for k, layer in enumerate(spec.layers):
        n, s, d = layer.name, layer.synapse, layer.neuron
        ph = phase_times(spec, k)
        lines += [
            f"* layer {n}: biases and phase clocks (accumulate {fmt(ph.accumulate)} s, "
            f"fire {fmt(ph.fire)} s)",
            f"V{n}_v0 {n}_v0 0 {fmt(d.v0)}",
            f"V{n}_vbn {n}_vbn 0 {fmt(s.vb_n)}",
            f"V{n}_vbp {n}_vbp 0 {fmt(s.vb_p)}",
            f"V{n}_vdis {n}_vdis 0 {fmt(d.v_dis)}",
            f"V{n}_vcmp {n}_vcmp 0 {fmt(d.v_cmp)}",
            f"V{n}_rst {n}_rst 0 PWL({_clock(spec, None, ph.accumulate - spec.t_edge)})",
            f"V{n}_rstb {n}_rstb 0 PWL("
            f"{_clock(spec, None, ph.accumulate - spec.t_edge, inverted=True)})",
            f"V{n}_fire {n}_fire 0 PWL({_clock(spec, ph.fire, ph.end)})",
        ]
    lines.append("* input spikes (layer 0), true and inverted lines")
    for j in range(spec.n_inputs):
        lines.append(f"Vin{j} in{j} 0 PWL({_pwl_text(stim[f'vin{j}'])})")
        lines.append(f"Vinb{j} inb{j} 0 PWL({_pwl_text(stim[f'vinb{j}'])})")
    vectors = probe_vectors(spec, membranes)
    lines += [
        "",
        f".tran {fmt(tstep)} {fmt(tstop)} 0 {fmt(T * TMAX_FRACTION)}",
        ".save " + " ".join(vectors),
        ".end",
        "",
    ]
    return Testbench(title=spec.name, text="\n".join(lines), stimuli=stim, vectors=vectors,
                     t_stop=tstop, t_step=tstep)
