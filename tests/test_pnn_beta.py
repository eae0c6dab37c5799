"""Per-synapse β (reversal potentials measured per device) in the RC-Spike solvers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from imcflow.pnn import PNNParams, rc_spike_dstd, rc_spike_membrane_exact, rc_spike_v_exact


def _case(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(3, 6, generator=g, dtype=torch.float64)
    beta = torch.where(w >= 0, 0.2 + 0.2 * torch.rand(3, 6, generator=g, dtype=torch.float64),
                       -0.3 - 0.2 * torch.rand(3, 6, generator=g, dtype=torch.float64))
    t = torch.rand(4, 6, generator=g, dtype=torch.float64)
    t[0, 2] = float("inf")
    return t, w, beta


def test_per_synapse_beta_matches_numerical_integration():
    t, w, beta = _case()
    v = rc_spike_v_exact(t, w, PNNParams(), beta=beta)
    for b in range(t.shape[0]):
        for i in range(w.shape[0]):
            def rhs(s, y, b=b, i=i):
                on = (s >= t[b]).double()
                return [float((on * w[i] * (1 - beta[i] * y[0])).sum())]

            ref = solve_ivp(rhs, (0, 1), [0.0], rtol=1e-11, atol=1e-13, max_step=1e-3)
            assert float(v[b, i]) == pytest.approx(ref.y[0, -1], abs=1e-6)


def test_uniform_beta_equals_reversal_potentials():
    t, w, _ = _case(1)
    p = PNNParams(E_pos=2.8, E_neg=-1.53)
    beta = torch.where(w >= 0, torch.full_like(w, 1 / 2.8), torch.full_like(w, -1 / 1.53))
    assert torch.allclose(rc_spike_v_exact(t, w, p, beta=beta), rc_spike_v_exact(t, w, p))
    te = torch.linspace(0, 1, 7, dtype=torch.float64)
    assert torch.allclose(rc_spike_membrane_exact(t, w, p, te, beta=beta),
                          rc_spike_membrane_exact(t, w, p, te))
    _, v_d = rc_spike_dstd(t, w, p, M=16, return_v=True, beta=beta)
    _, v_d0 = rc_spike_dstd(t, w, p, M=16, return_v=True)
    assert torch.allclose(v_d, v_d0)


def test_dstd_with_beta_converges_and_bad_beta_is_refused():
    t, w, beta = _case(2)
    exact = rc_spike_v_exact(t, w, PNNParams(), beta=beta)
    errs = [float((rc_spike_dstd(t, w, PNNParams(), M=m, return_v=True, beta=beta)[1]
                   - exact).abs().max()) for m in (8, 64)]
    assert errs[1] < errs[0] / 20
    with pytest.raises(ValueError, match="beta"):
        rc_spike_v_exact(t, w, PNNParams(), beta=beta[:, :3])
    gradcheck_ok = torch.autograd.gradcheck(
        lambda ww, bb: rc_spike_v_exact(t[:2], ww, PNNParams(), beta=bb),
        (w.clone().requires_grad_(), beta.clone().requires_grad_()))
    assert gradcheck_ok
    assert np.isfinite(exact.numpy()).all()
