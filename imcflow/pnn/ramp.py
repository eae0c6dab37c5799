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
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._common import ramp_crossing

__all__ = ["fire_time", "ramp_crossing"]


def fire_time(v_end: Tensor, alpha_d: Tensor | float, beta_d: Tensor | float,
              v_th: Tensor | float = 1.0, delay_out: Tensor | float = 0.0,
              clip: bool = True, t_gate: Tensor | float = 0.0) -> Tensor:
    """Output spike time (normalised to the fire phase) from v(1) = ``v_end``; see the module
    doc. ``clip=False`` returns the ungated s + d_out (for fitting)."""
    t = ramp_crossing(v_end, alpha_d, beta_d, v_th) + delay_out
    if clip:
        t = torch.clamp(torch.maximum(t, torch.as_tensor(t_gate, dtype=t.dtype)), max=1.0)
    return t
