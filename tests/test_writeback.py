"""Write-back: weights → sizes → weights within the grid's quantization."""

from __future__ import annotations

import numpy as np
import pytest

from imcflow import pdk
from imcflow import spec as S
from imcflow.errors import SpecError
from imcflow.writeback import (
    DeviceModel,
    quantize_weights,
    weights_to_widths,
    widths_to_weights,
    writeback_spec,
)


def _model(n_out: int, nonlinear: bool = False) -> DeviceModel:
    c = [140e-15 * (1 + 0.01 * i) for i in range(n_out)]
    if not nonlinear:
        return DeviceModel.proportional(110e-9, 35e-9, c, 0.872, 1e-6)
    # Narrow-width effect: less current per µm near the minimum width.
    w = (0.42, 1.0, 2.0, 5.0, 20.0)
    return DeviceModel(widths_um=w, i_n_A=tuple(100e-9 * x * (1 - 0.1 / x) for x in w),
                       i_p_A=tuple(30e-9 * x * (1 - 0.08 / x) for x in w), c_eff_F=tuple(c),
                       v_th_V=0.872, T_s=1e-6)


@pytest.mark.parametrize("nonlinear", [False, True])
def test_round_trip_within_grid_quantization(nonlinear):
    rng = np.random.default_rng(1)
    dm = _model(6, nonlinear)
    w = rng.uniform(0.5, 4.0, (6, 9)) * np.where(rng.random((6, 9)) < 0.4, -1, 1)
    widths, fingers = weights_to_widths(w, dm)
    back = widths_to_weights(widths, dm)
    # One grid step of width changes a weight by at most dI/dW · grid / unit current.
    grid = pdk.grid_um()
    # dI/dW: 110/35 nA/µm (proportional), 100/30 nA/µm (the narrow-width table's slope).
    per_um = np.where(w > 0, 100e-9, 30e-9) if nonlinear else np.where(w > 0, 110e-9, 35e-9)
    step = per_um * grid * fingers / dm.unit_current()[:, None]
    assert np.all(np.abs(back - w) <= step * 0.5 + 1e-12)
    assert np.all(np.sign(back) == np.sign(w))
    # Every per-finger width on the grid and within the device limits.
    per_finger = np.abs(widths) / fingers
    assert all(pdk.on_grid(x) for x in per_finger.ravel())
    assert per_finger.min() >= 0.42 and per_finger.max() <= 5.0


def test_small_weights_are_explicit():
    dm = _model(1)
    w_min = widths_to_weights(np.array([[0.42]]), dm)[0, 0]
    w = np.array([[0.2 * w_min, 0.6 * w_min, -0.01, 2 * w_min]])
    q = quantize_weights(w, dm)
    assert q[0, 0] == 0.0 and q[0, 2] == 0.0  # under half the minimum device: dropped
    assert q[0, 1] == pytest.approx(w_min)    # above half: rounded up to the minimum
    assert q[0, 3] == pytest.approx(2 * w_min, rel=0.01)


def test_wide_devices_get_fingers():
    dm = _model(1)
    big = widths_to_weights(np.array([[12.0]]), dm)[0, 0]
    widths, fingers = weights_to_widths(np.array([[big]]), dm)
    assert fingers[0, 0] == 3 and widths[0, 0] == pytest.approx(12.0, abs=0.02)


def test_writeback_spec_validates_and_is_deterministic():
    spec = S.default_spec()
    models = [_model(layer.n_out) for layer in spec.layers]
    rng = np.random.default_rng(0)
    weights = [rng.normal(0, 1.5, (layer.n_out, layer.n_in)) for layer in spec.layers]
    a = writeback_spec(spec, weights, models, name="trained")
    b = writeback_spec(spec, weights, models, name="trained")
    assert a.to_json() == b.to_json() and a.name == "trained"
    S.validate(a)
    for layer, w, dm in zip(a.layers, weights, models, strict=True):
        assert np.allclose(widths_to_weights(layer.widths(), dm), quantize_weights(w, dm))


def test_too_large_weight_is_a_clear_error():
    with pytest.raises(SpecError, match="larger membrane capacitor"):
        weights_to_widths(np.array([[1e4]]), _model(1))
