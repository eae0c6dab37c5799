"""The design-point suite: its points are valid specs that differ from the demo as they say, and
the small CI point runs the whole flow end to end (slow: real ngspice)."""

from __future__ import annotations

import json

import pytest

from imcflow.errors import SpecError
from imcflow.fit.pipeline import FitLimits
from imcflow.flow.designs import SMOKE, SUITE, point
from imcflow.flow.experiment import ExperimentConfig
from imcflow.flow.run import FlowConfig
from imcflow.flow.suite import build_suite_report, run_suite
from imcflow.spec import default_spec
from imcflow.train.physical import PhysicalTrainConfig


def test_suite_spans_the_design_space() -> None:
    specs = [p.spec() for p in SUITE]
    hidden = {s.layers[0].n_out for s in specs}
    assert min(hidden) <= 3 and max(hidden) >= 16
    assert {s.T for s in specs} >= {0.5e-6, 1e-6, 2e-6}
    assert len({s.layers[0].synapse.l_um for s in specs}) >= 3
    assert len({s.layers[0].mim_w_um[0] for s in specs}) >= 2
    assert {s.corner for s in specs} >= {"tt", "ss", "ff", "sf"}
    assert {s.temperature for s in specs} >= {-40.0, 27.0, 85.0}
    assert len({s.name for s in specs}) == len(specs)
    demo = default_spec()
    assert point("demo").spec().layers == demo.layers
    with pytest.raises(SpecError, match="unknown design point"):
        point("nope")


def test_suite_report_lists_stopped_points() -> None:
    doc = build_suite_report([{"point": "x", "change": "y", "stopped": "because", "seconds": 1}])
    assert "because" in doc.markdown()


@pytest.mark.slow
def test_smoke_point_end_to_end(tmp_path) -> None:
    """5-3-3 at ss, 85 °C with T = 0.5 µs, small settings: the flow runs through, reports the
    conditions it simulated, and the bottom-up network tracks SPICE better than the top-down."""
    lax = FitLimits(spike_rms_pct_T=100, neuron_spike_rms_pct_T=100, membrane_rms_mV=1e4,
                    min_fired=0)
    cfg = FlowConfig(char_patterns=8, fit_steps=200, dc_width_step=0.5, fit_limits=lax,
                     experiment=ExperimentConfig(
                         train=PhysicalTrainConfig(epochs=120, lr=1e-2, weight_decay=0.0),
                         qat_epochs=30, seeds=1, n_calib=3, bu_scales=(0.98, 1.0, 1.02),
                         bu_fine_step=0.02, td_coarse=(0.8, 1.0, 1.25), td_fine_step=0.1,
                         td_max_evals=9, n_test=8))
    (row,) = run_suite(tmp_path, [SMOKE.name], cfg)
    assert row["stopped"] is None
    assert (row["corner"], row["temperature"], row["shape"]) == ("ss", 85.0, "5-3-3")
    assert row["n_test"] == 8 and row["T_ns"] == pytest.approx(500.0)
    assert row["bu_rms_pct_T"] < row["td_rms_pct_T"]
    assert json.loads((tmp_path / "summary.json").read_text())[0]["point"] == "smoke"
    report = (tmp_path / "report" / "report.md").read_text()
    assert "smoke" in report and "ss 85 °C" in report
