"""DSTD: differentiable spike-time discretization (PAPERS.md §1.2) — dense, batched, no sorting.

The window is cut into bins by a grid ``T_m = m·Δτ − t_off`` (Δτ = window/M); the bins are
clipped to the window, so with an offset there are M + 1 bins (first and last shorter). Each
input step θ(t − t_j) is replaced by its *average over each bin*: the cumulative occupancy

    S_jm = clamp((e_{m+1} − t_j)/L_m, 0, 1)        (e = bin edges, L = bin lengths)

which on a uniform grid is exactly the cumulative sum of the triangular soft assignment
``s_jm = max(0, 1 − |T_m − t_j|/Δτ)``. Per-bin coefficients come from dense matmuls (or one
conv2d with the stacked weights [w; β·w]):

    g̃_im = Σ_j w_ij S_jm,    f̃_im = α + Σ_j β_ij w_ij S_jm

and the membrane is solved in closed form per bin. The result is exact in the ideal limit
(β = α = 0) and has error O(Δτ²/|E|) otherwise. Gradients reach the input times through S.
The RC-Spike linear layer is one fused autograd Function (:class:`_RCDSTDLinear`) whose
backward recomputes S, g̃, f̃ instead of keeping them: its peak memory is about that of the
``nn.Linear`` (N_in·M → N_out) it is built on.

Accuracy. RC-Spike: the per-bin error is O(Δτ² β w) per input spike, so v(1) and the spike
time converge as M⁻² and the error shrinks as 1/|E| (measured slope ≈ −1.98 for |E| = 2.8;
exact for β = α = 0). TTFS: the crossing is solved inside the bin with the bin-averaged
coefficients, so an input arriving in the same bin *after* the crossing is partly felt before
it: an O(Δτ) error with probability O(Δτ) — the RMS error falls ≈ M⁻¹·⁵ when crossings occur
while inputs still arrive (ideal neurons), ≈ M⁻² when they occur after the inputs.

Offsets: ``offset="random"`` draws t_off uniformly in (0, Δτ) once per call (per mini-batch and
layer, as in the paper); a float is a fixed t_off in [0, Δτ) (normalised time); ``None`` = 0
(grid aligned with the window, M equal bins).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ._common import (
    check_beta,
    check_inputs,
    crossing,
    piece_membrane,
    ramp_spike_time,
    rc_accumulate,
    rc_accumulate_grads,
    rc_accumulate_value,
    stacked_weight,
)
from .params import PNNParams

__all__ = [
    "Offset",
    "bin_edges",
    "occupancy",
    "rc_spike_dstd",
    "rc_spike_conv2d_dstd",
    "ttfs_dstd",
    "ttfs_conv2d_dstd",
]

Offset = float | None | Literal["random"]


def _draw_offset(offset: Offset, dt: float, generator: torch.Generator | None) -> float:
    if offset is None:
        return 0.0
    if isinstance(offset, str):
        if offset != "random":
            raise ValueError(f"offset must be a float, None or 'random', got {offset!r}")
        u = torch.rand((), generator=generator, dtype=torch.float64).item()
        return max(u, 1e-6) * dt
    off = float(offset)
    if not 0.0 <= off < dt:
        raise ValueError(f"fixed offset must be in [0, Δτ={dt:g}), got {off}")
    return off


def _check_M(M: int) -> int:
    if isinstance(M, bool) or not isinstance(M, int) or M < 1:
        raise ValueError(f"M (number of DSTD time steps) must be a positive int, got {M!r}")
    return M


def bin_edges(
    M: int,
    window: float = 1.0,
    offset: Offset = None,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """Bin edges on [0, window]: 0, then m·Δτ − t_off for m = 1..M (when inside), then window."""
    M = _check_M(M)
    dt = window / M
    off = _draw_offset(offset, dt, generator)
    inner = [m * dt - off for m in range(1, M + 1)]
    edges = [0.0] + [e for e in inner if 0.0 < e < window] + [window]
    return torch.tensor(edges, dtype=dtype, device=device)


def raw_occupancy(t: Tensor, edges: Tensor) -> tuple[Tensor, Tensor]:
    """(e_{m+1} − t_j)/L_m [B, K, *rest] before clamping to [0, 1], and 1/L [1, K, 1, …]."""
    shape = (1, -1) + (1,) * (t.dim() - 1)
    inv_l = (1.0 / (edges[1:] - edges[:-1])).reshape(shape)
    return edges[1:].reshape(shape) * inv_l - t.unsqueeze(1) * inv_l, inv_l


def occupancy(t: Tensor, edges: Tensor) -> Tensor:
    """Cumulative occupancy S [B, K, *rest] of times t [B, *rest] in the K bins of ``edges``."""
    return torch.clamp(raw_occupancy(t, edges)[0], 0.0, 1.0)


def _rc_v_bins(f: Tensor, g: Tensor, lengths: Tensor) -> Tensor:
    """v at the end of the last bin from per-bin coefficients f, g [B, K, *rest]."""
    return rc_accumulate(f, g, lengths.reshape((1, -1) + (1,) * (f.dim() - 2)))


def _coefficients_linear(S: Tensor, weight: Tensor, params: PNNParams):
    """g̃, f̃ [B, K, N_out] from S [B, K, N_in] by one GEMM with the stacked weights (TTFS)."""
    n_out = weight.shape[0]
    gf = F.linear(S, stacked_weight(weight, params))  # [B, K, 2 N_out]
    g, f = gf[..., :n_out], gf[..., n_out:]
    if params.alpha:
        f = f + params.alpha
    return g, f


def _beta_coef(weight: Tensor, params: PNNParams, beta: Tensor | None) -> Tensor:
    """β per synapse as a dense tensor (1/E⁺ where w ≥ 0, 1/E⁻ elsewhere, or ``beta``)."""
    if beta is not None:
        return beta
    coef = torch.full_like(weight, params.beta_neg)
    return coef.masked_fill_(weight >= 0, params.beta_pos)


# elements of one [rows, K, N_out] block of the elementwise stage: 1 MB fp32 on a CPU (large
# enough that per-op overhead is noise), 16 MB on a GPU (where small kernels are launch-bound)
_BLOCK = 1 << 18
_BLOCK_GPU = 1 << 22


def _row_blocks(x: Tensor) -> list[slice]:
    """Slices of dim 0 of ``x`` [B, K, N_out] whose blocks hold at most ``_BLOCK`` elements
    (``_BLOCK_GPU`` off the CPU); a single slice at the usual training sizes."""
    block = _BLOCK if x.device.type == "cpu" else _BLOCK_GPU
    n_rows, row_elems = x.shape[0], max(x[0].numel(), 1)
    step = max(1, block // row_elems)
    return [slice(i, min(i + step, n_rows)) for i in range(0, n_rows, step)]


class _RCDSTDLinear(torch.autograd.Function):
    """Fused DSTD RC-Spike linear layer: t [B, N_in], w [N_out, N_in] (, β) → v(1) [B, N_out].

    Same arithmetic as occupancy → two GEMMs → :func:`rc_accumulate`, but it keeps only its
    inputs for backward and recomputes S, g̃, f̃ there (two GEMMs, elementwise work), so the
    [B, M, N] intermediates live one at a time instead of all at once and no stacked
    [2 N_out, N_in] weight or its gradient is ever built. The elementwise stage (membrane and
    its adjoint, ~6 temporaries) runs over blocks of batch rows, writing the gradients over
    g̃, f̃ in place, so its temporaries are block-sized. Backward:
        ∂w = ∂g̃ᵀ S + β ⊙ (∂f̃ᵀ S),   ∂β = w ⊙ (∂f̃ᵀ S),   ∂S = ∂g̃ w + ∂f̃ (β w),
        ∂t_j = −Σ_m ∂S_jm / L_m  where 0 ≤ (e_{m+1} − t_j)/L_m ≤ 1 (torch.clamp's convention).
    """

    @staticmethod
    def _coefficients(t, weight, beta, edges, params):
        """g̃, f̃ [B, K, N_out] (S and β·w are temporaries)."""
        raw, _ = raw_occupancy(t, edges)
        S = raw.clamp_(0.0, 1.0).flatten(0, 1)  # [B·K, N_in]
        g = S @ weight.t()
        bw = beta * weight if beta is not None else _beta_coef(weight, params, None).mul_(weight)
        f = S @ bw.t()
        del S, bw
        if params.alpha:
            f.add_(params.alpha)
        K = edges.numel() - 1
        return g.unflatten(0, (-1, K)), f.unflatten(0, (-1, K))

    @staticmethod
    def forward(ctx, t, weight, beta, edges, params):  # type: ignore[override]
        ctx.save_for_backward(t, weight, beta, edges)
        ctx.params = params
        g, f = _RCDSTDLinear._coefficients(t, weight, beta, edges, params)
        L = (edges[1:] - edges[:-1]).reshape(1, -1, 1)
        return torch.cat([rc_accumulate_value(f[r], g[r], L, consume=True)
                          for r in _row_blocks(f)])

    @staticmethod
    def backward(ctx, grad_v):  # type: ignore[override]
        t, weight, beta, edges = ctx.saved_tensors
        need_t, need_w, need_beta = ctx.needs_input_grad[:3]
        params = ctx.params
        g, f = _RCDSTDLinear._coefficients(t, weight, beta, edges, params)
        L = (edges[1:] - edges[:-1]).reshape(1, -1, 1)
        for r in _row_blocks(f):
            df, dg, _ = rc_accumulate_grads(f[r], g[r], L, grad_v[r], consume=True)
            f[r], g[r] = df, dg
            del df, dg
        grad_f, grad_g = f.flatten(0, 1), g.flatten(0, 1)  # now ∂f̃, ∂g̃ [B·K, N_out]
        del f, g
        raw, inv_l = raw_occupancy(t, edges)
        inside = (raw >= 0.0) & (raw <= 1.0)  # where the clamp passes ∂S to t
        S = raw.clamp_(0.0, 1.0).flatten(0, 1)
        del raw
        coef = _beta_coef(weight, params, beta)
        if beta is not None:
            coef = coef.clone()  # β·w is formed in place below
        grad_t = grad_w = grad_beta = None
        if need_w or need_beta:
            dfs = grad_f.t() @ S  # ∂f̃ᵀ S [N_out, N_in]
            if need_beta:
                grad_beta = dfs * weight
            if need_w:
                grad_w = dfs.mul_(coef).addmm_(grad_g.t(), S)
            del dfs
        del S
        if need_t:
            grad_S = (grad_g @ weight).addmm_(grad_f, coef.mul_(weight))
            del grad_f, grad_g, coef
            grad_S = grad_S.unflatten(0, (t.shape[0], -1)).mul_(inside)
            grad_t = grad_S.mul_(inv_l).sum(dim=1).neg_()
        return grad_t, grad_w, grad_beta, None, None


def _coefficients_conv(S: Tensor, weight: Tensor, params: PNNParams, stride, padding,
                       bias: Tensor | None = None):
    """g̃, f̃ [B, K, C_out, H', W'] from S [B, K, C, H, W] by conv2d (zero pad = no spike).

    ``bias``: weight of an extra input spiking at t = 0 everywhere (S = 1 in every bin)."""
    B, K = S.shape[:2]
    c_out = weight.shape[0]
    b2 = None if bias is None else stacked_weight(bias, params)
    gf = F.conv2d(S.reshape(B * K, *S.shape[2:]), stacked_weight(weight, params), b2,
                  stride=stride, padding=padding)
    gf = gf.reshape(B, K, 2 * c_out, *gf.shape[2:])
    g, f = gf[:, :, :c_out], gf[:, :, c_out:]
    if params.alpha:
        f = f + params.alpha
    return g, f


def _rc_dstd(t_in, weight, params, M, offset, generator, conv, stride=1, padding=0,
             return_v=False, bias=None, beta=None):
    check_inputs(t_in, weight, params, conv=conv)
    check_beta(beta, weight)
    M = _check_M(M)
    t = torch.clamp(t_in + params.delay_in, 0.0, 1.0)
    edges = bin_edges(M, 1.0, offset, generator=generator, dtype=t.dtype, device=t.device)
    if conv:
        S = occupancy(t, edges)
        g, f = _coefficients_conv(S, weight, params, stride, padding, bias)
        v = _rc_v_bins(f, g, edges[1:] - edges[:-1])
    else:
        v = _RCDSTDLinear.apply(t, weight, beta, edges, params)
    t_out = ramp_spike_time(v, params)
    return (t_out, v) if return_v else t_out


def rc_spike_dstd(
    t_in: Tensor,
    weight: Tensor,
    params: PNNParams,
    M: int = 10,
    offset: Offset = None,
    generator: torch.Generator | None = None,
    *,
    return_v: bool = False,
    beta: Tensor | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """DSTD RC-Spike layer: t_in [B, N_in], weight [N_out, N_in] → times [B, N_out] in [0, 1]
    (+ ``delay_out``); also v(1) if ``return_v``. ``M`` time steps per window; see module doc
    for ``offset``. ``beta``: optional per-synapse β [N_out, N_in] replacing 1/E±. Cost
    O(B·M·N_in·N_out) time, O(B·M·(N_in + N_out)) memory."""
    return _rc_dstd(t_in, weight, params, M, offset, generator, False, return_v=return_v,
                    beta=beta)


def rc_spike_conv2d_dstd(
    t_in: Tensor,
    weight: Tensor,
    params: PNNParams,
    M: int = 10,
    offset: Offset = None,
    generator: torch.Generator | None = None,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    return_v: bool = False,
    bias: Tensor | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """DSTD RC-Spike 2-D convolution: t_in [B, C_in, H, W], weight [C_out, C_in, kh, kw] →
    times [B, C_out, H', W']. Padding means "no input spike"; ``bias`` [C_out] is the weight
    of a bias spike at t = 0."""
    return _rc_dstd(t_in, weight, params, M, offset, generator, True, stride, padding, return_v,
                    bias)


def _ttfs_window(t: Tensor, t_max: float | None) -> float:
    if t_max is not None:
        if not (t_max > 0 and math.isfinite(t_max)):
            raise ValueError(f"t_max must be finite and > 0, got {t_max}")
        return float(t_max)
    fin = t[torch.isfinite(t)]
    return max(float(fin.max().detach()) if fin.numel() else 0.0, 1e-6)


def _ttfs_dstd(t_in, weight, params, M, offset, generator, t_max, conv, stride=1, padding=0,
               bias=None):
    check_inputs(t_in, weight, params, conv=conv)
    M = _check_M(M)
    t = torch.clamp(t_in + params.delay_in, min=0.0)
    window = _ttfs_window(t, t_max)
    edges = bin_edges(M, window, offset, generator=generator, dtype=t.dtype, device=t.device)
    fin = torch.isfinite(t).to(t.dtype).unsqueeze(1)
    S = torch.cat([occupancy(torch.where(fin.squeeze(1) > 0, t, t.new_tensor(2 * window + 1)),
                             edges), fin], dim=1)  # last bin [window, ∞): every finite spike
    if conv:
        g, f = _coefficients_conv(S, weight, params, stride, padding, bias)
    else:
        g, f = _coefficients_linear(S, weight, params)
    lengths = edges[1:] - edges[:-1]
    bshape = (1, -1) + (1,) * (g.dim() - 2)
    L = torch.cat([lengths, lengths.new_zeros(1)]).reshape(bshape)  # open bin: not used
    v0 = piece_membrane(f, g, L)  # v at the bin starts
    inf = torch.full((1,), float("inf"), dtype=t.dtype, device=t.device)
    length = torch.cat([lengths, inf]).reshape(bshape)
    t0 = edges.reshape(bshape)
    t_out = crossing(v0, f, g, t0, length, params.v_th, torch.ones_like(v0, dtype=torch.bool))
    return t_out + params.delay_out if params.delay_out else t_out


def ttfs_dstd(
    t_in: Tensor,
    weight: Tensor,
    params: PNNParams,
    M: int = 20,
    offset: Offset = None,
    generator: torch.Generator | None = None,
    *,
    t_max: float | None = None,
) -> Tensor:
    """DSTD TTFS layer: t_in [B, N_in] → first-crossing times [B, N_out] (``+inf`` = none).

    The grid covers [0, t_max] (default: the latest finite input time of the batch, so every
    input falls on the grid) with M steps, plus one open bin [t_max, ∞) in which all inputs are
    on; the crossing is solved in closed form inside the first bin where it occurs. Inputs later
    than an explicit ``t_max`` are treated as arriving at ``t_max``."""
    return _ttfs_dstd(t_in, weight, params, M, offset, generator, t_max, False)


def ttfs_conv2d_dstd(
    t_in: Tensor,
    weight: Tensor,
    params: PNNParams,
    M: int = 20,
    offset: Offset = None,
    generator: torch.Generator | None = None,
    *,
    t_max: float | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    bias: Tensor | None = None,
) -> Tensor:
    """DSTD TTFS 2-D convolution (see :func:`ttfs_dstd`); padding means "no input spike";
    ``bias`` [C_out] is the weight of a bias spike at t = 0."""
    return _ttfs_dstd(t_in, weight, params, M, offset, generator, t_max, True, stride, padding,
                      bias)
