"""The corner study (``imcflow corners``) on a tiny network in ngspice: the trim is chosen on
training samples only and can only improve their error; a repeat is a cache hit with the same
result; the report renders. One 2-input neuron, 3 patterns, one point."""

from __future__ import annotations

import json

import numpy as np
import pytest

from imcflow import spec as S
from imcflow.errors import SpecError
from imcflow.variation.study import StudyNetwork, find_trim, run_study, trimmed
from imcflow.variation.sweep import Point, output_times, run_sweep

PATTERNS = np.array([[0.1, np.inf], [0.3, 0.6], [0.0, 0.2]])


def tiny_spec() -> S.DesignSpec:
    return S.DesignSpec(name="v2x1", layers=(S.make_layer("l1", np.array([[4.0, -3.0]])),))


def test_trim_moves_both_synapse_biases_toward_more_current_and_stays_in_range():
    spec = tiny_spec()
    syn = spec.layers[0].synapse
    up = trimmed(spec, 0.02).layers[0].synapse
    assert up.vb_n == pytest.approx(syn.vb_n + 0.02) and up.vb_p == pytest.approx(syn.vb_p - 0.02)
    assert trimmed(spec, 0.0) == spec
    two = trimmed(spec, 0.02, -0.01).layers[0].synapse
    assert two.vb_n == pytest.approx(syn.vb_n + 0.02) and two.vb_p == pytest.approx(syn.vb_p + 0.01)
    with pytest.raises(SpecError):
        trimmed(spec, -1.0)  # vb_n below 0 V


@pytest.mark.slow
def test_study_trims_on_training_samples_and_repeats_from_cache(tmp_path):
    spec = tiny_spec()
    # the reference: the nominal circuit's own output times; at ss / 85 °C the trim has to
    # bring the slow corner back toward them
    nominal = run_sweep(spec, PATTERNS, [Point("tt", 27.0)], tmp_path / "nominal",
                        cache_dir=tmp_path / "cache")
    from imcflow.sim.characterize import load_dataset
    ref = output_times(load_dataset(nominal.out / "points" / "tt_27C" / "dataset.npz"))
    net = StudyNetwork(kind="tiny", spec=spec, subckts=None, t_test=PATTERNS,
                       y_test=np.zeros(3, dtype=int), ref_test=ref, t_trim=PATTERNS[:2],
                       ref_trim=ref[:2])
    pts = [Point("ss", 27.0)]
    study = run_study([net], tmp_path / "s", pts, coarse=(-0.03, 0.0, 0.03), fine=0.015,
                      knobs=1, workers=2)
    rows = study["networks"]["tiny"]["rows"]
    assert [r["label"] for r in rows] == [p.label for p in pts]
    for r in rows:
        tried = {(t["delta_n_V"], t["delta_p_V"]): t["rms_ns"] for t in r["trim_tried"]}
        assert len(tried) == 5 and (0.0, 0.0) in tried  # coarse grid and two fine neighbours
        assert all(dn == dp for dn, dp in tried)  # one knob
        chosen = (r["trim_n_V"], r["trim_p_V"])
        assert tried[chosen] == min(tried.values()) <= tried[(0.0, 0.0)]
        assert r["untrimmed"]["n_patterns"] == r["trimmed"]["n_patterns"] == 3
    # the slow corner moved the spikes, so some trim beats none on the training samples
    assert rows[0]["trim_n_V"] > 0.0
    again = run_study([net], tmp_path / "s", pts, coarse=(-0.03, 0.0, 0.03), fine=0.015,
                      knobs=1)
    for a, b in zip(again["networks"]["tiny"]["rows"], rows, strict=True):
        assert a["trim_n_V"] == b["trim_n_V"] and a["trimmed"]["reference_rms_ns"] == \
            b["trimmed"]["reference_rms_ns"]
        assert a["trimmed"]["n_simulated"] == 0  # every run a cache hit
    saved = json.loads((tmp_path / "s" / "study.json").read_text())
    assert saved["format"] == "imcflow-corner-study"
    assert "trimmed RMSE" in (tmp_path / "s" / "report.md").read_text()
    assert (tmp_path / "s" / "figures" / "corners.png").stat().st_size > 1000


def test_a_trim_out_of_the_bias_range_counts_as_failed_and_none_left_means_no_trim(tmp_path):
    spec = tiny_spec()
    net = StudyNetwork(kind="tiny", spec=spec, subckts=None, t_test=PATTERNS,
                       y_test=np.zeros(3, dtype=int), ref_test=np.ones((3, 1)),
                       t_trim=PATTERNS, ref_trim=np.ones((3, 1)))
    # vb_n = 0.57 V, vb_p = 1.0 V in [0, 1.95] V: every δ tried here leaves a range
    chosen, tried = find_trim(net, Point("tt", 27.0), tmp_path, coarse=(-0.9, -0.8), fine=2.0,
                              cache_dir=tmp_path / "cache")
    assert chosen == (0.0, 0.0) and all(t["rms_ns"] == float("inf") for t in tried)
    assert len(tried) == 4 and not (tmp_path / "cache").exists()


def test_corners_cli_runs_the_networks_asked_for(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import imcflow.variation.study as study_mod
    from imcflow.variation.cli import corners

    seen = []

    def fake_study(flow, out, pts, *, kinds, **kw):
        seen.append(tuple(kinds))
        biases.append(kw["bias"])
        return {"networks": {}, "wall_s": 0.0}

    biases = []

    monkeypatch.setattr(study_mod, "corner_study", fake_study)
    runner = CliRunner()
    for option, kinds in ((["--networks", "bottom_up"], ("bottom_up",)),
                          ([], ("bottom_up", "top_down"))):
        res = runner.invoke(corners, [str(tmp_path), "-o", str(tmp_path / "o"), "--corners",
                                      "tt", "--temperatures", "27", *option])
        assert res.exit_code == 0, res.output
        assert seen[-1] == kinds
    assert biases == ["replica", "replica"]  # a chip's bias generator unless asked otherwise
    res = runner.invoke(corners, [str(tmp_path), "-o", str(tmp_path / "o"), "--corners", "tt",
                                  "--temperatures", "27", "--bias", "fixed"])
    assert res.exit_code == 0 and biases[-1] == "fixed"
    res = runner.invoke(corners, [str(tmp_path), "-o", str(tmp_path / "o"), "--networks", "x"])
    assert res.exit_code == 2 and "Traceback" not in res.output
