"""The same network at many (corner, temperature, mismatch seed) points: a resumable sweep.

:func:`run_sweep` simulates one network — a spec, optionally with its post-layout subcircuits —
on one set of input patterns at every :class:`Point`, with :func:`imcflow.sim.characterize`:

* parallel over points and patterns: with at least as many points as ``workers``, each point
  runs on one engine (its deck and the sky130 models load once) and ``workers`` points run at a
  time; with fewer points, each gets ``workers // n_points`` engines over its patterns. Dask
  (``dask_local`` / ``scheduler``) runs the points one after the other, each on the cluster;
* cached by content and resumable after ``kill -9``: every finished pattern is a file under
  ``<cache_dir>/char/<key>/`` (the key hashes the deck — corner, temperature, seed, post-layout
  subcircuits — and the patterns), so a re-run simulates only what is missing, and a finished
  point is a cache hit;
* one dataset per point, ``<out>/points/<label>/dataset.npz`` (the characterization format; its
  meta records corner, temperature and ``mc_seed``, so any instance can be re-simulated alone),
  its metrics in ``point.json`` beside it and, with ``dc=True``, the point's DC sweeps
  (``dc.npz``; these use the generated synapse and discharger cells, not the post-layout ones)
  for per-point fits;
* a summary: ``summary.json`` (settings, one row per point, wall time), ``summary.csv`` and a
  report (``report.md`` / ``report.html``).

A point that fails in ngspice (no convergence, timeout) does not stop the others: its row
carries the error and no metrics; a re-run tries it again.

Metrics per point (output layer; a neuron that did not fire counts as t = 1): fraction fired,
energy per inference (mean over patterns, J), output spike-time errors against the *baseline*
point's SPICE run (default: the first point) and, if given, against a ``reference`` (e.g. the
PNN's predicted output times), and the SPICE classification accuracy if ``labels`` are given.

Typical use, on a written-back network ``ws`` and its post-layout netlist ``post.spice``::

    pts = pvt_points(("tt", "ss", "ff", "sf", "fs"), (-40.0, 27.0, 85.0))   # or mc_points(...)
    res = run_sweep(ws, t_test, pts, out / "pvt", subckts=post.read_text(), labels=y_test,
                    reference=t_pnn_out, workers=2, cache_dir=cache, dc=True)
    res.rows  # one dict per point; <out>/points/<label>/dataset.npz for per-point fits

A trim that is a bias change (``vb_n``, ``vb_p``, ``v_dis`` of the spec) keeps the same
post-layout netlist: run the trimmed spec with the same ``subckts`` and ``cache_dir``.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import hashlib
import io
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imcflow import atomicio, pdk
from imcflow.errors import DataError, ImcflowError, SpecError
from imcflow.jsonio import plain
from imcflow.netlist.dc import build_dc
from imcflow.netlist.models import check_corner, check_mc_seed
from imcflow.report.metrics import spike_time_errors, ttfs_accuracy
from imcflow.sim import ngspice
from imcflow.sim.characterize import CharDataset, characterize, export, load_dataset
from imcflow.sim.dc import dc_characterize, load_dc
from imcflow.sim.engines import DEFAULT_TIMEOUT
from imcflow.sim.npzio import load_npz
from imcflow.spec import DesignSpec

FORMAT = "imcflow-sweep"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Point:
    """One simulation condition: process corner, temperature (°C), mismatch seed (None:
    nominal devices)."""

    corner: str
    temperature: float
    mc_seed: int | None = None

    def __post_init__(self) -> None:
        check_corner(self.corner)
        t = pdk.pdk_data()["temperature_C"]
        if not (isinstance(self.temperature, int | float)
                and not isinstance(self.temperature, bool) and math.isfinite(self.temperature)
                and float(t["min"]) <= self.temperature <= float(t["max"])):
            raise SpecError(f"temperature {self.temperature!r} °C is out of the models' range "
                            f"[{t['min']:g}, {t['max']:g}]")
        object.__setattr__(self, "temperature", float(self.temperature))
        if self.mc_seed is not None:
            check_mc_seed(self.mc_seed)

    @property
    def label(self) -> str:
        """Folder name: ``tt_27C``, ``ss_m40C``, ``ff_85C_mc7``, ``tt_27p5C``."""
        t = f"{self.temperature:g}".replace("-", "m").replace(".", "p")
        return f"{self.corner}_{t}C" + ("" if self.mc_seed is None else f"_mc{self.mc_seed}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pvt_points(corners: Sequence[str], temperatures: Sequence[float],
               mc_seeds: Sequence[int | None] = (None,)) -> list[Point]:
    """Every corner × temperature (× seed), corners outermost."""
    pts = [Point(c, t, s) for c in corners for t in temperatures for s in mc_seeds]
    _check_distinct(pts)
    return pts


def mc_points(seeds: Sequence[int], corner: str = "tt", temperature: float = 27.0,
              nominal: bool = True) -> list[Point]:
    """Mismatch instances at one corner and temperature, after the nominal point (the default
    baseline) when ``nominal``."""
    pts = ([Point(corner, temperature)] if nominal else []) + \
        [Point(corner, temperature, s) for s in seeds]
    _check_distinct(pts)
    return pts


def _check_distinct(points: Sequence[Point]) -> None:
    labels = [p.label for p in points]
    if len(set(labels)) != len(labels):
        raise SpecError("sweep points must be distinct")
    if not points:
        raise SpecError("a sweep needs at least one point")


# ----------------------------------------------------------------------------- metrics

def output_times(ds: CharDataset) -> np.ndarray:
    """Output-layer spike times [N, n_out], normalised; 1.0 where a neuron did not fire."""
    name = ds.spec.layers[-1].name
    return np.where(ds.fired[name], ds.t_out[name], 1.0)


def point_metrics(ds: CharDataset, *, labels: np.ndarray | None = None,
                  reference: np.ndarray | None = None,
                  baseline: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics of one point's dataset (see the module doc); times normalised, energy in J."""
    name = ds.spec.layers[-1].name
    t = output_times(ds)
    fired = ds.fired[name]
    out: dict[str, Any] = {
        "n_patterns": ds.n_patterns,
        "fired_frac": float(np.mean(fired)),
        "t_out_mean": float(np.mean(ds.t_out[name][fired])) if fired.any() else float("nan"),
        "energy_J": float(np.mean(ds.energy)),
        "energy_std_J": float(np.std(ds.energy)),
    }
    for key, ref in (("reference", reference), ("baseline", baseline)):
        if ref is not None:
            e = spike_time_errors(np.minimum(ref, 1.0), t, ds.spec.T)
            out[f"{key}_rms_ns"] = e["rms_ns"]
            out[f"{key}_p95_ns"] = e["p95_ns"]
            out[f"{key}_bias_ns"] = e.get("bias_ns", float("nan"))
            out[f"{key}_rms_pct_T"] = e["rms_pct_T"]
    if labels is not None:
        out["spice_acc"] = ttfs_accuracy(t, labels)
    return out


