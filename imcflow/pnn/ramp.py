"""The RC-Spike fire phase: the one ramp law, and the gated output of the fitted circuit.

Fire phase: dv/ds = α_d (1 − β_d v) from v(0) = v_end; the comparator sees the crossing of v_th at

    s = ln((1 − β_d v_end)/(1 − β_d v_th)) / (α_d β_d)        (→ (v_th − v_end)/α_d at β_d = 0)

written as ``d/(α_d r)·ψ(β_d d/r)`` with d = v_th − v_end, r = 1 − β_d v_th (smooth at β_d = 0)
— :func:`imcflow.pnn._common.ramp_crossing`, the only implementation of this law (the solvers'
clipped spike time, the fitted circuit's gated output and the trainer's straight-through readout
all call it).
For v_end > v_th the same ramp, run backwards, gives a negative s: the membrane crossed the
threshold before the fire phase. Where β_d v_end approaches 1 (the membrane near the discharger's
reversal potential) the law saturates: d is held at ≥ −0.9 r/β_d, i.e. 1 − β_d v ≥ 0.1 r.

The circuit's output is the comparator AND the fire clock, so the spike time is

    t = min(max(s + d_out, t_gate), 1)

``d_out``: comparator and logic delay after the crossing; ``t_gate``: delay from the fire edge to
the output for a comparator that had already flipped; 1 = no spike inside the fire window (the
gate closes at its end, also for a crossing whose delayed output would come later). With
``d_out = t_gate = 0`` this is the ideal clip(s, 0, 1).

The parameters may be floats or tensors broadcastable to ``v_end`` (e.g. [N_out] per neuron: each
neuron's effective capacitance sets its own ramp rate) and carry gradients.

**Switching charge** (measured per synapse by :func:`imcflow.netlist.dc.build_switching`): a
synapse is a current source on the membrane over a selector on the rail. When an input's spike
starts, its synapses deliver a charge beyond their DC current's (the *onset*, κ_on: part of the
phase's charge); when it ends, at the start of the fire phase, they keep delivering charge (the
current source discharges the node it shares with the now open selector: the *selector tail*,
κ_tail, spread over the fire phase with the cumulative profile g±(s), 0 at s = 0, 1 at s = 1).
For the synapses of the inputs that spiked (t < 1), neuron i sees

    v_end += Σ_j κ_on,ij w_ij,      v(s) = ramp(s; v_end) + K⁺_i g⁺(s) + K⁻_i g⁻(s),
    K±_i = Σ_{j spiked, w_ij ≷ 0} κ_tail,ij w_ij

(κ in units of the synapse's DC charge over one phase). The crossing is found on the profile's
grid and interpolated linearly (:func:`tail_crossing`); the tail adds to the ramp instead of
entering its (1 − β_d v) factor (second order). With the demo's biases both are ≈ 0.5 % of a
phase's charge; for a PMOS finger carrying 1.5 nA (sf, 0 °C, L = 1 µm) the tail is 65 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ._common import phi, ramp_crossing

__all__ = ["SelectorTail", "fire_time", "gated", "ramp_crossing", "ramp_value", "switching_kicks",
           "tail_crossing"]


@dataclass(frozen=True)
class SelectorTail:
    """Time profile of the synapses' selector tail over the fire phase: cumulative fractions
    ``g_pos`` (NMOS, positive weights) and ``g_neg`` (PMOS) at times ``s`` (phases, increasing
    from 0 to 1; g = 0 at s = 0, 1 at s = 1), and the onset window ``t_on``."""

    s: tuple[float, ...]
    g_pos: tuple[float, ...]
    g_neg: tuple[float, ...]
    #: phases over which a spike that starts near the end of the accumulate phase gains its
    #: switching charge: its selector gate rises over one edge, so a spike starting less than
    #: that before the end carries the fraction (1 − t)/t_on of it (0: all or nothing)
    t_on: float = 0.0

    def __post_init__(self) -> None:
        s = torch.as_tensor(self.s, dtype=torch.float64)
        if s.ndim != 1 or s.numel() < 2 or s[0] != 0 or s[-1] != 1 or bool((s.diff() <= 0).any()):
            raise ValueError("SelectorTail.s must increase from 0 to 1 (≥ 2 points)")
        for g in (self.g_pos, self.g_neg):
            if len(g) != s.numel():
                raise ValueError("SelectorTail: one g per s")


def _col(x: Tensor | float, like: Tensor) -> Tensor:
    """``x`` as a tensor with a trailing axis for the time grid."""
    x = torch.as_tensor(x, dtype=like.dtype)
    return x.unsqueeze(-1) if x.ndim else x


def ramp_value(v_end: Tensor, alpha_d: Tensor | float, beta_d: Tensor | float, s: Tensor
               ) -> Tensor:
    """The fire-phase ramp from ``v_end`` at times ``s`` [G]: [..., G] =
    v_end + (1 − β_d v_end)(1 − e^{−α_d β_d s})/β_d (smooth at β_d = 0)."""
    a, b = _col(alpha_d, v_end), _col(beta_d, v_end)
    v = v_end.unsqueeze(-1)
    return v + (1.0 - b * v) * a * s * phi(a * b * s)


def switching_kicks(t_in: Tensor, weight: Tensor, kappa: Tensor, t_on: float = 0.0
                    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """The switching charge of every input that spiked in the accumulate phase (t < 1), through
    weights [N_out, N_in] and per-synapse κ [2, N_out, N_in] (onset, tail): the onset step of
    v_end [B, N_out] and the tail's K⁺, K⁻ [B, N_out] (module doc). A spike starting within
    ``t_on`` of the phase end counts with the fraction (1 − t)/t_on (continuous in t: a
    hidden neuron at 0.999 instead of 1.0 must not switch its synapses' whole charge)."""
    if t_on > 0:
        spiked = torch.clamp((1.0 - t_in) / t_on, 0.0, 1.0).to(weight.dtype)
    else:
        spiked = (t_in < 1.0).to(weight.dtype)
    wt = weight * kappa[1]
    return (spiked @ (weight * kappa[0]).T,
            (spiked @ torch.clamp(wt, min=0.0).T, spiked @ torch.clamp(wt, max=0.0).T))


def tail_crossing(v_end: Tensor, kicks: tuple[Tensor, Tensor], tail: SelectorTail,
                  alpha_d: Tensor | float, beta_d: Tensor | float, v_th: Tensor | float = 1.0
                  ) -> Tensor:
    """First crossing s of ``v_th`` by ramp + selector tail (module doc). A membrane already
    above threshold crosses where the ramp alone does (s ≤ 0, as :func:`ramp_crossing`); one
    that stays below over the phase gets the ramp's crossing with the whole tail added (> 1)."""
    dt = v_end.dtype
    s = torch.as_tensor(tail.s, dtype=dt)
    k_pos, k_neg = kicks
    h = (ramp_value(v_end, alpha_d, beta_d, s) + k_pos.unsqueeze(-1) * torch.as_tensor(
        tail.g_pos, dtype=dt) + k_neg.unsqueeze(-1) * torch.as_tensor(tail.g_neg, dtype=dt)
         - _col(v_th, v_end))
    above = h >= 0
    has = above.any(-1)
    first = above.to(torch.int8).argmax(-1)
    inside = has & (first > 0)
    k = first.clamp(min=1).unsqueeze(-1)
    h1, h0 = torch.gather(h, -1, k).squeeze(-1), torch.gather(h, -1, k - 1).squeeze(-1)
    s1, s0 = s[k.squeeze(-1)], s[k.squeeze(-1) - 1]
    den = torch.where(inside, h1 - h0, torch.ones_like(h1))
    s_in = s0 + (s1 - s0) * torch.where(inside, -h0, torch.zeros_like(h0)) / den
    s_before = ramp_crossing(v_end, alpha_d, beta_d, v_th)
    s_after = ramp_crossing(v_end + k_pos + k_neg, alpha_d, beta_d, v_th)
    return torch.where(inside, s_in, torch.where(has, s_before, s_after))


def gated(t: Tensor, t_gate: Tensor | float) -> Tensor:
    """Unclipped crossing times as the circuit emits them: not before the gate, 1 = no spike."""
    return torch.clamp(torch.maximum(t, torch.as_tensor(t_gate, dtype=t.dtype)), max=1.0)


def fire_time(v_end: Tensor, alpha_d: Tensor | float, beta_d: Tensor | float,
              v_th: Tensor | float = 1.0, delay_out: Tensor | float = 0.0,
              clip: bool = True, t_gate: Tensor | float = 0.0,
              tail: SelectorTail | None = None,
              kicks: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """Output spike time (normalised to the fire phase) from v(1) = ``v_end``; see the module
    doc. ``clip=False`` returns the ungated s + d_out (for fitting). ``tail`` and ``kicks``
    (:func:`switching_kicks`): the selector tail, if the model has one."""
    if tail is not None and kicks is not None:
        t = tail_crossing(v_end, kicks, tail, alpha_d, beta_d, v_th) + delay_out
    else:
        t = ramp_crossing(v_end, alpha_d, beta_d, v_th) + delay_out
    if clip:
        t = gated(t, t_gate)
    return t
