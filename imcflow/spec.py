"""The design spec: the one source of truth the netlist and layout generators read.

A spec describes an RC-Spike network (DESIGN.md): a chain of layers, each a crossbar of synapses
(selector + current-source transistor pairs) onto a row of neurons (MIM membrane, reset switch,
discharger, comparator, output logic). Weights are carried by sizes: the signed width of each
synapse's current source (``+`` = NMOS pair that discharges the membrane: positive weight;
``−`` = PMOS pair that charges it: negative weight; ``0`` = no device) and the membrane
capacitor of each neuron.

Units: SI in general (V, s, °C); transistor and capacitor sizes in µm, as the sky130 models
expect. JSON load/save is strict: unknown fields, wrong types, out-of-range values and names that
are not identifiers raise :class:`SpecError` naming the field and the allowed range.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imcflow import atomicio, jsonio, pdk
from imcflow.errors import SpecError

SPEC_VERSION = 1
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")


def _f(default: Any, lo: float | None = None, hi: float | None = None, unit: str = "",
       doc: str = "") -> Any:
    """A dataclass field with an allowed range and unit (used by validation and docs)."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "unit": unit, "doc": doc})


@dataclass(frozen=True)
class SynapseDesign:
    """Biases and fixed sizes shared by all synapses of a layer."""

    l_um: float = _f(0.25, 0.15, 10.0, "µm", "current-source channel length (sets λ, so E±)")
    vb_n: float = _f(0.57, 0.0, 1.95, "V", "NMOS current-source gate bias (positive weights)")
    vb_p: float = _f(1.0, 0.0, 1.95, "V", "PMOS current-source gate bias (negative weights)")
    sel_l_um: float = _f(0.15, 0.15, 1.0, "µm", "selector channel length (selector W = source W)")


@dataclass(frozen=True)
class NeuronDesign:
    """Sizes and biases shared by all neurons of a layer (the MIM size is per neuron)."""

    v0: float = _f(1.3, 0.5, 1.8, "V", "reset (resting) membrane voltage V₀")
    v_switch: float = _f(0.48, 0.1, 1.2, "V", "design switching voltage of the comparator")
    reset_w_um: float = _f(0.84, 0.42, 10.0, "µm", "reset transmission-gate width (n and p)")
    dis_w_um: float = _f(5.0, 0.42, 20.0, "µm", "discharger current-source width")
    dis_l_um: float = _f(0.25, 0.15, 10.0, "µm", "discharger current-source length")
    v_dis: float = _f(0.574, 0.0, 1.95, "V", "discharger gate bias (sets the fire-phase ramp)")
    cmp_wn_um: float = _f(8.0, 0.42, 20.0, "µm", "comparator input LVT NMOS width")
    cmp_wp_um: float = _f(2.0, 0.42, 10.0, "µm", "comparator input HVT PMOS width")
    cmp_wb_um: float = _f(2.0, 0.42, 10.0, "µm", "comparator current-limit PMOS width")
    cmp_lb_um: float = _f(0.3, 0.15, 10.0, "µm", "comparator current-limit PMOS length")
    v_cmp: float = _f(0.8, 0.0, 1.95, "V", "gate bias of the comparator's current-limit PMOS")
    logic_wn_um: float = _f(0.42, 0.42, 10.0, "µm", "output-logic NMOS width")
    logic_wp_um: float = _f(0.84, 0.42, 20.0, "µm", "output-logic PMOS width")


