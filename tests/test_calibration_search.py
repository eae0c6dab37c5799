"""The top-down 2-D scale search runs to its finest step, wherever the optimum lies (the SPICE
evaluation replaced by a known bowl, so no ngspice)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from imcflow.flow import experiment as ex


@pytest.fixture
def bowl(monkeypatch):
    """calibrate() with SPICE replaced: the 'RMSE' of scales (sp, sn) is their distance from
    ``optimum``; returns the list of evaluated pairs."""
    evaluated = []
    state = {"optimum": (1.0, 1.0), "limits": (np.inf, np.inf)}

    def scaled_spec(spec, fit, model, sp, sn, name):
        return (sp, sn)

    def spice_run(ws, folder, calib, cfg):
        evaluated.append(ws)
        return ws, None

    def output_rmse(target, ds):
        return float(np.hypot(ds[0] - state["optimum"][0], ds[1] - state["optimum"][1]))

    monkeypatch.setattr(ex, "scaled_spec", scaled_spec)
    monkeypatch.setattr(ex, "spice_run", spice_run)
    monkeypatch.setattr(ex, "output_rmse", output_rmse)
    monkeypatch.setattr(ex, "predict", lambda *a, **k: [np.zeros((1, 1))])
    monkeypatch.setattr(ex, "max_scales", lambda *a: state["limits"])
    return state, evaluated


def _calibrate(cfg: ex.ExperimentConfig, tmp_path) -> ex.Calibration:
    data = SimpleNamespace(t_train=np.zeros((8, 5)))
    model = SimpleNamespace(kind="top_down")
    return ex.calibrate(None, None, model, data, cfg, tmp_path)


@pytest.mark.parametrize("optimum", [(0.23, 1.71), (1.0, 1.0), (2.4, 0.35)])
def test_top_down_search_reaches_a_far_optimum_at_one_percent(bowl, tmp_path, optimum):
    state, evaluated = bowl
    state["optimum"] = optimum
    cal = _calibrate(ex.ExperimentConfig(), tmp_path)
    assert cal.converged
    assert cal.s_pos == pytest.approx(optimum[0], abs=0.011)
    assert cal.s_neg == pytest.approx(optimum[1], abs=0.011)
    assert all(min(p) >= ex.MIN_SCALE for p in evaluated)


def test_a_search_cut_by_its_budget_says_so(bowl, tmp_path):
    state, _ = bowl
    state["optimum"] = (0.23, 1.71)
    cal = _calibrate(dataclasses.replace(ex.ExperimentConfig(), td_max_evals=12), tmp_path)
    assert not cal.converged and len(cal.candidates) <= 12 + 3


def test_a_far_optimum_costs_few_evaluations(bowl, tmp_path):
    """T2_mim16's top-down optimum lies at s- = 3.89: one evaluation per 0.1 step took 104 SPICE
    runs (44 min); strides that double while they improve get there in about half."""
    state, evaluated = bowl
    state["optimum"] = (0.10, 3.89)
    cal = _calibrate(ex.ExperimentConfig(), tmp_path)
    assert cal.converged and cal.s_neg == pytest.approx(3.89, abs=0.011)
    assert len(evaluated) <= 70


def test_the_search_stops_where_a_scale_would_flatten_the_network(bowl, tmp_path):
    """An optimum beyond the scale at which the largest weight hits its finger limit (T2_mim16
    went on doubling to s- = 410) ends at that limit, converged, in few evaluations."""
    state, evaluated = bowl
    state["optimum"], state["limits"] = (0.10, 400.0), (np.inf, 6.0)
    cal = _calibrate(ex.ExperimentConfig(), tmp_path)
    assert cal.converged and cal.s_neg == pytest.approx(6.0)
    assert cal.s_pos == pytest.approx(0.10, abs=0.011)
    assert max(p[1] for p in evaluated) <= 6.0 and len(evaluated) <= 80


def test_max_scales_is_where_the_first_weight_of_each_sign_reaches_its_limit(monkeypatch):
    caps = {True: np.array([4.0, 8.0]), False: np.array([3.0, 3.0])}
    dm = SimpleNamespace(max_weight=lambda positive: caps[positive])
    monkeypatch.setattr(ex, "device_models", lambda spec, fit, kind: [dm])
    model = SimpleNamespace(kind="top_down", weights=[np.array([[1.0, -0.5], [2.0, 0.0]])])
    # + : 4/1 on row 0, 8/2 on row 1 -> 4; - : 3/0.5 -> 6
    assert ex.max_scales(None, None, model) == (4.0, 6.0)
    model.weights = [np.array([[1.0, 0.5], [2.0, 0.0]])]
    assert ex.max_scales(None, None, model) == (4.0, np.inf)
