"""The main job's runner: stage caching, and a tiny end-to-end flow on the real tools."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np
import pytest

from imcflow.fit.pipeline import FitLimits, NetworkFit, fit_problems
from imcflow.fit.transient import FittedLayer
from imcflow.flow.experiment import ExperimentConfig
from imcflow.flow.run import FlowConfig, Runner, run_flow
from imcflow.train.physical import PhysicalTrainConfig


def test_runner_caches_and_invalidates(tmp_path):
    calls = []

    def make(name):
        def fn(folder):
            calls.append(name)
            (folder / "out.txt").write_text(name)
            return {"name": name, "n": len(calls)}
        return fn

    def run(setting):
        r = Runner(tmp_path, FlowConfig())
        a = r.stage("a", {"x": setting}, (), make("a"))
        b = r.stage("b", {}, ("a",), make("b"))
        return a, b

    run(1)
    assert calls == ["a", "b"]
    run(1)                      # nothing changed: both cached
    assert calls == ["a", "b"]
    run(2)                      # a's setting changed: a and everything after it re-run
    assert calls == ["a", "b", "a", "b"]
    stamp = json.loads((tmp_path / "b" / "result.json").read_text())
    assert stamp["result"]["name"] == "b" and stamp["seconds"] >= 0


def test_unknown_stop_stage_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown stage"):
        run_flow(tmp_path, FlowConfig(), stop_after="nope")


class _Imgs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs = 0

    def handle_starttag(self, tag, attrs):
        self.imgs += tag == "img" and dict(attrs).get("src", "").startswith("data:image/png")


@pytest.mark.slow
def test_tiny_flow_end_to_end_then_cached(tmp_path):
    # 4 patterns and 40 fit steps cannot meet the fit limits the real flow holds: lift them
    lax = FitLimits(spike_rms_pct_T=100, neuron_spike_rms_pct_T=100, membrane_rms_mV=1e4,
                    min_fired=0)
    cfg = FlowConfig(char_patterns=4, fit_steps=40, dc_width_step=0.5, fit_limits=lax,
                     experiment=ExperimentConfig(
        train=PhysicalTrainConfig(epochs=40, lr=1e-2, weight_decay=0.0), qat_epochs=10,
        seeds=1, n_calib=2, bu_scales=(1.0,), bu_fine_step=0.1, td_coarse=(1.0,),
        td_fine_step=0.1,
        td_max_evals=2, n_test=3))
    res = run_flow(tmp_path / "flow", cfg)
    assert res["layout"]["drc_violations"] == 0
    for kind in ("bottom_up", "top_down"):
        v = json.loads(open(res["verify"][kind]["path"]).read())
        assert len(v["t_spice"][-1]) == 3
        assert v["metrics"]["n"] == 9 and v["metrics"]["rms_ns"] >= 0
        first, *later = v["layer_metrics"]
        # the first layer's inputs are exact: its own error is its chained error
        assert first["own_rms_pct_T"] == pytest.approx(first["rms_pct_T"])
        assert all(lm["own_rms_pct_T"] >= 0 for lm in later)
    html = open(res["report"]["html"]).read()
    p = _Imgs()
    p.feed(html)
    assert p.imgs >= 5 and "bottom-up" in html
    assert run_flow(tmp_path / "flow", cfg) == res  # every stage a cache hit


def _fit_with(residuals: dict) -> NetworkFit:
    class _DC:
        name = "l1"

    fl = FittedLayer(c_eff_F=(1e-12, 1e-12), v_th=1.0, beta_d=0.2, delay_in=0.0,
                     delay_out=0.0, residuals=residuals)
    return NetworkFit(spec_name="x", T_s=1e-6, dc=[_DC()], fitted=[fl])


def test_fit_problems_name_the_layer_neuron_and_limit():
    good = {"n_fired": 40, "n_patterns": 32, "spike_rms_pct_T": 0.12,
            "per_neuron": {"spike_rms_pct_T": [0.1, 0.15], "membrane_rms_mV": [1.5, 2.0]}}
    assert fit_problems(_fit_with(good), FitLimits()) == []
    bad = dict(good, spike_rms_pct_T=0.7,
               per_neuron={"spike_rms_pct_T": [0.1, 1.6], "membrane_rms_mV": [1.5, 12.0]})
    msgs = fit_problems(_fit_with(bad), FitLimits())
    assert "layer l1: spike-time residual 0.700 % of T is above the 0.5 % limit" in msgs
    assert any("neuron 1: spike-time residual 1.600" in m for m in msgs)
    assert any("neuron 1: membrane residual 12.0 mV" in m for m in msgs)
    few = dict(good, n_fired=3)
    (msg,) = fit_problems(_fit_with(few), FitLimits())
    assert "not identifiable" in msg and "only 3 outputs fired" in msg


def test_flow_data_sets_and_the_spec_they_need():
    from imcflow.errors import SpecError
    from imcflow.flow.designs import network
    from imcflow.flow.experiment import spike_data
    from imcflow.spec import default_spec

    iris = spike_data("iris")
    assert iris.t_train.shape == (100, 5) and iris.t_test.shape == (50, 5)
    assert np.all(iris.t_train[:, -1] == 0.0)                # the bias spike
    iris.check_spec(default_spec())
    digits = spike_data("digits", split_seed=1)
    assert digits.n_inputs == 65 and digits.n_classes == 10
    assert digits.t_test.shape == (360, 65)
    assert not np.array_equal(spike_data("digits").y_test, digits.y_test)   # the seed splits
    with pytest.raises(SpecError, match="needs 65 inputs .* and 10 outputs"):
        digits.check_spec(default_spec())
    digits.check_spec(network(4, n_in=65, n_out=10))
    with pytest.raises(SpecError, match="not one the flow runs on"):
        spike_data("fmnist")


def test_trained_spec_is_the_placeholder_stages_spec_only_where_it_resized(tmp_path):
    from imcflow.flow.run import trained_spec_path

    assert trained_spec_path(tmp_path) == tmp_path / "spec" / "spec.json"   # no such stage yet
    stamp = tmp_path / "placeholders" / "result.json"
    stamp.parent.mkdir()
    for resized, want in ((False, tmp_path / "spec" / "spec.json"),
                          (True, tmp_path / "placeholders" / "spec.json")):
        # the recorded path is where the stage ran; a copied flow folder must use its own
        stamp.write_text(json.dumps({"key": "k", "seconds": 0.0, "result": {
            "path": "/elsewhere/placeholders/spec.json", "resized": resized}}))
        assert trained_spec_path(tmp_path) == want
