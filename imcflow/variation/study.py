"""A finished flow's two networks at every corner, temperature and mismatch instance, with and
without a per-point trim (``imcflow corners``, ``make corners``).

The networks are the ones ``imcflow verify`` simulates: the written-back, calibrated bottom-up
and top-down networks of a flow folder, each with its own post-layout netlist. At every
:class:`~imcflow.variation.sweep.Point` the held-out test set runs through ngspice
(:func:`~imcflow.variation.sweep.run_sweep`: parallel, cached by content, resumable after
``kill -9``) and is compared with the PNN each network was trained as.

The trim is the one knob a chip would have for its synapse currents: both current-source gate
biases moved together toward more current (``vb_n + δ``, ``vb_p − δ``, V; the same δ in every
layer). It changes no layout, so every trimmed run uses the same post-layout netlist. δ is chosen
per point on *training* samples only, by the output spike-time RMSE against the PNN: a coarse
grid, then a finer one around its best; the test set is then run once at the chosen δ.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imcflow import atomicio
from imcflow import spec as specmod
from imcflow.errors import DataError, SpecError
from imcflow.jsonio import plain
from imcflow.spec import DesignSpec
from imcflow.variation.sweep import Point, run_sweep

#: Coarse trim grid, V (δ on both synapse biases, toward more current when positive).
TRIM_COARSE: tuple[float, ...] = (-0.06, -0.03, 0.0, 0.03, 0.06)
#: Step of the fine trim grid around the coarse optimum, V.
TRIM_FINE = 0.01
#: Training samples the trim is chosen on.
N_TRIM = 10

FORMAT = "imcflow-corner-study"


@dataclass(frozen=True)
class StudyNetwork:
    """One written-back, calibrated network of a flow folder and what it is compared with.

    Times normalised to T; references are the PNN's output times (≥ 1: no spike)."""

    kind: str
    spec: DesignSpec
    subckts: str | None  # post-layout netlist; None: the schematic
    t_test: np.ndarray
    y_test: np.ndarray
    ref_test: np.ndarray
    t_trim: np.ndarray
    ref_trim: np.ndarray


def load_network(flow: str | Path, kind: str, folder: str | Path, *, n_test: int | None = None,
                 n_trim: int = N_TRIM) -> StudyNetwork:
    """The ``kind`` network of the finished flow in ``flow``, laid out and extracted into
    ``folder`` (the same post-layout netlist ``imcflow verify`` simulates)."""
    from imcflow.extract.signoff import post_layout  # noqa: PLC0415
    from imcflow.fit.pipeline import NetworkFit  # noqa: PLC0415
    from imcflow.flow import experiment as ex  # noqa: PLC0415
    from imcflow.flow.run import saved_config  # noqa: PLC0415

    flow = Path(flow)
    cfg = saved_config(flow)
    need = [flow / "spec" / "spec.json", flow / "fit" / "fit.json",
            flow / "train" / f"{kind}.json", flow / "calibrate" / f"{kind}.json",
            flow / "writeback" / f"{kind}_spec.json"]
    missing = [str(p.relative_to(flow)) for p in need if not p.is_file()]
    if cfg is None or missing:
        raise DataError(f"{flow}: not a finished flow folder (missing "
                        f"{', '.join(missing) or 'flow_config.json'}); run imcflow flow first")
    spec = specmod.load(need[0])
    fit = NetworkFit.load(need[1])
    model = ex.TrainedModel.from_dict(json.loads(need[2].read_text()))
    cal = ex.Calibration(**json.loads(need[3].read_text()))
    wb = specmod.load(need[4])
    data = ex.spike_data(cfg.dataset, cfg.split_seed)
    ws = ex.scaled_spec(wb, fit, model, cal.s_pos, cal.s_neg, f"{data.name}_{kind}")
    n = n_test if n_test is not None else cfg.experiment.n_test
    t_test, y_test = data.t_test[:n], data.y_test[:n]
    t_trim = data.t_train[:n_trim]
    pl = post_layout(ws, Path(folder) / kind / "layout")
    return StudyNetwork(kind=kind, spec=ws, subckts=Path(pl.spice).read_text(),
                        t_test=t_test, y_test=y_test,
                        ref_test=ex.predict(spec, fit, model, t_test)[-1],
                        t_trim=t_trim, ref_trim=ex.predict(spec, fit, model, t_trim)[-1])


def trimmed(spec: DesignSpec, delta: float) -> DesignSpec:
    """``spec`` with every layer's synapse biases moved by ``delta`` V toward more current
    (``vb_n + δ``, ``vb_p − δ``); :class:`SpecError` if that leaves the bias ranges."""
    layers = tuple(dataclasses.replace(layer, synapse=dataclasses.replace(
        layer.synapse, vb_n=layer.synapse.vb_n + delta, vb_p=layer.synapse.vb_p - delta))
        for layer in spec.layers)
    out = dataclasses.replace(spec, layers=layers)
    specmod.validate(out)
    return out


