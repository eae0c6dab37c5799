"""Replica biasing (:mod:`imcflow.variation.bias`): the bias voltages a current-mirror generator
gives at a corner hold the synapse and discharger currents of the real cells at their tt, 27 °C
values, where the spec's fixed voltages let them drift; the corner study runs with them and
reports each point's fitted physics (:mod:`imcflow.variation.physics`)."""

from __future__ import annotations

import numpy as np
import pytest

from imcflow import spec as S
from imcflow.errors import SpecError
from imcflow.sim.dc import dc_characterize, load_dc
from imcflow.variation.bias import finger_width, replica_biases, replica_spec
from imcflow.variation.study import StudyNetwork, point_specs, run_study
from imcflow.variation.sweep import Point

PATTERNS = np.array([[0.1, np.inf], [0.3, 0.6]])


def tiny_spec() -> S.DesignSpec:
    # one 1 µm finger per polarity: the replicas copy exactly these
    return S.DesignSpec(name="b2x1", layers=(S.make_layer("l1", np.array([[1.0, -1.0]])),))


def test_replica_copies_the_median_finger_of_each_polarity():
    layer = S.make_layer("l1", np.array([[4.0, -3.0, 0.0], [2.0, -0.5, 1.0]]),
                         fingers=np.array([[2, 1, 1], [1, 1, 1]]))
    assert finger_width(layer, True) == 2.0  # fingers 2, 2, 2, 1
    assert finger_width(layer, False) == pytest.approx(1.75)  # fingers 3, 0.5
    assert finger_width(S.make_layer("l1", np.array([[1.0]])), False) == 1.0  # no PMOS


def test_reference_point_is_the_spec_itself_and_fixed_bias_changes_nothing():
    spec = tiny_spec()
    assert replica_spec(spec, "tt", 27.0) is spec
    pts = [Point("tt", 27.0), Point("ss", 85.0)]
    assert all(s is spec for s in point_specs(spec, pts, "fixed").values())
    with pytest.raises(SpecError, match="bias"):
        point_specs(spec, pts, "ideal")
    with pytest.raises(SpecError, match="scale"):
        replica_spec(spec, "ss", 85.0, scale=0.0)


def _currents(spec: S.DesignSpec, corner: str, temperature: float, tmp) -> dict[str, float]:
    """DC current (A) of a 1 µm synapse finger of each polarity (over its selector, as in the
    cell) and of the neuron's discharger, membrane at V₀."""
    name = f"{corner}_{temperature:g}_{spec.layers[0].synapse.vb_n:.4f}.npz"
    ds = load_dc(dc_characterize(spec, tmp / name, corner=corner, temperature=temperature))
    v0, w_dis = spec.layers[0].neuron.v0, spec.layers[0].neuron.dis_w_um
    out = {}
    for dev, w in (("n", 1.0), ("p", 1.0), ("dis", w_dis)):
        k = int(np.flatnonzero(np.isclose(ds.widths[("l1", dev)], w))[0])
        out[dev] = float(np.interp(v0, ds.v_mem, ds.current[("l1", dev)][k]))
    return out


@pytest.mark.slow
def test_replica_bias_holds_the_cell_currents_over_temperature(tmp_path):
    spec = tiny_spec()
    ref = _currents(spec, "tt", 27.0, tmp_path)
    fixed = _currents(spec, "tt", -40.0, tmp_path)
    held = _currents(replica_spec(spec, "tt", -40.0), "tt", -40.0, tmp_path)
    for dev in ("n", "p", "dis"):
        # the cells carry what their replicas do: within 3 % (the replica is 1 µm wide, a
        # synapse finger as wide as the spec makes it; the synapse sits over its selector)
        assert held[dev] == pytest.approx(ref[dev], rel=0.03), dev
    # while the fixed voltages lose a large part of the current at −40 °C
    assert min(fixed[d] / ref[d] for d in ("n", "p", "dis")) < 0.7
    # a 20 % trim is 20 % more current in every replica
    up = replica_biases(spec.layers[0], "tt", -40.0, spec.vdd, scale=1.2)
    base = replica_biases(spec.layers[0], "tt", -40.0, spec.vdd)
    assert up["synapse.vb_n"] > base["synapse.vb_n"] and up["synapse.vb_p"] < base["synapse.vb_p"]
    with pytest.raises(SpecError, match="replica current"):
        replica_biases(spec.layers[0], "tt", -40.0, spec.vdd, scale=1e6)


@pytest.mark.slow
def test_corner_study_with_replica_bias_records_the_biases_of_each_point(tmp_path):
    spec = tiny_spec()
    net = StudyNetwork(kind="tiny", spec=spec, subckts=None, t_test=PATTERNS,
                       y_test=np.zeros(2, dtype=int), ref_test=np.full((2, 1), 0.5),
                       t_trim=PATTERNS, ref_trim=np.full((2, 1), 0.5))
    pts = [Point("tt", 27.0), Point("tt", 85.0)]
    study = run_study([net], tmp_path / "s", pts, knobs=0, bias="replica", workers=2)
    assert study["bias"] == "replica"
    rows = {r["label"]: r for r in study["networks"]["tiny"]["rows"]}
    assert rows["tt_27C"]["biases_V"]["vb_n"] == [spec.layers[0].synapse.vb_n]
    hot = rows["tt_85C"]["biases_V"]
    # hot silicon needs less gate drive for the same current
    assert hot["vb_n"][0] < spec.layers[0].synapse.vb_n
    assert hot["v_dis"][0] < spec.layers[0].neuron.v_dis
    assert all(r["untrimmed"]["n_patterns"] == 2 for r in rows.values())
    # the point's fitted physics: the replica holds the discharger current (the ramp), the
    # temperature moves the synapses' E± a little and C_eff barely
    cold, warm = rows["tt_27C"]["physics"], rows["tt_85C"]["physics"]
    assert "error" not in cold and "error" not in warm
    assert warm["i_dis_nA"][0] == pytest.approx(cold["i_dis_nA"][0], rel=0.02)
    assert warm["c_eff_fF"][0] == pytest.approx(cold["c_eff_fF"][0], rel=0.05)
    assert 1.0 < cold["E_pos"][0] < 1e3 and -1e3 < cold["E_neg"][0] < -1.0
    assert "Fitted physics per point" in (tmp_path / "s" / "report.md").read_text()
    assert (tmp_path / "s" / "tiny" / "replica" / "untrimmed" / "summary.json").is_file()
