"""The C_eff a bottom-up network is designed at (imcflow.flow.ramp_sizing): no ngspice."""

from __future__ import annotations

import dataclasses

import pytest

from imcflow import pdk
from imcflow.fit.physics import LayerDC
from imcflow.fit.pipeline import NetworkFit
from imcflow.fit.transient import FittedLayer
from imcflow.flow.designs import default_spec
from imcflow.flow.ramp_sizing import design_capacitance, ramp_time, smallest_c_eff
from imcflow.sim.capacitance import MembraneCapacitance


def _fit(spec, i_dis_A: float, parasitic_F: float = 50e-15) -> NetworkFit:
    """Linear ramps (β_d = 0) on 1 pF layers; each membrane measured at drawn MIM + parasitic."""
    dcs, fls, c = [], [], {}
    for layer in spec.layers:
        dcs.append(LayerDC(name=layer.name, v0_V=1.3, v_th_V=0.82, widths_um=(1.0, 5.0),
                           i_n_A=(1e-7, 5e-7), i_p_A=(1e-7, 5e-7), E_pos=3.0, E_neg=-2.0,
                           i_dis_A=i_dis_A, beta_d=0.0, fits={}))
        fls.append(FittedLayer(c_eff_F=(1e-12,) * layer.n_out, v_th=1.0, beta_d=0.0,
                               delay_in=0.0, delay_out=0.0))
        for i, x in enumerate(layer.membrane_capacitance()):
            c[f"{layer.name}_mem{i}"] = float(x) + parasitic_F
    meas = MembraneCapacitance(c_F=c, corner="tt", temperature=27.0, span=(0.5, 1.2))
    return NetworkFit(spec_name=spec.name, T_s=spec.T, dc=dcs, fitted=fls, c_measured=meas)


def test_a_ramp_that_reaches_threshold_keeps_the_fitted_capacitance():
    spec = default_spec()
    fit = _fit(spec, 0.82e-6)                 # α_d = I·T/(C·V_th) = 1
    out, rec = design_capacitance(spec, fit)
    assert out.c_design is None and out.layer_c_eff(0) == pytest.approx(1e-12)
    assert rec[0]["ramp_time_fitted"] == pytest.approx(1.0)


def test_a_slow_ramp_designs_the_layer_at_a_smaller_capacitance():
    spec = default_spec()
    fit = _fit(spec, 0.41e-6)                 # α_d = 0.5: two phases to threshold
    out, rec = design_capacitance(spec, fit)
    assert out.c_design == pytest.approx((0.5e-12, 0.5e-12))
    assert ramp_time(spec, out, 0) == pytest.approx(1.0)
    assert rec[1]["ramp_time_design"] == pytest.approx(1.0)


def test_the_design_stops_at_the_smallest_mim():
    spec = default_spec()
    fit = _fit(spec, 0.082e-6, parasitic_F=300e-15)   # α_d = 0.1: would need 100 fF
    out, _ = design_capacitance(spec, fit)
    lim = pdk.pdk_data()["mim"]
    floor = 300e-15 + pdk.mim_capacitance(lim["w_min_um"], lim["w_min_um"])
    assert smallest_c_eff(spec, fit, 0) == pytest.approx(floor)
    assert out.c_design[0] == pytest.approx(floor, rel=2e-3)
    assert ramp_time(spec, out, 0) > 1.0      # the ramp still falls short, and says so
    assert dataclasses.replace(out, c_design=None).layer_c_eff(0) == pytest.approx(1e-12)


def test_the_design_survives_save_and_load(tmp_path):
    spec = default_spec()
    out, _ = design_capacitance(spec, _fit(spec, 0.41e-6))
    assert NetworkFit.load(out.save(tmp_path / "fit.json")).c_design == out.c_design
