"""Shared numerics of the PNN solvers: input checks, safe special functions, ramp, crossings.

Everything here is differentiable and free of NaN gradients for the inputs the solvers feed it
(masked branches are given safe values before any division or logarithm).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .params import PNNParams

__all__ = [
    "rc_accumulate",
    "permute_rows",
    "linear_scan",
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
    """ln(1 + z)/z for z > −1, = 1 at z = 0 (series for |z| < 1e-3; smooth, safe gradient)."""
    small = z.abs() < _SMALL
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


# --------------------------------------------------------------------------- fused kernels
def _thr(dtype: torch.dtype) -> float:
    """Below this x the series of φ and φ' are used (accurate to rounding in each dtype)."""
    return 1e-3 if dtype == torch.float64 else 3e-2


def _phi_parts(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """e^{−x}, φ(x) = (1 − e^{−x})/x and the safe divisor, for x ≥ 0 (no autograd)."""
    small = x < _thr(x.dtype)
    xs = torch.where(small, torch.ones_like(x), x)
    e = torch.exp(-x)
    series = 1.0 - x * (0.5 - x * (1.0 / 6.0 - x / 24.0))
    return e, torch.where(small, series, (1.0 - e) / xs), xs


class _RCAccumulate(torch.autograd.Function):
    """v_end = Σ_m b_m exp(−Σ_{q>m} x_m) with x = f·L, b = g·L·φ(x) (bins/intervals on dim 1).

    One fused forward and a hand-written backward (recomputing from f, g, L rather than keeping
    intermediates), so the only saved tensors are the inputs:
        ∂v/∂g_m = L φ P_m,   ∂v/∂f_m = L (g L φ'(x) P_m − C_m),   ∂v/∂L_m = g e^{−x} P_m − f C_m
    with P_m = exp(−Σ_{q>m} x_q) and C_m = Σ_{q<m} b_q P_q.
    """

    @staticmethod
    def _parts(f: Tensor, g: Tensor, L: Tensor):
        x = f * L
        e, ph, xs = _phi_parts(x)
        cx = torch.cumsum(x, dim=1)
        P = torch.exp(torch.clamp_(cx.narrow(1, cx.shape[1] - 1, 1) - cx, min=0.0).neg_())
        c = g * L * ph * P
        return x, e, ph, xs, P, c

    @staticmethod
    def forward(ctx, f: Tensor, g: Tensor, L: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(f, g, L)
        *_, c = _RCAccumulate._parts(f, g, L)
        return c.sum(dim=1)

    @staticmethod
    def backward(ctx, grad_v: Tensor):  # type: ignore[override]
        f, g, L = ctx.saved_tensors
        x, e, ph, xs, P, c = _RCAccumulate._parts(f, g, L)
        gv = grad_v.unsqueeze(1)
        C = torch.cumsum(c, dim=1).sub_(c)  # exclusive prefix sum
        small = x < _thr(x.dtype)
        dphi = torch.where(small, -0.5 + x * (1.0 / 3.0 - x * (0.125 - x / 30.0)),
                           (e - ph) / xs)
        grad_f = grad_g = grad_L = None
        gvP = gv * P
        if ctx.needs_input_grad[1]:
            grad_g = _reduce_to(gvP * L * ph, g.shape)
        if ctx.needs_input_grad[0]:
            grad_f = _reduce_to(gv * L * (g * L * dphi * P - C), f.shape)
        if ctx.needs_input_grad[2]:
            grad_L = _reduce_to(gv * (g * e * P - f * C), L.shape)
        return grad_f, grad_g, grad_L


def _reduce_to(grad: Tensor, shape: torch.Size) -> Tensor:
    """Sum a broadcast gradient back to ``shape``."""
    if grad.shape == shape:
        return grad
    dims = [i for i, (a, b) in enumerate(zip(grad.shape, shape, strict=True)) if b == 1 and a != 1]
    return grad.sum(dim=dims, keepdim=True)


def rc_accumulate(f: Tensor, g: Tensor, L: Tensor) -> Tensor:
    """Membrane at the end of a sequence of constant-coefficient pieces (dim 1): piece m has
    dv/dt = g_m − f_m v for a duration L_m (f ≥ 0; ``L`` broadcastable to f). Exact; v starts
    at 0. Used by both the exact (pieces = input intervals) and DSTD (pieces = bins) solvers."""
    f, g = torch.broadcast_tensors(f, g)
    return _RCAccumulate.apply(f, g, L)


class _PermuteRows(torch.autograd.Function):
    """out[b] = M[idx[b]] for M [N, C], idx [B, N] (each row a permutation) → [B, N, C].

    Backward un-permutes with a gather and sums over the batch, instead of the slow
    scatter-add (index_put with accumulate) autograd would use."""

    @staticmethod
    def forward(ctx, m: Tensor, idx: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(idx)
        return m[idx]

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        (idx,) = ctx.saved_tensors
        inv = torch.argsort(idx, dim=1)
        g = torch.take_along_dim(grad, inv.unsqueeze(-1), dim=1).sum(dim=0)
        return g, None


def permute_rows(m: Tensor, idx: Tensor) -> Tensor:
    """Rows of ``m`` [N, C] in each sample's order ``idx`` [B, N] (a permutation per row)."""
    return _PermuteRows.apply(m, idx)


class _LinearScan(torch.autograd.Function):
    """v_0 = 0, v_{k+1} = a_k v_k + b_k along dim 1 (output has the length of ``a``).

    A Python loop over slices writing into preallocated tensors (no per-step autograd nodes);
    backward is the adjoint recurrence λ_k = G_k + a_k λ_{k+1}, ∂b_k = λ_{k+1},
    ∂a_k = λ_{k+1} v_k."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor) -> Tensor:  # type: ignore[override]
        v = torch.zeros_like(a)
        for k in range(a.shape[1] - 1):
            v[:, k + 1] = torch.addcmul(b[:, k], a[:, k], v[:, k])
        ctx.save_for_backward(a, v)
        return v

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        a, v = ctx.saved_tensors
        n = a.shape[1]
        grad_a = torch.zeros_like(a)
        grad_b = torch.zeros_like(a)
        lam = grad[:, n - 1].clone()
        for k in range(n - 2, -1, -1):  # lam holds λ_{k+1}
            grad_b[:, k] = lam
            grad_a[:, k] = lam * v[:, k]
            lam = torch.addcmul(grad[:, k], a[:, k], lam)
        return grad_a, grad_b


def linear_scan(a: Tensor, b: Tensor) -> Tensor:
    """Membrane at the start of each piece: v_0 = 0, v_{k+1} = a_k v_k + b_k (dim 1)."""
    a, b = torch.broadcast_tensors(a, b)
    return _LinearScan.apply(a.contiguous(), b.contiguous())
