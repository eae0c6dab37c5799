"""Characterization: N seeded random spike patterns through the network, one dataset file.

Pattern distribution (:func:`random_patterns`): each input of each pattern independently spikes
with probability ``p_spike`` at a normalised time drawn uniformly from [0, 1); otherwise it does
not spike (``inf``). ``numpy.random.default_rng(seed)`` draws, for the whole [N, n_in] matrix,
first the uniform times and then the spike/no-spike coins.

Per pattern (see :mod:`imcflow.sim.extract` for the conventions): every layer's output spike times
(normalised, interpolated; 1.0 and ``fired = False`` when a neuron did not fire), membrane
voltages on a fixed grid over each layer's accumulate + fire phases, and the supply charge.

Dataset file (``.npz``, written atomically; :func:`load_dataset` reads it):

=====================  ==========================  ===============================================
key                    shape / dtype               meaning
=====================  ==========================  ===============================================
``meta``               0-d str (JSON)              format, version, spec (dict), netlist_sha256,
                                                   cache_key, engine, corner, temperature (°C),
                                                   seed, p_spike, n_patterns, n_grid, layers,
                                                   T (s), vdd (V), subckts_sha256 (or null),
                                                   mc_seed (mismatch instance; null: nominal)
``inputs``             [N, n_in] float64           input spike times, normalised (inf = none)
``t_<layer>``          [N, n_out] float64          output spike time, normalised, in [0, 1]
``fired_<layer>``      [N, n_out] bool             the neuron crossed inside its fire phase
``mem_<layer>``        [N, n_out, G] float64       membrane voltage, V, on ``mem_tau``
``mem_tau``            [G] float64                 normalised time of the membrane grid, [0, 2]
                                                   (0 = accumulate starts, 1 = fire starts)
``charge``             [N] float64                 charge drawn from VDD over the run, C
=====================  ==========================  ===============================================

Cache: the dataset is keyed by the sha256 of (netlist hash — the deck minus its stimuli, so
spec, corner, temperature and any post-layout ``subckts`` —, the patterns, ``n_grid``, format
version). The engine is not part of the key: both engines give the same results. Under
``<cache_dir>/char/<key>/`` finished patterns are kept one small file each (``p000012.npz``), so a
killed run resumes where it stopped; ``dataset.npz`` there is the merged result, and a repeat
returns it without running ngspice.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imcflow import atomicio
from imcflow.errors import DataError, SimulationError, SpecError
from imcflow.netlist.testbench import build_transient, stimuli
from imcflow.sim import executors, extract, ngspice
from imcflow.sim.engines import DEFAULT_TIMEOUT, ENGINES
from imcflow.sim.npzio import read_dataset
from imcflow.spec import DesignSpec

FORMAT = "imcflow-characterization"
FORMAT_VERSION = 1
DEFAULT_CACHE_DIR = Path(".imcflow-cache")
DEFAULT_GRID = 201


def random_patterns(n_inputs: int, n_patterns: int, seed: int = 0,
                    p_spike: float = 0.8) -> np.ndarray:
    """[N, n_inputs] normalised input spike times; see the module doc for the distribution."""
    if n_patterns < 1:
        raise SpecError(f"patterns = {n_patterns}: need at least 1")
    if not 0.0 <= p_spike <= 1.0:
        raise SpecError(f"p_spike = {p_spike:g} is out of range [0, 1]")
    rng = np.random.default_rng(seed)
    times = rng.uniform(0.0, 1.0, size=(n_patterns, n_inputs))
    spikes = rng.random((n_patterns, n_inputs)) < p_spike
    return np.where(spikes, times, np.inf)


def extreme_patterns(spec: DesignSpec) -> np.ndarray:
    """[2·n_out, n_inputs] patterns that drive each first-layer neuron to its extremes: for
    neuron i, all inputs that feed it through a positive weight spike at t = 0 and no other
    (its membrane rises as far as the layer can take it), then the same with the negative
    weights (it falls as far as it can). With random patterns they make the characterization
    cover each neuron's whole range, which the fit needs to see where its model stops."""
    w = spec.layers[0].widths()
    rows = []
    for i in range(w.shape[0]):
        for sign in (1.0, -1.0):
            rows.append(np.where(np.sign(w[i]) == sign, 0.0, np.inf))
    return np.asarray(rows, dtype=float)


