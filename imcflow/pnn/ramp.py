"""The RC-Spike fire phase with per-neuron (tensor) parameters.

Fire phase: dv/ds = α_d (1 − β_d v) from v(0) = v_end; the output spike is the crossing of v_th,

    s = ln((1 − β_d v_end)/(1 − β_d v_th)) / (α_d β_d)        (→ (v_th − v_end)/α_d at β_d = 0)

written as ``d/(α_d r)·ψ(β_d d/r)`` with d = v_th − v_end, r = 1 − β_d v_th (smooth at β_d = 0).
The parameters may be floats or tensors broadcastable to ``v_end`` (e.g. [N_out] per neuron, as
the fitter needs: each neuron's effective capacitance sets its own ramp rate) and carry gradients.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._common import psi

__all__ = ["fire_time"]


def fire_time(v_end: Tensor, alpha_d: Tensor | float, beta_d: Tensor | float,
              v_th: Tensor | float = 1.0, delay_out: Tensor | float = 0.0,
              clip: bool = True) -> Tensor:
    """Output spike time (normalised to the fire phase) from v(1) = ``v_end``.

    A membrane already at or above ``v_th`` fires at s = 0; with ``clip`` the time is limited to
    the window [0, 1] (1 = did not fire in the window) before ``delay_out`` is added.
    """
    v_th_t = torch.as_tensor(v_th, dtype=v_end.dtype)
    b_d = torch.as_tensor(beta_d, dtype=v_end.dtype)
    d = torch.clamp(v_th_t - v_end, min=0.0)
    r = 1.0 - b_d * v_th_t
    s = d / (alpha_d * r) * psi(b_d * d / r)
    if clip:
        s = torch.clamp(s, 0.0, 1.0)
    return s + delay_out
