"""torch.autograd.gradcheck (float64) of both solvers w.r.t. weights and input times."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

from imcflow.pnn import (
    PNNParams,
    rc_spike_conv2d_dstd,
    rc_spike_conv2d_exact,
    rc_spike_dstd,
    rc_spike_exact,
    ttfs_dstd,
    ttfs_exact,
)

PARAMS = [PNNParams.paper(), PNNParams.symmetric(1.5, alpha=0.4), PNNParams.ideal()]


def _inputs(seed: int, B=2, N=6, O=3, ttfs=False):
    g = torch.Generator().manual_seed(seed)
    t = (0.05 + 0.9 * torch.rand(B, N, generator=g, dtype=torch.float64)).requires_grad_(True)
    if ttfs:
        w = 0.6 + 0.3 * torch.rand(O, N, generator=g, dtype=torch.float64)
        w[:, 0] = -0.3
    else:
        w = 0.3 * torch.randn(O, N, generator=g, dtype=torch.float64) + 0.1
    return t, w.requires_grad_(True)


@pytest.mark.parametrize("p", PARAMS, ids=["paper", "leaky", "ideal"])
def test_gradcheck_rc_spike(p: PNNParams) -> None:
    t, w = _inputs(0)
    assert gradcheck(lambda t, w: rc_spike_exact(t, w, p, return_v=True), (t, w))
    for offset in (None, 0.031):
        assert gradcheck(lambda t, w, o=offset: rc_spike_dstd(t, w, p, 10, o, return_v=True),
                         (t, w))


@pytest.mark.parametrize("p", PARAMS, ids=["paper", "leaky", "ideal"])
def test_gradcheck_ttfs(p: PNNParams) -> None:
    t, w = _inputs(1, ttfs=True)
    assert torch.isfinite(ttfs_exact(t, w, p)).all()
    assert gradcheck(lambda t, w: ttfs_exact(t, w, p), (t, w))
    assert torch.isfinite(ttfs_dstd(t, w, p, 20, t_max=1.0)).all()
    assert gradcheck(lambda t, w: ttfs_dstd(t, w, p, 20, 0.013, t_max=1.0), (t, w))


def test_gradcheck_conv() -> None:
    g = torch.Generator().manual_seed(2)
    t = (0.05 + 0.9 * torch.rand(1, 2, 4, 4, generator=g, dtype=torch.float64))
    w = 0.3 * torch.randn(2, 2, 3, 3, generator=g, dtype=torch.float64) + 0.1
    t.requires_grad_(True)
    w.requires_grad_(True)
    p = PNNParams.paper()
    assert gradcheck(lambda t, w: rc_spike_conv2d_exact(t, w, p, padding=1), (t, w))
    assert gradcheck(lambda t, w: rc_spike_conv2d_dstd(t, w, p, 6, padding=1, return_v=True),
                     (t, w))


def test_gradcheck_dstd_per_synapse_beta() -> None:
    """The fused DSTD layer's hand-written backward, per-synapse β included (leaky: α > 0)."""
    t, w = _inputs(3)
    beta = (0.2 + 0.5 * torch.rand(w.shape, dtype=torch.float64)) * torch.sign(w.detach())
    beta.requires_grad_(True)
    p = PNNParams.symmetric(1.5, alpha=0.4)
    assert gradcheck(lambda t, w, b: rc_spike_dstd(t, w, p, 7, 0.02, return_v=True, beta=b),
                     (t, w, beta))


@pytest.mark.parametrize("block", [1 << 18, 700], ids=["one-block", "row-blocks"])
def test_fused_dstd_matches_unfused_composition(block: int, monkeypatch) -> None:
    """Fused layer = occupancy → [w; βw] GEMM → rc_accumulate, values and gradients (float32),
    with the elementwise stage in one block and in blocks of 2 batch rows (+ a ragged last)."""
    from imcflow.pnn import dstd
    from imcflow.pnn._common import rc_accumulate, stacked_weight
    from imcflow.pnn.dstd import bin_edges, occupancy

    monkeypatch.setattr(dstd, "_BLOCK", block)
    assert len(dstd._row_blocks(torch.empty(15, 10, 30))) == (1 if block > 15 * 300 else 8)

    g = torch.Generator().manual_seed(4)
    t = torch.rand(15, 40, generator=g).requires_grad_(True)
    w = (0.2 * torch.randn(30, 40, generator=g)).requires_grad_(True)
    p = PNNParams.symmetric(2.0, alpha=0.3)
    v1 = rc_spike_dstd(t, w, p, 9, 0.05, return_v=True)[1]
    g1 = torch.autograd.grad(v1.square().sum(), (t, w))
    edges = bin_edges(9, 1.0, 0.05)
    gf = torch.nn.functional.linear(occupancy(t, edges), stacked_weight(w, p))
    L = (edges[1:] - edges[:-1]).reshape(1, -1, 1)
    v2 = rc_accumulate(gf[..., 30:] + p.alpha, gf[..., :30], L)
    g2 = torch.autograd.grad(v2.square().sum(), (t, w))
    torch.testing.assert_close(v1, v2)
    for a, b in zip(g1, g2, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