@dataclass(frozen=True)
class LayerSpec:
    """One crossbar layer: ``n_out`` neurons × ``n_in`` inputs."""

    name: str
    width_um: tuple[tuple[float, ...], ...] = field(
        metadata={"unit": "µm", "doc": "signed current-source width per synapse [n_out][n_in]; "
                  "+ NMOS (positive weight), − PMOS (negative weight), 0 = no device"})
    fingers: tuple[tuple[int, ...], ...] = field(
        metadata={"doc": "fingers per synapse [n_out][n_in] (≥ 1; per-finger width ≥ W_min)"})
    mim_w_um: tuple[float, ...] = field(metadata={"unit": "µm", "doc": "MIM width per neuron"})
    mim_l_um: tuple[float, ...] = field(metadata={"unit": "µm", "doc": "MIM length per neuron"})
    synapse: SynapseDesign = field(default_factory=SynapseDesign)
    neuron: NeuronDesign = field(default_factory=NeuronDesign)

    @property
    def n_in(self) -> int:
        return len(self.width_um[0])

    @property
    def n_out(self) -> int:
        return len(self.width_um)

    def widths(self) -> np.ndarray:
        """Signed widths as an array [n_out, n_in] in µm."""
        return np.asarray(self.width_um, dtype=float)

    def with_sizes(self, widths_um: np.ndarray, fingers: np.ndarray) -> LayerSpec:
        """This layer with its synapses' signed widths (µm) and finger counts replaced."""
        w, nf = np.asarray(widths_um, dtype=float), np.asarray(fingers)
        if w.shape != (self.n_out, self.n_in) or nf.shape != w.shape:
            raise SpecError(f"layer {self.name}: sizes {w.shape} / fingers {nf.shape} do not "
                            f"match the layer ({self.n_out}, {self.n_in})")
        return dataclasses.replace(
            self, width_um=tuple(tuple(float(x) for x in row) for row in w),
            fingers=tuple(tuple(int(x) for x in row) for row in nf))

    def with_mims(self, c_F: np.ndarray, *, clip: bool = False) -> LayerSpec:
        """This layer with square MIMs of the given capacitances (F), one per neuron. A
        capacitance outside sky130's MIM sizes raises :class:`SpecError`, or with ``clip``
        gets the nearest size there is."""
        lim = pdk.pdk_data()["mim"]
        w_min, w_max = float(lim["w_min_um"]), float(lim["w_max_um"])
        sides = []
        for i, c in enumerate(np.asarray(c_F, dtype=float)):
            side = pdk.mim_side_for(float(c)) if c > 0 else -1.0
            if clip:
                side = min(max(side, w_min), w_max)
            elif not w_min <= side <= w_max:
                lo, hi = (pdk.mim_capacitance(x, x) for x in (w_min, w_max))
                raise SpecError(
                    f"layer {self.name} neuron {i}: the membrane needs a MIM of "
                    f"{c * 1e15:.0f} fF; sky130 MIMs within [{w_min:g}, {w_max:g}] µm give "
                    f"{lo * 1e15:.0f}–{hi * 1e15:.0f} fF")
            sides.append(float(side))
        return dataclasses.replace(self, mim_w_um=tuple(sides), mim_l_um=tuple(sides))

    def membrane_capacitance(self) -> np.ndarray:
        """Drawn MIM capacitance per neuron in F (PDK model formula)."""
        return np.array([pdk.mim_capacitance(w, l) for w, l in
                         zip(self.mim_w_um, self.mim_l_um, strict=True)])


@dataclass(frozen=True)
class DesignSpec:
    """A whole RC-Spike network in sky130."""

    name: str
    layers: tuple[LayerSpec, ...]
    vdd: float = _f(1.8, 1.6, 1.95, "V", "supply voltage")
    T: float = _f(1e-6, 1e-8, 1e-3, "s", "phase length (reset, accumulate and fire each last T)")
    t_edge: float = _f(1e-9, 1e-11, 1e-7, "s", "rise/fall time of clocks and input spikes")
    corner: str = field(default="tt", metadata={"doc": "process corner (.lib section)"})
    temperature: float = _f(27.0, -40.0, 125.0, "°C", "simulation temperature")
    version: int = SPEC_VERSION

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.layers[0].n_in, *(layer.n_out for layer in self.layers))

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(dataclasses.asdict(self))

    def to_json(self) -> str:
        """Deterministic JSON text (sorted keys, matrices one row a line, trailing newline)."""
        return _dumps(self.to_dict()) + "\n"

    def replace(self, **changes: Any) -> DesignSpec:
        spec = dataclasses.replace(self, **changes)
        validate(spec)
        return spec


