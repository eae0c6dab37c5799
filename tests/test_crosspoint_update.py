"""Pulsed update: expectation = outer product; asymmetric drift; determinism."""

from __future__ import annotations

import torch

from imcflow.crosspoint.device import DeviceConfig, get_preset
from imcflow.crosspoint.pulse import pulse_counts
from imcflow.crosspoint.tile import AnalogTile


def test_expected_pulsed_update_equals_outer_product() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(4, 12, generator=gen) * 2 - 1
    d = torch.randn(4, 8, generator=gen) * 0.5
    lr, dw, bl = 0.02, 0.001, 31
    target = lr * d.T @ x
    acc = torch.zeros(8, 12)
    n = 400
    for _ in range(n):
        up, down = pulse_counts(x, d, lr, dw, bl, gen)
        acc += (up - down) * dw
    mean = acc / n
    err = (mean - target).abs().max()
    assert err < 0.05 * target.abs().max()


def test_tile_update_on_ideal_device_matches_outer_product_in_expectation() -> None:
    tile = AnalogTile(get_preset("ideal"), 6, 5, generator=torch.Generator().manual_seed(2))
    x = torch.tensor([[1.0, -0.5, 0.25, 0.0, 0.75]])
    delta = torch.tensor([[0.3, -0.2, 0.1, 0.0, -0.4, 0.2]])
    acc = torch.zeros(6, 5)
    for _ in range(300):
        tile.set_weight(torch.zeros(6, 5))
        tile.update(x, delta, lr=0.05)
        acc += tile.weight()
    assert torch.allclose(acc / 300, -0.05 * delta.T @ x, atol=2e-3)


def test_asymmetric_device_drifts_toward_symmetry_point_under_zero_mean_updates() -> None:
    cfg = DeviceConfig(name="t", description="", asymmetry=1.0)
    tile = AnalogTile(cfg, 32, 32, generator=torch.Generator().manual_seed(3), reference=False)
    tile.dev.set(torch.full((32, 32), 0.5))
    gen = torch.Generator().manual_seed(4)
    for _ in range(300):
        x = torch.rand(1, 32, generator=gen) * 2 - 1
        d = torch.randn(1, 32, generator=gen)
        tile.update(x, d, lr=0.05)
    # zero-mean gradient, yet the cells have moved most of the way to their symmetry point (0)
    assert abs(float(tile.dev.w.mean())) < 0.1


def test_pulsed_update_is_deterministic_for_a_seed() -> None:
    def run() -> torch.Tensor:
        tile = AnalogTile(get_preset("reram-mild"), 8, 8,
                          generator=torch.Generator().manual_seed(5))
        x = torch.linspace(-1, 1, 16).reshape(2, 8)
        tile.update(x, torch.ones(2, 8) * 0.1, lr=0.05)
        return tile.dev.w.clone()

    assert torch.equal(run(), run())
