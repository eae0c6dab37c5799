"""Simulation stage on the real sky130 models (ngspice): engines agree, physics, datasets, cache,
resume, executors, DC sweeps, failures. Small on purpose: one 4-input × 2-neuron layer."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from imcflow import cli
from imcflow import spec as S
from imcflow.errors import SimulationError, SimulationTimeout
from imcflow.fit.physics import fit_dc
from imcflow.netlist import build_transient, stimuli
from imcflow.sim import characterize as C
from imcflow.sim.dc import dc_characterize, load_dc
from imcflow.sim.engines import SharedEngine, SubprocessEngine
from imcflow.sim.extract import layer_observables

pytestmark = pytest.mark.slow

INF = np.inf
#: Neuron 1 has twice neuron 0's positive (NMOS) width on input 0 — two identical 4 µm fingers
#: (ngspice bins sky130 by per-finger width, so that is exactly twice the current); input 3 is a
#: negative (PMOS) weight. With the default ~1 pF membrane a 4 µm finger is a weight of ≈ 0.7.
WIDTHS = np.array([[4.0, 4.0, 0.0, -3.0], [8.0, 4.0, 0.0, -3.0]])
FINGERS = np.array([[1, 1, 1, 1], [2, 1, 1, 1]])
PATTERNS = {
    "silent": np.array([INF, INF, INF, INF]),
    "one": np.array([0.5, INF, INF, INF]),
    "early": np.array([0.3, INF, INF, INF]),
    "late": np.array([0.7, INF, INF, INF]),
    "mixed": np.array([0.4, 0.6, 0.0, 0.8]),
}


def small_spec() -> S.DesignSpec:
    return S.DesignSpec(name="t4x2", layers=(S.make_layer("l1", WIDTHS, fingers=FINGERS),))


@pytest.fixture(scope="module")
def shared_runs():
    """Every pattern of PATTERNS through one long-lived shared engine (models load once)."""
    spec = small_spec()
    tb = build_transient(spec, PATTERNS["silent"])
    with SharedEngine(tb.text, tb.vectors) as eng:
        out = {k: eng.run(stimuli(spec, p)) for k, p in PATTERNS.items()}
        assert eng.runs == len(PATTERNS)
    return spec, tb, out


def _obs(spec, res):
    return layer_observables(spec, res, 0, n_grid=None)


def test_shared_and_subprocess_agree_within_1ps(shared_runs):
    spec, tb, runs = shared_runs
    sub = SubprocessEngine(tb.text, tb.vectors)
    res = sub.run(stimuli(spec, PATTERNS["mixed"]))
    a, b = _obs(spec, runs["mixed"]), _obs(spec, res)
    assert a.fired.tolist() == b.fired.tolist()
    assert a.fired.any()
    assert np.max(np.abs(a.t_out - b.t_out)) * spec.T <= 1e-12
    for name in ("v(l1_out0)", "v(l1_mem1)", "i(vdd)"):
        assert runs["mixed"][name].shape == res[name].shape


def test_physics_of_a_4x2_layer(shared_runs):
    spec, _, runs = shared_runs
    obs = {k: _obs(spec, r) for k, r in runs.items()}
    # no input: the ramp alone does not reach the threshold inside the fire window
    assert not obs["silent"].fired.any()
    assert np.all(obs["silent"].t_out == 1.0)
    # twice the NMOS (positive-weight) width ⇒ earlier spike
    one = obs["one"]
    assert one.fired.all()
    assert 0.0 < one.t_out[1] < one.t_out[0] < 1.0
    # later input ⇒ later output (positive weights), for both neurons
    for i in range(2):
        ts = [obs[k].t_out[i] for k in ("early", "one", "late")]
        assert all(obs[k].fired[i] for k in ("early", "one", "late"))
        assert ts[0] < ts[1] < ts[2], ts
    for o in obs.values():
        assert np.all((o.t_out >= 0.0) & (o.t_out <= 1.0))
    # the supply delivers charge
    assert -np.trapezoid(runs["mixed"]["i(vdd)"], runs["mixed"]["time"]) > 0


@pytest.fixture(scope="module")
def char_runs(tmp_path_factory):
    """The same 3 seeded patterns characterized three ways (fresh caches)."""
    spec = small_spec()
    root = tmp_path_factory.mktemp("char")
    kw = dict(seed=7, p_spike=0.8, n_grid=21, engine="shared")
    a = C.characterize(spec, 3, cache_dir=root / "a", workers=2, **kw)
    return spec, root, kw, a


def test_repeat_hits_the_cache_and_same_seed_gives_same_dataset(char_runs, tmp_path, capsys):
    spec, root, kw, a = char_runs
    assert not a.cache_hit and a.n_simulated == 3
    again = C.characterize(spec, 3, cache_dir=root / "a", workers=2, **kw)
    assert again.cache_hit and again.n_simulated == 0
    ds = a.load()
    assert ds.n_patterns == 3 and ds.mem["l1"].shape == (3, 2, 21)
    assert ds.meta["seed"] == 7 and ds.meta["engine"] == "shared" and ds.meta["corner"] == "tt"
    assert S.from_dict(ds.meta["spec"]) == spec
    assert np.all(ds.charge > 0)
    assert np.all((ds.t_out["l1"] >= 0) & (ds.t_out["l1"] <= 1))
    # the CLI on the same cache: no simulation, the dataset copied out
    spec_path = tmp_path / "s.json"
    S.save(spec, spec_path)
    rc = cli.main(["characterize", str(spec_path), "--patterns", "3", "--seed", "7",
                   "--grid", "21", "--cache-dir", str(root / "a"), "-o", str(tmp_path / "o")])
    assert rc == 0, capsys.readouterr().err
    assert "cache hit" in capsys.readouterr().out
    _assert_same(C.load_dataset(tmp_path / "o" / "characterization.npz"), ds)


def _assert_same(x: C.CharDataset, y: C.CharDataset) -> None:
    for name in ("inputs", "charge", "mem_tau"):
        assert np.array_equal(getattr(x, name), getattr(y, name)), name
    for d in ("t_out", "fired", "mem"):
        for k in getattr(y, d):
            assert np.array_equal(getattr(x, d)[k], getattr(y, d)[k]), (d, k)
    assert json.dumps(x.meta, sort_keys=True) == json.dumps(y.meta, sort_keys=True)


def test_killed_run_resumes_only_the_rest_and_matches(char_runs):
    spec, root, kw, a = char_runs

    class Killed(Exception):
        pass

    def kill_after_one(idx, done, total):
        if done >= 1:
            raise Killed

    with pytest.raises(Killed):
        C.characterize(spec, 3, cache_dir=root / "b", workers=1, on_result=kill_after_one, **kw)
    resumed = C.characterize(spec, 3, cache_dir=root / "b", workers=1, **kw)
    assert resumed.n_resumed == 1 and resumed.n_simulated == 2
    _assert_same(resumed.load(), a.load())


def test_dask_executor_gives_identical_results(char_runs):
    pytest.importorskip("dask.distributed")
    spec, root, kw, a = char_runs
    d = C.characterize(spec, 3, cache_dir=root / "c", workers=1, dask_local=True, **kw)
    assert d.n_simulated == 3
    _assert_same(d.load(), a.load())


def test_dc_sweep_dataset(tmp_path):
    path = dc_characterize(small_spec(), tmp_path, widths=[1.0, 2.0])
    ds = load_dc(path)
    assert path.name == "dc.npz"
    # the sweep spans the whole supply, so the fit can find where each device stops conducting
    assert ds.v_mem[0] == pytest.approx(0.0) and ds.v_mem[-1] == pytest.approx(small_spec().vdd)
    inside = (ds.v_mem >= 0.4) & (ds.v_mem <= 1.4)  # every device saturated here
    for dev in ("n", "p", "dis"):
        cur = ds.current[("l1", dev)]
        assert cur.shape == (2, ds.v_mem.size)
        assert np.all(cur[:, inside] > 0), dev
        assert np.all(cur[1, inside] > cur[0, inside]), dev  # wider ⇒ more current
        assert np.all((ds.lam[("l1", dev)] > 0.05) & (ds.lam[("l1", dev)] < 2.0)), dev
    # channel-length modulation: |I| grows with |V_DS|
    i04, i14 = np.searchsorted(ds.v_mem, [0.4, 1.4 - 1e-9])
    assert ds.current[("l1", "n")][0, i14] > ds.current[("l1", "n")][0, i04]
    assert ds.current[("l1", "p")][0, i04] > ds.current[("l1", "p")][0, i14]


def test_switching_charge_is_measured_and_grows_as_the_pmos_weakens(tmp_path):
    """The DC stage's transient bench: onset and tail charge per width, and the physics that
    makes the tail matter — a weakly biased PMOS (less current for the same node capacitance)
    gives a tail that is a far larger share of its phase's charge."""
    spec = small_spec()
    weak = spec.replace(layers=tuple(dataclasses.replace(
        layer, synapse=dataclasses.replace(layer.synapse, vb_p=1.3)) for layer in spec.layers))
    kappa = {}
    for label, sp in (("demo", spec), ("weak", weak)):
        ds = load_dc(dc_characterize(sp, tmp_path / label, widths=[1.0, 4.0, 5.0]))
        assert ds.tail_s[0] == 0.0 and ds.tail_s[-1] == 1.0
        for dev in ("n", "p"):
            q, on = ds.tail_q[("l1", dev)], ds.on_q[("l1", dev)]
            assert q.shape == (3, ds.tail_s.size) and on.shape == (3,)
            assert np.all(q[:, -1] > 0) and np.all(on > 0), (label, dev)  # own direction
            assert q[1, -1] > q[0, -1]          # a wider node holds more charge
        fits = fit_dc(sp, ds)[0]
        kappa[label] = np.asarray(fits.tail_p)
        # the onset charge stays a correction to the DC current's, not a different current
        assert np.all(np.abs(fits.on_n) < 0.05) and np.all(np.abs(fits.on_p) < 0.2)
    assert np.all(kappa["demo"] < 0.02)
    assert np.all(kappa["weak"] > 5 * kappa["demo"])


