"""Corners and mismatch without ngspice: how a seeded mismatch instance is written into a deck,
the mismatch data file against the installed model library, Pelgrom fits, sweep points and
metrics, and the CLI's one-line errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from imcflow import cli, pdk
from imcflow import spec as S
from imcflow.errors import DataError, SpecError
from imcflow.netlist import build_transient
from imcflow.netlist.dc import build_dc
from imcflow.netlist.models import check_mc_seed, library_section, model_lines, seed_range
from imcflow.report.metrics import ttfs_accuracy
from imcflow.sim import ngspice
from imcflow.sim.characterize import CharDataset
from imcflow.variation.dcmc import a_vt, seed_list, source_length
from imcflow.variation.pelgrom import fit_pelgrom, pelgrom_x, sigma_ci
from imcflow.variation.sweep import (
    Point,
    load_inputs,
    mc_points,
    point_metrics,
    pvt_points,
    summary_csv,
)

MODEL_DIR = pdk.model_library().parent


def tiny_spec() -> S.DesignSpec:
    return S.DesignSpec(name="v2x1", layers=(S.make_layer("l1", np.array([[2.0, -1.5]])),))


# ----------------------------------------------------------------------------- netlist hooks

def test_nominal_decks_have_no_mismatch_and_a_seed_switches_it_on():
    spec = tiny_spec()
    pat = np.array([0.2, np.inf])
    nominal = build_transient(spec, pat)
    assert build_transient(spec, pat, mc_seed=None).text == nominal.text
    assert "seed" not in nominal.text and "_mm" not in nominal.text
    lib = pdk.model_library()
    for corner in pdk.corners():
        tb = build_transient(spec, pat, corner=corner, temperature=85.0, mc_seed=7)
        lines = tb.text.splitlines()
        assert f'.lib "{lib}" {corner}_mm' in lines
        assert lines.count(".options seed=7") == 1
        assert ".temp 85.0" in lines
        assert "mismatch seed 7" in lines[0]
    dc = build_dc(spec, mc_seed=3, corner="ss")
    assert f'.lib "{lib}" ss_mm' in dc.text.splitlines() and ".options seed=3" in dc.text


def test_the_seed_is_part_of_the_circuit_hash_and_stimuli_are_not():
    spec = tiny_spec()
    h = {s: ngspice.netlist_hash(build_transient(spec, np.array([0.2, 0.4]), mc_seed=s).text)
         for s in (None, 1, 2)}
    assert len(set(h.values())) == 3
    other = build_transient(spec, np.array([0.9, np.inf]), mc_seed=1).text
    assert ngspice.netlist_hash(other) == h[1]


@pytest.mark.parametrize("bad", [0, -1, 2 ** 31, True, 1.5, "3", None])
def test_bad_seeds_are_refused(bad):
    with pytest.raises(SpecError):
        check_mc_seed(bad)
    if bad is not None:
        with pytest.raises(SpecError):
            build_transient(tiny_spec(), np.zeros(2), mc_seed=bad)


def test_seed_range_is_ngspices():
    assert seed_range() == (1, 2 ** 31 - 1)
    assert check_mc_seed(2 ** 31 - 1) == 2 ** 31 - 1


def test_unknown_corner_is_refused_with_or_without_seed():
    for seed in (None, 4):
        with pytest.raises(SpecError, match="corner"):
            model_lines("xx", 27.0, seed)
    with pytest.raises(SpecError):
        library_section("mc", 1)


def test_every_mismatch_section_exists_in_the_installed_library_and_sets_the_switch():
    text = pdk.model_library().read_text()
    sections = {m.group(1): m.group(2) for m in
                re.finditer(r"^\.lib (\w+)\n(.*?)^\.endl \1", text, re.M | re.S)}
    for corner in pdk.corners():
        mm = library_section(corner, 1)
        assert mm in sections, mm
        assert re.search(r"^\.param MC_MM_SWITCH=1$", sections[mm], re.M)
        assert re.search(r"^\.param MC_MM_SWITCH=0$", sections[corner], re.M)
        # the mismatch twin loads the same corner parameters as the corner itself
        inc = re.findall(r"parameters_fet_(\w+)\.spice", sections[mm])
        assert inc == re.findall(r"parameters_fet_(\w+)\.spice", sections[corner]) == [corner]


def test_documented_matching_constants_are_the_models():
    glob = (MODEL_DIR / "continuous" / "models_global.spice").read_text()
    fets = (MODEL_DIR / "continuous" / "models_fet.spice").read_text()
    data = pdk.pdk_data("mismatch")
    for model, entry in data["vth_mismatch"].items():
        m = re.search(rf"sw_mm_vth0_{model}\s*=\s*([0-9.eE+-]+)", glob)
        assert m and float(m.group(1)) == pytest.approx(entry["a_vt_V_um"]), model
        body = fets.split(f".subckt  {model}  d g s b")[1].split(".model")[0]
        term = f"sw_mm_vth0_{model}*mismatch_factor*MC_MM_SWITCH*AGAUSS(0,1.0,1)/sqrt(l*w*mult)"
        assert term in body, model
        inside_swx = re.search(r"swx_vth = \{[^}]*" + re.escape(term), body) is not None
        assert inside_swx == entry["geometry_factor"], model
    cmim = re.search(r"sw_mm_cmim\s*=\s*([0-9.eE+-]+)", glob)
    assert float(cmim.group(1)) == pytest.approx(
        data["mim_mismatch"]["sky130_fd_pr__cap_mim_m3_1"]["a_c_um"])
    for role in ("nfet", "pfet", "nfet_lvt", "pfet_hvt"):        # every MOS the circuit uses
        assert a_vt(pdk.get().model(role)) > 0


def test_dc_replicas_copy_every_width():
    spec = tiny_spec()
    one = build_dc(spec, widths=(0.5, 1.0), devices=("n", "dis"))
    three = build_dc(spec, widths=(0.5, 1.0), devices=("n", "dis"), replicas=3, mc_seed=9)
    assert len(three.probes) == 3 * len(one.probes)
    ws = [(p.device, p.width_um, p.replica) for p in three.probes]
    assert ws[:6] == [("n", 0.5, 0), ("n", 0.5, 1), ("n", 0.5, 2), ("n", 1.0, 0),
                      ("n", 1.0, 1), ("n", 1.0, 2)]
    assert len({p.source for p in three.probes}) == len(three.probes)
    assert build_dc(spec, widths=(0.5, 1.0), devices=("n", "dis"), replicas=1).text == one.text
    for bad in (0, -2, True, 1.5):
        with pytest.raises(SpecError):
            build_dc(spec, replicas=bad)


# ----------------------------------------------------------------------------- Pelgrom

def test_pelgrom_fit_recovers_a_and_reports_residuals():
    w = np.array([0.42, 1.0, 2.0, 4.0])
    exact = 0.08 * pelgrom_x(w, 0.25)
    fit = fit_pelgrom(w, 0.25, exact)
    assert fit.a_um == pytest.approx(0.08, rel=1e-12)
    assert fit.rel_residual_rms < 1e-12 and fit.n_points == 4
    bent = exact * np.array([1.5, 1.0, 1.0, 1.0])               # a narrow-width excess
    fit2 = fit_pelgrom(w, 0.25, bent)
    assert fit2.rel_residual_max > 0.1 and fit2.a_um > 0.08
    assert fit2.predict(np.array([1.0]), 0.25)[0] == pytest.approx(2 * fit2.a_um)
    with pytest.raises(DataError):
        fit_pelgrom(w, 0.25, np.array([0.1, 0.0, 0.1, 0.1]))
    with pytest.raises(DataError):
        pelgrom_x(np.array([0.0]), 0.25)


def test_sigma_interval_brackets_and_narrows():
    lo, hi = sigma_ci(1.0, 10)
    assert lo < 1.0 < hi
    lo2, hi2 = sigma_ci(1.0, 1000)
    assert lo < lo2 < 1.0 < hi2 < hi
    assert np.isnan(sigma_ci(1.0, 1)[0])
    # coverage on normal samples (seeded): the true σ lies inside ≈ 95 % of the intervals
    rng = np.random.default_rng(0)
    hits = sum(lo <= 2.0 <= hi for lo, hi in
               (sigma_ci(float(rng.normal(0, 2.0, 12).std(ddof=1)), 12) for _ in range(2000)))
    assert 0.93 < hits / 2000 < 0.97


def test_seed_lists_and_device_lengths():
    assert seed_list(3, 5) == [5, 6, 7]
    with pytest.raises(SpecError):
        seed_list(0)
    with pytest.raises(SpecError):
        seed_list(2, 2 ** 31 - 1)
    layer = tiny_spec().layers[0]
    assert source_length(layer, "n") == layer.synapse.l_um
    assert source_length(layer, "dis") == layer.neuron.dis_l_um
    with pytest.raises(SpecError):
        source_length(layer, "x")


# ----------------------------------------------------------------------------- sweeps

def test_points_labels_and_grids():
    pts = pvt_points(["tt", "ss"], [-40, 27, 85.5])
    assert [p.label for p in pts] == ["tt_m40C", "tt_27C", "tt_85p5C", "ss_m40C", "ss_27C",
                                      "ss_85p5C"]
    mc = mc_points([3, 4], "ff", 85)
    assert [p.label for p in mc] == ["ff_85C", "ff_85C_mc3", "ff_85C_mc4"]
    assert [p.mc_seed for p in mc_points([3], nominal=False)] == [3]
    for bad in (dict(corner="xx", temperature=27), dict(corner="tt", temperature=200),
                dict(corner="tt", temperature=float("nan")),
                dict(corner="tt", temperature=27, mc_seed=0)):
        with pytest.raises(SpecError):
            Point(**bad)
    with pytest.raises(SpecError):
        pvt_points(["tt", "tt"], [27])


def _fake_dataset(t: np.ndarray, fired: np.ndarray, charge: np.ndarray) -> CharDataset:
    spec = tiny_spec()
    return CharDataset(meta={}, spec=spec, inputs=np.zeros((t.shape[0], 2)),
                       t_out={"l1": t}, fired={"l1": fired}, mem={}, mem_tau=np.zeros(0),
                       charge=charge)


def test_point_metrics():
    t = np.array([[0.2], [0.5], [0.9], [0.4]])
    fired = np.array([[True], [True], [False], [True]])
    ds = _fake_dataset(t, fired, np.array([1e-12, 2e-12, 3e-12, 2e-12]))
    m = point_metrics(ds, labels=np.array([0, 0, 0, 0]),
                      reference=np.array([[0.2], [0.6], [np.inf], [0.4]]),
                      baseline=np.array([[0.2], [0.5], [1.0], [0.4]]))
    assert m["fired_frac"] == 0.75 and m["n_patterns"] == 4
    assert m["t_out_mean"] == pytest.approx((0.2 + 0.5 + 0.4) / 3)
    assert m["energy_J"] == pytest.approx(1.8 * 2e-12)
    # a missed spike counts as t = 1 on both sides: only pattern 1 differs, by 0.1 T
    assert m["reference_rms_ns"] == pytest.approx(np.sqrt(0.01 / 4) * 1e3)
    assert m["baseline_rms_ns"] == pytest.approx(0.0)
    assert m["spice_acc"] == 1.0
    # the earliest spike decides; a tie (here: neither fired) is no decision, whatever the label
    assert ttfs_accuracy(np.array([[0.3, 0.2], [1.0, 1.0]]), np.array([1, 0])) == 0.5
    assert ttfs_accuracy(np.array([[0.0, 0.0, 0.4], [0.0, 1e-4, 0.4]]), np.array([0, 0])) == 0.5
    with pytest.raises(ValueError):
        ttfs_accuracy(np.zeros((2, 2)), np.zeros(3))


def test_summary_csv_has_one_row_per_point():
    rows = [{"label": "tt_27C", "corner": "tt", "temperature": 27.0, "mc_seed": None,
             "energy_J": 1e-12, "error": None},
            {"label": "ss_27C", "corner": "ss", "temperature": 27.0, "mc_seed": 3,
             "error": "ngspice: no convergence"}]
    lines = summary_csv(rows).splitlines()
    assert lines[0].startswith("label,corner,temperature,mc_seed")
    assert lines[1].startswith("tt_27C,tt,27.0,,")
    assert lines[2].endswith("ngspice: no convergence") and len(lines) == 3


def test_inputs_file_errors_are_one_line(tmp_path):
    p = tmp_path / "in.npz"
    np.savez(p, labels=np.array([1, 2]))
    with pytest.raises(DataError, match="no 'inputs'"):
        load_inputs(p)
    np.savez(p, inputs=np.zeros((2, 2)), labels=np.array([0.5, 1.0]))
    with pytest.raises(DataError, match="integers"):
        load_inputs(p)
    np.savez(p, inputs=np.zeros((2, 2)), labels=np.array([0, 1]), reference=np.ones((2, 1)))
    inp = load_inputs(p)
    assert inp.patterns.shape == (2, 2) and inp.labels.tolist() == [0, 1]
    with pytest.raises(DataError, match="not found"):
        load_inputs(tmp_path / "missing.npz")


def test_cli_errors_are_one_line(tmp_path, capsys):
    spec_file = tmp_path / "s.json"
    S.save(tiny_spec(), spec_file)
    cases = [
        ["mc", str(spec_file), "--seeds", "0", "-o", str(tmp_path / "o")],
        ["mc", str(spec_file), "--seeds", "a,b", "-o", str(tmp_path / "o")],
        ["pvt", str(spec_file), "--corners", "tt,zz", "-o", str(tmp_path / "o")],
        ["pvt", str(spec_file), "--temperatures", "27,500", "-o", str(tmp_path / "o")],
        ["pvt", str(spec_file), "--baseline", "nope", "-o", str(tmp_path / "o")],
        ["mismatch", str(spec_file), "--instances", "1", "--replicas", "1", "-o",
         str(tmp_path / "o")],
        ["mismatch", str(spec_file), "--devices", "n,q", "-o", str(tmp_path / "o")],
    ]
    for argv in cases:
        code = cli.main(argv)
        err = capsys.readouterr().err
        assert code != 0, argv
        assert err.startswith("error: ") and err.count("\n") == 1, (argv, err)
        assert "Traceback" not in err


def test_netlist_cli_writes_a_mismatch_testbench(tmp_path, capsys):
    spec_file = tmp_path / "s.json"
    S.save(tiny_spec(), spec_file)
    assert cli.main(["netlist", str(spec_file), "-o", str(tmp_path), "--mc-seed", "5",
                     "--corner", "fs"]) == 0
    text = (tmp_path / "v2x1_tb.spice").read_text()
    assert ".options seed=5" in text.splitlines() and " fs_mm" in text
    capsys.readouterr()
    assert cli.main(["netlist", str(spec_file), "-o", str(tmp_path), "--mc-seed", "0"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: mc_seed 0") and err.count("\n") == 1


def test_task_pool_delivers_every_result_by_index_and_reraises_the_first_failure():
    import operator  # noqa: PLC0415

    from imcflow.errors import SimulationError  # noqa: PLC0415
    from imcflow.variation.tasks import run_tasks  # noqa: PLC0415

    got: dict[int, int] = {}
    run_tasks(operator.mul, [(k, k) for k in range(7)], got.__setitem__, workers=3)
    assert got == {k: k * k for k in range(7)}

    def boom(k: int) -> int:
        if k == 2:
            raise SimulationError("ngspice: no convergence")
        return k

    got.clear()
    with pytest.raises(SimulationError, match="no convergence"):
        run_tasks(boom, [(k,) for k in range(4)], got.__setitem__, workers=1)
    assert 2 not in got and all(got[k] == k for k in got)     # what finished stays delivered
    with pytest.raises(SimulationError):
        run_tasks(operator.mul, [(1, 1)], got.__setitem__, workers=0)


def test_task_pool_on_dask_gives_the_same_results():
    pytest.importorskip("dask.distributed")
    import operator  # noqa: PLC0415

    from imcflow.variation.tasks import run_tasks  # noqa: PLC0415

    got: dict[int, int] = {}
    run_tasks(operator.add, [(k, 10) for k in range(5)], got.__setitem__, workers=2,
              dask_local=True)
    assert got == {k: k + 10 for k in range(5)}


def test_reports_render_from_results(tmp_path):
    from imcflow.variation.dcmc import MismatchStudy, WidthStats  # noqa: PLC0415
    from imcflow.variation.report import mismatch_report, sweep_report  # noqa: PLC0415

    widths = [WidthStats("l1", dev, w, 0.25, 80, 1e-7, 1.05e-7, s, 0.9 * s, 1.1 * s, s,
                         0.9 * s, 1.1 * s, 0.01)
              for dev in ("n", "p") for w, s in ((0.5, 0.3), (2.0, 0.15))]
    fits = {}
    for dev in ("n", "p"):
        f = fit_pelgrom(np.array([0.5, 2.0]), 0.25, np.array([0.3, 0.15]))
        fits[f"l1/{dev}"] = {**f.to_dict(), "l_um": 0.25, "model": "m", "a_vt_V_um": 0.005,
                             "gm_over_i_per_V": f.a_um / 0.005}
    study = MismatchStudy(spec=tiny_spec().to_dict(), corner="tt", temperature=27.0,
                          seeds=[1, 2], replicas=40, devices=["n", "p"], v_ref_V={"l1": 1.3},
                          widths=widths, fits=fits,
                          runs=[{"seed": None, "cached": False}], wall_s=1.0)
    study.save(tmp_path / "m.json")
    again = MismatchStudy.load(tmp_path / "m.json")
    assert again.widths == widths and again.fit("l1", "p").a_um == pytest.approx(
        fits["l1/p"]["a_um"])
    md, _ = mismatch_report(again).write(tmp_path / "m")
    text = md.read_text()
    assert "| l1 | NMOS synapse | m | 0.25 |" in text and "figures/mismatch_l1.png" in text
    rows = [{"label": "tt_27C", "corner": "tt", "temperature": 27.0, "mc_seed": None,
             "fired_frac": 1.0, "energy_J": 5e-12, "n_simulated": 3, "n_patterns": 3,
             "wall_s": 2.0},
            {"label": "tt_27C_mc1", "corner": "tt", "temperature": 27.0, "mc_seed": 1,
             "fired_frac": 0.5, "energy_J": 4e-12, "baseline_rms_ns": 12.5, "spice_acc": 0.5,
             "n_simulated": 0, "n_patterns": 3, "wall_s": 0.1}]
    md, html = sweep_report("t", rows, {"spec": "v2x1"}).write(tmp_path / "s")
    assert "| tt_27C_mc1 | tt | 27 | 1 | 50.0 | 4 | 12.5 |" in md.read_text()
    assert "data:image/png;base64," in html.read_text()
    with pytest.raises(DataError):
        MismatchStudy.load(tmp_path / "missing.json")
