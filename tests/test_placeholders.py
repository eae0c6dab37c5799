"""Placeholder sizing (imcflow.flow.placeholders) on a synthetic DC model: no ngspice."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from imcflow.fit.physics import LayerDC
from imcflow.flow.placeholders import _layer_response, size_placeholders
from imcflow.sim.characterize import extreme_patterns, random_patterns
from imcflow.spec import default_spec, make_layer

WIDTHS = tuple(np.round(np.arange(1.0, 5.01, 0.5), 3))


def layer_dc(name: str, spec, *, per_um_A: float, alpha_d: float) -> LayerDC:
    """A DC model with currents ∝ width, E± = ±3 and a discharger giving ramp ``alpha_d`` on
    the drawn MIM."""
    layer = next(x for x in spec.layers if x.name == name)
    v_th = layer.neuron.v0 - layer.neuron.v_switch
    c = float(np.mean(layer.membrane_capacitance()))
    i = tuple(per_um_A * w for w in WIDTHS)
    return LayerDC(name=name, v0_V=layer.neuron.v0, v_th_V=v_th, widths_um=WIDTHS, i_n_A=i,
                   i_p_A=i, E_pos=3.0, E_neg=-3.0, i_dis_A=alpha_d * c * v_th / spec.T,
                   beta_d=0.2, fits={}, v_valid=(-0.5, 1.4))


def patterns(spec) -> np.ndarray:
    return np.concatenate([random_patterns(spec.n_inputs, 32, 1), extreme_patterns(spec)])


def test_placeholders_that_exercise_every_neuron_are_kept():
    spec = default_spec()
    ldcs = [layer_dc(x.name, spec, per_um_A=160e-9, alpha_d=1.0) for x in spec.layers]
    sized, report = size_placeholders(spec, ldcs, patterns(spec))
    assert sized == spec
    for r in report:
        assert min(r.before) >= 0.2
        assert r.after == r.before
        assert all(s == (1.0, 1.0) for s in r.scale)


def test_weak_and_unfireable_rows_are_resized_inside_the_dc_range():
    spec = default_spec()
    # an output neuron with only negative weights can never fire
    w2 = np.array(spec.layers[1].widths())
    w2[2] = -np.abs(w2[2])
    spec = dataclasses.replace(spec, layers=(spec.layers[0], make_layer("l2", w2)))
    # weak synapses and a ramp a little short of threshold (not short enough to resize the
    # MIMs): the placeholders leave most neurons silent
    ldcs = [layer_dc(x.name, spec, per_um_A=15e-9, alpha_d=0.9) for x in spec.layers]
    pats = patterns(spec)
    sized, report = size_placeholders(spec, ldcs, pats)
    again, _ = size_placeholders(spec, ldcs, pats)
    assert again == sized  # deterministic
    assert sized != spec
    l2 = report[1]
    assert 2 in l2.flipped and l2.before[2] == 0.0
    for r, old, new in zip(report, spec.layers, sized.layers, strict=True):
        for i, (b, a) in enumerate(zip(r.before, r.after, strict=True)):
            if b < 0.2:
                assert a > b, f"{r.name} neuron {i} not helped: {b} -> {a}"
            else:  # rows that were fine are untouched
                assert new.width_um[i] == old.width_um[i] and r.scale[i] == (1.0, 1.0)
        w = np.abs(new.widths())
        per_finger = w[w > 0] / np.asarray(new.fingers)[w > 0]
        assert per_finger.min() >= WIDTHS[0] - 1e-9 and per_finger.max() <= WIDTHS[-1] + 1e-9
    # the report's 'after' is what the sized network does
    t_in = np.where(np.isfinite(pats), pats, 1.0)
    _, ok = _layer_response(sized.layers[0], ldcs[0], sized.T, t_in)
    assert ok.mean(axis=0) == pytest.approx(report[0].after)


def test_a_ramp_far_short_of_threshold_shrinks_the_mims():
    spec = default_spec()
    ldcs = [layer_dc(x.name, spec, per_um_A=160e-9, alpha_d=0.4) for x in spec.layers]
    sized, report = size_placeholders(spec, ldcs, patterns(spec))
    for r, old, new in zip(report, spec.layers, sized.layers, strict=True):
        assert r.ramp_time[0] > 2.5                        # β_d = 0.2: ln(1/0.8)/(0.4·0.2)
        assert r.ramp_time[1] == pytest.approx(1 / 1.1, rel=0.02)
        assert r.mim_scale == pytest.approx(r.ramp_time[1] / r.ramp_time[0], rel=0.02)
        assert all(n < o for n, o in zip(new.mim_w_um, old.mim_w_um, strict=True))
        assert new.mim_w_um == new.mim_l_um
    # the same model with a ramp that reaches threshold leaves the MIMs as drawn
    ok = [layer_dc(x.name, spec, per_um_A=160e-9, alpha_d=1.0) for x in spec.layers]
    _, report = size_placeholders(spec, ok, patterns(spec))
    assert all(r.mim_scale == 1.0 for r in report)
