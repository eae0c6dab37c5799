"""nn.Module layers: shapes, solver switching, train/eval steps, bias, noise, pooling."""

from __future__ import annotations

import math

import pytest
import torch

from imcflow.pnn import (
    PNNParams,
    RCSpikeConv2d,
    RCSpikeLinear,
    SpikeMinPool2d,
    TTFSConv2d,
    TTFSLinear,
)


@pytest.mark.parametrize("cls", [RCSpikeLinear, TTFSLinear])
@pytest.mark.parametrize("bias", [False, True])
def test_linear_dstd_matches_exact_at_large_M(cls, bias) -> None:
    torch.manual_seed(0)
    layer = cls(20, 7, bias=bias).double().eval()
    layer.M_test = 400
    t = torch.rand(5, 20, dtype=torch.float64)
    t[0, 3] = math.inf
    a = layer(t)
    layer.solver = "exact"
    b = layer(t)
    assert a.shape == (5, 7)
    assert torch.equal(torch.isfinite(a), torch.isfinite(b))
    assert torch.isfinite(b).float().mean() > 0.5  # default init makes neurons fire
    fin = torch.isfinite(b)
    assert (a[fin] - b[fin]).abs().max() < 1e-4


@pytest.mark.parametrize("cls", [RCSpikeConv2d, TTFSConv2d])
@pytest.mark.parametrize("bias", [False, True])
def test_conv_dstd_matches_exact_at_large_M(cls, bias) -> None:
    torch.manual_seed(1)
    layer = cls(2, 3, 3, stride=1, padding=1, bias=bias).double().eval()
    layer.M_test = 400
    t = torch.rand(2, 2, 5, 5, dtype=torch.float64)
    a = layer(t)
    layer.solver = "exact"
    b = layer(t)
    assert a.shape == (2, 3, 5, 5)
    fin = torch.isfinite(b)
    assert torch.equal(torch.isfinite(a), fin)
    assert (a[fin] - b[fin]).abs().max() < 1e-4


def test_conv_equals_linear_on_receptive_field() -> None:
    """A conv with a full-size kernel is the fully connected layer."""
    torch.manual_seed(2)
    conv = RCSpikeConv2d(2, 4, 3).double()
    lin = RCSpikeLinear(18, 4).double()
    lin.weight.data = conv.weight.data.reshape(4, 18).clone()
    t = torch.rand(3, 2, 3, 3, dtype=torch.float64)
    for solver in ("exact", "dstd"):
        conv.solver = lin.solver = solver
        conv.eval(), lin.eval()
        assert torch.allclose(conv(t).reshape(3, 4), lin(t.reshape(3, 18)), atol=1e-12)


def test_train_eval_steps_and_random_offset() -> None:
    torch.manual_seed(3)
    layer = RCSpikeLinear(30, 10)
    assert layer.steps == 10
    t = torch.rand(4, 30)
    a, b = layer(t), layer(t)
    assert not torch.equal(a, b)  # new grid offset per call
    layer.eval()
    assert layer.steps == 30 and torch.equal(layer(t), layer(t))
    layer.M_test = 5
    assert layer.steps == 5
    with pytest.raises(ValueError, match="solver"):
        layer.solver = "euler"
    with pytest.raises(ValueError, match="params"):
        layer.params = {"E_pos": 1.0}
    layer.params = PNNParams.ideal()
    assert layer.params.is_ideal


def test_noise_applied_in_train_and_eval() -> None:
    torch.manual_seed(4)
    layer = TTFSLinear(10, 5, noise_std=0.01, random_offset=False)
    t = torch.rand(3, 10)
    for mode in (True, False):
        layer.train(mode)
        assert not torch.equal(layer(t), layer(t))


def test_gradients_flow_float32() -> None:
    torch.manual_seed(5)
    net = torch.nn.Sequential(
        RCSpikeConv2d(1, 4, 3, padding=1), SpikeMinPool2d(2), torch.nn.Flatten(),
        RCSpikeLinear(4 * 4 * 4, 10))
    x = torch.rand(2, 1, 8, 8, requires_grad=True)
    out = net(x)
    assert out.shape == (2, 10) and out.dtype == torch.float32
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    assert torch.isfinite(x.grad).all()


def test_min_pool() -> None:
    t = torch.tensor([[[[0.5, math.inf], [0.2, 0.9]]]], requires_grad=True)
    out = SpikeMinPool2d(2)(t)
    assert out.item() == pytest.approx(0.2)
    out.sum().backward()
    assert t.grad.tolist() == [[[[0.0, 0.0], [1.0, 0.0]]]]
    assert torch.isinf(SpikeMinPool2d(2)(torch.full((1, 1, 2, 2), math.inf))).all()


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match=r"\[B, 4\]"):
        RCSpikeLinear(4, 2)(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="H, W"):
        TTFSConv2d(2, 2, 3)(torch.zeros(1, 3, 5, 5))
