"""Shared numerics of the PNN solvers: input checks, safe special functions, ramp, crossings.

Everything here is differentiable and free of NaN gradients for the inputs the solvers feed it
(masked branches are given safe values before any division or logarithm).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .params import PNNParams

__all__ = [
    "check_inputs",
    "beta_weight",
    "phi",
    "psi",
    "ramp_spike_time",
    "crossing",
]


def check_inputs(t_in: Tensor, weight: Tensor, params: PNNParams, *, conv: bool = False) -> None:
    """Validate spike-time / weight tensors (raises ``ValueError`` with a clear message)."""
    if not isinstance(params, PNNParams):
        raise ValueError(f"params must be a PNNParams, got {type(params).__name__}")
    if not isinstance(t_in, Tensor) or not isinstance(weight, Tensor):
        raise ValueError("t_in and weight must be torch tensors")
    if not t_in.is_floating_point() or not weight.is_floating_point():
        raise ValueError(
            f"t_in and weight must be floating point, got {t_in.dtype} and {weight.dtype}"
        )
    if t_in.dtype != weight.dtype:
        raise ValueError(f"dtype mismatch: t_in is {t_in.dtype}, weight is {weight.dtype}")
    if conv:
        if t_in.dim() != 4 or weight.dim() != 4:
            raise ValueError(
                "conv expects t_in [B, C_in, H, W] and weight [C_out, C_in, kh, kw], got "
                f"{tuple(t_in.shape)} and {tuple(weight.shape)}"
            )
        if t_in.shape[1] != weight.shape[1]:
            raise ValueError(
                f"channel mismatch: t_in has {t_in.shape[1]} channels, weight expects "
                f"{weight.shape[1]}"
            )
    else:
        if t_in.dim() != 2 or weight.dim() != 2:
            raise ValueError(
                "expects t_in [B, N_in] and weight [N_out, N_in], got "
                f"{tuple(t_in.shape)} and {tuple(weight.shape)}"
            )
        if t_in.shape[1] != weight.shape[1]:
            raise ValueError(
                f"shape mismatch: t_in has N_in={t_in.shape[1]}, weight has N_in={weight.shape[1]}"
            )
    if torch.isnan(t_in).any():
        raise ValueError("t_in contains NaN spike times (use +inf for 'never spikes')")
    if not torch.isfinite(weight).all():
        raise ValueError("weight contains NaN or inf")


def beta_weight(weight: Tensor, params: PNNParams) -> Tensor:
    """β_ij·w_ij (≥ 0): w/E⁺ for w ≥ 0, w/E⁻ for w < 0."""
    return torch.where(weight >= 0, weight * params.beta_pos, weight * params.beta_neg)


def stacked_weight(weight: Tensor, params: PNNParams) -> Tensor:
    """[w; β·w] stacked along dim 0 so one matmul/conv gives both g and f coefficients."""
    return torch.cat([weight, beta_weight(weight, params)], dim=0)


_SMALL = 1e-3


def phi(x: Tensor) -> Tensor:
    """(1 − e^{−x})/x for x ≥ 0, = 1 at x = 0 (series below 1e-3; smooth, safe gradient)."""
    small = x < _SMALL
    xs = torch.where(small, torch.ones_like(x), x)
    series = 1.0 - x / 2.0 + x * x / 6.0 - x * x * x / 24.0
    return torch.where(small, series, -torch.expm1(-xs) / xs)


def psi(z: Tensor) -> Tensor:
    """ln(1 + z)/z for z ≥ 0, = 1 at z = 0 (series below 1e-3; smooth, safe gradient)."""
    small = z < _SMALL
    zs = torch.where(small, torch.ones_like(z), z)
    series = 1.0 - z / 2.0 + z * z / 3.0 - z * z * z / 4.0
    return torch.where(small, series, torch.log1p(zs) / zs)


def ramp_spike_time(v_end: Tensor, params: PNNParams) -> Tensor:
    """RC-Spike output time from the membrane at the end of the accumulate phase.

    Fire phase: dv/ds = α_d (1 − β_d v) from v(0) = v_end; the spike is the crossing of v_th,
    ``s = ln((1 − β_d v_end)/(1 − β_d v_th)) / (α_d β_d)`` (→ ``(v_th − v_end)/α_d`` at β_d = 0),
    clipped to the fire window [0, 1], plus ``delay_out``.
    """
    a_d = params.alpha_d_eff
    b_d = params.beta_d
    v = torch.clamp(v_end, max=params.v_th)  # already above threshold ⇒ fires at s = 0
    d = params.v_th - v  # ≥ 0
    if b_d == 0.0:
        s = d / a_d
    else:
        # s = ln(1 + β_d d/(1 − β_d v_th)) / (α_d β_d) = d/(α_d (1 − β_d v_th)) · ψ(z)
        r = 1.0 - b_d * params.v_th
        z = b_d * d / r
        s = d / (a_d * r) * psi(z)
    s = torch.clamp(s, 0.0, 1.0)
    return s + params.delay_out if params.delay_out else s


def crossing(
    v0: Tensor, f: Tensor, g: Tensor, t0: Tensor, length: Tensor, v_th: float, valid: Tensor
) -> Tensor:
    """Time of the first crossing of ``v_th`` by dv/dt = g − f v from v(t0) = v0 within
    ``[t0, t0 + length]`` (``length`` may be inf); ``+inf`` where there is none or ``~valid``.

    Closed form: ``s = ln((u − v0)/(u − v_th))/f`` with u = g/f, written as
    ``(d/r)·ψ(f d/r)`` with d = v_th − v0, r = g − f v_th (also right for f = 0).
    """
    d = v_th - v0
    r = g - f * v_th
    ok = valid & (d > 0) & (r > 0)
    d_s = torch.where(ok, d, torch.zeros_like(d))
    r_s = torch.where(ok, r, torch.ones_like(r))
    z = f * d_s / r_s
    s = d_s / r_s * psi(z)
    ok = ok & (s <= length)
    t = torch.where(ok, t0 + s, torch.full_like(s, float("inf")))
    return t.amin(dim=1)
