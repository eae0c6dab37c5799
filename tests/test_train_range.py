"""The membrane-range penalty: it measures excursions exactly, and training with it keeps the
trained network inside the range its circuit model was validated over."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from toy_layers import toy_layer as _models

from imcflow.pnn import PNNParams, rc_spike_membrane_exact
from imcflow.pnn.physical import PhysicalRCSpikeLinear
from imcflow.pnn.ramp import SelectorTail
from imcflow.train.physical import PhysicalTrainConfig, build_network, train_network


def test_range_excess_is_zero_inside_and_squared_outside() -> None:
    w = torch.tensor([[1.5, -0.4], [0.2, 0.1]], dtype=torch.float64)
    layer = PhysicalRCSpikeLinear(w, PNNParams(E_pos=3.0, E_neg=-2.0), alpha_d=torch.ones(2),
                                  beta_d=0.0, v_th=1.0, v_range=(-0.2, 0.8))
    t = torch.tensor([[0.0, 0.5]], dtype=torch.float64)
    grid = torch.linspace(0, 1, 4001, dtype=torch.float64)
    v = rc_spike_membrane_exact(t, w, PNNParams(E_pos=3.0, E_neg=-2.0), grid)
    lo, hi = layer.membrane_range(t)
    assert torch.allclose(lo, v.amin(-1), atol=1e-3) and torch.allclose(hi, v.amax(-1), atol=1e-3)
    expect = (torch.relu(-0.2 - lo) ** 2 + torch.relu(hi - 0.8) ** 2).mean()
    assert float(layer.range_excess(t).detach()) == float(expect.detach()) > 0.0
    layer.v_range = (-5.0, 5.0)
    assert float(layer.range_excess(t).detach()) == 0.0




def test_training_with_the_penalty_stays_inside_the_range() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (120, 4))
    y = torch.as_tensor((x[:, 0] + x[:, 1] > x[:, 2] + x[:, 3]).astype(np.int64))
    t_in = torch.as_tensor(np.concatenate([x, np.zeros((120, 1))], axis=1))
    models = [_models(5, 6), _models(6, 2)]
    rng_v = (-0.3, 1.1)

    def worst(range_weight: float) -> float:
        net = build_network(models, seed=1, v_ranges=[rng_v, rng_v])
        cfg = PhysicalTrainConfig(epochs=60, lr=3e-2, weight_decay=0.0, range_weight=range_weight)
        train_network(net, t_in, y, cfg)
        out, t = 0.0, t_in
        with torch.no_grad():
            net.eval()
            for layer in net:
                lo, hi = layer.membrane_range(t)
                out = max(out, float(torch.relu(rng_v[0] - lo).max()),
                          float(torch.relu(hi - rng_v[1]).max()))
                t = layer(t)
        return out

    free, held = worst(0.0), worst(100.0)
    assert free > 0.2            # left to itself the network drives membranes far outside
    assert held < 0.005          # with the penalty (and its margin) it stays inside


def test_saturation_penalty_is_zero_for_late_outputs_and_positive_for_saturated_ones() -> None:
    phys, fl = _models(2, 2)
    net = build_network([(phys, fl)], seed=0)
    layer = net[0]
    t = torch.tensor([[0.0, 0.5]], dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.05, 0.05], [3.0, 3.0]], dtype=torch.float64))
    raw_late, raw_sat = layer(t)[0]
    assert raw_sat == layer.t_gate and raw_late > 0.1  # the second output fires at the gate
    excess = layer.saturation_excess(t, margin=0.02)
    assert float(excess.detach()) > 0
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.05, 0.05], [0.05, 0.05]], dtype=torch.float64))
    assert float(layer.saturation_excess(t, margin=0.02).detach()) == 0.0


def _one_output_at(raw_target: float) -> tuple[PhysicalRCSpikeLinear, torch.Tensor]:
    """A one-output toy layer whose unclipped output time is ``raw_target`` (bisection on the
    weight scale; a larger weight fires earlier)."""
    phys, fl = _models(2, 1)
    layer = build_network([(phys, fl)], seed=0)[0]
    t = torch.tensor([[0.0, 0.3]], dtype=torch.float64)
    lo, hi = 0.0, 3.0
    for _ in range(60):
        mid = (lo + hi) / 2
        with torch.no_grad():
            layer.weight.fill_(mid)
            raw = float(layer._raw_times(t))
        lo, hi = (lo, mid) if raw < raw_target else (mid, hi)
    return layer, t


@pytest.mark.parametrize("raw", [0.995, 1.005])
def test_phase_end_penalty_covers_both_sides_of_the_phase_end(raw: float) -> None:
    layer, t = _one_output_at(raw)
    fired = float(layer(t).detach()) < 1.0
    assert fired == (raw < 1.0)  # 1.005: the neuron just misses its window, still penalised
    excess = layer.phase_end_excess(t, margin=0.02)
    assert float(excess.detach()) == pytest.approx((1 - 0.005 / 0.02) ** 2, rel=1e-6)
    excess.backward()
    # the gradient pushes the output out of the band: away from 1 on its own side
    assert layer.weight.grad is not None
    assert float(layer.weight.grad.sum()) * (1.0 if raw < 1.0 else -1.0) < 0
    layer.weight.grad = None
    far, t2 = _one_output_at(0.9)
    assert float(far.phase_end_excess(t2, margin=0.02).detach()) == 0.0


def test_phase_end_penalty_keeps_hidden_spikes_off_the_end_of_the_phase() -> None:
    """Applied to a layer whose next layer has a switching charge (only there), it empties
    the band; without the next layer's switching charge, training is unchanged."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (120, 4))
    y = torch.as_tensor((x[:, 0] + x[:, 1] > x[:, 2] + x[:, 3]).astype(np.int64))
    t_in = torch.as_tensor(np.concatenate([x, np.zeros((120, 1))], axis=1))
    models = [_models(5, 8), _models(8, 2)]
    zero_tail = SelectorTail(s=(0.0, 1.0), g_pos=(0.0, 1.0), g_neg=(0.0, 1.0))

    def band(weight: float, switching: bool) -> tuple[int, list[float]]:
        net = build_network(models, seed=1)
        if switching:  # a switching charge of zero: the same physics, the flag set
            net[1].tail = zero_tail
            net[1].kappa_fn = lambda w: torch.zeros((2, *w.shape), dtype=w.dtype)
        cfg = PhysicalTrainConfig(epochs=60, lr=3e-2, weight_decay=0.0,
                                  phase_end_weight=weight, phase_end_margin=0.05)
        hist = train_network(net, t_in, y, cfg)
        with torch.no_grad():
            net.eval()
            raw = net[0]._raw_times(t_in)
        return int(((raw - 1).abs() < 0.05).sum()), hist["loss"]

    free, _ = band(0.0, True)
    held, _ = band(3.0, True)
    assert free >= 20 and held <= free // 4
    assert band(3.0, False)[1] == band(0.0, False)[1]


