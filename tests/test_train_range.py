"""The membrane-range penalty: it measures excursions exactly, and training with it keeps the
trained network inside the range its circuit model was validated over."""

from __future__ import annotations

import numpy as np
import torch
from toy_layers import toy_layer as _models

from imcflow.pnn import PNNParams, rc_spike_membrane_exact
from imcflow.pnn.physical import PhysicalRCSpikeLinear
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
    assert float(layer.range_excess(t)) == 0.0




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
    assert float(excess) > 0
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.05, 0.05], [0.05, 0.05]], dtype=torch.float64))
    assert float(layer.saturation_excess(t, margin=0.02)) == 0.0
