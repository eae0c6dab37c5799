"""Variation-aware training's pieces: the perturbation draws what it says, gradients flow
through it, the flow's σ follow from the spec and the process data, Monte-Carlo evaluation of a
PNN and variation-aware training repeat for a seed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from toy_layers import toy_layer as _models

from imcflow import pdk
from imcflow.flow.variation import VariationConfig, layer_perturbations
from imcflow.pnn.variation import Perturbation, perturb
from imcflow.spec import default_spec
from imcflow.train.physical import (
    PhysicalTrainConfig,
    build_network,
    evaluate,
    mc_accuracy,
    train_network,
)
from imcflow.writeback import DeviceModel

W = torch.tensor([[0.5, -0.3, 0.0], [1.0, -1.0, 0.2]], dtype=torch.float64)
ALPHA = torch.tensor([1.0, 1.2], dtype=torch.float64)
VTH = torch.tensor([1.0, 1.0], dtype=torch.float64)


def test_no_variation_changes_nothing():
    w, a, v = perturb(W, ALPHA, VTH, Perturbation())
    assert torch.equal(w, W) and torch.equal(a, ALPHA) and torch.equal(v, VTH)


def test_draws_have_the_stated_spread_and_keep_signs():
    gen = torch.Generator().manual_seed(0)
    p = Perturbation(sigma_syn=lambda w: torch.full_like(w, 0.1), sigma_alpha=0.05,
                     sigma_vth=0.02)
    ws, as_, vs = zip(*(perturb(W, ALPHA, VTH, p, gen) for _ in range(4000)), strict=True)
    logf = torch.log(torch.stack(ws)[:, 0, 0] / W[0, 0])
    assert float(logf.std()) == pytest.approx(0.1, rel=0.05)
    assert float(torch.log(torch.stack(as_)[:, 1] / ALPHA[1]).std()) == pytest.approx(0.05,
                                                                                     rel=0.05)
    assert float((torch.stack(vs)[:, 0] - 1).std()) == pytest.approx(0.02, rel=0.05)
    assert torch.all(torch.sign(torch.stack(ws)) == torch.sign(W))  # a factor, never a flip


def test_np_imbalance_moves_positive_and_negative_weights_apart():
    gen = torch.Generator().manual_seed(1)
    w, _, _ = perturb(W, ALPHA, VTH, Perturbation(sigma_np=0.2), gen)
    f = w / torch.where(W == 0, 1.0, W)
    assert f[0, 0] == pytest.approx(float(f[1, 0])) and f[0, 1] == pytest.approx(float(f[1, 1]))
    assert math.log(float(f[0, 0])) == pytest.approx(-math.log(float(f[0, 1])))


def test_gradient_flows_through_the_perturbed_weight():
    w = W.clone().requires_grad_(True)
    out, _, _ = perturb(w, ALPHA, VTH, Perturbation(sigma_global=0.1),
                        torch.Generator().manual_seed(2))
    out.sum().backward()
    assert w.grad is not None and torch.all(w.grad > 0)


def test_flow_sigmas_follow_from_the_spec_and_the_process_data():
    spec = default_spec()
    dm = DeviceModel(widths_um=(0.5, 1.0, 2.0, 4.0), i_n_A=(5e-8, 1e-7, 2e-7, 4e-7),
                     i_p_A=(1e-7, 2e-7, 4e-7, 8e-7), c_eff_F=(1e-12,), v_th_V=0.82, T_s=1e-6)
    p = layer_perturbations(spec, [dm, dm], VariationConfig())[0]
    n = spec.layers[0].neuron
    a_dis = pdk.pdk_data("mismatch")["current_pelgrom_pct_um"]["discharger"] / 100
    assert p.sigma_alpha == pytest.approx(a_dis / math.sqrt(n.dis_w_um * n.dis_l_um), rel=1e-3)
    assert 0.001 < p.sigma_vth < 0.05
    sig = p.sigma_syn(torch.tensor([[0.0, 0.2, 2.0, -0.2, -2.0]], dtype=torch.float64))[0]
    assert sig[0] == 0  # no device, no mismatch
    assert sig[1] > sig[2] > 0 and sig[3] > sig[4] > 0  # wider devices match better
    half = layer_perturbations(spec, [dm, dm], VariationConfig(scale=0.5))[0]
    assert half.sigma_alpha == pytest.approx(p.sigma_alpha / 2)


def _toy_task(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (n, 4))
    y = torch.as_tensor((x[:, 0] + x[:, 1] > x[:, 2] + x[:, 3]).astype(np.int64))
    return torch.as_tensor(np.concatenate([x, np.zeros((n, 1))], axis=1)), y


def test_mc_accuracy_repeats_for_a_seed_and_equals_evaluate_without_variation():
    t, y = _toy_task(60)
    p = Perturbation(sigma_syn=lambda w: torch.full_like(w, 0.3), sigma_alpha=0.1)
    net = build_network([_models(5, 4), _models(4, 2)], seed=2, perturbations=[p, p])
    a1, a2 = mc_accuracy(net, t, y, 20, seed=5), mc_accuracy(net, t, y, 20, seed=5)
    assert np.array_equal(a1, a2) and a1.std() > 0
    plain = build_network([_models(5, 4), _models(4, 2)], seed=2)
    assert np.all(mc_accuracy(plain, t, y, 3) == evaluate(plain, t, y)[0])
    assert not net[0].perturb_eval  # evaluation mode restored


def test_variation_aware_training_repeats_for_a_seed_and_sees_the_variation():
    t_in, y = _toy_task(80)
    models = [_models(5, 4), _models(4, 2)]
    p = Perturbation(sigma_syn=lambda w: torch.full_like(w, 0.3), sigma_alpha=0.05,
                     sigma_vth=0.02)
    cfg = PhysicalTrainConfig(epochs=10, lr=1e-2, weight_decay=0.0, range_weight=0.0)

    def trained(pert):
        net = build_network(models, seed=1, perturbations=pert)
        train_network(net, t_in, y, cfg)
        return [layer.weight.detach().clone() for layer in net]

    a, b, nominal = trained([p, p]), trained([p, p]), trained(None)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not all(torch.allclose(u, v) for u, v in zip(a, nominal, strict=True))
