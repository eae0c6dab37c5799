"""Monte-Carlo DC sweeps: the mismatch of synapse and discharger currents, per width.

For each seed, one DC deck (:func:`imcflow.netlist.dc.build_dc` with ``mc_seed`` and
``replicas``) holds ``replicas`` copies of every (layer, device type, width) — the NMOS and PMOS
synapse cells (current source in series with its selector) and the discharger (current source
over its enable switch), exactly as in the network — so one ``ngspice -b`` run gives
``replicas`` independent mismatch draws of each. N seeds give N · replicas samples per width;
one extra nominal run (no mismatch) gives the nominal current.

Per (layer, device, width): the current at the layer's reset level V₀ (where the PNN's v = 0;
the unit current the fitter reads, :mod:`imcflow.fit.physics`), its mean, σ(I)/mean and σ(ln I),
each with a 95 % χ² interval, and σ of the quick-look λ (1/V) relative to its mean. The biases
put the sources in weak inversion, where I ∝ exp(−ΔV_th·g_m/I): ln I is linear in the threshold
mismatch, so σ(ln I) = (g_m/I)·σ(V_th) follows Pelgrom's scaling exactly, while σ(I)/mean grows
faster than it once σ(ln I) is not small (the distribution of I is skewed: at σ(ln I) = 0.7 the
mean is ≈ 28 % above the nominal current). Per (layer, device): the Pelgrom fit
σ(ln I) = A/√(W·L) with L the current source's length (:mod:`.pelgrom`) and A / A_vt, the
effective g_m/I (1/V) that turns the model's threshold mismatch (``imcflow/pdk/data/
mismatch.yaml``) into the measured current mismatch.

Each seed's DC dataset is cached under ``<cache_dir>/mcdc/<deck sha256>.npz`` (the deck holds
the seed, corner, temperature, widths and replicas), so a killed study resumes with the seeds it
has not finished, and any seed can be re-simulated alone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imcflow import atomicio, jsonio, pdk
from imcflow.errors import DataError, SpecError
from imcflow.netlist.dc import DEVICE_TYPES, build_dc
from imcflow.netlist.models import check_mc_seed
from imcflow.sim import ngspice
from imcflow.sim.dc import dc_characterize, load_dc
from imcflow.sim.engines import DEFAULT_TIMEOUT
from imcflow.spec import DesignSpec, LayerSpec
from imcflow.variation.pelgrom import PelgromFit, fit_pelgrom, sigma_ci
from imcflow.variation.tasks import run_tasks

FORMAT = "imcflow-mismatch-dc"
FORMAT_VERSION = 1
#: Default copies of each device per deck (cheap: one ngspice run holds them all).
DEFAULT_REPLICAS = 4


def seed_list(n: int, first: int = 1) -> list[int]:
    """Seeds ``first … first + n − 1`` (each a valid ngspice seed)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SpecError(f"instances = {n!r}: need an integer >= 1")
    return [check_mc_seed(first + k) for k in range(n)]


def source_length(layer: LayerSpec, device: str) -> float:
    """Channel length (µm) of the current source of a DC device type."""
    if device in ("n", "p"):
        return layer.synapse.l_um
    if device == "dis":
        return layer.neuron.dis_l_um
    raise SpecError(f"unknown DC device {device!r} (choose from {', '.join(DEVICE_TYPES)})")


def source_model(device: str) -> str:
    """sky130 model of a DC device type's current source."""
    return pdk.get().model("pfet" if device == "p" else "nfet")


def a_vt(model: str) -> float:
    """The model library's threshold-mismatch constant A_vt of ``model``, V·µm."""
    table = pdk.pdk_data("mismatch")["vth_mismatch"]
    try:
        return float(table[model]["a_vt_V_um"])
    except KeyError:
        raise DataError(f"mismatch.yaml has no A_vt for {model}") from None


@dataclass(frozen=True)
class WidthStats:
    """Mismatch of one (layer, device type, width) at V_ref = the layer's V₀."""

    layer: str
    device: str
    width_um: float
    l_um: float
    n: int                       # mismatch samples (seeds × replicas)
    i_nominal_A: float           # no mismatch
    i_mean_A: float
    sigma_rel: float             # σ(I)/mean(I), fraction
    sigma_rel_lo: float          # 95 % interval of sigma_rel
    sigma_rel_hi: float
    sigma_ln: float              # σ(ln I) (≈ σ(I)/I when small), what the Pelgrom fit uses
    sigma_ln_lo: float           # 95 % interval of sigma_ln
    sigma_ln_hi: float
    lambda_sigma_rel: float      # σ(λ)/mean(λ), fraction


