"""Exact event-driven solvers (the reference and the slow baseline of the DSTD paper).

Input spike times are sorted per sample; between consecutive input spikes the coefficients
``f = α + Σ β w`` and ``g = Σ w`` are constant, so the membrane relaxes exponentially toward
``g/f`` (closed form, see :func:`imcflow.pnn._common.phi`). Memory is O(B·N_in·N_out): every
sample needs the weights in its own spike order (the cost the DSTD solver removes).

* RC-Spike: ``v(1) = Σ_k b_k exp(−Σ_{q>k} f_q Δ_q)`` with ``b_k = g_k Δ_k φ(f_k Δ_k)`` — all
  intervals at once, no recursion; then the fire-phase ramp gives the spike time.
* TTFS: the membrane at each input event by the (stable) recursion
  ``v_{k+1} = e^{−f_k Δ_k} v_k + b_k``, then the closed-form crossing in every interval; the
  earliest valid one wins, ``+inf`` if none.

Times are normalised (window [0, 1] for RC-Spike); ``+inf`` input = never spikes.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._common import (
    beta_weight,
    check_beta,
    check_inputs,
    crossing,
    permute_rows,
    piece_membrane,
    ramp_spike_time,
    rc_accumulate,
)
from .params import PNNParams

__all__ = ["rc_spike_exact", "rc_spike_membrane_exact", "rc_spike_membrane_range",
           "rc_spike_v_exact", "ttfs_exact"]


def _sorted_coefficients(t: Tensor, weight: Tensor, params: PNNParams,
                         beta: Tensor | None = None):
    """Sort times per sample; return sorted times [B, N] and cumulative g, f [B, N, N_out]
    (``beta``: optional per-synapse β [N_out, N_in] instead of E±)."""
    ts, idx = torch.sort(t, dim=1)
    ws = permute_rows(weight.t(), idx)  # [B, N_in, N_out], weights in each sample's order
    g = torch.cumsum(ws, dim=1)
    if beta is None:
        f = torch.cumsum(beta_weight(ws, params), dim=1)
    else:
        f = torch.cumsum(permute_rows((beta * weight).t(), idx), dim=1)
    if params.alpha:
        f = f + params.alpha
    return ts, g, f


def _v_at(ts: Tensor, g: Tensor, f: Tensor, t_end: float) -> Tensor:
    """Membrane at ``t_end`` from sorted times ``ts`` (already clamped to [0, t_end])."""
    t_next = torch.cat([ts[:, 1:], ts.new_full((ts.shape[0], 1), t_end)], dim=1)
    dt = (t_next - ts).unsqueeze(-1)  # [B, N, 1], ≥ 0
    return rc_accumulate(f, g, dt)


def rc_spike_v_exact(t_in: Tensor, weight: Tensor, params: PNNParams, *,
                     beta: Tensor | None = None) -> Tensor:
    """Membrane v(1) [B, N_out] at the end of the accumulate window (exact). ``beta``: an
    optional per-synapse β [N_out, N_in] replacing 1/E± (e.g. measured per device width)."""
    check_inputs(t_in, weight, params)
    check_beta(beta, weight)
    t = torch.clamp(t_in + params.delay_in, 0.0, 1.0)
    ts, g, f = _sorted_coefficients(t, weight, params, beta)
    return _v_at(ts, g, f, 1.0)


def rc_spike_exact(
    t_in: Tensor, weight: Tensor, params: PNNParams, *, return_v: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """Exact RC-Spike layer.

    Args:
        t_in: input spike times [B, N_in] (normalised; clamped to the window [0, 1] after
            ``delay_in``; ``+inf`` or ≥ 1 = no effect).
        weight: [N_out, N_in] normalised synaptic currents (mixed signs).
        params: neuron parameters.
        return_v: also return v(1), the membrane at the end of the accumulate phase.

    Returns:
        output spike times [B, N_out] in [0, 1] (+ ``delay_out``), and v(1) if requested.
    """
    v = rc_spike_v_exact(t_in, weight, params)
    t_out = ramp_spike_time(v, params)
    return (t_out, v) if return_v else t_out


def rc_spike_membrane_exact(
    t_in: Tensor, weight: Tensor, params: PNNParams, t_eval: Tensor, *,
    beta: Tensor | None = None
) -> Tensor:
    """Exact membrane v(t) during the accumulate phase at times ``t_eval`` [K] → [B, N_out, K].

    ``v(t)`` starts at 0 at t = 0 (reset). Times outside [0, 1] are clamped into the window.
    ``beta``: optional per-synapse β (see :func:`rc_spike_v_exact`).
    """
    check_inputs(t_in, weight, params)
    check_beta(beta, weight)
    if not isinstance(t_eval, Tensor):
        t_eval = torch.as_tensor(t_eval, dtype=t_in.dtype)
    t_eval = t_eval.reshape(-1)
    t = torch.clamp(t_in + params.delay_in, 0.0, 1.0)
    ts, g, f = _sorted_coefficients(t, weight, params, beta)
    K, (B, N) = t_eval.numel(), ts.shape
    if K == 0:
        return t_in.new_zeros(B, weight.shape[0], 0)
    # all evaluation times at once: the pieces of sample b seen from time te end at te
    te = torch.clamp(t_eval.to(ts.dtype), 0.0, 1.0).reshape(K, 1, 1)
    tc = torch.minimum(ts.unsqueeze(0), te)                                  # [K, B, N]
    t_next = torch.cat([tc[:, :, 1:], te.expand(K, B, 1)], dim=2)
    dt = (t_next - tc).reshape(K * B, N, 1)
    v = rc_accumulate(f.repeat(K, 1, 1), g.repeat(K, 1, 1), dt)            # [K·B, N_out]
    return v.reshape(K, B, -1).permute(1, 2, 0)


def rc_spike_membrane_range(
    t_in: Tensor, weight: Tensor, params: PNNParams, *, beta: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Lowest and highest membrane value over the accumulate phase, [B, N_out] each (exact).

    Between input events the membrane relaxes monotonically toward g/f, so its extremes lie at
    the events: v(0) = 0, the value at every input spike, and v(1). Differentiable (the trainer
    penalises excursions outside the range the circuit model was validated over).
    """
    check_inputs(t_in, weight, params)
    check_beta(beta, weight)
    t = torch.clamp(t_in + params.delay_in, 0.0, 1.0)
    ts, g, f = _sorted_coefficients(t, weight, params, beta)
    t_next = torch.cat([ts[:, 1:], ts.new_ones(ts.shape[0], 1)], dim=1)
    dt = (t_next - ts).unsqueeze(-1)
    v_events = piece_membrane(f, g, dt)                       # [B, N_in, N_out], at each start
    v_end = rc_accumulate(f, g, dt).unsqueeze(1)              # [B, 1, N_out]
    v_all = torch.cat([torch.zeros_like(v_end), v_events, v_end], dim=1)
    return v_all.amin(dim=1), v_all.amax(dim=1)


