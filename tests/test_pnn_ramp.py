"""The fire-phase ramp law: one implementation, checked against its ODE and its closed form."""

from __future__ import annotations

import math

import pytest
import torch

from imcflow.pnn import PNNParams
from imcflow.pnn._common import ramp_crossing, ramp_spike_time
from imcflow.pnn.ramp import fire_time


def _ode_crossing(v0: float, a: float, b: float, v_th: float, dt: float = 1e-5) -> float:
    """Crossing time of dv/ds = a (1 − b v) by forward integration (RK4)."""
    f = lambda v: a * (1.0 - b * v)  # noqa: E731
    v, s = v0, 0.0
    while v < v_th:
        k1 = f(v)
        k2 = f(v + dt / 2 * k1)
        k3 = f(v + dt / 2 * k2)
        k4 = f(v + dt * k3)
        v_new = v + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if v_new >= v_th:
            return s + dt * (v_th - v) / (v_new - v)
        v, s = v_new, s + dt
    return s


@pytest.mark.parametrize("b", [0.0, 0.2, 0.45])
def test_law_matches_the_ode_and_the_log_form(b: float) -> None:
    a, v_th = 1.3, 1.0
    for v0 in (-0.5, 0.0, 0.4, 0.9):
        s = float(ramp_crossing(torch.tensor(v0, dtype=torch.float64), a, b, v_th))
        assert s == pytest.approx(_ode_crossing(v0, a, b, v_th), rel=1e-6)
        exact = (v_th - v0) / a if b == 0 else math.log((1 - b * v0) / (1 - b * v_th)) / (a * b)
        assert s == pytest.approx(exact, rel=1e-12)


def test_consumers_are_the_law_clipped_or_gated() -> None:
    v = torch.linspace(-1.0, 2.0, 61, dtype=torch.float64)
    p = PNNParams(E_pos=3.0, E_neg=-2.0, beta_d=0.3, alpha_d=1.1, delay_out=0.02)
    law = ramp_crossing(v, p.alpha_d, p.beta_d, p.v_th)
    clipped = torch.clamp(ramp_crossing(torch.clamp(v, max=p.v_th), p.alpha_d, p.beta_d, p.v_th),
                          0.0, 1.0) + p.delay_out
    assert torch.equal(ramp_spike_time(v, p), clipped)
    assert torch.equal(fire_time(v, p.alpha_d, p.beta_d, p.v_th, 0.02, clip=False), law + 0.02)
    gated = fire_time(v, p.alpha_d, p.beta_d, p.v_th, 0.02, t_gate=0.05)
    assert torch.equal(gated, torch.clamp(torch.maximum(law + 0.02, torch.tensor(0.05,
                       dtype=v.dtype)), max=1.0))


def test_law_saturates_without_nan_gradients() -> None:
    v = torch.tensor([0.5, 2.0, 3.3, 10.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    s = ramp_crossing(v, 1.0, b, 1.0)
    s.sum().backward()
    assert torch.isfinite(s).all() and torch.isfinite(v.grad).all() and torch.isfinite(b.grad)
    assert s[2] == s[3]                       # both beyond the saturation at 1 − β v = 0.1 r
