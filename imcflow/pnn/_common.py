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
    "piece_membrane",
    "check_inputs",
    "beta_weight",
    "check_beta",
    "phi",
    "psi",
    "ramp_crossing",
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


def beta_weight(weight: Tensor, params: PNNParams, beta: Tensor | None = None) -> Tensor:
    """β_ij·w_ij (≥ 0): w/E⁺ for w ≥ 0, w/E⁻ for w < 0; or ``beta * weight`` when a
    per-synapse β (same shape as ``weight``; β ≥ 0 where w ≥ 0, β ≤ 0 where w < 0) is given."""
    if beta is not None:
        return beta * weight
    return torch.where(weight >= 0, weight * params.beta_pos, weight * params.beta_neg)


def check_beta(beta: Tensor | None, weight: Tensor) -> None:
    """A per-synapse β must match the weights' shape and dtype and be finite."""
    if beta is None:
        return
    if not isinstance(beta, Tensor) or beta.shape != weight.shape or beta.dtype != weight.dtype:
        raise ValueError(f"beta must be a tensor shaped like weight {tuple(weight.shape)} "
                         f"({weight.dtype})")
    if not torch.isfinite(beta).all():
        raise ValueError("beta contains NaN or inf")


def stacked_weight(weight: Tensor, params: PNNParams, beta: Tensor | None = None) -> Tensor:
    """[w; β·w] stacked along dim 0 so one matmul/conv gives both g and f coefficients."""
    return torch.cat([weight, beta_weight(weight, params, beta)], dim=0)


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


def ramp_crossing(v_end: Tensor, alpha_d: Tensor | float, beta_d: Tensor | float,
                  v_th: Tensor | float = 1.0) -> Tensor:
    """Time s (in units of the phase) at which the fire-phase ramp from ``v_end`` crosses
    ``v_th``: ``d/(α_d r)·ψ(β_d d/r)``, d = v_th − v_end, r = 1 − β_d v_th (see the module doc);
    negative for v_end > v_th, saturated where β_d v_end → 1. Parameters are floats or tensors
    broadcastable to ``v_end``; differentiable everywhere (no NaN gradients)."""
    r = 1.0 - beta_d * v_th
    floor = (-0.9 * r / torch.clamp(beta_d, min=1e-12) if isinstance(beta_d, Tensor)
             else -0.9 * r / max(float(beta_d), 1e-12))
    d = torch.clamp(v_th - v_end, min=floor)
    return d / (alpha_d * r) * psi(beta_d * d / r)


def ramp_spike_time(v_end: Tensor, params: PNNParams) -> Tensor:
    """RC-Spike output time from the membrane at the end of the accumulate phase: the
    :func:`ramp_crossing` of ``params``' ramp, clipped to the fire window [0, 1] (a membrane
    already above threshold fires at s = 0), plus ``delay_out``."""
    v = torch.clamp(v_end, max=params.v_th)
    s = torch.clamp(ramp_crossing(v, params.alpha_d_eff, params.beta_d, params.v_th), 0.0, 1.0)
    return s + params.delay_out if params.delay_out else s


def crossing(
    v0: Tensor, f: Tensor, g: Tensor, t0: Tensor, length: Tensor, v_th: float, valid: Tensor
) -> Tensor:
    """Time of the first crossing of ``v_th`` by dv/dt = g − f v from v(t0) = v0 within
    ``[t0, t0 + length]`` (``length`` may be inf), over pieces on dim 1 (the earliest wins);
    ``+inf`` where there is none or ``~valid``.

    Closed form: ``s = ln((u − v0)/(u − v_th))/f`` with u = g/f, written as
    ``(d/r)·ψ(f d/r)`` with d = v_th − v0, r = g − f v_th (also right for f = 0).

    The winning piece is found without autograd over all pieces; the crossing is then
    recomputed with autograd on that piece only (same gradient as a differentiable min, at a
    fraction of the memory).
    """
    with torch.no_grad():
        d = v_th - v0
        r = g - f * v_th
        ok = valid & (d > 0) & (r > 0)
        d = torch.where(ok, d, torch.zeros_like(d))
        r = torch.where(ok, r, torch.ones_like(r))
        s = d / r * psi(f * d / r)
        del d, r
        ok &= s <= length
        tc = torch.where(ok, t0 + s, torch.full_like(s, float("inf")))
        del s, ok
        t_min, k = tc.min(dim=1, keepdim=True)
        fired = torch.isfinite(t_min)
        del tc
    shape = torch.broadcast_shapes(v0.shape, f.shape, g.shape, t0.shape)

    def pick(x: Tensor) -> Tensor:
        return torch.gather(x.expand(shape), 1, k)

    v0k, fk, gk, t0k = pick(v0), pick(f), pick(g), pick(t0)
    d = torch.where(fired, v_th - v0k, torch.zeros_like(v0k))
    r = torch.where(fired, gk - fk * v_th, torch.ones_like(gk))
    t = torch.where(fired, t0k + d / r * psi(fk * d / r), torch.full_like(d, float("inf")))
    return t.squeeze(1)


