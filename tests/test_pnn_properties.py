"""Property tests (hypothesis): the membrane stays between E⁻ and E⁺; RC-Spike times in [0, 1]."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from imcflow.pnn import (
    PNNParams,
    rc_spike_dstd,
    rc_spike_exact,
    rc_spike_membrane_exact,
    ttfs_dstd,
    ttfs_exact,
)

E = st.floats(0.3, 50.0)


@st.composite
def layer_case(draw):
    n_in = draw(st.integers(1, 12))
    n_out = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.floats(0.01, 20.0))
    p = PNNParams(E_pos=draw(E), E_neg=-draw(E), alpha=draw(st.sampled_from([0.0, 0.5, 3.0])),
                  beta_d=draw(st.sampled_from([0.0, 1 / 6.44, 0.5])))
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(3, n_in, generator=g, dtype=torch.float64) * 1.2
    t[torch.rand(3, n_in, generator=g) < 0.2] = float("inf")
    w = torch.randn(n_out, n_in, generator=g, dtype=torch.float64) * scale
    return t, w, p


@settings(max_examples=40, deadline=None)
@given(layer_case(), st.integers(1, 40))
def test_membrane_between_reversal_potentials(case, M) -> None:
    t, w, p = case
    tol = 1e-9
    _, v = rc_spike_exact(t, w, p, return_v=True)
    _, vd = rc_spike_dstd(t, w, p, M, "random", return_v=True)
    tr = rc_spike_membrane_exact(t, w, p, torch.linspace(0, 1, 5, dtype=torch.float64))
    for x in (v, vd, tr):
        assert (x >= p.E_neg - tol).all() and (x <= p.E_pos + tol).all()


@settings(max_examples=40, deadline=None)
@given(layer_case(), st.integers(1, 40))
def test_rc_spike_outputs_in_window(case, M) -> None:
    t, w, p = case
    for out in (rc_spike_exact(t, w, p), rc_spike_dstd(t, w, p, M, "random")):
        assert not torch.isnan(out).any()
        assert (out >= 0).all() and (out <= 1).all()


@settings(max_examples=30, deadline=None)
@given(layer_case(), st.integers(1, 40))
def test_ttfs_fires_after_first_input(case, M) -> None:
    t, w, p = case
    first = t.min(dim=1, keepdim=True).values
    out = ttfs_exact(t, w, p)
    assert not torch.isnan(out).any() and (out >= first - 1e-12).all()
    # DSTD smears a spike over its bin, so it may fire up to one bin early, never before 0
    out = ttfs_dstd(t, w, p, M, "random")
    assert not torch.isnan(out).any() and (out >= 0).all()
