"""Simulation stage without ngspice: extraction, patterns, deck editing, cache keys, CLI errors."""

from __future__ import annotations

import numpy as np
import pytest

from imcflow import cli, pdk
from imcflow import spec as S
from imcflow.errors import DataError, PDKError, SimulationError, SpecError
from imcflow.netlist import build_transient, stimuli
from imcflow.netlist.dc import build_dc
from imcflow.sim import characterize as C
from imcflow.sim import ngspice
from imcflow.sim.engines import SimResult, alter_commands
from imcflow.sim.extract import layer_observables, rising_crossing, supply_charge


def small_spec() -> S.DesignSpec:
    w = np.array([[0.5, 0.5, 0.0, -0.5], [1.0, 1.0, 0.0, -0.5]])
    return S.DesignSpec(name="t4x2", layers=(S.make_layer("l1", w),))


def test_rising_crossing_interpolates_and_respects_window():
    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    v = np.array([0.0, 0.0, 1.0, 1.0, 0.0])
    assert rising_crossing(t, v, 0.25, 0.0, 4.0) == pytest.approx(1.25)
    assert rising_crossing(t, v, 0.25, 1.5, 4.0) is None  # rose before the window
    assert rising_crossing(t, v, 0.25, 0.0, 1.1) is None  # rises after the window
    assert rising_crossing(t, np.zeros(5), 0.5, 0.0, 4.0) is None


def test_layer_observables_on_a_synthetic_waveform():
    spec = small_spec()
    T = spec.T
    t = np.linspace(0, 3 * T, 3001)
    out0 = np.where(t > 2.25 * T, spec.vdd, 0.0)  # crosses at fire + 0.25 T
    vecs = {"time": t, "v(l1_out0)": out0, "v(l1_out1)": np.zeros_like(t),
            "v(l1_mem0)": np.full_like(t, 1.3), "v(l1_mem1)": np.full_like(t, 1.3),
            "i(vdd)": np.full_like(t, -1e-6)}
    obs = layer_observables(spec, SimResult(vecs, 0.0), 0, n_grid=11)
    assert obs.fired.tolist() == [True, False]
    assert obs.t_out[0] == pytest.approx(0.25, abs=2e-3)
    assert obs.t_out[1] == 1.0
    assert obs.mem is not None and obs.mem.shape == (2, 11)
    assert supply_charge(SimResult(vecs, 0.0)) == pytest.approx(1e-6 * 3 * T)


def test_random_patterns_are_seeded_and_in_range():
    a = C.random_patterns(5, 200, seed=3, p_spike=0.7)
    b = C.random_patterns(5, 200, seed=3, p_spike=0.7)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, C.random_patterns(5, 200, seed=4, p_spike=0.7))
    finite = np.isfinite(a)
    assert 0.6 < finite.mean() < 0.8
    assert np.all((a[finite] >= 0) & (a[finite] < 1))
    assert np.all(np.isinf(C.random_patterns(3, 10, p_spike=0.0)))
    with pytest.raises(SpecError):
        C.random_patterns(3, 0)


def test_stimuli_rewrite_and_netlist_hash_ignore_the_pattern():
    spec = small_spec()
    p1, p2 = np.array([0.1, 0.2, np.inf, 0.3]), np.array([0.9, np.inf, 0.0, 0.5])
    tb1, tb2 = build_transient(spec, p1), build_transient(spec, p2)
    assert tb1.text != tb2.text
    assert ngspice.netlist_hash(tb1.text) == ngspice.netlist_hash(tb2.text)
    assert ngspice.deck_with_stimuli(tb1.text, stimuli(spec, p2)) == tb2.text
    with pytest.raises(SimulationError):
        ngspice.deck_with_stimuli(tb1.text, {"vin9": [(0.0, 0.0)]})
    cmds = alter_commands(stimuli(spec, p2))
    assert len(cmds) == 8 and cmds[0].startswith("alter @vin0[pwl] = [ 0 0 ")
    hot = build_transient(spec, p1, temperature=85.0)
    assert ngspice.netlist_hash(hot.text) != ngspice.netlist_hash(tb1.text)


def test_cache_key_depends_on_patterns_and_grid():
    p = C.random_patterns(4, 3, seed=0)
    k = C.cache_key("abc", p, 201)
    assert k == C.cache_key("abc", p.copy(), 201)
    assert k != C.cache_key("abc", p, 101)
    assert k != C.cache_key("abd", p, 201)
    assert k != C.cache_key("abc", C.random_patterns(4, 3, seed=1), 201)


