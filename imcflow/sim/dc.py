"""DC characterization: I_D versus membrane (drain) voltage of synapse and discharger devices.

One ``ngspice -b`` run of :func:`imcflow.netlist.dc.build_dc` (all layers, device types and widths
in one deck, one ``.dc`` sweep of the membrane voltage). The fitter reads the dataset for λ, E±,
the unit current per width and the ramp.

DC dataset (``.npz``, atomic; :func:`load_dc`):

=========================  ===================  ==============================================
key                        shape / dtype        meaning
=========================  ===================  ==============================================
``meta``                   0-d str (JSON)       format ``imcflow-dc``, version, spec (dict),
                                                corner, temperature (°C), sweep [start, stop,
                                                step] (V), netlist_sha256, biases per layer (V),
                                                mc_seed (None: nominal), replicas
``v_mem``                  [M] float64          membrane (drain) voltage, V
``w_<layer>_<dev>``        [K] float64          current-source widths, µm (dev = n, p, dis)
``i_<layer>_<dev>``        [K, M] float64       |I_D|, A: current the device sinks from (n, dis)
                                                or sources into (p) the membrane, ≥ 0 in
                                                normal operation
``lambda_<layer>_<dev>``   [K] float64          quick-look λ, 1/V: (I(far) − I(near)) /
                                                (ΔV · I(mid)) with |V_DS| growing from near to
                                                far over the sweep (PAPERS §1.4 / TOOLCHAIN)
``tail_s``                 [G] float64          time after the selector opens, in phases (0…1)
``tailq_<layer>_<dev>``    [K, G] float64       selector tail (dev = n, p): charge (C, ≥ 0 in
                                                the synapse's own direction) delivered to the
                                                membrane by ``tail_s`` after one phase with
                                                the spike on; widths as ``w_<layer>_<dev>``
``onq_<layer>_<dev>``      [K] float64          charge (C, same sign convention) delivered
                                                during that phase with the spike on
=========================  ===================  ==============================================

The switching charge comes from a second, transient deck
(:func:`imcflow.netlist.dc.build_switching`, membrane held at
:func:`imcflow.netlist.dc.switching_membrane_V`); datasets written before it existed have no
``tail*``/``onq*`` keys and load with ``tail_q``/``on_q`` empty.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imcflow import atomicio
from imcflow.errors import DataError
from imcflow.netlist.dc import DEVICE_TYPES, build_dc, build_switching
from imcflow.sim import ngspice
from imcflow.sim.engines import DEFAULT_TIMEOUT
from imcflow.sim.npzio import read_dataset
from imcflow.spec import DesignSpec

FORMAT = "imcflow-dc"
FORMAT_VERSION = 1


def quick_lambda(v: np.ndarray, i: np.ndarray, device: str) -> float:
    """λ (1/V) from the sweep ends and middle; |V_DS| grows with V for n/dis, falls for p."""
    i = np.abs(np.asarray(i, dtype=float))
    lo, hi, mid = i[0], i[-1], np.interp(0.5 * (v[0] + v[-1]), v, i)
    near, far = (lo, hi) if device != "p" else (hi, lo)
    dv = float(v[-1] - v[0])
    return float((far - near) / (dv * mid)) if mid > 0 and dv > 0 else float("nan")


@dataclass
class DCDataset:
    """A loaded DC dataset: per (layer, device) the widths (µm) and |I_D| (A) versus v_mem (V)."""

    meta: dict[str, Any]
    spec: DesignSpec
    v_mem: np.ndarray
    widths: dict[tuple[str, str], np.ndarray]
    current: dict[tuple[str, str], np.ndarray]
    lam: dict[tuple[str, str], np.ndarray]
    #: selector tail per (layer, n|p): cumulative charge (C) [K, G] at ``tail_s`` (empty: none)
    tail_q: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    #: charge (C) [K] per (layer, n|p) over one phase with the spike on, same bench
    on_q: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    tail_s: np.ndarray = field(default_factory=lambda: np.zeros(0))


def dc_characterize(spec: DesignSpec, out: str | os.PathLike[str], *,
                    widths: Sequence[float] | None = None,
                    devices: Sequence[str] = DEVICE_TYPES, corner: str | None = None,
                    temperature: float | None = None,
                    sweep: tuple[float, float, float] | None = None,
                    timeout: float = DEFAULT_TIMEOUT, num_threads: int = 1,
                    mc_seed: int | None = None, replicas: int = 1) -> Path:
    """Run the DC sweeps of ``spec`` and write the dataset to ``out`` (a ``.npz`` path, or a
    folder that gets ``dc.npz``). Returns the path. ``mc_seed``/``replicas``: a seeded mismatch
    instance with copies of each device (:func:`imcflow.netlist.dc.build_dc`); with replicas,
    ``w_<layer>_<dev>`` repeats each width once per copy."""
    bench = build_dc(spec, widths=widths, devices=devices, corner=corner,
                     temperature=temperature, sweep=sweep, mc_seed=mc_seed, replicas=replicas)
    res = ngspice.run_batch(bench.text, [p.vector for p in bench.probes], analysis=None,
                            timeout=timeout, num_threads=num_threads)
    names = list(res.plot.vectors)
    v = np.asarray(res.plot.vectors[names[0]], dtype=float)  # the sweep variable comes first
    meta: dict[str, Any] = {
        "format": FORMAT, "version": FORMAT_VERSION, "spec": spec.to_dict(),
        "corner": corner or spec.corner,
        "temperature": spec.temperature if temperature is None else float(temperature),
        "sweep": list(bench.sweep), "netlist_sha256": ngspice.netlist_hash(bench.text),
        "biases": {layer.name: {"vb_n": layer.synapse.vb_n, "vb_p": layer.synapse.vb_p,
                                "v_dis": layer.neuron.v_dis} for layer in spec.layers},
        "current_convention": "|I_D| in A; n and dis sink from the membrane, p sources into it",
        "mc_seed": mc_seed, "replicas": replicas,
    }
    arrays: dict[str, np.ndarray] = {"meta": np.array(json.dumps(meta, sort_keys=True)),
                                     "v_mem": v}
    groups: dict[tuple[str, str], list[Any]] = {}
    for probe in bench.probes:
        groups.setdefault((probe.layer, probe.device), []).append(probe)
    for (layer, dev), probes in groups.items():
        cur = np.stack([np.asarray(res.plot[p.vector], dtype=float) for p in probes])
        cur = -cur if dev == "p" else cur  # ammeter current vm → device: negative for PMOS
        arrays[f"w_{layer}_{dev}"] = np.array([p.width_um for p in probes])
        arrays[f"i_{layer}_{dev}"] = cur
        arrays[f"lambda_{layer}_{dev}"] = np.array([quick_lambda(v, c, dev) for c in cur])
    if mc_seed is None and replicas == 1 and {"n", "p"} <= set(devices):
        arrays.update(_switching(spec, widths=widths, corner=corner, temperature=temperature,
                             timeout=timeout, num_threads=num_threads))
    dest = Path(out)
    if dest.suffix != ".npz":
        dest = dest / "dc.npz"

    def writer(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]

    atomicio.write_with(dest, writer)
    return dest


#: Points of the selector-tail time grid over the fire phase.
TAIL_GRID = 51


def _switching(spec: DesignSpec, *, widths: Sequence[float] | None, corner: str | None,
           temperature: float | None, timeout: float, num_threads: int
           ) -> dict[str, np.ndarray]:
    """Run :func:`build_switching` and integrate each synapse's membrane current: over the
    phase with its spike on, and after its selector opens (at 2T) into the cumulative charge
    on :data:`TAIL_GRID` points of the next phase."""
    bench = build_switching(spec, widths=widths, corner=corner, temperature=temperature)
    res = ngspice.run_batch(bench.text, [p.vector for p in bench.probes], timeout=timeout,
                            num_threads=num_threads)
    t = np.asarray(res.plot["time"], dtype=float)
    T = spec.T
    s_grid = np.linspace(0.0, 1.0, TAIL_GRID)
    out: dict[str, np.ndarray] = {"tail_s": s_grid}
    groups: dict[tuple[str, str], list[tuple[float, np.ndarray]]] = {}
    for probe in bench.probes:
        i = np.asarray(res.plot[probe.vector], dtype=float)
        i = -i if probe.device == "p" else i  # into the device for n, out of it for p
        q = np.concatenate([[0.0], np.cumsum(0.5 * (i[1:] + i[:-1]) * np.diff(t))])
        q_at = np.interp(np.concatenate([[T, 2 * T], 2 * T + s_grid * T]), t, q)
        groups.setdefault((probe.layer, probe.device), []).append(
            (q_at[1] - q_at[0], q_at[2:] - q_at[1]))
    for (layer, dev), rows in groups.items():
        out[f"onq_{layer}_{dev}"] = np.array([on for on, _ in rows])
        out[f"tailq_{layer}_{dev}"] = np.stack([tail for _, tail in rows])
    return out


def load_dc(path: str | os.PathLike[str]) -> DCDataset:
    """Read a DC dataset; :class:`DataError` if missing or not one."""
    data, meta, spec = read_dataset(path, FORMAT, "DC dataset")
    widths, current, lam = {}, {}, {}
    try:
        for key in data:
            if key.startswith("i_"):
                layer, dev = key[2:].rsplit("_", 1)
                widths[(layer, dev)] = data[f"w_{layer}_{dev}"]
                current[(layer, dev)] = data[key]
                lam[(layer, dev)] = data[f"lambda_{layer}_{dev}"]
        tail_q = {tuple(k[6:].rsplit("_", 1)): data[k] for k in data if k.startswith("tailq_")}
        on_q = {tuple(k[4:].rsplit("_", 1)): data[k] for k in data if k.startswith("onq_")}
        return DCDataset(meta=meta, spec=spec, v_mem=data["v_mem"], widths=widths,
                         current=current, lam=lam, tail_q=tail_q,  # type: ignore[arg-type]
                         on_q=on_q,  # type: ignore[arg-type]
                         tail_s=data["tail_s"] if "tail_s" in data else np.zeros(0))
    except KeyError as exc:
        raise DataError(f"{path}: corrupt DC dataset (no {exc})") from None
