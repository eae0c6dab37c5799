"""Corners and mismatch on the real sky130 models (ngspice): seeded instances repeat exactly and
differ between seeds, in batch and in the shared engine; the Monte-Carlo DC study; a sweep
killed with SIGKILL and resumed equals an uninterrupted one. Tiny on purpose: one 2-input
neuron, 3 patterns, 4 points (two corners × two mismatch instances)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from imcflow import spec as S
from imcflow.netlist import build_transient, stimuli
from imcflow.sim.dc import dc_characterize, load_dc
from imcflow.sim.engines import SharedEngine, SubprocessEngine
from imcflow.sim.extract import layer_observables
from imcflow.variation.dcmc import run_mc_dc
from imcflow.variation.report import mismatch_report
from imcflow.variation.sweep import load_summary

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = np.array([[0.1, np.inf], [0.3, 0.6], [0.0, 0.2]])


def tiny_spec() -> S.DesignSpec:
    return S.DesignSpec(name="v2x1", layers=(S.make_layer("l1", np.array([[4.0, -3.0]])),))


def test_mc_dc_study_repeats_per_seed_and_fits_pelgrom(tmp_path):
    spec = tiny_spec()
    kw = dict(widths=(0.5, 2.0), devices=("n",), sweep=(1.2, 1.4, 0.05))
    study = run_mc_dc(spec, [1, 2], replicas=2, workers=2, cache_dir=tmp_path / "a", **kw)
    assert [r["seed"] for r in study.runs] == [None, 1, 2]
    assert not any(r["cached"] for r in study.runs)
    files = {r["seed"]: load_dc(tmp_path / "a" / "mcdc" / f"{r['netlist_sha256']}.npz")
             for r in study.runs}
    key = ("l1", "n")
    # the same seed in another process and folder: identical currents
    again = load_dc(dc_characterize(spec, tmp_path / "again.npz", mc_seed=1, replicas=2, **kw))
    assert again.meta["mc_seed"] == 1
    np.testing.assert_array_equal(again.current[key], files[1].current[key])
    # another seed: other currents; the copies of one device in a deck differ from each other
    assert not np.allclose(files[2].current[key], files[1].current[key], rtol=1e-3)
    i1 = files[1].current[key]
    assert not np.allclose(i1[0], i1[1], rtol=1e-3) and not np.allclose(i1[2], i1[3], rtol=1e-3)
    # the nominal run has no mismatch: it sits inside the spread and its meta says so
    assert files[None].meta["mc_seed"] is None and files[None].current[key].shape[0] == 2
    rows = {w.width_um: w for w in study.widths}
    assert rows[0.5].n == rows[2.0].n == 4
    assert rows[0.5].sigma_ln > 0 and rows[2.0].sigma_ln > 0
    fit = study.fit("l1", "n")
    assert fit.a_um > 0 and fit.n_points == 2
    # a repeat is all cache
    again_study = run_mc_dc(spec, [1, 2], replicas=2, cache_dir=tmp_path / "a", **kw)
    assert all(r["cached"] for r in again_study.runs)
    assert [w.sigma_rel for w in again_study.widths] == [w.sigma_rel for w in study.widths]
    md, html = mismatch_report(study).write(tmp_path / "rep")
    assert "Pelgrom" in md.read_text() and (tmp_path / "rep" / "figures" / "mismatch_l1.png"
                                            ).stat().st_size > 1000


def _t_out(spec, res):
    obs = layer_observables(spec, res, 0, n_grid=None)
    return np.where(obs.fired, obs.t_out, np.nan)


def test_shared_and_batch_engines_draw_the_same_instance():
    spec = tiny_spec()
    tb3 = build_transient(spec, PATTERNS[0], mc_seed=3)
    with SharedEngine(tb3.text, tb3.vectors) as eng:
        first = _t_out(spec, eng.run(stimuli(spec, PATTERNS[1])))
        eng.run(stimuli(spec, PATTERNS[2]))
        # altering the sources and re-running does not redraw the instance
        np.testing.assert_array_equal(_t_out(spec, eng.run(stimuli(spec, PATTERNS[1]))), first)
    batch = _t_out(spec, SubprocessEngine(tb3.text, tb3.vectors).run(stimuli(spec, PATTERNS[1])))
    np.testing.assert_allclose(batch, first, rtol=0, atol=1e-6)   # ≤ 1 ps of T = 1 µs
    tb4 = build_transient(spec, PATTERNS[0], mc_seed=4)
    other = _t_out(spec, SubprocessEngine(tb4.text, tb4.vectors).run(stimuli(spec, PATTERNS[1])))
    assert np.all(np.abs(other - first) > 1e-4)                    # another instance


def _sweep_cmd(out: Path) -> list[str]:
    return [sys.executable, "-m", "imcflow.cli", "pvt", str(out.parent / "spec.json"),
            "--inputs", str(out.parent / "inputs.npz"), "--corners", "tt,ss",
            "--temperatures", "27", "--mc-seeds", "1,2", "--workers", "2", "-o", str(out)]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_a_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path):
    spec = tiny_spec()
    S.save(spec, tmp_path / "spec.json")
    np.savez(tmp_path / "inputs.npz", inputs=PATTERNS, labels=np.array([0, 0, 0]))
    # 1. start the sweep, SIGKILL it once the first pattern is on disk
    out = tmp_path / "resumed"
    proc = subprocess.Popen(_sweep_cmd(out), env=_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while not list((out / "cache" / "char").glob("*/p*.npz")):
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (out / "summary.json").exists()
    killed_chunks = len(list((out / "cache" / "char").glob("*/p*.npz")))
    assert killed_chunks >= 1
    # 2. resume, 3. an uninterrupted run elsewhere
    for folder in (out, tmp_path / "straight"):
        r = subprocess.run(_sweep_cmd(folder), env=_env(), capture_output=True, text=True,
                           timeout=900, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr[-2000:]
    resumed, straight = load_summary(out), load_summary(tmp_path / "straight")
    labels = [row["label"] for row in straight["rows"]]
    assert labels == ["tt_27C_mc1", "tt_27C_mc2", "ss_27C_mc1", "ss_27C_mc2"]
    assert sum(row["n_resumed"] for row in resumed["rows"]) >= 1
    assert sum(row["n_simulated"] for row in resumed["rows"]) < 3 * len(labels)
    times = {}
    for row in straight["rows"]:
        a = np.load(out / row["dataset"])
        b = np.load(tmp_path / "straight" / row["dataset"])
        assert sorted(a.files) == sorted(b.files)
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{row['label']}: {k}")
        meta = json.loads(str(a["meta"]))
        assert (meta["corner"], meta["temperature"], meta["mc_seed"]) == (
            row["corner"], row["temperature"], row["mc_seed"])
        times[row["label"]] = a["t_l1"]
    # the instances differ from each other, and so do the corners
    assert not np.allclose(times["tt_27C_mc1"], times["tt_27C_mc2"], atol=1e-3)
    assert not np.allclose(times["tt_27C_mc1"], times["ss_27C_mc1"], atol=1e-3)
    assert resumed["rows"][1]["baseline_rms_ns"] > 1.0
    assert resumed["rows"][0]["spice_acc"] is not None
    assert (out / "report.html").is_file() and (out / "summary.csv").is_file()


def test_a_point_records_its_condition_and_its_dc_sweeps(tmp_path):
    from imcflow.sim.characterize import load_dataset  # noqa: PLC0415
    from imcflow.variation.sweep import Point, run_sweep  # noqa: PLC0415

    spec = tiny_spec()
    pt = Point("ff", 85.0, 3)
    kw = dict(engine="subprocess", dc=True, dc_widths=(1.0,))
    res = run_sweep(spec, PATTERNS[:1], [pt], tmp_path / "s", **kw)
    row = res.rows[0]
    assert row["error"] is None and row["n_simulated"] == 1
    meta = load_dataset(tmp_path / "s" / row["dataset"]).meta
    dc = load_dc(tmp_path / "s" / row["dc"])
    for m in (meta, dc.meta):
        assert (m["corner"], m["temperature"], m["mc_seed"]) == ("ff", 85.0, 3)
    stamp = (tmp_path / "s" / row["dc"]).stat().st_mtime_ns
    again = run_sweep(spec, PATTERNS[:1], [pt], tmp_path / "s", **kw)
    assert again.rows[0]["n_simulated"] == 0
    assert (tmp_path / "s" / row["dc"]).stat().st_mtime_ns == stamp
    assert json.loads((tmp_path / "s" / "points" / pt.label / "point.json").read_text()
                      )["mc_seed"] == 3