@dataclass
class MismatchStudy:
    """Result of :func:`run_mc_dc` (JSON via :meth:`to_dict` / :meth:`save`)."""

    spec: dict[str, Any]
    corner: str
    temperature: float
    seeds: list[int]
    replicas: int
    devices: list[str]
    v_ref_V: dict[str, float]
    widths: list[WidthStats]
    fits: dict[str, dict[str, Any]]       # "<layer>/<device>" → Pelgrom fit + A_vt, gm/I
    runs: list[dict[str, Any]]            # per seed: seed, deck sha256, wall_s, cached
    wall_s: float
    format: str = FORMAT
    version: int = FORMAT_VERSION
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MismatchStudy:
        if d.get("format") != FORMAT:
            raise DataError("not an imcflow mismatch study")
        d = dict(d)
        d["widths"] = [WidthStats(**w) for w in d["widths"]]
        return cls(**d)

    def save(self, path: str | os.PathLike[str]) -> Path:
        atomicio.write_json(path, self.to_dict())
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MismatchStudy:
        try:
            return cls.from_dict(jsonio.loads(Path(path).read_text(encoding="utf-8"),
                                              str(path)))
        except FileNotFoundError:
            raise DataError(f"mismatch study not found: {path}") from None
        except (KeyError, TypeError) as exc:
            raise DataError(f"{path}: corrupt mismatch study ({exc})") from None

    def fit(self, layer: str, device: str) -> PelgromFit:
        f = self.fits[f"{layer}/{device}"]
        return PelgromFit(a_um=f["a_um"], rel_residual_rms=f["rel_residual_rms"],
                          rel_residual_max=f["rel_residual_max"], n_points=f["n_points"])