# ----------------------------------------------------------------------------- per pattern

def evaluate_pattern(spec: DesignSpec, n_grid: int | None, engine: Any,
                     pattern: np.ndarray) -> dict[str, np.ndarray]:
    """Run one pattern on ``engine`` and reduce it to the dataset's per-pattern arrays."""
    res = engine.run(stimuli(spec, pattern))
    layers, charge = extract.observables(spec, res, n_grid)
    out: dict[str, np.ndarray] = {"charge": np.float64(charge)}
    for layer, obs in zip(spec.layers, layers, strict=True):
        out[f"t_{layer.name}"] = obs.t_out
        out[f"fired_{layer.name}"] = obs.fired
        if obs.mem is not None:
            out[f"mem_{layer.name}"] = obs.mem
    if res.analysis_s is not None:
        out["_analysis_s"] = np.float64(res.analysis_s)
    out["_wall_s"] = np.float64(res.wall_s)
    return out


# ----------------------------------------------------------------------------- dataset

@dataclass
class CharDataset:
    """A loaded characterization dataset (see the module doc for units)."""

    meta: dict[str, Any]
    spec: DesignSpec
    inputs: np.ndarray
    t_out: dict[str, np.ndarray]
    fired: dict[str, np.ndarray]
    mem: dict[str, np.ndarray]
    mem_tau: np.ndarray
    charge: np.ndarray

    @property
    def n_patterns(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def energy(self) -> np.ndarray:
        """Energy per inference, J (VDD · supply charge)."""
        return self.spec.vdd * self.charge

    def layer_inputs(self, k: int) -> np.ndarray:
        """Normalised input spike times of layer ``k`` [N, n_in] (inf = no spike): the
        testbench inputs for k = 0, else layer k−1's outputs (a neuron that did not fire gives
        no spike)."""
        if k == 0:
            return self.inputs
        prev = self.spec.layers[k - 1].name
        return np.where(self.fired[prev], self.t_out[prev], np.inf)


def _meta_json(meta: dict[str, Any]) -> np.ndarray:
    return np.array(json.dumps(meta, sort_keys=True))


def save_dataset(path: str | os.PathLike[str], meta: dict[str, Any], inputs: np.ndarray,
                 per_pattern: list[dict[str, np.ndarray]], spec: DesignSpec,
                 n_grid: int | None) -> None:
    """Merge per-pattern arrays (in pattern order) into one ``.npz`` (atomic)."""
    arrays: dict[str, np.ndarray] = {"meta": _meta_json(meta), "inputs": np.asarray(inputs)}
    for layer in spec.layers:
        n = layer.name
        arrays[f"t_{n}"] = np.stack([p[f"t_{n}"] for p in per_pattern]).astype(np.float64)
        arrays[f"fired_{n}"] = np.stack([p[f"fired_{n}"] for p in per_pattern]).astype(bool)
        if n_grid:
            arrays[f"mem_{n}"] = np.stack([p[f"mem_{n}"] for p in per_pattern])
    arrays["mem_tau"] = extract.membrane_grid(n_grid) if n_grid else np.zeros(0)
    arrays["charge"] = np.array([float(p["charge"]) for p in per_pattern])

    def writer(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]

    atomicio.write_with(path, writer)


def load_dataset(path: str | os.PathLike[str]) -> CharDataset:
    """Read a characterization dataset; :class:`DataError` if missing or not one."""
    data, meta, spec = read_dataset(path, FORMAT, "characterization dataset")
    names = [layer.name for layer in spec.layers]
    try:
        return CharDataset(
            meta=meta, spec=spec, inputs=data["inputs"],
            t_out={n: data[f"t_{n}"] for n in names},
            fired={n: data[f"fired_{n}"] for n in names},
            mem={n: data[f"mem_{n}"] for n in names if f"mem_{n}" in data},
            mem_tau=data["mem_tau"], charge=data["charge"])
    except KeyError as exc:
        raise DataError(f"{path}: corrupt characterization dataset (no {exc})") from None


# ----------------------------------------------------------------------------- driver

@dataclass
class CharResult:
    """What :func:`characterize` did."""

    path: Path  # the dataset in the cache
    cache_hit: bool  # the whole dataset came from the cache (no ngspice run)
    n_simulated: int  # patterns simulated by this call (resumed ones are not counted)
    n_resumed: int  # patterns found finished in the work folder
    stats: dict[str, list[float]] = field(default_factory=dict)  # wall_s / analysis_s per run

    def load(self) -> CharDataset:
        return load_dataset(self.path)


def cache_key(netlist_sha: str, patterns: np.ndarray, n_grid: int | None) -> str:
    """Content hash of what determines the dataset (engine-independent)."""
    h = hashlib.sha256()
    h.update(f"{FORMAT}/{FORMAT_VERSION}\0{netlist_sha}\0{n_grid}\0".encode())
    h.update(str(patterns.shape).encode() + b"\0")
    h.update(np.ascontiguousarray(patterns, dtype="<f8").tobytes())
    return h.hexdigest()


def _read_chunk(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError):
        return None  # a corrupt chunk is simply recomputed


def _write_chunk(path: Path, arrays: dict[str, np.ndarray]) -> None:
    def writer(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]

    atomicio.write_with(path, writer)


def characterize(spec: DesignSpec, n_patterns: int | None = None, *, seed: int = 0,
                 p_spike: float = 0.8, patterns: np.ndarray | None = None,
                 engine: str = "shared", workers: int = 1, dask_local: bool = False,
                 scheduler: str | None = None, corner: str | None = None,
                 temperature: float | None = None, subckts: str | None = None,
                 n_grid: int | None = DEFAULT_GRID, cache_dir: str | os.PathLike[str] | None = None,
                 timeout: float = DEFAULT_TIMEOUT, num_threads: int | None = None,
                 on_result: Callable[[int, int, int], None] | None = None,
                 keep_work: bool = False, mc_seed: int | None = None) -> CharResult:
    """Characterize ``spec`` on ``n_patterns`` seeded random patterns (or explicit ``patterns``
    [N, n_in]); return where the dataset is. ``subckts`` replaces the generated network
    subcircuits (post-layout extraction). ``on_result(index, done, total)`` is called after
    each finished pattern (progress bars; raising there aborts, finished patterns are kept).
    ``mc_seed``: simulate that seeded Monte-Carlo mismatch instance (part of the deck, so of the
    cache key; recorded in the meta); None: nominal."""
    if engine not in ENGINES:
        raise SimulationError(f"unknown engine {engine!r} (choose {' or '.join(ENGINES)})")
    if workers < 1:
        raise SpecError(f"workers = {workers}: need at least 1")
    if n_grid is not None and n_grid < 2:
        raise SpecError(f"grid = {n_grid}: need at least 2 points")
    corner = corner or spec.corner
    temp = spec.temperature if temperature is None else float(temperature)
    explicit = patterns is not None
    if patterns is None:
        if n_patterns is None:
            raise SpecError("give n_patterns or patterns")
        patterns = random_patterns(spec.n_inputs, n_patterns, seed, p_spike)
    patterns = np.asarray(patterns, dtype=float)
    if patterns.ndim != 2 or patterns.shape[1] != spec.n_inputs or patterns.shape[0] < 1:
        raise SpecError(f"patterns must be [N, {spec.n_inputs}], got {list(patterns.shape)}")
    if np.any(np.isnan(patterns)) or np.any(patterns < 0):
        raise SpecError("pattern spike times must be >= 0 (inf = no spike)")
    tb = build_transient(spec, patterns[0], corner=corner, temperature=temp,
                         membranes=bool(n_grid), subckts=subckts, mc_seed=mc_seed)
    net_sha = ngspice.netlist_hash(tb.text)
    key = cache_key(net_sha, patterns, n_grid)
    root = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    work = root / "char" / key
    final = work / "dataset.npz"
    n = patterns.shape[0]
    if final.is_file():
        try:
            load_dataset(final)
            return CharResult(final, cache_hit=True, n_simulated=0, n_resumed=n)
        except DataError:
            final.unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, np.ndarray] | None] = [None] * n
    for i in range(n):
        chunk = work / f"p{i:06d}.npz"
        if chunk.is_file():
            results[i] = _read_chunk(chunk)
    n_resumed = sum(r is not None for r in results)
    jobs = [(i, patterns[i]) for i in range(n) if results[i] is None]
    stats: dict[str, list[float]] = {"wall_s": [], "analysis_s": []}
    done_count = [n_resumed]
    if on_result is not None and n_resumed:
        on_result(-1, n_resumed, n)

    def store(idx: int, arrays: dict[str, np.ndarray]) -> None:
        stats["wall_s"].append(float(arrays.pop("_wall_s", np.nan)))
        stats["analysis_s"].append(float(arrays.pop("_analysis_s", np.nan)))
        _write_chunk(work / f"p{idx:06d}.npz", arrays)
        results[idx] = arrays
        done_count[0] += 1
        if on_result is not None:
            on_result(idx, done_count[0], n)

    n_workers = workers
    threads = num_threads or executors.threads_per_engine(n_workers)
    cfg = executors.EngineConfig(kind=engine, deck=tb.text, vectors=tb.vectors,
                                 num_threads=1 if (dask_local or scheduler) else threads,
                                 timeout=timeout)
    evaluate = functools.partial(evaluate_pattern, spec, n_grid)
    if dask_local or scheduler:
        executors.run_dask(cfg, evaluate, jobs, store, workers=n_workers, scheduler=scheduler)
    else:
        executors.run_local(cfg, evaluate, jobs, store, workers=n_workers)
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:
        raise SimulationError(f"{len(missing)} patterns have no result (first: {missing[0]})")
    meta = {
        "format": FORMAT, "version": FORMAT_VERSION, "spec": spec.to_dict(),
        "netlist_sha256": net_sha, "cache_key": key, "engine": engine, "corner": corner,
        "temperature": temp, "seed": None if explicit else seed,
        "p_spike": None if explicit else p_spike, "n_patterns": n,
        "n_grid": n_grid, "layers": [layer.name for layer in spec.layers], "T": spec.T,
        "vdd": spec.vdd,
        "subckts_sha256": (hashlib.sha256(subckts.encode()).hexdigest()
                           if subckts is not None else None),
        "mc_seed": mc_seed,
    }
    save_dataset(final, meta, patterns, [r for r in results if r is not None], spec, n_grid)
    if not keep_work:
        for chunk in work.glob("p*.npz"):
            chunk.unlink(missing_ok=True)
    return CharResult(final, cache_hit=False, n_simulated=len(jobs), n_resumed=n_resumed,
                      stats=stats)


def export(result: CharResult, out: str | os.PathLike[str]) -> Path:
    """Copy the cached dataset to ``out`` (a ``.npz`` path, or a folder that gets
    ``characterization.npz``), atomically."""
    dest = Path(out)
    if dest.suffix != ".npz":
        dest = dest / "characterization.npz"
    atomicio.write_with(dest, lambda tmp: shutil.copyfile(result.path, tmp))
    return dest