def ttfs_exact(t_in: Tensor, weight: Tensor, params: PNNParams) -> Tensor:
    """Exact TTFS layer: first time v reaches ``v_th``; ``+inf`` if it never does.

    Args:
        t_in: input spike times [B, N_in] (any time ≥ 0 after ``delay_in``; negative times are
            clamped to 0; ``+inf`` = never spikes).
        weight: [N_out, N_in].
        params: neuron parameters (the fire-phase ramp is not used).

    Returns:
        output spike times [B, N_out] (+ ``delay_out``), ``+inf`` = no spike.
    """
    check_inputs(t_in, weight, params)
    t = torch.clamp(t_in + params.delay_in, min=0.0)
    ts, idx = torch.sort(t, dim=1)
    fin = torch.isfinite(ts)  # [B, N]
    ws = permute_rows(weight.t(), idx) * fin.unsqueeze(-1).to(weight.dtype)
    g = torch.cumsum(ws, dim=1)
    f = torch.cumsum(beta_weight(ws, params), dim=1)
    if params.alpha:
        f = f + params.alpha
    ts0 = torch.where(fin, ts, torch.zeros_like(ts))
    nxt_fin = torch.cat([fin[:, 1:], fin.new_zeros(fin.shape[0], 1)], dim=1)
    t_next = torch.cat([ts0[:, 1:], ts0.new_zeros(ts0.shape[0], 1)], dim=1)
    inf = torch.full_like(ts0, float("inf"))
    dt_fin = torch.where(nxt_fin & fin, t_next - ts0, torch.zeros_like(ts0))  # finite part
    length = torch.where(nxt_fin | ~fin, dt_fin, inf).unsqueeze(-1)  # last finite → ∞
    v0 = piece_membrane(f, g, dt_fin.unsqueeze(-1))  # membrane at each event time
    t_out = crossing(
        v0, f, g, ts0.unsqueeze(-1), length, params.v_th, fin.unsqueeze(-1).expand_as(v0)
    )
    return t_out + params.delay_out if params.delay_out else t_out