# --------------------------------------------------------------------------- load / save

def _to_jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_to_jsonable(v) for v in obj]
    return obj


def _dumps(obj: Any, indent: int = 0) -> str:
    """JSON with sorted keys where lists of scalars stay on one line (readable matrices)."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(obj, dict):
        items = [f"{inner}{json.dumps(k)}: {_dumps(v, indent + 2)}" for k, v in sorted(obj.items())]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}" if items else "{}"
    if isinstance(obj, list) and any(isinstance(v, dict | list) for v in obj):
        items = [inner + _dumps(v, indent + 2) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _convert(tp: Any, value: Any, where: str) -> Any:
    """Convert JSON ``value`` to annotation ``tp`` strictly; errors name ``where``."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _from_dict(tp, value, where)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list):
            raise SpecError(f"{where}: expected a list, got {type(value).__name__}")
        return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is types.UnionType or origin is typing.Union:
        raise TypeError("unions are not used in the spec")
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(f"{where}: expected a number, got {json.dumps(value)}")
        if not math.isfinite(value):
            raise SpecError(f"{where}: must be finite")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"{where}: expected an integer, got {json.dumps(value)}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(f"{where}: expected a string, got {json.dumps(value)}")
        return value
    raise TypeError(f"unsupported spec type {_type_name(tp)}")


