"""A finished flow's two networks at every corner, temperature and mismatch instance, with and
without a per-point trim (``imcflow corners``, ``make corners``).

The networks are the ones ``imcflow verify`` simulates: the written-back, calibrated bottom-up
and top-down networks of a flow folder, each with its own post-layout netlist. At every
:class:`~imcflow.variation.sweep.Point` the held-out test set runs through ngspice
(:func:`~imcflow.variation.sweep.run_sweep`: parallel, cached by content, resumable after
``kill -9``) and is compared with the PNN each network was trained as.

Biases (``bias``): ``fixed`` simulates every point with the spec's bias voltages; ``replica``
with the voltages a current-mirror bias generator gives at that corner and temperature
(:mod:`imcflow.variation.bias`: the reference point's currents held), which is how a chip is
biased — fixed voltages let the currents, and with them the network, drift by more than an
order of magnitude over the grid. The library default is ``fixed`` (the sweep as asked); the
commands default to ``replica``. Every point also gets its fitted physics
(:mod:`imcflow.variation.physics`).

The trim is the knob a chip would have for its synapse currents: both current-source gate
biases moved together toward more current (``vb_n + δ``, ``vb_p − δ``, V; the same δ in every
layer), and optionally (two knobs) the PMOS bias on its own after that — at the demo's biases
the corners shift NMOS and PMOS currents apart (DC, membrane at 1 V: I_n/I_p varies by
e^±1.6 over the 15 PVT points), which one knob cannot undo. A trim changes no layout, so every
trimmed run uses the same post-layout netlist. It is chosen per point on *training* samples
only, by the output spike-time RMSE against the PNN: a coarse grid, then a finer one around
its best; the test set is then run once at the chosen trim.
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
    from imcflow.flow.run import saved_config, trained_spec_path  # noqa: PLC0415

    flow = Path(flow)
    cfg = saved_config(flow)
    need = [trained_spec_path(flow), flow / "fit" / "fit.json",
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


def trimmed(spec: DesignSpec, delta: float, delta_p: float | None = None) -> DesignSpec:
    """``spec`` with every layer's synapse biases moved toward more current: ``vb_n + δ`` and
    ``vb_p − δ_p`` (V; ``δ_p`` defaults to ``δ``, the one-knob trim); :class:`SpecError` if that
    leaves the bias ranges."""
    dp = delta if delta_p is None else delta_p
    layers = tuple(dataclasses.replace(layer, synapse=dataclasses.replace(
        layer.synapse, vb_n=layer.synapse.vb_n + delta, vb_p=layer.synapse.vb_p - dp))
        for layer in spec.layers)
    out = dataclasses.replace(spec, layers=layers)
    specmod.validate(out)
    return out


def _mv(delta: float) -> str:
    return f"{1e3 * delta:+.0f}mV"


#: Second-knob offsets of the PMOS bias from the one-knob optimum, V (two-knob trim).
PMOS_OFFSETS: tuple[float, ...] = (-0.04, -0.02, 0.02, 0.04)


def find_trim(net: StudyNetwork, point: Point, folder: Path, *, coarse: Sequence[float] =
              TRIM_COARSE, fine: float = TRIM_FINE, knobs: int = 1, workers: int = 1,
              cache_dir: Path, base: DesignSpec | None = None
              ) -> tuple[tuple[float, float], list[dict[str, Any]]]:
    """The trim (δ_n, δ_p) in V of ``net`` at ``point`` with the least output spike-time RMSE
    against the PNN on the training samples, and every trim tried (``delta_n_V``,
    ``delta_p_V``, ``rms_ns``; a failed run, or a bias pushed out of its range, counts as
    infinite error).

    One knob: δ_n = δ_p on the coarse grid, then ±``fine`` around its best. Two knobs (the
    NMOS and PMOS biases apart, for corners that shift one polarity against the other): then
    δ_p alone, :data:`PMOS_OFFSETS` and ±``fine`` around the best so far. The trim moves the
    biases of ``base`` (default: the network's own spec)."""
    if knobs not in (1, 2):
        raise SpecError(f"trim knobs = {knobs}: choose 1 or 2")
    tried: dict[tuple[float, float], float] = {}

    def evaluate(dn: float, dp: float) -> float:
        key = (round(dn, 4), round(dp, 4))
        if key not in tried:
            try:
                spec = trimmed(net.spec if base is None else base, *key)
            except SpecError:  # a bias outside its range is not a trim the chip has
                tried[key] = math.inf
                return tried[key]
            res = run_sweep(spec, net.t_trim, [point],
                            folder / point.label / f"n{_mv(key[0])}_p{_mv(key[1])}",
                            subckts=net.subckts, reference=net.ref_trim, workers=workers,
                            cache_dir=cache_dir)
            rms = res.rows[0].get("reference_rms_ns")
            tried[key] = math.inf if rms is None else float(rms)
        return tried[key]

    def best() -> tuple[float, float]:
        k = min(tried, key=lambda k: (tried[k], abs(k[0]) + abs(k[1])))
        return k if math.isfinite(tried[k]) else (0.0, 0.0)  # nothing ran: no trim

    for d in coarse:
        evaluate(d, d)
    b = best()[0]
    for d in (b - fine, b + fine):
        evaluate(d, d)
    if knobs == 2:
        bn, bp = best()
        for off in PMOS_OFFSETS:
            evaluate(bn, bp + off)
        bn, bp = best()
        for d in (bp - fine, bp + fine):
            evaluate(bn, d)
    return best(), [{"delta_n_V": k[0], "delta_p_V": k[1], "rms_ns": v}
                    for k, v in sorted(tried.items())]


def corner_study(flow: str | Path, out: str | Path, points: Sequence[Point], *,
                 kinds: Sequence[str] = ("bottom_up", "top_down"), knobs: int = 1,
                 n_test: int | None = None, n_trim: int = N_TRIM, workers: int = 1,
                 bias: str = "fixed", on_progress: Callable[[str], None] | None = None
                 ) -> dict[str, Any]:
    """Run (or resume) the study of the finished flow in ``flow``; writes ``<out>/study.json``
    and ``<out>/report.{md,html}`` and returns the study. ``on_progress(what)`` is called after
    every finished sweep. ``knobs``: 0 (no trim), 1 or 2 (:func:`find_trim`); ``bias``:
    ``fixed`` or ``replica`` (module doc)."""
    if not points:
        raise SpecError("give at least one corner/temperature point")
    nets = [load_network(flow, kind, out, n_test=n_test, n_trim=n_trim) for kind in kinds]
    return run_study(nets, out, points, knobs=knobs, workers=workers, on_progress=on_progress,
                     source=str(flow), bias=bias)


BIASES = ("fixed", "replica")


def _physics(spec: DesignSpec, point: Point, row: dict[str, Any], net: StudyNetwork,
             folder: Path) -> dict[str, Any]:
    """The fitted E±, ramp and C_eff of ``net`` at ``point`` (:mod:`.physics`)."""
    from imcflow.variation.physics import point_physics  # noqa: PLC0415

    if not row.get("dc"):
        return {"error": row.get("error") or "no DC sweeps at this point"}
    return point_physics(spec, point, folder / "untrimmed" / row["dc"], net.subckts,
                         folder / "physics" / f"{point.label}.json")


def point_specs(spec: DesignSpec, points: Sequence[Point], bias: str) -> dict[str, DesignSpec]:
    """The spec each point is simulated with, by point label (``bias``: module doc)."""
    if bias not in BIASES:
        raise SpecError(f"bias {bias!r}: choose {' or '.join(BIASES)}")
    if bias == "fixed":
        return {p.label: spec for p in points}
    from imcflow.variation.bias import replica_spec  # noqa: PLC0415

    return {p.label: replica_spec(spec, p.corner, p.temperature) for p in points}


def bias_voltages(spec: DesignSpec) -> dict[str, list[float]]:
    """Per layer, the bias voltages of ``spec`` (V): synapse vb_n, vb_p, discharger, comparator."""
    return {"vb_n": [layer.synapse.vb_n for layer in spec.layers],
            "vb_p": [layer.synapse.vb_p for layer in spec.layers],
            "v_dis": [layer.neuron.v_dis for layer in spec.layers],
            "v_cmp": [layer.neuron.v_cmp for layer in spec.layers]}


def run_study(nets: Sequence[StudyNetwork], out: str | Path, points: Sequence[Point], *,
              knobs: int = 1, coarse: Sequence[float] = TRIM_COARSE, fine: float = TRIM_FINE,
              workers: int = 1, on_progress: Callable[[str], None] | None = None,
              source: str = "", bias: str = "fixed") -> dict[str, Any]:
    """The study of ``nets`` (see :func:`corner_study`); every run cached in ``<out>/cache``;
    with ``bias="replica"`` the runs go to ``<out>/<kind>/replica/``."""
    from imcflow.variation.report import corner_study_report  # noqa: PLC0415

    if not points:
        raise SpecError("give at least one corner/temperature point")
    out = Path(out)
    cache = out / "cache"
    t0 = time.perf_counter()
    study: dict[str, Any] = {"format": FORMAT, "flow": source, "trim_knobs": knobs,
                             "trim_coarse_V": list(coarse), "trim_fine_V": fine,
                             "bias": bias, "networks": {}}
    for net in nets:
        kind = net.kind
        if on_progress is not None and bias != "fixed":
            on_progress(f"{kind}: {bias} biases of {len(points)} points")
        specs = point_specs(net.spec, points, bias)
        folder = out / kind if bias == "fixed" else out / kind / bias
        done = run_sweep(net.spec, net.t_test, points, folder / "untrimmed",
                         subckts=net.subckts, labels=net.y_test, reference=net.ref_test,
                         workers=workers, cache_dir=cache, title=f"{kind}, untrimmed",
                         spec_at=lambda p, sp=specs: sp[p.label], dc=True)
        if on_progress is not None:
            on_progress(f"{kind} untrimmed")
        rows = []
        for p, row in zip(points, done.rows, strict=True):
            entry: dict[str, Any] = {"label": p.label, "corner": p.corner,
                                     "temperature": p.temperature, "mc_seed": p.mc_seed,
                                     "biases_V": bias_voltages(specs[p.label]),
                                     "physics": _physics(specs[p.label], p, row, net,
                                                         folder),
                                     "untrimmed": row}
            if knobs:
                (dn, dp), tried = find_trim(net, p, folder / f"trim{knobs}", coarse=coarse,
                                            fine=fine, knobs=knobs, workers=workers,
                                            cache_dir=cache, base=specs[p.label])
                res = run_sweep(trimmed(specs[p.label], dn, dp), net.t_test, [p],
                                folder / f"trimmed{knobs}" / p.label, subckts=net.subckts,
                                labels=net.y_test, reference=net.ref_test, workers=workers,
                                cache_dir=cache)
                entry |= {"trim_n_V": dn, "trim_p_V": dp, "trim_tried": tried,
                          "trimmed": res.rows[0]}
                if on_progress is not None:
                    on_progress(f"{kind} {p.label} trimmed")
            rows.append(entry)
        study["networks"][kind] = {"spec_name": net.spec.name, "n_test": len(net.y_test),
                                   "n_trim": len(net.t_trim), "T_s": net.spec.T, "rows": rows}
    study["wall_s"] = time.perf_counter() - t0
    atomicio.write_json(out / "study.json", plain(study))
    corner_study_report(study).write(out)
    return study