# ----------------------------------------------------------------------------- runner

@dataclass
class PointRun:
    """What happened at one point."""

    point: Point
    dataset: Path | None
    cache_key: str | None
    n_simulated: int
    n_resumed: int
    wall_s: float
    sim_wall_s: float
    dc: Path | None = None
    error: str | None = None


@dataclass
class SweepResult:
    """The sweep's folder, its summary rows (one per point, in point order) and wall time."""

    out: Path
    rows: list[dict[str, Any]]
    wall_s: float
    failed: list[str]


def check_sweep(spec: DesignSpec, patterns: np.ndarray, points: Sequence[Point], *,
                labels: np.ndarray | None = None, reference: np.ndarray | None = None,
                baseline: str | None = None
                ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, str]:
    """Validate a sweep's arguments (:class:`SpecError` with a one-line reason); returns the
    patterns, labels and reference as arrays and the baseline's label."""
    _check_distinct(points)
    patterns = np.asarray(patterns, dtype=float)
    if patterns.ndim != 2 or patterns.shape[1] != spec.n_inputs or patterns.shape[0] < 1:
        raise SpecError(f"patterns must be [N, {spec.n_inputs}], got {list(patterns.shape)}")
    if np.any(np.isnan(patterns)) or np.any(patterns < 0):
        raise SpecError("pattern spike times must be >= 0 (inf = no spike)")
    n = patterns.shape[0]
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
            raise SpecError(f"labels must be [{n}] integers, got {list(labels.shape)} "
                            f"{labels.dtype}")
    if reference is not None:
        reference = np.asarray(reference, dtype=float)
        if reference.shape != (n, spec.n_outputs) or np.any(np.isnan(reference)):
            raise SpecError(f"reference must be [{n}, {spec.n_outputs}] without NaN, got "
                            f"{list(reference.shape)}")
    base_label = baseline or points[0].label
    if base_label not in {p.label for p in points}:
        raise SpecError(f"baseline {base_label!r} is not a point of the sweep")
    return patterns, labels, reference, base_label


def _sha_array(a: np.ndarray | None) -> str | None:
    if a is None:
        return None
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f8").tobytes()
                          + str(a.shape).encode()).hexdigest()