def test_error_reason_is_one_line():
    log = ["Circuit: x", "", "Error on line 3 :\n  x1 a 0 nosuch", "more"]
    assert "\n" not in ngspice.error_reason(log)
    assert ngspice.error_reason(["all fine"], "default") == "default"
    assert ngspice.has_fatal(["doAnalyses: TRAN:  Timestep too small; time = 1e-9"])
    assert not ngspice.has_fatal(["Warning: something harmless", "l1_error_node  1.3"])


def test_dc_deck_has_one_probe_per_device_and_width():
    spec = small_spec()
    bench = build_dc(spec, widths=[0.5, 1.0])
    assert len(bench.probes) == 6
    assert ".dc Vm 0 1.8 0.01" in bench.text  # the whole supply range
    assert "imc_syn_n_l1" in bench.text and "imc_dis_l1" in bench.text
    with pytest.raises(SpecError):
        build_dc(spec, widths=[0.1])
    with pytest.raises(SpecError):
        build_dc(spec, devices=["q"])


def test_missing_model_library_is_a_pdk_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv(pdk.MODEL_LIB_ENV, "/nonexistent/sky130.lib.spice")
    pdk.model_library.cache_clear()
    try:
        with pytest.raises(PDKError):
            build_transient(small_spec(), np.zeros(4))
        spec_path = tmp_path / "s.json"
        S.save(small_spec(), spec_path)
        rc = cli.main(["simulate", str(spec_path), "--pattern", "0,0,0,0"])
        err = capsys.readouterr().err
        assert rc != 0 and err.count("\n") == 1 and "nonexistent" in err
    finally:
        monkeypatch.delenv(pdk.MODEL_LIB_ENV)
        pdk.model_library.cache_clear()


def test_load_dataset_rejects_missing_and_corrupt(tmp_path):
    with pytest.raises(DataError):
        C.load_dataset(tmp_path / "none.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError):
        C.load_dataset(bad)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(DataError):
        C.load_dataset(tmp_path / "other.npz")


@pytest.mark.parametrize("args", [
    ["simulate", "{spec}", "--pattern", "0.1,0.2"],                    # wrong length
    ["simulate", "{spec}", "--pattern", "0.1,x,0,0"],                  # not a number
    ["simulate", "{spec}", "--pattern", "0,0,0,0", "--engine", "bogus"],
    ["simulate", "{spec}", "--pattern", "0,0,0,0", "--corner", "zz"],
    ["simulate", "{spec}", "--pattern", "0,0,0,0", "--subckts", "/no/such.spice"],
    ["characterize", "{spec}", "--patterns", "0", "-o", "{out}"],
    ["characterize", "{spec}", "--dask-local", "--scheduler", "tcp://x:1", "-o", "{out}"],
    ["characterize", "/no/such/spec.json", "-o", "{out}"],
    ["characterize", "{badspec}", "-o", "{out}"],
    ["dc", "{spec}", "--widths", "0.1", "-o", "{out}"],
    ["dc", "{spec}", "--sweep", "1,0", "-o", "{out}"],
])
def test_cli_bad_input_is_one_line_nonzero_nothing_written(args, tmp_path, capsys):
    spec_path = tmp_path / "s.json"
    S.save(small_spec(), spec_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "layers": [], "bogus": 1}')
    out = tmp_path / "out"
    argv = [a.format(spec=spec_path, out=out, badspec=bad) for a in args]
    rc = cli.main(argv)
    err = capsys.readouterr().err
    assert rc != 0
    assert err.startswith("error:") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert not out.exists()


def test_extreme_patterns_drive_each_first_layer_neuron_both_ways():
    from imcflow.spec import default_spec

    spec = default_spec()
    p = C.extreme_patterns(spec)
    w = spec.layers[0].widths()
    assert p.shape == (2 * w.shape[0], spec.n_inputs)
    for i in range(w.shape[0]):
        up, down = p[2 * i], p[2 * i + 1]
        assert np.array_equal(up == 0.0, w[i] > 0) and np.all(np.isinf(up[w[i] <= 0]))
        assert np.array_equal(down == 0.0, w[i] < 0) and np.all(np.isinf(down[w[i] >= 0]))
