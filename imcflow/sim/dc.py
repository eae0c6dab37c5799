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
=========================  ===================  ==============================================
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imcflow import atomicio
from imcflow.errors import DataError
from imcflow.netlist.dc import DEVICE_TYPES, build_dc
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
    dest = Path(out)
    if dest.suffix != ".npz":
        dest = dest / "dc.npz"

    def writer(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]

    atomicio.write_with(dest, writer)
    return dest


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
        return DCDataset(meta=meta, spec=spec, v_mem=data["v_mem"], widths=widths,
                         current=current, lam=lam)
    except KeyError as exc:
        raise DataError(f"{path}: corrupt DC dataset (no {exc})") from None