def _from_dict(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise SpecError(f"{where or 'spec'}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        prefix = f"{where}." if where else ""
        raise SpecError(f"unknown field {prefix}{unknown[0]} (allowed: {', '.join(fields)})")
    kwargs = {}
    for name, f in fields.items():
        path = f"{where}.{name}" if where else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SpecError(f"missing field {path}")
            continue
        kwargs[name] = _convert(hints[name], data[name], path)
    return cls(**kwargs)


def from_dict(data: Any) -> DesignSpec:
    """Build and validate a :class:`DesignSpec` from parsed JSON."""
    spec = _from_dict(DesignSpec, data, "")
    validate(spec)
    return spec


def loads(text: str) -> DesignSpec:
    """Parse and validate spec JSON text."""
    return from_dict(jsonio.loads(text, error=SpecError))


def load(path: str | os.PathLike[str]) -> DesignSpec:
    """Read and validate a spec file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"spec file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read spec file {p}: {exc}") from None
    try:
        return loads(text)
    except SpecError as exc:
        raise SpecError(f"{p}: {exc}") from None


def save(spec: DesignSpec, path: str | os.PathLike[str]) -> None:
    """Write ``spec`` as JSON atomically."""
    validate(spec)
    atomicio.write_text(path, spec.to_json())


# --------------------------------------------------------------------------- validation

def _check_ranges(obj: Any, where: str) -> None:
    for f in dataclasses.fields(obj):
        lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
        if lo is None and hi is None:
            continue
        value = getattr(obj, f.name)
        unit = f.metadata.get("unit", "")
        if not (lo <= value <= hi):
            raise SpecError(f"{where}{f.name} = {value:g} {unit} is out of range "
                            f"[{lo:g}, {hi:g}] {unit}".replace("  ", " "))
        if unit == "µm" and not pdk.on_grid(value):
            raise SpecError(f"{where}{f.name} = {value:g} µm is off the {pdk.grid_um():g} µm "
                            f"grid (nearest {pdk.snap(value):g})")


def check_identifier(name: str, where: str) -> None:
    """Raise :class:`SpecError` unless ``name`` is a safe identifier for a netlist."""
    if not isinstance(name, str) or not _IDENT.match(name):
        raise SpecError(f"{where} = {name!r} is not an identifier "
                        "(letters, digits, '_', not starting with a digit, ≤ 32 chars)")


def _check_layer(layer: LayerSpec, i: int, n_in_expected: int | None) -> None:
    w = f"layers[{i}]."
    check_identifier(layer.name, f"{w}name")
    _check_ranges(layer.synapse, f"{w}synapse.")
    _check_ranges(layer.neuron, f"{w}neuron.")
    if not layer.width_um or not layer.width_um[0]:
        raise SpecError(f"{w}width_um: must be a non-empty [n_out][n_in] matrix")
    n_out, n_in = len(layer.width_um), len(layer.width_um[0])
    if n_in_expected is not None and n_in != n_in_expected:
        raise SpecError(f"{w}width_um has {n_in} inputs but layers[{i - 1}] has "
                        f"{n_in_expected} neurons")
    if len(layer.fingers) != n_out:
        raise SpecError(f"{w}fingers has {len(layer.fingers)} rows, width_um has {n_out}")
    for name in ("mim_w_um", "mim_l_um"):
        if len(getattr(layer, name)) != n_out:
            raise SpecError(f"{w}{name} has {len(getattr(layer, name))} entries for "
                            f"{n_out} neurons")
    nf_dev = pdk.device("nfet_01v8")
    pf_dev = pdk.device("pfet_01v8")
    for r in range(n_out):
        if len(layer.width_um[r]) != n_in or len(layer.fingers[r]) != n_in:
            raise SpecError(f"{w}width_um/fingers row {r} must have {n_in} entries")
        for c in range(n_in):
            width, nf = layer.width_um[r][c], layer.fingers[r][c]
            where = f"{w}width_um[{r}][{c}]"
            if not 1 <= nf <= 64:
                raise SpecError(f"{w}fingers[{r}][{c}] = {nf} is out of range [1, 64]")
            if width == 0.0:
                continue
            dev = nf_dev if width > 0 else pf_dev
            per_finger = abs(width) / nf
            if not pdk.on_grid(per_finger):
                raise SpecError(f"{where} = {width:g} µm over {nf} finger(s) gives "
                                f"{per_finger:g} µm per finger, off the {pdk.grid_um():g} µm grid")
            if not dev.w_min_um <= per_finger <= dev.w_max_um:
                raise SpecError(f"{where} = {width:g} µm over {nf} finger(s) gives "
                                f"{per_finger:g} µm per finger; {dev.name} allows "
                                f"[{dev.w_min_um:g}, {dev.w_max_um:g}] µm (0 = no device)")
    mim = pdk.pdk_data()["mim"]
    for name in ("mim_w_um", "mim_l_um"):
        for k, v in enumerate(getattr(layer, name)):
            if not mim["w_min_um"] <= v <= mim["w_max_um"]:
                raise SpecError(f"{w}{name}[{k}] = {v:g} µm is out of range "
                                f"[{mim['w_min_um']:g}, {mim['w_max_um']:g}] µm")
            if not pdk.on_grid(v):
                raise SpecError(f"{w}{name}[{k}] = {v:g} µm is off the grid "
                                f"(nearest {pdk.snap(v):g})")
    nd = layer.neuron
    if not nd.v_switch < nd.v0:
        raise SpecError(f"{w}neuron.v_switch = {nd.v_switch:g} V must be below "
                        f"neuron.v0 = {nd.v0:g} V (threshold V_th = v0 − v_switch > 0)")


def validate(spec: DesignSpec) -> None:
    """Check every field of ``spec``; raise :class:`SpecError` naming the first bad one."""
    check_identifier(spec.name, "name")
    if spec.version != SPEC_VERSION:
        raise SpecError(f"version = {spec.version} is not supported (expected {SPEC_VERSION})")
    _check_ranges(spec, "")
    if spec.corner not in pdk.corners():
        raise SpecError(f"corner = {spec.corner!r} is not one of {', '.join(pdk.corners())}")
    if not spec.layers:
        raise SpecError("layers: at least one layer is required")
    names = [layer.name for layer in spec.layers]
    if len(set(names)) != len(names):
        raise SpecError(f"layers: names must be unique, got {names}")
    prev = None
    for i, layer in enumerate(spec.layers):
        _check_layer(layer, i, prev)
        if layer.neuron.v0 >= spec.vdd or any(
                v > spec.vdd for v in (layer.synapse.vb_n, layer.synapse.vb_p,
                                       layer.neuron.v_dis, layer.neuron.v_cmp)):
            raise SpecError(f"layers[{i}]: biases and v0 must not exceed vdd = {spec.vdd:g} V")
        prev = layer.n_out


# --------------------------------------------------------------------------- construction

#: Default MIM side (µm). Weights live in widths of ≥ 1 µm fingers in moderate inversion
#: (≈ 160 nA NMOS, ≈ 290 nA PMOS per 1 µm finger at the default biases), so the unit weight
#: C·V_th/T must be several such currents: 22 µm × 22 µm ≈ 0.98 pF gives ≈ 0.9 µA.
MIM_SIDE_UM = 22.0


def make_layer(name: str, width_um: np.ndarray, mim_um: float | np.ndarray = MIM_SIDE_UM,
               fingers: np.ndarray | None = None, synapse: SynapseDesign | None = None,
               neuron: NeuronDesign | None = None) -> LayerSpec:
    """A :class:`LayerSpec` from a signed width matrix [n_out, n_in] (µm) and MIM sides (µm)."""
    width = np.asarray(width_um, dtype=float)
    n_out, n_in = width.shape
    nf = np.ones_like(width, dtype=int) if fingers is None else np.asarray(fingers, dtype=int)
    mim = np.broadcast_to(np.asarray(mim_um, dtype=float), (n_out,))
    return LayerSpec(
        name=name,
        width_um=tuple(tuple(float(pdk.snap(x)) for x in row) for row in width),
        fingers=tuple(tuple(int(x) for x in row) for row in nf),
        mim_w_um=tuple(float(x) for x in mim), mim_l_um=tuple(float(x) for x in mim),
        synapse=synapse or SynapseDesign(), neuron=neuron or NeuronDesign())


def random_widths(rng: np.random.Generator, n_out: int, n_in: int, w_lo: float = 1.0,
                  w_hi: float = 5.0, p_zero: float = 0.1, p_neg: float = 0.35) -> np.ndarray:
    """Seeded random signed widths (µm) on the grid, for demos and tests."""
    mag = rng.uniform(w_lo, w_hi, size=(n_out, n_in))
    sign = np.where(rng.random((n_out, n_in)) < p_neg, -1.0, 1.0)
    keep = rng.random((n_out, n_in)) >= p_zero
    return np.vectorize(pdk.snap)(mag * sign * keep)


def default_spec(seed: int = 0) -> DesignSpec:
    """The embedded demo: an Iris-sized 5-5-3 network (4 features + a bias input), T = 1 µs.

    Widths are seeded random placeholders (mixed signs, one finger of 1–5 µm: weights ≈ 0.2–1);
    the trained weights replace them at write-back.
    """
    rng = np.random.default_rng(seed)
    layers = (make_layer("l1", random_widths(rng, 5, 5)),
              make_layer("l2", random_widths(rng, 3, 5)))
    spec = DesignSpec(name="iris_demo", layers=layers)
    validate(spec)
    return spec


def field_docs(cls: type) -> list[tuple[str, str, str, str]]:
    """(name, unit, range, doc) of every documented field of a spec dataclass."""
    rows = []
    for f in dataclasses.fields(cls):
        lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
        rng = f"[{lo:g}, {hi:g}]" if lo is not None else ""
        rows.append((f.name, f.metadata.get("unit", ""), rng, f.metadata.get("doc", "")))
    return rows
