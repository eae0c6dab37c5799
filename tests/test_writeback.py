"""Write-back: weights → sizes → weights within the grid's quantization."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from imcflow import pdk
from imcflow import spec as S
from imcflow.errors import SpecError
from imcflow.writeback import (
    DeviceModel,
    beta_for,
    quantize_weights,
    weights_to_widths,
    widths_to_weights,
    writeback_spec,
)

C_EFF = 1.0e-12


def _model(n_out: int, bins: bool = False) -> DeviceModel:
    c = [C_EFF * (1 + 0.01 * i) for i in range(n_out)]
    if not bins:
        return DeviceModel.proportional(160e-9, 290e-9, c, 0.872, 1e-6)
    # A sky130-like finger table: a narrow-width bump below 1 µm, then growing unevenly.
    w = (0.42, 0.6, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0)
    i_n = (200e-9, 230e-9, 160e-9, 226e-9, 293e-9, 419e-9, 630e-9, 850e-9)
    i_p = (120e-9, 170e-9, 288e-9, 300e-9, 319e-9, 400e-9, 459e-9, 530e-9)
    return DeviceModel(widths_um=w, i_n_A=i_n, i_p_A=i_p, c_eff_F=tuple(c), v_th_V=0.872,
                       T_s=1e-6)


@pytest.mark.parametrize("bins", [False, True])
def test_round_trip_within_grid_quantization(bins):
    rng = np.random.default_rng(1)
    dm = _model(6, bins)
    w = rng.uniform(0.35, 4.0, (6, 9)) * np.where(rng.random((6, 9)) < 0.4, -1, 1)
    widths, fingers = weights_to_widths(w, dm)
    back = widths_to_weights(widths, fingers, dm)
    # Half a grid step of finger width, times the steepest slope of the finger table, per finger.
    slope = np.where(w > 0, 850e-9 - 630e-9, 290e-9) if bins else np.where(w > 0, 160e-9, 290e-9)
    step = slope * pdk.grid_um() * fingers / dm.unit_current()[:, None]
    assert np.all(np.abs(back - w) <= step * 0.5 + 1e-9)
    assert np.all(np.sign(back) == np.sign(w))
    per_finger = np.abs(widths) / fingers
    assert all(pdk.on_grid(x) for x in per_finger.ravel())
    assert per_finger.min() >= 1.0 and per_finger.max() <= 5.0


def test_finger_currents_add_up():
    dm = _model(1, bins=True)
    one = dm.current(np.array([2.0]), np.array([1]), np.array([True]))
    four = dm.current(np.array([8.0]), np.array([4]), np.array([True]))
    assert four[0] == pytest.approx(4 * one[0])


def test_small_weights_are_explicit():
    dm = _model(1)
    w_min = widths_to_weights(np.array([[1.0]]), np.array([[1]]), dm)[0, 0]
    w = np.array([[0.2 * w_min, 0.6 * w_min, -0.01, 2 * w_min]])
    q = quantize_weights(w, dm)
    assert q[0, 0] == 0.0 and q[0, 2] == 0.0  # under half the minimum finger: dropped
    assert q[0, 1] == pytest.approx(w_min)    # above half: rounded up to the minimum finger
    assert q[0, 3] == pytest.approx(2 * w_min, rel=0.01)


def test_wide_devices_get_fingers():
    dm = _model(1)
    big = widths_to_weights(np.array([[12.0]]), np.array([[3]]), dm)[0, 0]
    widths, fingers = weights_to_widths(np.array([[big]]), dm)
    assert fingers[0, 0] == 3 and widths[0, 0] == pytest.approx(12.0, abs=0.02)


def test_dips_in_the_table_are_avoided():
    dm = _model(1, bins=True)
    w, i = dm.table(True, (0.42, 5.0))  # NMOS dips from 0.6 to 1.0 µm: start after the dip
    assert w[0] == 1.0 and np.all(np.diff(i) > 0)
    widths, _ = weights_to_widths(np.array([[0.5]]), dm, finger_range_um=(0.42, 5.0))
    assert widths[0, 0] >= 1.0
    # a dip near the top (a model bin at 4.9 µm) leaves the wide stretch below it in use
    top = DeviceModel(widths_um=(1.0, 2.0, 3.0, 4.0, 4.9, 5.0),
                      i_n_A=(1e-7, 2e-7, 3e-7, 4e-7, 3.9e-7, 4.1e-7), i_p_A=(1e-7,) * 6,
                      c_eff_F=(1e-12,), v_th_V=0.87, T_s=1e-6)
    w, _ = top.table(True, (1.0, 5.0))
    assert (w[0], w[-1]) == (1.0, 4.0)
    flat = DeviceModel(widths_um=(1.0, 2.0), i_n_A=(1e-7, 1e-7), i_p_A=(1e-7, 2e-7),
                       c_eff_F=(1e-12,), v_th_V=0.87, T_s=1e-6)
    with pytest.raises(SpecError, match="does not grow"):
        weights_to_widths(np.array([[0.5]]), flat)


def test_writeback_spec_validates_and_is_deterministic():
    spec = S.default_spec()
    models = [_model(layer.n_out, bins=True) for layer in spec.layers]
    rng = np.random.default_rng(0)
    weights = [rng.normal(0, 1.5, (layer.n_out, layer.n_in)) for layer in spec.layers]
    a = writeback_spec(spec, weights, models, name="trained")
    b = writeback_spec(spec, weights, models, name="trained")
    assert a.to_json() == b.to_json() and a.name == "trained"
    S.validate(a)
    for layer, w, dm in zip(a.layers, weights, models, strict=True):
        realised = widths_to_weights(layer.widths(), np.asarray(layer.fingers), dm)
        assert np.allclose(realised, quantize_weights(w, dm))


def test_too_large_weight_is_a_clear_error():
    with pytest.raises(SpecError, match="larger membrane capacitor"):
        weights_to_widths(np.array([[1e4]]), _model(1))


def test_weights_beyond_64_fingers_are_realised_at_the_limit():
    """A weak device (here a PMOS finger of 1/400 of the unit current) bounds the weight the
    hardware can hold; the quantizer realises that bound instead of failing the write-back."""
    dm = DeviceModel(widths_um=(1.0, 2.0, 5.0), i_n_A=(1e-7, 2e-7, 5e-7),
                     i_p_A=(5e-10, 1e-9, 2.5e-9), c_eff_F=(1e-12,), v_th_V=1.0, T_s=1e-6)
    w_max_neg = float(dm.max_weight(False)[0])
    assert w_max_neg == pytest.approx(64 * 2.5e-9 / 1e-6)
    with pytest.raises(SpecError, match="fingers"):
        weights_to_widths(np.array([[-0.7]]), dm)
    q = quantize_weights(np.array([[-0.7, 0.3, -0.5 * w_max_neg]]), dm)
    assert q[0, 0] == pytest.approx(-w_max_neg, rel=1e-6)
    assert q[0, 1] == pytest.approx(0.3, rel=0.01)
    assert q[0, 2] == pytest.approx(-0.5 * w_max_neg, rel=0.02)
    widths, fingers = weights_to_widths(q, dm)
    assert fingers[0, 0] == 64 and widths[0, 0] == pytest.approx(-320.0)
    # the per-synapse β of an out-of-range weight is that of the device realising its limit
    dm_b = dataclasses.replace(dm, beta_n=(0.1, 0.2, 0.3), beta_p=(0.4, 0.5, 0.6))
    assert beta_for(np.array([[-0.7]]), dm_b)[0, 0] == pytest.approx(0.6)


def test_a_calibration_scale_stops_at_the_finger_limit(monkeypatch):
    """The SPICE scale search multiplies written-back currents; a weight already at the
    64-finger limit (h5_sf0's PMOS) scaled by 1.04 stays at the limit instead of failing."""
    from types import SimpleNamespace

    from imcflow.flow import experiment as ex

    dm = DeviceModel(widths_um=(1.0, 2.0, 5.0), i_n_A=(1e-7, 2e-7, 5e-7),
                     i_p_A=(5e-10, 1e-9, 2.5e-9), c_eff_F=(1e-12,) * 5, v_th_V=1.0, T_s=1e-6)
    spec = S.default_spec()
    limit = float(dm.max_weight(False)[0])
    weights = [np.full((layer.n_out, layer.n_in), -limit) for layer in spec.layers]
    model = SimpleNamespace(weights=weights, kind="bottom_up")
    monkeypatch.setattr(ex, "device_models", lambda spec, fit, kind: [
        dataclasses.replace(dm, c_eff_F=(1e-12,) * layer.n_out) for layer in spec.layers])
    wb = ex.scaled_spec(spec, None, model, 1.0, 1.04, "scaled")
    assert all(f == 64 for layer in wb.layers for row in layer.fingers for f in row)