def _dc_point(spec: DesignSpec, point: Point, dest: Path, widths: Sequence[float] | None,
              timeout: float) -> Path:
    bench = build_dc(spec, widths=widths, corner=point.corner, temperature=point.temperature,
                     mc_seed=point.mc_seed)
    sha = ngspice.netlist_hash(bench.text)
    if dest.is_file():
        try:
            if load_dc(dest).meta.get("netlist_sha256") == sha:
                return dest
        except DataError:
            pass
    return dc_characterize(spec, dest, widths=widths, corner=point.corner,
                           temperature=point.temperature, mc_seed=point.mc_seed,
                           timeout=timeout)


def run_sweep(spec: DesignSpec, patterns: np.ndarray, points: Sequence[Point],
              out: str | os.PathLike[str], *, subckts: str | None = None,
              labels: np.ndarray | None = None, reference: np.ndarray | None = None,
              baseline: str | None = None, n_grid: int | None = None, engine: str = "shared",
              workers: int = 1, dask_local: bool = False, scheduler: str | None = None,
              timeout: float = DEFAULT_TIMEOUT, cache_dir: str | os.PathLike[str] | None = None,
              dc: bool = False, dc_widths: Sequence[float] | None = None,
              on_progress: Callable[[int, int, str], None] | None = None,
              title: str | None = None,
              spec_at: Callable[[Point], DesignSpec] | None = None) -> SweepResult:
    """Run (or resume) the sweep; see the module doc.

    ``patterns`` [N, n_in] normalised input spike times; ``labels`` [N] class indices;
    ``reference`` [N, n_out] normalised output times to compare with (≥ 1 or inf: no spike);
    ``baseline``: label of the point the others are compared with (default: the first);
    ``cache_dir`` default ``<out>/cache``. ``on_progress(done, total, status)`` counts patterns
    over all points (resumed and cached ones included) and may be called from worker threads.
    """
    t_start = time.perf_counter()
    points = list(points)
    patterns, labels, reference, base_label = check_sweep(spec, patterns, points,
                                                          labels=labels, reference=reference,
                                                          baseline=baseline)
    n = patterns.shape[0]
    if workers < 1:
        raise SpecError(f"workers = {workers}: need at least 1")
    out_dir = Path(out)
    cache = Path(cache_dir) if cache_dir is not None else out_dir / "cache"
    total = n * len(points)
    lock = threading.Lock()
    progress_of: dict[str, int] = {}
    stop = threading.Event()

    def report(label: str, done: int) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        with lock:
            progress_of[label] = done
            if on_progress is not None:
                on_progress(sum(progress_of.values()), total, label)

    distributed = bool(dask_local or scheduler)
    per_point = 1 if distributed or len(points) >= workers else workers // len(points)
    slots = 1 if distributed else min(workers, len(points))

    def one(point: Point) -> PointRun:
        t0 = time.perf_counter()
        folder = out_dir / "points" / point.label
        try:
            at = spec if spec_at is None else spec_at(point)
            res = characterize(
                at, patterns=patterns, engine=engine,
                workers=workers if distributed else per_point, dask_local=dask_local,
                scheduler=scheduler, corner=point.corner, temperature=point.temperature,
                subckts=subckts, n_grid=n_grid, cache_dir=cache, timeout=timeout,
                mc_seed=point.mc_seed,
                on_result=lambda _i, d, _n: report(point.label, d))
            report(point.label, n)
            dest = export(res, folder / "dataset.npz")
            dc_path = _dc_point(at, point, folder / "dc.npz", dc_widths, timeout) if dc \
                else None
            meta = load_dataset(dest).meta
            sim = float(np.nansum(res.stats.get("wall_s", [])))
            return PointRun(point, dest, meta.get("cache_key"), res.n_simulated, res.n_resumed,
                            time.perf_counter() - t0, sim, dc_path)
        except ImcflowError as exc:
            return PointRun(point, None, None, 0, 0, time.perf_counter() - t0, 0.0,
                            error=str(exc))

    runs: dict[str, PointRun] = {}
    pool = cf.ThreadPoolExecutor(max_workers=slots, thread_name_prefix="imcflow-sweep")
    try:
        futures = [pool.submit(one, p) for p in points]
        for fut in cf.as_completed(futures):
            r = fut.result()
            runs[r.point.label] = r
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    rows = _summarize(points, runs, base_label, labels, reference, out_dir)
    wall = time.perf_counter() - t_start
    settings = {
        "spec": spec.name, "shape": "-".join(map(str, spec.shape)), "patterns": n,
        "post_layout": subckts is not None,
        "subckts_sha256": (hashlib.sha256(subckts.encode()).hexdigest()
                           if subckts is not None else None),
        "patterns_sha256": _sha_array(patterns), "labels": labels is not None,
        "reference": reference is not None, "baseline": base_label, "n_grid": n_grid,
        "engine": engine, "workers": workers, "dask": distributed, "dc": dc,
        "cache_dir": str(cache),
    }
    failed = [r["label"] for r in rows if r.get("error")]
    atomicio.write_json(out_dir / "summary.json", {
        "format": FORMAT, "version": FORMAT_VERSION, "settings": settings, "rows": rows,
        "wall_s": wall, "failed": failed})
    atomicio.write_text(out_dir / "summary.csv", summary_csv(rows))
    from imcflow.variation.report import sweep_report  # noqa: PLC0415 (matplotlib)

    settings_text = {k: v for k, v in settings.items() if k != "cache_dir"}
    settings_text["wall time"] = f"{wall:.1f} s"
    sweep_report(title or f"Sweep of {spec.name}: {len(points)} points", rows,
                 settings_text).write(out_dir)
    return SweepResult(out=out_dir, rows=rows, wall_s=wall, failed=failed)