def check_study(spec: DesignSpec, seeds: Sequence[int], *, replicas: int = DEFAULT_REPLICAS,
                widths: Sequence[float] | None = None,
                devices: Sequence[str] = DEVICE_TYPES, corner: str | None = None,
                temperature: float | None = None,
                sweep: tuple[float, float, float] | None = None) -> list[int]:
    """Validate a study's arguments (:class:`SpecError`, one line) before anything runs;
    returns the seeds."""
    seeds = [check_mc_seed(s) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise SpecError("mc seeds must be distinct")
    if len(seeds) * replicas < 2:
        raise SpecError("need at least 2 mismatch samples per width (seeds × replicas)")
    for layer in spec.layers:
        if sweep is not None and not sweep[0] <= layer.neuron.v0 <= sweep[1]:
            raise SpecError(f"layer {layer.name}: V0 = {layer.neuron.v0:g} V lies outside the "
                            f"DC sweep {sweep[0]:g}..{sweep[1]:g} V")
    build_dc(spec, widths=widths, devices=devices, corner=corner, temperature=temperature,
             sweep=sweep, mc_seed=seeds[0], replicas=replicas)  # every other check
    return seeds


def _dc_job(spec: DesignSpec, path: str, kwargs: dict[str, Any]) -> float:
    """One DC deck into ``path`` (atomic); returns the wall time, s."""
    t0 = time.perf_counter()
    dc_characterize(spec, path, **kwargs)
    return time.perf_counter() - t0


def _cached(path: Path, sha: str) -> bool:
    if not path.is_file():
        return False
    try:
        return load_dc(path).meta.get("netlist_sha256") == sha
    except DataError:
        return False


def run_mc_dc(spec: DesignSpec, seeds: Sequence[int], *, replicas: int = DEFAULT_REPLICAS,
              widths: Sequence[float] | None = None,
              devices: Sequence[str] = DEVICE_TYPES, corner: str | None = None,
              temperature: float | None = None,
              sweep: tuple[float, float, float] | None = None,
              workers: int = 1, dask_local: bool = False, scheduler: str | None = None,
              cache_dir: str | os.PathLike[str] = ".imcflow-cache",
              timeout: float = DEFAULT_TIMEOUT,
              on_done: Callable[[int, int], None] | None = None) -> MismatchStudy:
    """Run (or resume) the Monte-Carlo DC study of ``spec`` (see the module doc).

    ``on_done(done, total)`` after every finished deck (the nominal one included).
    """
    seeds = check_study(spec, seeds, replicas=replicas, widths=widths, devices=devices,
                        corner=corner, temperature=temperature, sweep=sweep)
    corner = corner or spec.corner
    temp = spec.temperature if temperature is None else float(temperature)
    t_start = time.perf_counter()
    root = Path(cache_dir) / "mcdc"
    runs: list[dict[str, Any]] = []
    jobs: list[tuple[DesignSpec, str, dict[str, Any]]] = []
    job_run: list[int] = []
    for seed in [None, *seeds]:
        kw: dict[str, Any] = {"widths": widths, "devices": tuple(devices), "corner": corner,
                              "temperature": temp, "sweep": sweep, "timeout": timeout,
                              "mc_seed": seed, "replicas": 1 if seed is None else replicas}
        bench = build_dc(spec, widths=widths, devices=devices, corner=corner, temperature=temp,
                         sweep=sweep, mc_seed=seed, replicas=kw["replicas"])
        sha = ngspice.netlist_hash(bench.text)
        path = root / f"{sha}.npz"
        cached = _cached(path, sha)
        runs.append({"seed": seed, "netlist_sha256": sha, "path": str(path), "cached": cached,
                     "wall_s": 0.0})
        if not cached:
            jobs.append((spec, str(path), kw))
            job_run.append(len(runs) - 1)
    done = [len(runs) - len(jobs)]
    if on_done is not None:
        on_done(done[0], len(runs))

    def finished(i: int, wall: float) -> None:
        runs[job_run[i]]["wall_s"] = float(wall)
        done[0] += 1
        if on_done is not None:
            on_done(done[0], len(runs))

    run_tasks(_dc_job, jobs, finished, workers=workers, dask_local=dask_local,
              scheduler=scheduler)
    study = summarize(spec, [load_dc(r["path"]) for r in runs], seeds, replicas, corner, temp)
    study.runs = [{k: v for k, v in r.items() if k != "path"} for r in runs]
    study.wall_s = time.perf_counter() - t_start
    return study


def _at(v: np.ndarray, i: np.ndarray, v_ref: float) -> np.ndarray:
    """Rows of ``i`` [K, M] interpolated at ``v_ref``."""
    return np.array([np.interp(v_ref, v, row) for row in np.atleast_2d(i)])


def summarize(spec: DesignSpec, datasets: Sequence[Any], seeds: Sequence[int], replicas: int,
              corner: str, temperature: float) -> MismatchStudy:
    """Reduce the nominal dataset (first) and one per seed to a :class:`MismatchStudy`."""
    nominal, mc = datasets[0], datasets[1:]
    if nominal.meta.get("mc_seed") is not None or len(mc) != len(seeds):
        raise DataError("mismatch study: need the nominal DC dataset first, then one per seed")
    widths_out: list[WidthStats] = []
    fits: dict[str, dict[str, Any]] = {}
    devices = sorted({dev for _, dev in nominal.current}, key=DEVICE_TYPES.index)
    for layer in spec.layers:
        v_ref = layer.neuron.v0
        for dev in devices:
            key = (layer.name, dev)
            w_nom = nominal.widths[key]
            i_nom = _at(nominal.v_mem, nominal.current[key], v_ref)
            samples: dict[float, list[float]] = {float(w): [] for w in w_nom}
            lams: dict[float, list[float]] = {float(w): [] for w in w_nom}
            for ds in mc:
                cur = _at(ds.v_mem, ds.current[key], v_ref)
                for w, c, lam in zip(ds.widths[key], cur, ds.lam[key], strict=True):
                    samples[float(w)].append(float(c))
                    lams[float(w)].append(float(lam))
            l_um = source_length(layer, dev)
            rows = []
            for w, inom in zip(w_nom, i_nom, strict=True):
                x = np.asarray(samples[float(w)])
                lam = np.asarray(lams[float(w)])
                if np.any(x <= 0):
                    raise DataError(f"{layer.name}/{dev} W = {w:g} µm: a mismatch sample has "
                                    "no current at V0")
                mean, sd = float(x.mean()), float(x.std(ddof=1))
                lo, hi = sigma_ci(sd, x.size)
                sd_ln = float(np.log(x).std(ddof=1))
                lo_ln, hi_ln = sigma_ci(sd_ln, x.size)
                rows.append(WidthStats(
                    layer=layer.name, device=dev, width_um=float(w), l_um=l_um, n=int(x.size),
                    i_nominal_A=float(inom), i_mean_A=mean, sigma_rel=sd / mean,
                    sigma_rel_lo=lo / mean, sigma_rel_hi=hi / mean, sigma_ln=sd_ln,
                    sigma_ln_lo=lo_ln, sigma_ln_hi=hi_ln,
                    lambda_sigma_rel=float(lam.std(ddof=1) / abs(lam.mean()))))
            widths_out += rows
            fit = fit_pelgrom(np.array([r.width_um for r in rows]), l_um,
                              np.array([r.sigma_ln for r in rows]))
            model = source_model(dev)
            fits[f"{layer.name}/{dev}"] = {**fit.to_dict(), "l_um": l_um, "model": model,
                                           "a_vt_V_um": a_vt(model),
                                           "gm_over_i_per_V": fit.a_um / a_vt(model)}
    return MismatchStudy(
        spec=spec.to_dict(), corner=corner, temperature=float(temperature), seeds=list(seeds),
        replicas=int(replicas), devices=list(devices),
        v_ref_V={layer.name: layer.neuron.v0 for layer in spec.layers}, widths=widths_out,
        fits=fits, runs=[], wall_s=0.0,
        notes=["σ is of the whole cell as the network has it: the current source and its "
               "selector (synapses) or enable switch (discharger) both carry mismatch; the "
               "Pelgrom x-axis uses the current source's W·L."])