BAD_DECK = """* a deck ngspice cannot parse
V1 a 0 1
X1 a 0 no_such_subckt
.tran 1n 10n
.end
"""


@pytest.mark.parametrize("engine_cls", [SubprocessEngine, SharedEngine])
def test_parse_error_is_a_one_line_simulation_error(engine_cls):
    with engine_cls(BAD_DECK, ["v(a)"], timeout=60) as eng, \
            pytest.raises(SimulationError) as exc:
        eng.run({})
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("ngspice")


def test_hang_is_killed_by_the_timeout():
    spec = small_spec()
    tb = build_transient(spec, PATTERNS["mixed"])
    with pytest.raises(SimulationTimeout) as exc:
        SubprocessEngine(tb.text, tb.vectors, timeout=0.3).run(stimuli(spec, PATTERNS["mixed"]))
    assert "\n" not in str(exc.value)
    eng = SharedEngine(tb.text, tb.vectors, timeout=0.3, load_timeout=0.3)
    with pytest.raises(SimulationTimeout):
        eng.run(stimuli(spec, PATTERNS["mixed"]))
    assert eng._proc is None  # killed, nothing left running


def test_a_multi_finger_synapse_carries_exactly_nf_single_fingers():
    """The finger tables (imcflow.writeback.sizing) model an nf-finger synapse as nf fingers of
    W/nf. That holds because imcflow's ``.spiceinit`` (``ngbehavior=hsa``) makes ngspice bin the
    sky130 models by the per-finger width; its default bins by the total W, which (measured,
    ngspice 39, tt) gives a 10-finger 45.3 µm PMOS at L = 0.5 µm 8 % less current than ten
    4.53 µm fingers. This guards the setting."""
    from imcflow.netlist.models import model_lines
    from imcflow.sim.ngspice import run_batch

    lines = ["* finger binning", *model_lines("tt", 27.0), "Vdd vdd 0 1.8", "Vg g 0 1.0",
             "Vgn gn 0 0.57", "Vm m 0 0.9"]
    for k, (w, nf) in enumerate(((45.3, 10), (4.53, 1))):
        lines += [f"Vp{k} m p{k} 0", f"Xp{k} p{k} g vdd vdd sky130_fd_pr__pfet_01v8 W={w} L=0.5 "
                  f"nf={nf}", f"Vn{k} m n{k} 0",
                  f"Xn{k} n{k} gn 0 0 sky130_fd_pr__nfet_01v8 W={w} L=0.5 nf={nf}"]
    res = run_batch("\n".join([*lines, ".dc Vm 0.9 0.9 0.1", ".end"]),
                    ["i(vp0)", "i(vp1)", "i(vn0)", "i(vn1)"], analysis=None, timeout=120)
    for pol in ("p", "n"):
        multi, single = (float(np.asarray(res.plot[f"i(v{pol}{k})"])[0]) for k in (0, 1))
        assert abs(single) > 1e-9
        assert multi == pytest.approx(10 * single, rel=1e-4), pol