def test_the_penalties_share_the_forward_solve_and_train_the_same() -> None:
    """forward_and_raw gives the forward pass and the penalties' raw times from one solve; the
    training it drives equals the one with separate solves (same losses to rounding)."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (60, 4))
    y = torch.as_tensor((x[:, 0] > x[:, 3]).astype(np.int64))
    t_in = torch.as_tensor(np.concatenate([x, np.zeros((60, 1))], axis=1))
    models = [_models(5, 6), _models(6, 2)]
    zero_tail = SelectorTail(s=(0.0, 1.0), g_pos=(0.0, 1.0), g_neg=(0.0, 1.0))

    def run(shared: bool) -> list[float]:
        net = build_network(models, seed=2)
        net[1].tail = zero_tail
        net[1].kappa_fn = lambda w: torch.zeros((2, *w.shape), dtype=w.dtype)
        if not shared:
            for layer in net:
                layer.forward_and_raw = lambda t, m=layer: (m(t), m._raw_times(t))
        cfg = PhysicalTrainConfig(epochs=8, lr=3e-2, phase_end_weight=1.0,
                                  phase_end_margin=0.05, saturation_weight=30.0)
        return train_network(net, t_in, y, cfg)["loss"]

    layer = build_network(models, seed=2)[0]
    layer.eval()
    out, raw = layer.forward_and_raw(t_in)
    assert torch.equal(out, layer(t_in)) and torch.equal(raw, layer._raw_times(t_in))
    assert np.allclose(run(True), run(False), rtol=1e-9, atol=0)
