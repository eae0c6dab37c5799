"""The closed-form SGD fixed point under asymmetry, and SHD at the true minimum."""

from __future__ import annotations

import torch

from imcflow.crosspoint.toy import run_toy, sgd_fixed_point


def test_closed_form_reduces_to_linear_formula_without_imbalance() -> None:
    t = torch.tensor([0.2, -0.1])
    a = torch.tensor([1.0, 2.0])
    s = torch.tensor([-0.1, 0.1])
    fp = sgd_fixed_point(t, 0.5, a, s, torch.zeros(2))
    assert torch.allclose(fp, (t + a * 0.5 * s) / (1 + a * 0.5))


def test_sgd_lands_on_biased_fixed_point_and_shd_on_true_minimum() -> None:
    torch.set_num_threads(1)
    res = run_toy(n=32, steps=6000, lr=0.01, seed=0)
    s = res.summary()
    bias = s["bias_closed_form"]
    assert bias > 0.04  # the asymmetry really biases SGD
    assert s["sgd_vs_closed_form"] < 0.2 * bias  # simulation lands on the closed form
    assert s["sgd_vs_true_min"] > 0.8 * bias  # ... which is not the minimum
    assert s["shd_vs_true_min"] < 0.4 * bias  # SHD lands (close) on the true minimum
