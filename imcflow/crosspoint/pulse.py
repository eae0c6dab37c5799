"""Fully parallel stochastic pulsed update of a crosspoint array (rank-one updates by pulses).

The desired update of an array is ``ΔW = lr * Σ_b d_b x_b^T`` (``x_b``: column/input vector,
``d_b``: row/error vector of sample ``b``). A crossbar does it without computing the outer
product (Gokmen & Vlasov 2016): for each sample, column ``j`` fires a stochastic pulse train of
``BL`` slots, each slot a pulse with probability ``p_j = C_x |x_bj|``; row ``i`` likewise with
``q_i = C_d |d_bi|``. A cell receives a programming pulse only when its row and column pulse
coincide, with polarity ``sign(d_bi) * sign(x_bj)``. The expected number of coincidences is
``BL * C_x * C_d * |x_bj| |d_bi|``, so with ``C_x C_d = lr / (BL * dw_min)`` the expected change
is the outer product (for a symmetric device, exactly ``lr * d_b x_b^T``).

Update management: ``C_x`` and ``C_d`` are balanced per sample so that the largest column and the
largest row probability are equal (``C_x max|x| = C_d max|d|``); probabilities above 1 are
clipped (the update is then truncated — ``BL`` too short for that learning rate).

Vectorised: the pulse trains of all samples are ``(B*BL, n)`` bit matrices; the up and down
coincidence counts of every cell are one matrix product of the sign-split row bits with the
sign-split column bits. Up and down coincidences are counted separately (both are applied: on an
asymmetric device they do not cancel).
"""

from __future__ import annotations

import torch


def pulse_probabilities(x: torch.Tensor, d: torch.Tensor, lr: float, dw_min: float,
                        bl: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample pulse probabilities ``(p_x, p_d)`` (shapes ``(B, cols)``, ``(B, rows)``).

    ``lr`` is in device weight units per unit of ``d x^T``; ``dw_min`` is the nominal step of one
    pulse (the controller knows only the nominal value, not each cell's).
    """
    k = lr / (bl * dw_min)
    mx = x.abs().amax(dim=1, keepdim=True).clamp_min(1e-30)
    md = d.abs().amax(dim=1, keepdim=True).clamp_min(1e-30)
    cx = torch.sqrt(k * md / mx)
    cd = torch.sqrt(k * mx / md)
    return (cx * x.abs()).clamp(max=1.0), (cd * d.abs()).clamp(max=1.0)


def pulse_counts(x: torch.Tensor, d: torch.Tensor, lr: float, dw_min: float, bl: int,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Stochastic up/down coincidence counts for ``ΔW ≈ lr * Σ_b d_b x_b^T``.

    Args:
        x: column (input) vectors, ``(B, cols)``.
        d: row (error) vectors, ``(B, rows)``; the desired update direction is ``+d x^T``.
        lr: learning rate in device weight units.
        dw_min: nominal step of one pulse [weight units].
        bl: pulse-train length (slots per sample).
        generator: source of the pulse bits.

    Returns:
        ``(n_up, n_down)``, each ``(rows, cols)``, float counts of up and down pulses per cell.
    """
    if x.ndim == 1:
        x = x[None]
    if d.ndim == 1:
        d = d[None]
    b, cols = x.shape
    rows = d.shape[1]
    px, pd = pulse_probabilities(x, d, lr, dw_min, bl)
    bx = torch.rand((b, bl, cols), generator=generator, dtype=x.dtype) < px[:, None, :]
    bd = torch.rand((b, bl, rows), generator=generator, dtype=d.dtype) < pd[:, None, :]
    sx = (x > 0)[:, None, :]
    sd = (d > 0)[:, None, :]
    # sign-split bit matrices: [positive | negative] along the feature axis
    xs = torch.cat([(bx & sx), (bx & ~sx)], dim=2).reshape(b * bl, 2 * cols).to(x.dtype)
    ds = torch.cat([(bd & sd), (bd & ~sd)], dim=2).reshape(b * bl, 2 * rows).to(d.dtype)
    m = ds.T @ xs  # (2 rows, 2 cols): blocks [++ +-; -+ --]
    pp, pn = m[:rows, :cols], m[:rows, cols:]
    np_, nn_ = m[rows:, :cols], m[rows:, cols:]
    return pp + nn_, pn + np_
