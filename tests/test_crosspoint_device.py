"""Device model properties: symmetry point, bounds, asymmetry scaling, presets."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from imcflow.crosspoint.device import PRESETS, DeviceArray, DeviceConfig, get_preset
from imcflow.errors import ImcflowError


def _array(cfg: DeviceConfig, shape: tuple[int, int] = (16, 16), seed: int = 0) -> DeviceArray:
    return DeviceArray(cfg, shape, torch.Generator().manual_seed(seed))


def test_symmetry_point_is_where_up_equals_down_and_pulsing_converges_to_it() -> None:
    cfg = DeviceConfig(name="t", description="", dw_min=0.002, asymmetry=1.0, up_down_dtod=0.05,
                       sp_dtod=0.1, dw_min_dtod=0.2, asymmetry_dtod=0.2)
    dev = _array(cfg)
    sp = dev.symmetry_point()
    assert torch.allclose(dev.step_up(sp), dev.step_down(sp), rtol=1e-4, atol=1e-9)
    # alternating up/down pulses from both extremes end at the symmetry point
    for start in (-0.9, 0.9):
        dev.set(torch.full(dev.shape, start))
        one = torch.ones(dev.shape)
        for _ in range(3000):
            dev.apply_pulses(one, one)
        assert (dev.w - sp).abs().max() < 0.02


def test_states_stay_in_bounds_and_steps_vanish_at_soft_bounds() -> None:
    cfg = dataclasses.replace(get_preset("reram-strong"), dw_min_ctoc=0.5)
    dev = _array(cfg)
    big = torch.full(dev.shape, 5000.0)
    dev.apply_pulses(big, torch.zeros(dev.shape))
    assert dev.w.max() <= cfg.w_bound
    # saturated near the upper soft bound s + 1/a: further up pulses barely move it
    soft_up = (dev.s + 1 / dev.a).clamp(max=cfg.w_bound)
    assert (dev.w - soft_up).abs().max() < 0.05
    inside = soft_up < cfg.w_bound - 0.01  # soft bound inside the hard window
    assert inside.any()
    assert (dev.step_up()[inside] < 0.25 * dev.dw[inside]).all()
    dev.apply_pulses(torch.zeros(dev.shape), 2 * big)
    assert dev.w.min() >= -cfg.w_bound


def test_ideal_device_is_symmetric_and_asymmetry_scales_linearly() -> None:
    ideal = _array(get_preset("ideal"))
    w = torch.linspace(-0.9, 0.9, 256).reshape(16, 16)
    assert torch.allclose(ideal.step_up(w), ideal.step_down(w))
    gaps = []
    for a in (0.5, 1.0, 2.0):
        dev = _array(DeviceConfig(name="t", description="", asymmetry=a))
        gaps.append(float((dev.step_up(torch.full((16, 16), 0.2))
                           - dev.step_down(torch.full((16, 16), 0.2))).abs().mean()))
    assert gaps[1] == pytest.approx(2 * gaps[0], rel=1e-5)
    assert gaps[2] == pytest.approx(4 * gaps[0], rel=1e-5)


def test_presets_are_documented_and_valid() -> None:
    assert {"ideal", "reram-mild", "reram-strong", "ecram"} <= set(PRESETS)
    for cfg in PRESETS.values():
        assert cfg.description and cfg.n_states >= 100
        assert len(cfg.source) > 40 and cfg.to_dict()["source"] == cfg.source


@pytest.mark.parametrize("kw", [{"dw_min": 0.0}, {"asymmetry": -1.0}, {"read_noise": -0.1},
                                {"up_down": 1.5}])
def test_invalid_device_parameters_raise(kw: dict[str, float]) -> None:
    with pytest.raises(ImcflowError):
        DeviceConfig(name="bad", description="", **kw)


def test_unknown_preset_raises() -> None:
    with pytest.raises(ImcflowError, match="unknown device preset"):
        get_preset("nope")
