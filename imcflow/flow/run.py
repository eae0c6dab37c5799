"""The cached, stage-by-stage runner of the main job (``imcflow flow``, ``make flow``).

Every stage writes into ``<out>/<stage>/`` and records ``result.json`` with a key: the hash of
its settings and of the results of the stages it reads. A stage whose key is unchanged is not
run again, so a second ``make flow`` takes seconds; changing a setting re-runs that stage and
every stage after it. ngspice datasets are additionally cached by content
(``<out>/cache``), so an interrupted characterization resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imcflow import atomicio
from imcflow import spec as specmod
from imcflow.errors import FitError
from imcflow.extract.signoff import post_layout
from imcflow.fit.physics import dc_widths, fit_dc
from imcflow.fit.pipeline import FitLimits, NetworkFit, fit_network, fit_problems
from imcflow.flow import STAGES
from imcflow.flow import experiment as ex
from imcflow.flow.placeholders import RAMP_TARGET, size_placeholders
from imcflow.flow.ramp_sizing import MIN_RAMP_REACH, design_capacitance
from imcflow.flow.variation import VariationConfig
from imcflow.jsonio import plain
from imcflow.netlist.cells import network_subckts
from imcflow.netlist.dc import SWITCHING_V_FRACTION
from imcflow.progress import console, progress
from imcflow.sim.capacitance import MembraneCapacitance, measure_membranes
from imcflow.sim.characterize import (
    characterize,
    export,
    extreme_patterns,
    load_dataset,
    random_patterns,
)
from imcflow.sim.dc import TAIL_GRID, dc_characterize, load_dc

#: Bump when a stage's meaning changes, to invalidate old results.
FLOW_VERSION = 5
#: A neuron whose placeholder widths fire it inside its validated range in fewer than this
#: fraction of the characterization patterns has its widths resized (:mod:`.placeholders`).
PLACEHOLDER_MIN_FRACTION = 0.2
#: ... and gets the smallest resize that fires it so in this fraction.
PLACEHOLDER_TARGET_FRACTION = 0.35


@dataclass(frozen=True)
class FlowConfig:
    """Settings of the main job (defaults: ≤ 15 minutes on 2 cores)."""

    spec_file: str | None = None
    dataset: str = "iris"
    split_seed: int = 0
    char_patterns: int = 32
    char_seed: int = 1
    dc_width_step: float = 0.1
    fit_steps: int = 600
    fit_limits: FitLimits = field(default_factory=FitLimits)
    workers: int = 2
    experiment: ex.ExperimentConfig = field(default_factory=ex.ExperimentConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FlowConfig:
        """The inverse of :meth:`to_dict` (nested settings included)."""
        d = dict(d)
        exp = dict(d.pop("experiment", {}))
        limits = FitLimits(**dict(d.pop("fit_limits", {})))
        if "train" in exp:
            exp["train"] = ex.PhysicalTrainConfig(**exp["train"])
        if exp.get("variation") is not None:
            exp["variation"] = VariationConfig(**exp["variation"])
        for key in ("bu_scales", "td_coarse"):
            if key in exp:
                exp[key] = tuple(exp[key])
        return cls(**d, fit_limits=limits, experiment=ex.ExperimentConfig(**exp))


#: The settings a flow folder was last run with (``imcflow verify``/``report`` reuse them).
CONFIG_FILE = "flow_config.json"


def saved_config(out: str | Path) -> FlowConfig | None:
    """The settings ``out`` was last run with, or None."""
    path = Path(out) / CONFIG_FILE
    if not path.exists():
        return None
    return FlowConfig.from_dict(json.loads(path.read_text()))


def trained_spec_path(out: str | Path) -> Path:
    """The spec a finished flow in ``out`` characterized, fitted and trained on: the
    placeholder stage's resized spec where that stage resized it, else the spec stage's."""
    out = Path(out)
    stamp = out / "placeholders" / "result.json"
    if stamp.is_file():
        try:
            if json.loads(stamp.read_text())["result"].get("resized"):
                return out / "placeholders" / "spec.json"
        except (OSError, json.JSONDecodeError, KeyError):
            pass
    return out / "spec" / "spec.json"


class Runner:
    """Runs stages in order with result caching (see the module doc)."""

    def __init__(self, out: str | Path, cfg: FlowConfig):
        self.out = Path(out)
        self.cfg = cfg
        self.results: dict[str, Any] = {}
        self.timings: dict[str, float] = {}

    def stage(self, name: str, settings: dict, reads: tuple[str, ...],
              fn: Callable[[Path], dict]) -> dict:
        folder = self.out / name
        payload = {"stage": name, "version": FLOW_VERSION, "settings": settings,
                   "reads": {r: self.results[r] for r in reads}}
        key = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()
                             ).hexdigest()
        stamp = folder / "result.json"
        if stamp.exists():
            try:
                old = json.loads(stamp.read_text())
                if old.get("key") == key:
                    console.print(f"[green]✓[/] {name:<13} cached ({old['seconds']:.1f} s "
                                  "when it ran)")
                    self.results[name] = old["result"]
                    self.timings[name] = 0.0
                    return old["result"]
            except (OSError, json.JSONDecodeError, KeyError):
                pass
        console.print(f"[bold]▶[/] {name}")
        t0 = time.perf_counter()
        folder.mkdir(parents=True, exist_ok=True)
        # through JSON and back, so a fresh result and a cache hit are the same plain data
        result = json.loads(json.dumps(_json_safe(fn(folder))))
        dt = time.perf_counter() - t0
        atomicio.write_json(stamp, {"key": key, "seconds": dt, "result": result})
        console.print(f"[green]✓[/] {name:<13} {dt:.1f} s")
        self.results[name] = result
        self.timings[name] = dt
        return result


def _sha(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_flow(out: str | Path = "runs/flow", cfg: FlowConfig | None = None,
             stop_after: str | None = None) -> dict[str, Any]:
    """Run (or resume) the main job; returns every stage's result."""
    cfg = cfg or FlowConfig()
    if stop_after is not None and stop_after not in STAGES:
        raise ValueError(f"unknown stage {stop_after!r}; stages: {', '.join(STAGES)}")
    r = Runner(out, cfg)
    atomicio.write_json(r.out / CONFIG_FILE, cfg.to_dict())
    ecfg = dataclasses.replace(cfg.experiment, workers=cfg.workers,
                               cache_dir=str(r.out / "cache"))

    def done(name: str) -> bool:
        return stop_after == name

    def char_patterns(spec: specmod.DesignSpec) -> np.ndarray:
        return np.concatenate([random_patterns(spec.n_inputs, cfg.char_patterns,
                                               cfg.char_seed), extreme_patterns(spec)])

    # 1. spec -------------------------------------------------------------------------------
    def s_spec(folder: Path) -> dict:
        spec = specmod.load(cfg.spec_file) if cfg.spec_file else specmod.default_spec()
        path = folder / "spec.json"
        specmod.save(spec, path)
        atomicio.write_text(folder / f"{spec.name}.spice", network_subckts(spec))
        return {"path": str(path), "sha256": _sha(path), "name": spec.name}

    spec_src = {"file": cfg.spec_file, "sha256": _sha(cfg.spec_file) if cfg.spec_file else None}
    r.stage("spec", spec_src, (), s_spec)
    spec = specmod.load(r.results["spec"]["path"])
    data = ex.spike_data(cfg.dataset, cfg.split_seed)
    data.check_spec(spec)
    if done("spec"):
        return r.results

    # 2. DC sweeps ----------------------------------------------------------------------------
    def s_dc(folder: Path) -> dict:
        path = dc_characterize(spec, folder / "dc.npz", widths=widths)
        return {"path": str(path), "sha256": _sha(path)}

    widths = dc_widths(spec, step=cfg.dc_width_step)
    r.stage("dc", {"widths": widths,
                   "switching": {"grid": TAIL_GRID, "v_fraction": SWITCHING_V_FRACTION}},
            ("spec",), s_dc)
    if done("dc"):
        return r.results

    # 3. placeholder widths that exercise every neuron -----------------------------------------
    def s_placeholders(folder: Path) -> dict:
        sized, excitation = size_placeholders(
            spec, fit_dc(spec, load_dc(r.results["dc"]["path"])), char_patterns(spec),
            min_fraction=PLACEHOLDER_MIN_FRACTION, target_fraction=PLACEHOLDER_TARGET_FRACTION)
        path = folder / "spec.json"
        specmod.save(sized, path)
        return {"path": str(path), "sha256": _sha(path), "resized": sized != spec,
                "layers": [e.to_dict() for e in excitation]}

    r.stage("placeholders", {"min_fraction": PLACEHOLDER_MIN_FRACTION,
                             "target_fraction": PLACEHOLDER_TARGET_FRACTION,
                             "min_ramp_reach": MIN_RAMP_REACH, "ramp_target": RAMP_TARGET},
            ("spec", "dc"), s_placeholders)
    if r.results["placeholders"]["resized"]:
        spec = specmod.load(r.results["placeholders"]["path"])
        layout_settings = {"placeholders": r.results["placeholders"]["sha256"]}
    else:
        layout_settings = {}
    if done("placeholders"):
        return r.results

    # 4. layout, DRC, LVS, extraction ---------------------------------------------------------
    def s_layout(folder: Path) -> dict:
        pl = post_layout(spec, folder).to_dict()
        with console.status("measuring the membrane capacitances (ngspice)"):
            c = measure_membranes(spec, Path(pl["spice"]).read_text())
        return pl | {"spice_sha256": _sha(pl["spice"]), "membrane_C": c.to_dict()}

    r.stage("layout", layout_settings, ("spec",), s_layout)
    post_spice = Path(r.results["layout"]["spice"]).read_text()
    if done("layout"):
        return r.results

    # 5. characterization, pre- and post-layout, same patterns ---------------------------------
    def s_char(folder: Path) -> dict:
        out = {}
        for label, subckts in (("pre", None), ("post", post_spice)):
            with progress() as bar:
                task = bar.add_task(f"ngspice {label}-layout", total=len(patterns), status="")
                res = characterize(spec, patterns=patterns, workers=cfg.workers, subckts=subckts,
                                   cache_dir=r.out / "cache",
                                   on_result=lambda i, d, n, t=task, b=bar: b.update(
                                       t, completed=d))
            path = export(res, folder / f"char_{label}.npz")
            out[label] = str(path)
            out[f"{label}_sha256"] = _sha(path)
        return out

    patterns = char_patterns(spec)
    r.stage("characterize", {"n": cfg.char_patterns, "seed": cfg.char_seed, "extremes": True},
            ("spec", "layout"), s_char)
    if done("characterize"):
        return r.results

    # 6. fit ----------------------------------------------------------------------------------
    def s_fit(folder: Path) -> dict:
        dc = load_dc(r.results["dc"]["path"])
        char = load_dataset(r.results["characterize"]["post"])
        c_meas = MembraneCapacitance.from_dict(r.results["layout"]["membrane_C"])
        nf = fit_network(spec, dc, char, capacitance=c_meas, steps=cfg.fit_steps,
                         coupling=r.results["layout"].get("membrane_coupling_F"))
        nf, ramp = design_capacitance(spec, nf)
        path = nf.save(folder / "fit.json")
        return {"path": str(path), "sha256": _sha(path),
                "spike_rms_pct_T": [f.residuals["spike_rms_pct_T"] for f in nf.fitted],
                "problems": fit_problems(nf, cfg.fit_limits), "ramp": ramp}

    r.stage("fit", {"steps": cfg.fit_steps, "limits": asdict(cfg.fit_limits),
                    "min_ramp_reach": MIN_RAMP_REACH, "switching_onset": "edge"},
            ("dc", "characterize", "layout"), s_fit)
    fit = NetworkFit.load(r.results["fit"]["path"])
    problems = r.results["fit"].get("problems", [])
    if problems:
        more = f" (and {len(problems) - 1} more; see {r.results['fit']['path']})" \
            if len(problems) > 1 else ""
        raise FitError(f"the fit cannot be trusted: {problems[0]}{more}")
    if done("fit"):
        return r.results

    # 7. train bottom-up and top-down ---------------------------------------------------------

    def s_train(folder: Path) -> dict:
        out = {}
        with progress() as bar:
            task = bar.add_task("train (seeds)", total=ecfg.seeds * len(ex.KINDS), status="")
            for kind in ex.KINDS:
                m = ex.train_kind(spec, fit, kind, data, ecfg,
                                  on_seed=lambda s: bar.advance(task))
                path = folder / f"{kind}.json"
                atomicio.write_json(path, m.to_dict())
                out[kind] = {"path": str(path), "sha256": _sha(path), "test_acc": m.test_acc,
                             "train_acc": m.train_acc, "seed": m.seed,
                             "variation_acc": m.variation_acc,
                             "variation_aware": ecfg.variation is not None,
                             "phase_end_margin": ecfg.train.phase_end_margin}
        return out

    r.stage("train", {"train": asdict(ecfg.train), "qat": ecfg.qat_epochs,
                      "variation": None if ecfg.variation is None else ecfg.variation.to_dict(),
                      "seeds": ecfg.seeds, "dataset": data.name, "split_seed": data.split_seed},
            ("fit",), s_train)
    models = {k: ex.TrainedModel.from_dict(json.loads(Path(v["path"]).read_text()))
              for k, v in r.results["train"].items()}
    if done("train"):
        return r.results

    # 8. write-back: widths, fingers and (bottom-up) measured MIM sizing ----------------------
    def s_writeback(folder: Path) -> dict:
        out = {}
        for kind in ex.KINDS:
            with console.status(f"write-back: {kind}"):
                wb, record = ex.writeback_network(spec, fit, models[kind],
                                                  f"{data.name}_{kind}_wb", folder / kind)
            path = folder / f"{kind}_spec.json"
            specmod.save(wb, path)
            rec = folder / f"{kind}_sizing.json"
            atomicio.write_json(rec, record)
            out[kind] = {"spec": str(path), "sha256": _sha(path), "sizing": str(rec)}
        return out

    r.stage("writeback", {"rounds": ex.MIM_ROUNDS, "tolerance": ex.MIM_TOLERANCE}, ("train",),
            s_writeback)
    wb_specs = {k: specmod.load(v["spec"]) for k, v in r.results["writeback"].items()}
    if done("writeback"):
        return r.results

    # 9. calibrate (SPICE scale searches) ------------------------------------------------------
    def s_cal(folder: Path) -> dict:
        out = {}
        for kind in ex.KINDS:
            console.print(f"  scale search: {kind}")
            cal = ex.calibrate(wb_specs[kind], fit, models[kind], data, ecfg, folder / kind)
            path = folder / f"{kind}.json"
            atomicio.write_json(path, cal.to_dict())
            out[kind] = {"path": str(path), "sha256": _sha(path), "s_pos": cal.s_pos,
                         "s_neg": cal.s_neg,
                         "rmse": cal.rmse, "n_candidates": len(cal.candidates)}
        return out

    r.stage("calibrate", {"n_calib": ecfg.n_calib, "bu": list(ecfg.bu_scales),
                          "bu_fine": ecfg.bu_fine_step,
                          "td": list(ecfg.td_coarse), "fine": ecfg.td_fine_step,
                          "max_evals": ecfg.td_max_evals,
                          "search": "doubling strides, scales up to the first finger limit"},
            ("writeback",), s_cal)
    cals = {k: ex.Calibration(**json.loads(Path(v["path"]).read_text()))
            for k, v in r.results["calibrate"].items()}
    if done("calibrate"):
        return r.results

    # 10. verify on the held-out test set -------------------------------------------------------
    def s_verify(folder: Path) -> dict:
        out = {}
        for kind in ex.KINDS:
            with progress() as bar:
                n = len(data.y_test[: ecfg.n_test])
                task = bar.add_task(f"verify {kind}", total=n, status="")
                v = ex.verify(wb_specs[kind], fit, models[kind], cals[kind], data, ecfg,
                              folder / kind,
                              on_result=lambda i, d, n, t=task, b=bar: b.update(
                                  t, completed=d))
            path = folder / f"{kind}.json"
            atomicio.write_json(path, _json_safe(v.to_dict()))
            out[kind] = {"path": str(path), "sha256": _sha(path), "rms_ns": v.metrics["rms_ns"],
                         "spice_acc": v.spice_acc, "model_acc": v.model_acc}
        return out

    r.stage("verify", {"n_test": ecfg.n_test}, ("calibrate",), s_verify)
    if done("verify"):
        return r.results

    # 11. report -------------------------------------------------------------------------------
    def s_report(folder: Path) -> dict:
        from imcflow.report.flow_report import build_report

        doc = build_report(r.out, r.results, spec, data)
        md, html = doc.write(folder)
        return {"markdown": str(md), "html": str(html)}

    r.stage("report", {}, ("verify", "layout", "fit", "characterize"), s_report)
    return r.results


def _json_safe(x: Any) -> Any:
    """JSON-safe copy; non-finite floats as their text (\"inf\", \"nan\")."""
    return plain(x, str)