def _summarize(points: Sequence[Point], runs: dict[str, PointRun], base_label: str,
               labels: np.ndarray | None, reference: np.ndarray | None,
               out_dir: Path) -> list[dict[str, Any]]:
    datasets = {lab: load_dataset(r.dataset) for lab, r in runs.items() if r.dataset}
    base = output_times(datasets[base_label]) if base_label in datasets else None
    rows = []
    for p in points:
        r = runs[p.label]
        row: dict[str, Any] = {"label": p.label, **p.to_dict(), "n_patterns": None,
                               "n_simulated": r.n_simulated, "n_resumed": r.n_resumed,
                               "wall_s": r.wall_s, "sim_wall_s": r.sim_wall_s,
                               "cache_key": r.cache_key, "error": r.error,
                               "dataset": None if r.dataset is None else
                               str(r.dataset.relative_to(out_dir)),
                               "dc": None if r.dc is None else str(r.dc.relative_to(out_dir))}
        ds = datasets.get(p.label)
        if ds is not None:
            row.update(point_metrics(ds, labels=labels, reference=reference,
                                     baseline=base if p.label != base_label else None))
            atomicio.write_json(r.dataset.parent / "point.json", plain(row))
        rows.append(plain(row))
    return rows



#: Columns of ``summary.csv``, in order.
CSV_COLUMNS = ("label", "corner", "temperature", "mc_seed", "n_patterns", "fired_frac",
               "t_out_mean", "energy_J", "energy_std_J", "baseline_rms_ns", "baseline_p95_ns",
               "baseline_bias_ns", "reference_rms_ns", "reference_p95_ns", "reference_bias_ns",
               "spice_acc", "n_simulated", "n_resumed", "wall_s", "sim_wall_s", "error")


def summary_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The summary rows as CSV text (empty cells for missing values)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in CSV_COLUMNS])
    return buf.getvalue()


def load_summary(out: str | os.PathLike[str]) -> dict[str, Any]:
    """``<out>/summary.json`` of a finished sweep."""
    from imcflow import jsonio  # noqa: PLC0415

    d = jsonio.load(Path(out) / "summary.json", "sweep summary")
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise DataError(f"{out}: not an imcflow sweep")
    return d


@dataclass
class SweepInputs:
    """Patterns [N, n_in] (normalised; inf = no spike), optional labels [N] and reference
    output times [N, n_out]."""

    patterns: np.ndarray
    labels: np.ndarray | None = None
    reference: np.ndarray | None = None


def load_inputs(path: str | os.PathLike[str]) -> SweepInputs:
    """Read a ``.npz`` with ``inputs`` (required), ``labels`` and ``reference`` (optional);
    :class:`DataError` with a one-line reason otherwise. Shapes are checked by
    :func:`run_sweep`."""
    p = Path(path)
    data = load_npz(p, "inputs file")
    if "inputs" not in data:
        raise DataError(f"{p}: no 'inputs' array (input spike times [N, n_in])")
    try:
        patterns = np.asarray(data["inputs"], dtype=float)
        labels = data.get("labels")
        if labels is not None:
            if not np.issubdtype(labels.dtype, np.integer):
                raise DataError(f"{p}: 'labels' must be integers")
            labels = labels.astype(np.int64)
        reference = data.get("reference")
        reference = None if reference is None else np.asarray(reference, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{p}: {exc}") from None
    return SweepInputs(patterns, labels, reference)
