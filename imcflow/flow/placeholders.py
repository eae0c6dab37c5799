"""Placeholder widths that exercise the circuit they stand in for.

A spec's synapse widths are placeholders (training replaces them at write-back), but they are
what the flow lays out and characterizes, so they decide what the fit can see. Placeholders
that leave a neuron almost always silent, or always firing at its gate, leave its threshold,
ramp and delays unidentifiable (:class:`imcflow.fit.pipeline.FitLimits`): at T = 0.5 µs the
demo's random widths give the hidden neurons a ramp of α_d ≈ 0.5 and weights ≈ 0.1 per µm, so
the output layer of that point fired in 4 of 42 characterization patterns.

Before layout, :func:`size_placeholders` predicts each neuron's response to the
characterization patterns with the DC model at the spec's own corner and temperature (no
transient fit exists yet; the DC fits give currents, E±, ramp and validated membrane range), and
counts the patterns in which it fires inside the phase and stays inside the validated membrane
range. A neuron below ``min_fraction`` of the patterns gets its positive and its negative
widths scaled by the pair of factors (signs and relative sizes within each kept; per-finger
widths inside the DC-swept range, so a narrow finger's current can only be removed, not shrunk)
nearest to (1, 1) that fires it inside that range in ``target_fraction`` of the patterns (or
in the most patterns, where no pair reaches that): large changes move the neuron's membrane
capacitance and coupling away from what the other neurons of its layer see. A row with no
positive width cannot fire at all, so its largest width becomes positive first. Layer k + 1
is judged on layer k's predicted outputs after layer k's rows are settled. A layer that already
exercises every neuron is left as it is (the demo's placeholders are).

Before the widths, the membranes: where the discharger, by the same DC model, ramps a membrane
from v = 0 to threshold more slowly than in 1/MIN_RAMP_REACH phases (T = 0.5 µs with the demo's
discharger: 2.0 phases, so a neuron with v(1) < 0.5 could never fire), the layer's MIMs shrink
until it does so in 1/RAMP_TARGET of a phase (the layout's parasitics, ≈ 8 % of the demo's
membrane, slow it again; a neuron at v(1) = 0 then fires late in the phase, as the top-down
design assumes), within sky130's MIM sizes (:mod:`imcflow.flow.ramp_sizing` explains
why the ramp, not the discharger the designer drew, is what the flow resizes).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from imcflow import pdk
from imcflow.fit.physics import LayerDC, layer_physics
from imcflow.fit.transient import FittedLayer, LayerPhysics, layer_tensors
from imcflow.flow.ramp_sizing import MIN_RAMP_REACH, ramp_time_of
from imcflow.spec import DesignSpec, LayerSpec, validate
from imcflow.train.physical import build_network

#: Row scale factors tried (geometric, 1/8 … 16, with 1 exactly).
SCALES = np.unique(np.concatenate([np.geomspace(1 / 8, 16, 29), [1.0]]))
#: A fire time inside (lo, hi) of the phase (normalised) counts: the gate (0) and a missing
#: spike (1) tell the fit nothing about the ramp.
FIRE_WINDOW = (0.02, 0.98)
#: Most fingers per synapse the sizing uses (the spec allows 64).
MAX_FINGERS = 16


@dataclass(frozen=True)
class LayerExcitation:
    """How one layer's placeholders exercise its neurons.

    Attributes:
        name: layer name.
        before: per neuron, the fraction of patterns firing inside the window and the range.
        after: the same with the sized widths (equal to ``before`` where nothing changed).
        scale: per neuron, the factors its positive and negative widths were scaled by
            ((1, 1) = unchanged; 0 = its negative widths removed).
        flipped: neurons whose largest width was made positive (they had none).
        ramp_time, mim_scale: see the fields.
    """

    name: str
    before: tuple[float, ...]
    after: tuple[float, ...]
    scale: tuple[tuple[float, float], ...]
    flipped: tuple[int, ...]
    #: the DC model's ramp time from v = 0 to threshold (phases), drawn and sized, and the
    #: factor the layer's MIM capacitance was scaled by (1 = unchanged)
    ramp_time: tuple[float, float] = (float("nan"), float("nan"))
    mim_scale: float = 1.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


#: The DC model's ramp reach (1/ramp time) a layer's MIMs are sized to when it falls short of
#: MIN_RAMP_REACH.
RAMP_TARGET = 1.1


def _ramp_time(layer: LayerSpec, ldc: LayerDC, T_s: float) -> float:
    phys = layer_physics(layer, ldc, T_s)
    return ramp_time_of(phys, FittedLayer.initial(phys))


def _size_membranes(layer: LayerSpec, ramp_time: float) -> tuple[LayerSpec, float]:
    """``layer`` with MIMs small enough for its ramp (``ramp_time`` phases to threshold as
    drawn; see the module doc), and the factor."""
    if ramp_time <= 1.0 / MIN_RAMP_REACH:
        return layer, 1.0
    c = layer.membrane_capacitance()
    sized = layer.with_mims(c / (RAMP_TARGET * ramp_time), clip=True)
    return sized, float(np.mean(sized.membrane_capacitance()) / np.mean(c))


def _layer_response(layer: LayerSpec, ldc: LayerDC, T_s: float, t_in: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(fire times [N, n_out] normalised, 1 = none; mask [N, n_out] of the outputs that fired
    inside :data:`FIRE_WINDOW` with the membrane inside the validated range) from the DC
    model."""
    phys = layer_physics(layer, ldc, T_s)
    fl = FittedLayer.initial(phys)
    net = build_network([(phys, fl)], weights=[_weight(phys, fl)], v_ranges=[ldc.v_valid])
    net.eval()
    with torch.no_grad():
        t = torch.as_tensor(t_in, dtype=torch.float64)
        lo, hi = (x.numpy() for x in net[0].membrane_range(t))
        t_out = net(t).numpy()
    inside = (t_out > FIRE_WINDOW[0]) & (t_out < FIRE_WINDOW[1])
    valid = (lo >= ldc.v_valid[0]) & (hi <= ldc.v_valid[1])
    return t_out, inside & valid