def _mv(delta: float) -> str:
    return f"{1e3 * delta:+.0f}mV"


def find_trim(net: StudyNetwork, point: Point, folder: Path, *, coarse: Sequence[float] =
              TRIM_COARSE, fine: float = TRIM_FINE, workers: int = 1, cache_dir: Path,
              on_eval: Callable[[], None] | None = None) -> tuple[float, list[dict[str, Any]]]:
    """The trim δ (V) of ``net`` at ``point`` with the least output spike-time RMSE against
    the PNN on the training samples, and every δ tried (``delta_V``, ``rms_ns``; a failed
    run counts as infinite error)."""
    tried: dict[float, float] = {}

    def evaluate(d: float) -> float:
        d = round(d, 4)
        if d not in tried:
            res = run_sweep(trimmed(net.spec, d), net.t_trim, [point],
                            folder / point.label / _mv(d), subckts=net.subckts,
                            reference=net.ref_trim, workers=workers, cache_dir=cache_dir)
            rms = res.rows[0].get("reference_rms_ns")
            tried[d] = math.inf if rms is None else float(rms)
            if on_eval is not None:
                on_eval()
        return tried[d]

    best = min(coarse, key=evaluate)
    for d in (best - fine, best + fine):
        evaluate(d)
    chosen = min(tried, key=lambda d: (tried[d], abs(d)))
    return chosen, [{"delta_V": d, "rms_ns": tried[d]} for d in sorted(tried)]


def n_trim_evals(coarse: Sequence[float] = TRIM_COARSE) -> int:
    """Simulated δ per point (coarse grid and two fine neighbours), for progress bars."""
    return len(coarse) + 2


def corner_study(flow: str | Path, out: str | Path, points: Sequence[Point], *,
                 kinds: Sequence[str] = ("bottom_up", "top_down"), trim: bool = True,
                 n_test: int | None = None, n_trim: int = N_TRIM, workers: int = 1,
                 on_progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run (or resume) the study of the finished flow in ``flow``; writes ``<out>/study.json``
    and ``<out>/report.{md,html}`` and returns the study. ``on_progress(what)`` is called after
    every finished sweep."""
    if not points:
        raise SpecError("give at least one corner/temperature point")
    nets = [load_network(flow, kind, out, n_test=n_test, n_trim=n_trim) for kind in kinds]
    return run_study(nets, out, points, trim=trim, workers=workers, on_progress=on_progress,
                     source=str(flow))


def run_study(nets: Sequence[StudyNetwork], out: str | Path, points: Sequence[Point], *,
              trim: bool = True, coarse: Sequence[float] = TRIM_COARSE, fine: float = TRIM_FINE,
              workers: int = 1, on_progress: Callable[[str], None] | None = None,
              source: str = "") -> dict[str, Any]:
    """The study of ``nets`` (see :func:`corner_study`); every run cached in ``<out>/cache``."""
    from imcflow.variation.report import corner_study_report  # noqa: PLC0415

    if not points:
        raise SpecError("give at least one corner/temperature point")
    out = Path(out)
    cache = out / "cache"
    t0 = time.perf_counter()
    study: dict[str, Any] = {"format": FORMAT, "flow": source, "trim": trim,
                             "trim_coarse_V": list(coarse), "trim_fine_V": fine,
                             "networks": {}}
    for net in nets:
        kind = net.kind
        done = run_sweep(net.spec, net.t_test, points, out / kind / "untrimmed",
                         subckts=net.subckts, labels=net.y_test, reference=net.ref_test,
                         workers=workers, cache_dir=cache, title=f"{kind}, untrimmed")
        if on_progress is not None:
            on_progress(f"{kind} untrimmed")
        rows = []
        for p, row in zip(points, done.rows, strict=True):
            entry: dict[str, Any] = {"label": p.label, "corner": p.corner,
                                     "temperature": p.temperature, "mc_seed": p.mc_seed,
                                     "untrimmed": row}
            if trim:
                delta, tried = find_trim(net, p, out / kind / "trim", coarse=coarse, fine=fine,
                                         workers=workers, cache_dir=cache)
                res = run_sweep(trimmed(net.spec, delta), net.t_test, [p],
                                out / kind / "trimmed" / p.label, subckts=net.subckts,
                                labels=net.y_test, reference=net.ref_test, workers=workers,
                                cache_dir=cache)
                entry |= {"trim_V": delta, "trim_tried": tried, "trimmed": res.rows[0]}
                if on_progress is not None:
                    on_progress(f"{kind} {p.label} trimmed")
            rows.append(entry)
        study["networks"][kind] = {"spec_name": net.spec.name, "n_test": len(net.y_test),
                                   "n_trim": len(net.t_trim), "T_s": net.spec.T, "rows": rows}
    study["wall_s"] = time.perf_counter() - t0
    atomicio.write_json(out / "study.json", plain(study))
    corner_study_report(study).write(out)
    return study