# --------------------------------------------------------------------------- fused kernels
def _thr(dtype: torch.dtype) -> float:
    """Below this x the series of φ and φ' are used (accurate to rounding in each dtype)."""
    return 1e-3 if dtype == torch.float64 else 3e-2


def _phi_parts(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """e^{−x}, φ(x) = (1 − e^{−x})/x and the mask of small x, for x ≥ 0 (no autograd).

    Memory-lean: the series is evaluated only on the (usually few) small entries."""
    small = x < _thr(x.dtype)
    e = torch.exp(-x)
    ph = torch.neg(e).add_(1.0).div_(x)  # 0/0 at x = 0 is replaced below
    if small.any():
        xs = x[small]
        ph[small] = 1.0 - xs * (0.5 - xs * (1.0 / 6.0 - xs / 24.0))
    return e, ph, small


def _dphi(x: Tensor, e: Tensor, ph: Tensor, small: Tensor, in_place: bool = False) -> Tensor:
    """φ'(x) = (e^{−x} − φ)/x, series for small x; ``in_place`` writes it into ``e``."""
    d = (e.sub_(ph) if in_place else torch.sub(e, ph)).div_(x)
    if small.any():
        xs = x[small]
        d[small] = -0.5 + xs * (1.0 / 3.0 - xs * (0.125 - xs / 30.0))
    return d


def _rc_parts(f: Tensor, g: Tensor, L: Tensor, consume: bool = False):
    """x = f·L, e^{−x}, φ(x), the small-x mask and P_m = exp(−Σ_{q>m} x_q) (bins on dim 1).
    ``consume``: x is computed in place in ``f``."""
    x = f.mul_(L) if consume else f * L
    e, ph, small = _phi_parts(x)
    P = torch.cumsum(x, dim=1)  # → exp(−(X_last − X_m)), in place
    last = P.narrow(1, P.shape[1] - 1, 1).clone()
    P.neg_().add_(last).clamp_(min=0.0).neg_().exp_()
    return x, e, ph, small, P


def rc_accumulate_value(f: Tensor, g: Tensor, L: Tensor, consume: bool = False) -> Tensor:
    """v_end of :func:`rc_accumulate` without autograd bookkeeping (f, g same shape);
    ``consume``: f is overwritten (memory)."""
    x, e, ph, small, P = _rc_parts(f, g, L, consume)
    del x, e, small
    return ph.mul_(P).mul_(L).mul_(g).sum(dim=1)


def rc_accumulate_grads(f: Tensor, g: Tensor, L: Tensor, grad_v: Tensor,
                        need_f: bool = True, need_g: bool = True, need_L: bool = False,
                        consume: bool = False):
    """(∂f, ∂g, ∂L) of :func:`rc_accumulate` for the upstream gradient ``grad_v``, recomputed
    from f, g, L (None where not needed); ∂L is reduced to L's shape:
        ∂v/∂g_m = L φ P_m,   ∂v/∂f_m = L (g L φ'(x) P_m − C_m),   ∂v/∂L_m = g e^{−x} P_m − f C_m
    with P_m = exp(−Σ_{q>m} x_q) and C_m = Σ_{q<m} b_q P_q. In place where possible;
    ``consume`` (ignored when ∂L is needed) also overwrites f and g, which saves two
    [B, K, N] buffers at the peak."""
    consume = consume and not need_L
    x, e, ph, small, P = _rc_parts(f, g, L, consume)
    P.mul_(grad_v.unsqueeze(1))  # P now holds gv·P
    gL = g.mul_(L) if consume else g * L
    C = torch.mul(gL, ph).mul_(P)  # gv·c
    C = torch.cumsum(C, dim=1).sub_(C)  # gv·(exclusive prefix sum of c)
    grad_f = grad_g = grad_L = None
    if need_L:
        grad_L = _reduce_to(torch.mul(g, e).mul_(P).sub_(f * C), L.shape)
    if need_f:
        d = _dphi(x, e, ph, small, in_place=True)
        del x
        grad_f = _reduce_to(d.mul_(gL).mul_(P).sub_(C).mul_(L), f.shape)
    if need_g:
        grad_g = _reduce_to(ph.mul_(P).mul_(L), g.shape)
    return grad_f, grad_g, grad_L


class _RCAccumulate(torch.autograd.Function):
    """v_end = Σ_m b_m exp(−Σ_{q>m} x_q) with x = f·L, b = g·L·φ(x) (bins/intervals on dim 1).

    One fused forward and a hand-written backward (:func:`rc_accumulate_grads`, recomputing
    from f, g, L rather than keeping intermediates), so the only saved tensors are the inputs.
    """

    @staticmethod
    def forward(ctx, f: Tensor, g: Tensor, L: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(f, g, L)
        return rc_accumulate_value(f, g, L)

    @staticmethod
    def backward(ctx, grad_v: Tensor):  # type: ignore[override]
        f, g, L = ctx.saved_tensors
        need = ctx.needs_input_grad
        return rc_accumulate_grads(f, g, L, grad_v, need[0], need[1], need[2])


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


class _PieceMembrane(torch.autograd.Function):
    """Membrane at the start of each constant-coefficient piece (dim 1): v_0 = 0 and
    v_{m+1} = e^{−x_m} v_m + g_m L_m φ(x_m), x = f·L (the last piece's L is not used).

    Python loop over slices writing into a preallocated output (no per-step autograd nodes);
    backward is the adjoint recurrence λ_m = G_m + e^{−x_m} λ_{m+1}, then in closed form
    ∂x_m = −λ_{m+1} e^{−x_m} v_m + λ_{m+1} g_m L_m φ'(x_m), ∂f = ∂x·L, ∂g = λ_{m+1} L φ,
    ∂L = ∂x·f + λ_{m+1} g φ. Saves only f, g, L and the output."""

    @staticmethod
    def forward(ctx, f: Tensor, g: Tensor, L: Tensor) -> Tensor:  # type: ignore[override]
        x = f * L
        a, ph, _ = _phi_parts(x)
        b = ph.mul_(L).mul_(g)
        del x
        v = torch.zeros_like(b)
        for k in range(b.shape[1] - 1):
            torch.addcmul(b[:, k], a[:, k], v[:, k], out=v[:, k + 1])
        ctx.save_for_backward(f, g, L, v)
        return v

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        f, g, L, v = ctx.saved_tensors
        x = f * L
        a, ph, small = _phi_parts(x)
        n = v.shape[1]
        lam = torch.zeros_like(v)  # lam[:, m] = λ_{m+1}
        nxt = grad[:, n - 1]
        for k in range(n - 2, -1, -1):
            lam[:, k] = nxt
            nxt = torch.addcmul(grad[:, k], a[:, k], nxt)
        gL = g * L
        d = _dphi(x, a, torch.neg(a).add_(1.0).div_(x), small)
        gx = d.mul_(gL).sub_(a.mul_(v)).mul_(lam)  # ∂x
        del a, d
        grad_f = _reduce_to(gx * L, f.shape) if ctx.needs_input_grad[0] else None
        lam_ph = lam.mul_(ph)
        grad_g = _reduce_to(lam_ph * L, g.shape) if ctx.needs_input_grad[1] else None
        grad_L = None
        if ctx.needs_input_grad[2]:
            grad_L = _reduce_to(gx.mul_(f).add_(lam_ph.mul_(g)), L.shape)
        return grad_f, grad_g, grad_L


def piece_membrane(f: Tensor, g: Tensor, L: Tensor) -> Tensor:
    """Membrane at the start of each piece (dim 1) of dv/dt = g_m − f_m v lasting L_m; v_0 = 0.

    Exact; ``L`` broadcastable to f (finite; the last piece's length is not used)."""
    f, g = torch.broadcast_tensors(f, g)
    return _PieceMembrane.apply(f, g, L)