def _weight(phys: LayerPhysics, fl: FittedLayer) -> np.ndarray:
    return layer_tensors(phys, fl)["weight"].numpy()


def _realise(width_um: np.ndarray, ldc: LayerDC) -> tuple[np.ndarray, np.ndarray]:
    """Signed widths [n_in] and finger counts for target total widths: fingers as wide as the
    DC sweep allows, each on the grid and inside the swept range."""
    lo, hi = ldc.widths_um[0], ldc.widths_um[-1]
    w = np.zeros_like(width_um)
    nf = np.ones(width_um.shape, dtype=int)
    for j, x in enumerate(width_um):
        if x == 0.0:
            continue
        n = int(min(max(np.ceil(abs(x) / hi - 1e-9), 1), MAX_FINGERS))
        per = float(min(max(pdk.snap(abs(x) / n), lo), hi))
        w[j], nf[j] = np.sign(x) * per * n, n
    return w, nf


def _scaled(layer: LayerSpec, ldc: LayerDC, base: np.ndarray, s_pos: float, s_neg: float
            ) -> LayerSpec:
    """``layer`` with positive widths of ``base`` times ``s_pos`` and negative ones times
    ``s_neg`` (0: removed), realised in fingers."""
    rows = [_realise(np.where(row > 0, row * s_pos, row * s_neg), ldc) for row in base]
    return layer.with_sizes(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))


def _distance(s_pos: float, s_neg: float) -> float:
    """How far a pair of factors moves a row from its placeholder (log units; removing the
    negative widths counts as far)."""
    return abs(np.log(s_pos)) + (abs(np.log(s_neg)) if s_neg > 0 else 10.0)


def size_placeholders(spec: DesignSpec, ldcs: list[LayerDC], patterns: np.ndarray,
                      min_fraction: float = 0.2, target_fraction: float = 0.35
                      ) -> tuple[DesignSpec, list[LayerExcitation]]:
    """``spec`` with the rows of widths that under-exercise their neuron rescaled (see the
    module doc), and what was measured per layer. ``patterns``: the characterization's input
    spike times [N, n_inputs] (normalised, inf = no spike)."""
    t_in = np.where(np.isfinite(patterns), patterns, 1.0)
    layers, report = [], []
    for layer, ldc in zip(spec.layers, ldcs, strict=True):
        ramp_drawn = _ramp_time(layer, ldc, spec.T)
        layer, mim_scale = _size_membranes(layer, ramp_drawn)
        base = np.asarray(layer.widths(), dtype=float)
        _, ok = _layer_response(layer, ldc, spec.T, t_in)
        before = ok.mean(axis=0)
        todo = before < min_fraction
        flipped = []
        for i in np.nonzero(todo)[0]:
            if not np.any(base[i] > 0):
                j = int(np.argmax(np.abs(base[i])))
                base[i, j] = abs(base[i, j]) or float(ldc.widths_um[0])
                flipped.append(int(i))
        scale = np.ones((layer.n_out, 2))
        if np.any(todo):
            # every pair's count per neuron; the nearest pair that reaches the target wins,
            # else the pair with the most patterns (nearest among equals)
            pairs = [(sp, sn) for sp in SCALES for sn in (0.0, *SCALES)]
            counts = np.array([_layer_response(_scaled(layer, ldc, base, sp, sn), ldc, spec.T,
                                               t_in)[1].sum(axis=0) for sp, sn in pairs])
            dist = np.array([_distance(sp, sn) for sp, sn in pairs])
            target = np.ceil(target_fraction * len(t_in))
            for i in np.nonzero(todo)[0]:
                c = np.minimum(counts[:, i], target)
                k = min(range(len(pairs)), key=lambda k: (-c[k], dist[k]))
                scale[i] = pairs[k]
            rows = [_realise(np.where(base[i] > 0, base[i] * scale[i, 0], base[i] * scale[i, 1]),
                             ldc) if todo[i] else (base[i], np.asarray(layer.fingers[i]))
                    for i in range(layer.n_out)]
            layer = layer.with_sizes(np.array([r[0] for r in rows]),
                               np.array([r[1] for r in rows]))
        t_out, ok = _layer_response(layer, ldc, spec.T, t_in)
        layers.append(layer)
        report.append(LayerExcitation(name=layer.name, before=tuple(before.tolist()),
                                      after=tuple(ok.mean(axis=0).tolist()),
                                      scale=tuple(map(tuple, scale.tolist())),
                                      flipped=tuple(flipped),
                                      ramp_time=(ramp_drawn, _ramp_time(layer, ldc, spec.T)),
                                      mim_scale=mim_scale))
        t_in = t_out
    sized = dataclasses.replace(spec, layers=tuple(layers))
    validate(sized)
    return sized, report
