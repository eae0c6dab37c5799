"""Exact PNN solvers against an independent numerical integration (scipy solve_ivp)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from imcflow.pnn import (
    PNNParams,
    rc_spike_exact,
    rc_spike_membrane_exact,
    rc_spike_v_exact,
    ttfs_exact,
)

RTOL, ATOL = 1e-11, 1e-13


def _coeffs(times, w, p, upto):
    """g, f for one neuron with the inputs that spiked at or before ``upto``."""
    on = times <= upto
    ww = w[on]
    bw = np.where(ww >= 0, ww * p.beta_pos, ww * p.beta_neg)
    return ww.sum(), bw.sum() + p.alpha


def _integrate(times, w, p, t_end, v0=0.0, event=None):
    """Piecewise solve_ivp of dv/dt = g − f v from 0 to t_end, restarting at each input."""
    cuts = sorted({0.0, t_end, *[x for x in times if 0.0 <= x < t_end]})
    v = v0
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        g, f = _coeffs(times, w, p, a)
        sol = solve_ivp(lambda _t, y, g=g, f=f: [g - f * y[0]], (a, b), [v], method="DOP853",
                        rtol=RTOL, atol=ATOL, events=event)
        if event is not None and sol.t_events[0].size:
            return sol.t_events[0][0], None
        v = sol.y[0, -1]
    return None, v


def _rc_reference(times, w, p):
    """(spike time, v(1)) of one RC-Spike neuron by numerical integration."""
    t = np.clip(times + p.delay_in, 0.0, 1.0)
    _, v1 = _integrate(t, w, p, 1.0)
    if v1 >= p.v_th:
        s = 0.0
    else:
        def ev(_s, y):
            return y[0] - p.v_th

        ev.terminal = True
        sol = solve_ivp(lambda _s, y: [p.alpha_d_eff * (1 - p.beta_d * y[0])], (0.0, 1.0),
                        [v1], method="DOP853", rtol=RTOL, atol=ATOL, events=ev)
        s = sol.t_events[0][0] if sol.t_events[0].size else 1.0
    return s + p.delay_out, v1


def _ttfs_reference(times, w, p, horizon=300.0):
    t = np.maximum(times + p.delay_in, 0.0)

    def ev(_t, y):
        return y[0] - p.v_th

    ev.terminal = True
    ev.direction = 1
    last = max([x for x in t if np.isfinite(x)], default=0.0)
    tc, _ = _integrate(t, w, p, last + horizon, event=ev)
    return math.inf if tc is None else tc + p.delay_out


def _random_params(rng, leak: bool, ramp: bool) -> PNNParams:
    e_pos = float(10 ** rng.uniform(0, 2))
    e_neg = -float(10 ** rng.uniform(0, 2))
    return PNNParams(E_pos=e_pos, E_neg=e_neg, alpha=0.8 if leak else 0.0,
                     beta_d=1 / 6.44 if ramp else 0.0, delay_in=0.0, delay_out=0.0)


@pytest.mark.parametrize("leak", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rc_spike_exact_matches_solve_ivp(seed: int, leak: bool) -> None:
    rng = np.random.default_rng(seed)
    p = _random_params(rng, leak, ramp=bool(seed % 2))
    B, N, O = 3, 8, 4
    t = rng.uniform(0, 1, (B, N))
    t[0, 0] = math.inf  # never spikes
    t[1, 1] = 1.3  # after the window: no effect
    w = rng.normal(0.15, 0.5, (O, N))
    t_out, v1 = rc_spike_exact(torch.tensor(t), torch.tensor(w), p, return_v=True)
    for b in range(B):
        for i in range(O):
            s_ref, v_ref = _rc_reference(t[b], w[i], p)
            assert abs(v1[b, i].item() - v_ref) < 1e-6
            assert abs(t_out[b, i].item() - s_ref) < 1e-6


@pytest.mark.parametrize("leak", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ttfs_exact_matches_solve_ivp(seed: int, leak: bool) -> None:
    rng = np.random.default_rng(100 + seed)
    p = _random_params(rng, leak, ramp=False)
    B, N, O = 3, 8, 4
    t = rng.uniform(0, 2, (B, N))
    t[0, 0] = math.inf
    w = rng.normal(0.4, 0.6, (O, N))
    out = ttfs_exact(torch.tensor(t), torch.tensor(w), p)
    n_fired = 0
    for b in range(B):
        for i in range(O):
            ref = _ttfs_reference(t[b], w[i], p)
            got = out[b, i].item()
            if math.isinf(ref):
                assert math.isinf(got)
            else:
                n_fired += 1
                assert abs(got - ref) < 1e-6
    assert n_fired >= 3  # the cases exercise crossings, not only silence


def test_delays_and_threshold_are_applied() -> None:
    rng = np.random.default_rng(7)
    p = PNNParams.paper(delay_in=0.05, delay_out=0.02, v_th=0.9)
    t = rng.uniform(0, 1, (2, 6))
    w = rng.normal(0.2, 0.4, (3, 6))
    out = rc_spike_exact(torch.tensor(t), torch.tensor(w), p)
    for b in range(2):
        for i in range(3):
            assert abs(out[b, i].item() - _rc_reference(t[b], w[i], p)[0]) < 1e-6
    out = ttfs_exact(torch.tensor(t), torch.tensor(w), p)
    for b in range(2):
        for i in range(3):
            ref = _ttfs_reference(t[b], w[i], p)
            assert (math.isinf(ref) and math.isinf(out[b, i].item())) or abs(
                out[b, i].item() - ref) < 1e-6


def test_membrane_trace_matches_solve_ivp() -> None:
    rng = np.random.default_rng(3)
    p = PNNParams.symmetric(2.0, alpha=0.3)
    t = rng.uniform(0, 1, (2, 7))
    w = rng.normal(0.1, 0.6, (3, 7))
    te = torch.linspace(0, 1, 6, dtype=torch.float64)
    v = rc_spike_membrane_exact(torch.tensor(t), torch.tensor(w), p, te)
    assert v.shape == (2, 3, 6)
    for b in range(2):
        for i in range(3):
            for k, x in enumerate(te.tolist()):
                _, ref = _integrate(t[b], w[i], p, x) if x > 0 else (None, 0.0)
                assert abs(v[b, i, k].item() - ref) < 1e-6
    assert torch.allclose(v[..., -1], rc_spike_v_exact(torch.tensor(t), torch.tensor(w), p))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ideal_limit_is_weighted_sum(dtype: torch.dtype) -> None:
    g = torch.Generator().manual_seed(0)
    t = torch.rand(5, 40, generator=g, dtype=dtype)
    t[0, :5] = math.inf
    w = torch.randn(7, 40, generator=g, dtype=dtype) * 0.1
    t_out, v = rc_spike_exact(t, w, PNNParams.ideal(), return_v=True)
    ref = (1 - torch.clamp(t, max=1.0)) @ w.t()
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert torch.allclose(v, ref, atol=tol, rtol=0)
    assert torch.allclose(t_out, torch.clamp(1 - ref, 0, 1), atol=tol, rtol=0)


def test_errors_are_clear() -> None:
    p = PNNParams.paper()
    w = torch.zeros(3, 4)
    with pytest.raises(ValueError, match="N_in"):
        rc_spike_exact(torch.zeros(2, 5), w, p)
    with pytest.raises(ValueError, match="NaN"):
        ttfs_exact(torch.tensor([[0.1, float("nan"), 0.2, 0.3]]), w, p)
    with pytest.raises(ValueError, match="dtype"):
        rc_spike_exact(torch.zeros(2, 4, dtype=torch.float64), w, p)
    with pytest.raises(ValueError, match=r"\[B, N_in\]"):
        rc_spike_exact(torch.zeros(4), w, p)


def test_all_silent_inputs() -> None:
    t = torch.full((2, 4), math.inf, requires_grad=True)
    w = torch.randn(3, 4, requires_grad=True)
    p = PNNParams.paper()
    out = rc_spike_exact(t, w, p)
    assert torch.allclose(out, torch.ones_like(out))  # v = 0 fires at the end of the window
    out2 = ttfs_exact(t, w, p)
    assert torch.isinf(out2).all()
    (out.sum() + out2[torch.isfinite(out2)].sum()).backward()
    assert not torch.isnan(w.grad).any() and not torch.isnan(t.grad).any()
