"""Fitter: DC lines give E±; the transient fit recovers known parameters from synthetic PNN
waveforms."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from imcflow.fit.dc import fit_linear_current, membrane_range
from imcflow.fit.transient import (
    FittedLayer,
    LayerPhysics,
    LayerWaveforms,
    fit_layer,
    predict,
    predict_membrane,
)


def test_dc_line_gives_lambda_and_reversal_potential():
    v0, v_th = 1.3, 0.872
    v = np.linspace(0.3, 1.5, 121)
    lam = 0.41
    i_n = 120e-9 * (1 + lam * (v - v0))            # NMOS: grows with V
    fit = fit_linear_current(v, i_n, v0=v0, v_th=v_th, v_range=membrane_range(v0, v_th))
    assert fit.i0_A == pytest.approx(120e-9)
    assert fit.lambda_per_V == pytest.approx(lam)
    assert fit.E == pytest.approx(1 / (lam * v_th))   # paper: E+ = 1/(V_th λ_N)
    assert fit.max_rel_residual < 1e-9
    i_p = -50e-9 * (1 - 0.75 * (v - v0))            # PMOS charging current falls as V rises
    fit_p = fit_linear_current(v, i_p, v0=v0, v_th=v_th, v_range=(0.43, 1.36))
    assert fit_p.E == pytest.approx(-1 / (0.75 * v_th))
    assert fit_p.E < 0


def test_dc_fit_reports_curvature_as_residual():
    v = np.linspace(0.4, 1.4, 51)
    i = 1e-7 * (1 + 0.3 * (v - 1.3)) + 2e-8 * (v - 0.9) ** 2
    fit = fit_linear_current(v, i, v0=1.3, v_th=0.87, v_range=(0.4, 1.4))
    assert 0.005 < fit.max_rel_residual < 0.2


def _physics(rng: np.random.Generator, n_out: int = 3, n_in: int = 5) -> LayerPhysics:
    """A layer whose membranes were measured at 140, 145.5 and 136 fF."""
    sign = np.where(rng.random((n_out, n_in)) < 0.35, -1.0, 1.0)
    current = rng.uniform(40e-9, 160e-9, (n_out, n_in))
    c_meas = np.array([140e-15, 145.5e-15, 136e-15])[:n_out]
    return LayerPhysics(sign=sign, current_A=current, c_F=c_meas, v0_V=1.3,
                        v_th_V=0.872, T_s=1e-6, E_pos=2.8, E_neg=-1.53, i_dis_A=122e-9,
                        beta_d=1 / 6.44)


def test_transient_fit_recovers_known_parameters():
    rng = np.random.default_rng(3)
    phys = _physics(rng)
    # the measured capacitances scaled by 1.08 (the large-signal membrane vs the ramp test)
    truth = FittedLayer(c_eff_F=tuple(1.08 * phys.c_F), c_scale=1.08, v_th=0.96, beta_d=0.2,
                        delay_in=0.004, delay_out=0.012, t_gate=0.002, E_pos=2.8, E_neg=-1.53)
    n = 96
    t_in = np.where(rng.random((n, 5)) < 0.8, rng.uniform(0, 1, (n, 5)), np.inf)
    t_out, _ = predict(phys, truth, t_in)
    fired = t_out < 1.0 - 1e-9
    t_mem = np.linspace(0.05, 0.95, 10)
    v_mem = predict_membrane(phys, truth, t_in, t_mem)
    data = LayerWaveforms(t_in=t_in, t_out=t_out, fired=fired, t_mem=t_mem, v_mem=v_mem)
    assert 0.3 < fired.mean() < 1.0  # a mix of early, late and silent neurons

    start = FittedLayer.initial(phys)
    before = fit_layer(phys, data, start=start, steps=0)
    fitted = fit_layer(phys, data, start=start, steps=800, lr=0.01)
    assert fitted.residuals["spike_rms"] < 0.05 * before.residuals["spike_rms"]
    assert fitted.residuals["spike_rms_pct_T"] < 0.1
    np.testing.assert_allclose(fitted.c_eff_F, truth.c_eff_F, rtol=0.01)
    assert fitted.c_scale == pytest.approx(1.08, rel=0.01)
    assert fitted.residuals["at_bound"] == []
    assert fitted.residuals["loss"] <= fitted.residuals["loss_start"]
    per = fitted.residuals["per_neuron"]
    assert len(per["spike_rms_pct_T"]) == 3 and max(per["spike_rms_pct_T"]) < 0.2
    assert per["n_fired"] == [int(x) for x in fired.sum(axis=0)]
    assert fitted.delay_in == pytest.approx(truth.delay_in, abs=0.003)
    # Threshold, ramp curvature and comparator delay trade against each other along the ramp,
    # so check what they jointly determine: spike times of held-out patterns.
    t_new = np.where(rng.random((64, 5)) < 0.8, rng.uniform(0, 1, (64, 5)), np.inf)
    t_true, _ = predict(phys, truth, t_new)
    t_fit, _ = predict(phys, fitted, t_new)
    assert np.sqrt(np.mean((t_fit - t_true) ** 2)) < 1e-3
    # Round trip through JSON-able dicts.
    again = FittedLayer.from_dict(dataclasses.asdict(fitted))
    assert again == fitted


def test_fit_parameters_stay_in_bounds_and_never_end_worse() -> None:
    """A circuit the model cannot follow (a comparator delay of 0.3 T, far outside the physical
    interval): the fitted delay stops at its bound, says so, and the fit keeps the best state it
    saw."""
    from imcflow.fit.transient import BOUNDS

    rng = np.random.default_rng(5)
    phys = _physics(rng)
    truth = FittedLayer(c_eff_F=tuple(phys.c_F), v_th=1.0, beta_d=0.1, delay_in=0.0,
                        delay_out=0.3, E_pos=2.8, E_neg=-1.53)
    t_in = np.where(rng.random((64, 5)) < 0.8, rng.uniform(0, 1, (64, 5)), np.inf)
    t_out, _ = predict(phys, truth, t_in)
    data = LayerWaveforms(t_in=t_in, t_out=t_out, fired=t_out < 1.0 - 1e-9)
    fitted = fit_layer(phys, data, free=("delay_out",), steps=300, lr=0.2)
    assert fitted.delay_out <= BOUNDS["delay_out"][1] + 1e-12
    assert "delay_out" in fitted.residuals["at_bound"]
    assert fitted.residuals["loss"] <= fitted.residuals["loss_start"]
    assert fit_layer(phys, data, steps=1, lr=50.0).residuals["loss"] <= \
        fit_layer(phys, data, steps=0).residuals["loss"]


def test_per_neuron_capacitance_is_a_diagnostic_option() -> None:
    rng = np.random.default_rng(7)
    phys = _physics(rng)
    truth = FittedLayer(c_eff_F=(142e-15, 150e-15, 134e-15), v_th=1.0, beta_d=0.16,
                        delay_in=0.0, delay_out=0.0, E_pos=2.8, E_neg=-1.53)
    t_in = np.where(rng.random((96, 5)) < 0.8, rng.uniform(0, 1, (96, 5)), np.inf)
    t_out, _ = predict(phys, truth, t_in)
    t_mem = np.linspace(0.05, 0.95, 10)
    data = LayerWaveforms(t_in=t_in, t_out=t_out, fired=t_out < 1.0 - 1e-9, t_mem=t_mem,
                          v_mem=predict_membrane(phys, truth, t_in, t_mem))
    fitted = fit_layer(phys, data, free=("c_scale", "c"), steps=600)
    np.testing.assert_allclose(fitted.c_eff_F, truth.c_eff_F, rtol=0.005)


def test_edge_kicks_and_reset_offset_shape_the_membrane_not_the_spike() -> None:
    """An input's edge coupling steps the accumulate-phase membrane from its spike on (and
    reverses at the phase end, so v(1) and the spike time do not see it); the reset's charge
    injection offsets both. The fit recovers the offset with the kicks known."""
    rng = np.random.default_rng(11)
    phys = _physics(rng)
    kicked = dataclasses.replace(phys, kick=rng.uniform(-0.004, 0.004, phys.shape))
    truth = FittedLayer(c_eff_F=tuple(phys.c_F), v_th=1.0, beta_d=0.16, delay_in=0.0,
                        delay_out=0.0, v_init=0.003, E_pos=2.8, E_neg=-1.53)
    t_in = np.where(rng.random((64, 5)) < 0.8, rng.uniform(0, 1, (64, 5)), np.inf)
    t_mem = np.linspace(0.05, 0.95, 12)
    v_plain = predict_membrane(phys, truth, t_in, t_mem)
    v_kick = predict_membrane(kicked, truth, t_in, t_mem)
    step = -(v_kick - v_plain) / 0.872           # back to normalised units
    expect = np.einsum("oj,njk->nok", kicked.kick,
                       (t_mem[None, None, :] >= t_in[:, :, None]).astype(float))
    np.testing.assert_allclose(step, expect, atol=1e-12)
    np.testing.assert_allclose(predict(kicked, truth, t_in)[0], predict(phys, truth, t_in)[0])
    t_out, _ = predict(kicked, truth, t_in)
    data = LayerWaveforms(t_in=t_in, t_out=t_out, fired=t_out < 1.0 - 1e-9, t_mem=t_mem,
                          v_mem=v_kick)
    fitted = fit_layer(kicked, data, steps=500)
    assert fitted.v_init == pytest.approx(0.003, abs=3e-4)
    assert fitted.residuals["membrane_rms_V"] < 2e-4
