"""Capacitance model: recovers C_fixed and κ from per-neuron C_eff; MIM compensation reaches a
target C_eff for every neuron."""

from __future__ import annotations

import numpy as np
import pytest

from imcflow import spec as S
from imcflow.errors import SpecError
from imcflow.fit.capacitance import (
    CapacitanceModel,
    compensate_mim,
    fit_capacitance_model,
    layer_wiring,
)


def _truth() -> CapacitanceModel:
    return CapacitanceModel(c_fixed_F=22e-15, kappa_n_F_per_um=0.6e-15,
                            kappa_p_F_per_um=0.8e-15, max_residual_F=0.0, rms_residual_F=0.0)


def test_recovers_the_parameters_from_fitted_c_eff():
    spec = S.default_spec()
    truth = _truth()
    rng = np.random.default_rng(0)
    wiring = {f"{layer.name}_mem{i}": float(rng.uniform(45e-15, 52e-15))
              for layer in spec.layers for i in range(layer.n_out)}
    c_eff = [tuple(truth.c_eff(layer, layer_wiring(layer, wiring))) for layer in spec.layers]
    cap = fit_capacitance_model(spec, c_eff, wiring)
    assert cap.c_fixed_F == pytest.approx(truth.c_fixed_F, rel=1e-6)
    assert cap.kappa_n_F_per_um == pytest.approx(truth.kappa_n_F_per_um, rel=1e-6)
    assert cap.kappa_p_F_per_um == pytest.approx(truth.kappa_p_F_per_um, rel=1e-6)
    assert cap.max_residual_F < 1e-20


def test_mim_compensation_equalises_c_eff():
    layer = S.default_spec().layers[0]
    wiring = np.array([48e-15, 50e-15, 47e-15, 53e-15, 51e-15])
    cap = _truth()
    target = 1.07e-12
    new = compensate_mim(layer, target, wiring, cap)
    c = cap.c_eff(new, wiring)
    # One 0.005 µm grid step of a ~22 µm square MIM is ≈ 0.45 fF.
    assert np.all(np.abs(c - target) < 0.5e-15)
    assert new.mim_w_um == new.mim_l_um and len(set(new.mim_w_um)) > 1
    with pytest.raises(SpecError, match="no MIM"):
        compensate_mim(layer, 5e-12, wiring, cap)
