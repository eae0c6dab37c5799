"""imcflow's layout cells as gdsfactory Components: synapse, neuron, crossbar layer, network.

Each function returns a cached ``gf.Component`` (``@gf.cell``: the same arguments give the same
object) holding imcflow's own geometry (:mod:`imcflow.layout.cells`) with

* typed ports on its pins — ``port_type="electrical"``, the pin's metal layer, the width of the
  wire there (measured from the drawn shape) and the direction the wire leaves the cell; each
  port's ``info["net_class"]`` names its wire style (:attr:`imcflow.pdk.Pdk.wire_styles`);
* ``info``: ``netlist`` (the cell's SPICE from the circuit description), ``subckt`` (its
  ``.subckt`` name), ``ports`` (the subckt's port order) and ``spec`` (the design spec, or the
  layer spec, as JSON data).

Port positions (µm, the component's coordinates):

* network and crossbar: one port per net label, at the end of the labelled wire in the port's
  direction — inputs ``in<j>``/``inb<j>`` west (met4 spike lines), outputs east (met4 buses),
  membranes ``mem<i>`` and the synapse biases ``vbn``/``vbp`` north (met2), the neuron row's
  controls west (met1); the supplies west on the network's met1 rails, south on a crossbar's
  met2 trunks;
* synapse tile: ``mem`` (met2 pad of the bit-line contact, north), ``spk``/``spkb`` (met4 pad
  under the spike line, west) and the four row rails ``vss``, ``vbn``, ``vbp``, ``vdd`` (met1,
  bottom to top) at the tile's west edge;
* neuron: ``mem`` (met2 on the membrane track, north), ``out``/``outb`` (met3 exits, south) and
  every row track (``vss``, ``vdd``, ``rst`` … ``vcmp``) at the west edge.

gdsfactory needs an active PDK; if none is active, importing this module activates gdsfactory's
``sky130`` PDK (a dependency of imcflow). Layers are given as (GDS layer, datatype) pairs from
imcflow's PDK object, so any sky130-numbered PDK works.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import gdsfactory as gf
import klayout.db as kdb

from imcflow import pdk
from imcflow.circuit import Library, net_class, rcspike
from imcflow.errors import SpecError
from imcflow.layout import build, top_cell
from imcflow.layout.cells import (
    GLOBAL_TRACKS,
    LayerGeom,
    draw_layer,
    layer_pitch,
    neuron_pins,
    plan_neuron,
)
from imcflow.layout.rules import DBU_UM
from imcflow.netlist.cells import render_cell, render_library
from imcflow.spec import DesignSpec, LayerSpec, validate

__all__ = ["crossbar", "cross_section", "network", "neuron", "synapse"]


def _ensure_pdk() -> None:
    try:
        gf.get_active_pdk()
    except ValueError:
        import sky130  # noqa: F401  (activates gdsfactory's sky130 PDK)


_ensure_pdk()

#: Specs by content key: ``@gf.cell`` caches on (and names the component after) the key.
_SPECS: dict[str, Any] = {}

#: Direction a net's wire leaves a block, degrees (0 east, 90 north, 180 west, 270 south).
_DIRECTION = {"signal_in": 180, "signal_out": 0, "membrane": 90, "bias": 90, "control": 180,
              "supply": 180}


def _register(obj: Any, name: str) -> str:
    """A short content key for ``obj`` (a spec or layer spec), remembered for the cell."""
    text = (obj.to_json() if isinstance(obj, DesignSpec)
            else repr(dataclasses.astuple(obj)))
    key = f"{name}_{hashlib.sha256(text.encode()).hexdigest()[:10]}"
    _SPECS[key] = obj
    return key


def cross_section(net_class_name: str, layer: tuple[int, int] | None = None) -> gf.CrossSection:
    """A gdsfactory electrical cross-section in the wire style of ``net_class_name`` (its layer
    unless ``layer`` is given), for routing to a component's ports."""
    style = pdk.get().wire_style(net_class_name)
    return gf.cross_section.cross_section(
        width=style.width_um, layer=layer or pdk.get().layer(style.layer),
        port_names=("e1", "e2"), port_types=("electrical", "electrical"), radius=None)


# --------------------------------------------------------------------------- geometry helpers
def _region(cell: kdb.Cell, layer: str) -> kdb.Region:
    idx = cell.layout().find_layer(*pdk.get().layer(layer))
    if idx is None:
        return kdb.Region()
    return kdb.Region(cell.begin_shapes_rec(idx)).merged()


def _at(region: kdb.Region, x: int, y: int) -> kdb.Region:
    """The polygon(s) of ``region`` under point (x, y) (dbu)."""
    return region.interacting(kdb.Region(kdb.Box(x - 1, y - 1, x + 1, y + 1)))


def _wire_end(region: kdb.Region, x: int, y: int, orientation: int) -> tuple[int, int, int]:
    """End of the wire of ``region`` through (x, y) in direction ``orientation``: the end
    point (centred across the wire) and the wire's width there, dbu."""
    piece = _at(region, x, y)
    if piece.is_empty():
        raise SpecError(f"no shape under the pin at ({x * DBU_UM:g}, {y * DBU_UM:g}) µm")
    bb = piece.bbox()
    if orientation in (0, 180):
        strip = _at(piece & kdb.Region(kdb.Box(bb.left, y - 1, bb.right, y + 1)), x, y).bbox()
        xe = strip.right if orientation == 0 else strip.left
        probe = kdb.Box(xe - 1, bb.bottom, xe, bb.top) if orientation == 0 else \
            kdb.Box(xe, bb.bottom, xe + 1, bb.top)
        across = _at(piece & kdb.Region(probe), xe, y).bbox()
        return xe, (across.bottom + across.top) // 2, across.height()
    strip = _at(piece & kdb.Region(kdb.Box(x - 1, bb.bottom, x + 1, bb.top)), x, y).bbox()
    ye = strip.top if orientation == 90 else strip.bottom
    probe = kdb.Box(bb.left, ye - 1, bb.right, ye) if orientation == 90 else \
        kdb.Box(bb.left, ye, bb.right, ye + 1)
    across = _at(piece & kdb.Region(probe), x, ye).bbox()
    return (across.left + across.right) // 2, ye, across.width()


def _pad_centre(region: kdb.Region, x: int, y: int) -> tuple[int, int, int]:
    """Centre of the pad of ``region`` under (x, y) and its smaller side, dbu."""
    bb = _at(region, x, y).bbox()
    return bb.center().x, bb.center().y, min(bb.width(), bb.height())


def _direction(net: str) -> int:
    cls = net_class(net)
    if cls == "signal":
        base = net.rsplit("_", 1)[-1]
        return _DIRECTION["signal_out" if base.startswith("out") else "signal_in"]
    return _DIRECTION[cls]


def _add_port(c: gf.Component, name: str, layer: str, xyw: tuple[int, int, int],
              orientation: int) -> None:
    x, y, w = xyw
    p = c.add_port(name=name, center=(round(x * DBU_UM, 4), round(y * DBU_UM, 4)),
                   width=round(w * DBU_UM, 4),
                   orientation=orientation, layer=pdk.get().layer(layer),
                   port_type="electrical")
    p.info["net_class"] = net_class(name)


def _label_ports(c: gf.Component, cell: kdb.Cell, order: list[str],
                 directions: dict[str, int] | None = None) -> None:
    """One port per net label of ``cell`` (text on a label purpose), at its wire's end, added
    in the order of ``order`` (the subckt's port order), then any other label. ``directions``
    overrides the usual direction of a net."""
    found: dict[str, tuple[str, tuple[int, int, int], int]] = {}
    lay = cell.layout()
    for cond, (ln, dt) in pdk.get().label_layers.items():
        idx = lay.find_layer(ln, dt)
        if idx is None:
            continue
        region = _region(cell, cond)
        it = cell.begin_shapes_rec(idx)
        while not it.at_end():
            sh = it.shape()
            if sh.is_text():
                t = sh.text.transformed(it.trans())
                orient = (directions or {}).get(t.string, _direction(t.string))
                found[t.string] = (cond, _wire_end(region, t.x, t.y, orient), orient)
            it.next()
    for name in [*[n for n in order if n in found], *sorted(set(found) - set(order))]:
        _add_port(c, name, *found[name])


def _new(src: kdb.Cell) -> gf.Component:
    """A component holding a copy of ``src`` (its hierarchy, shapes and labels)."""
    c = gf.Component()
    c.kdb_cell.copy_tree(src)
    return c


def _info(c: gf.Component, netlist: str, subckt: str, ports: list[str], spec: Any) -> None:
    c.info["netlist"] = netlist
    c.info["subckt"] = subckt
    c.info["ports"] = ports
    c.info["spec"] = spec


def _layer_spec(layer: LayerSpec) -> dict[str, Any]:
    return DesignSpec(name="x", layers=(layer,)).to_dict()["layers"][0]


def _scratch(layer: LayerSpec) -> tuple[kdb.Layout, LayerGeom]:
    """``layer`` drawn alone (with its input spike lines) into a fresh layout."""
    lay = kdb.Layout()
    lay.dbu = DBU_UM
    return lay, draw_layer(lay, layer, first=True)


def _check_layer(layer: LayerSpec) -> None:
    if not isinstance(layer, LayerSpec):
        raise SpecError(f"expected a LayerSpec, got {type(layer).__name__}")
    validate(DesignSpec(name="x", layers=(layer,)))


# --------------------------------------------------------------------------- network
@gf.cell
def imc_network(key: str) -> gf.Component:
    """The whole network of the spec registered under ``key`` (see :func:`network`)."""
    spec: DesignSpec = _SPECS[key]
    lay = build(spec)
    c = _new(top_cell(lay))
    _label_ports(c, top_cell(lay), rcspike.network_ports(spec))
    lib = rcspike.network(spec)
    _info(c, render_library(lib), lib.top.name, rcspike.network_ports(spec), spec.to_dict())
    return c


def network(spec: DesignSpec) -> gf.Component:
    """The network of ``spec`` (validated) as a gdsfactory Component (cached per content)."""
    if not isinstance(spec, DesignSpec):
        raise SpecError(f"expected a DesignSpec, got {type(spec).__name__}")
    validate(spec)
    return imc_network(key=_register(spec, spec.name))


# --------------------------------------------------------------------------- crossbar
@gf.cell
def imc_crossbar(key: str) -> gf.Component:
    """One crossbar layer (synapses, neurons, buses, trunks) registered under ``key``."""
    layer: LayerSpec = _SPECS[key]
    lay, geom = _scratch(layer)
    # the layer's nets, named as its subckt ports; the supplies on their trunks' lower ends
    labels = [*geom.labels, *(("met2", net, geom.trunk_x[net], geom.bottom + 100)
                              for net in ("vdd", "vss"))]
    for cond, text, x, y in labels:
        geom.cell.shapes(lay.layer(*pdk.get().label_layers[cond])).insert(kdb.Text(text, x, y))
    c = _new(geom.cell)
    _label_ports(c, geom.cell, rcspike.layer_ports(layer), {"vdd": 270, "vss": 270})
    lib = Library(rcspike.layer_cells(layer))
    _info(c, render_library(lib), lib.top.name, rcspike.layer_ports(layer), _layer_spec(layer))
    return c


def crossbar(layer: LayerSpec) -> gf.Component:
    """Crossbar layer ``layer`` (``imc_layer_<name>``, with its input spike lines) as a
    Component; ports named as the subckt's ports (``in0`` … ``vss``)."""
    _check_layer(layer)
    return imc_crossbar(key=_register(layer, layer.name))


# --------------------------------------------------------------------------- tiles
def _instances(cell: kdb.Cell, prefix: str) -> list[kdb.Instance]:
    lay = cell.layout()
    return [inst for inst in cell.each_inst() if lay.cell(inst.cell_index).name.startswith(prefix)]


@gf.cell
def imc_synapse(key: str, i: int, j: int) -> gf.Component:
    """Synapse tile (i, j) of the layer registered under ``key`` (see :func:`synapse`)."""
    layer: LayerSpec = _SPECS[key]
    lay, geom = _scratch(layer)
    insts = _instances(geom.cell, f"imc_syn_{layer.name}_")
    xs = sorted({inst.trans.disp.x for inst in insts})
    ys = sorted({inst.trans.disp.y for inst in insts}, reverse=True)     # input 0 on top
    inst = next(k for k in insts if k.trans.disp.x == xs[i] and k.trans.disp.y == ys[j])
    tile = lay.cell(inst.cell_index)
    c = _new(tile)
    m1 = _region(tile, "met1")
    bb = m1.bbox()
    west = sorted((p.bbox() for p in (m1 & kdb.Region(kdb.Box(0, bb.bottom, 1, bb.top))).each()),
                  key=lambda b: b.bottom)
    if len(west) != 4:
        raise SpecError(f"synapse tile {tile.name}: expected 4 rails, found {len(west)}")
    for net, edge in zip(("vss", "vbn", "vbp", "vdd"), west, strict=True):
        _add_port(c, net, "met1", (0, edge.center().y, edge.height()), 180)
    w = layer.width_um[i][j]
    if w != 0:
        pol = "n" if w > 0 else "p"
        m4 = _region(tile, "met4")
        bit = _region(tile, "met2").not_interacting(m4)     # the stub, not the gate stack
        _add_port(c, "mem", "met2", _pad_centre(bit, *_first_point(bit)), 90)
        _add_port(c, "spk" if pol == "n" else "spkb", "met4",
                  _pad_centre(m4, *_first_point(m4)), 180)
        cell_c = rcspike.synapse(layer, pol)
        _info(c, render_cell(cell_c), cell_c.name, list(cell_c.ports),
              {"layer": layer.name, "i": i, "j": j, "w_um": abs(w), "nf": layer.fingers[i][j]})
    else:
        _info(c, "", "", [], {"layer": layer.name, "i": i, "j": j, "w_um": 0.0, "nf": 0})
    return c


def _first_point(region: kdb.Region) -> tuple[int, int]:
    if region.count() != 1:
        raise SpecError(f"expected one pad, found {region.count()}")
    return region.bbox().center().x, region.bbox().center().y


def synapse(layer: LayerSpec, i: int, j: int) -> gf.Component:
    """The synapse tile of ``layer`` between input ``j`` and neuron ``i`` (an NMOS pair, a
    PMOS pair or an empty slot, with the row's rails) as a Component."""
    _check_layer(layer)
    if not (0 <= i < layer.n_out and 0 <= j < layer.n_in):
        raise SpecError(f"synapse ({i}, {j}) is outside the {layer.n_out}×{layer.n_in} layer")
    return imc_synapse(key=_register(layer, layer.name), i=i, j=j)


@gf.cell
def imc_neuron(key: str, i: int) -> gf.Component:
    """Neuron ``i`` of the layer registered under ``key`` (see :func:`neuron`)."""
    layer: LayerSpec = _SPECS[key]
    lay, geom = _scratch(layer)
    insts = sorted(_instances(geom.cell, f"imc_neuron_{layer.name}_"),
                   key=lambda k: k.trans.disp.x)
    tile = lay.cell(insts[i].cell_index)
    c = _new(tile)
    plan = plan_neuron(layer)
    pins = neuron_pins(plan, layer_pitch(layer, plan), max(round(v / DBU_UM)
                                                            for v in layer.mim_l_um))
    m1, m2, m3 = _region(tile, "met1"), _region(tile, "met2"), _region(tile, "met3")
    _add_port(c, "mem", "met2", _pad_centre(m2, *pins.mem), 90)
    _add_port(c, "out", "met3", _pad_centre(m3, *pins.out), 270)
    _add_port(c, "outb", "met3", _pad_centre(m3, *pins.outb), 270)
    for net in GLOBAL_TRACKS:
        _add_port(c, net, "met1", _wire_end(m1, 1, pins.track_y[net], 180), 180)
    cell_c = rcspike.neuron(layer)
    _info(c, render_cell(cell_c), cell_c.name, list(cell_c.ports),
          {"layer": layer.name, "i": i, "mim_w_um": layer.mim_w_um[i],
           "mim_l_um": layer.mim_l_um[i]})
    return c


def neuron(layer: LayerSpec, i: int) -> gf.Component:
    """Neuron ``i`` of ``layer`` (membrane MIM, reset, discharger, comparator, output logic)
    as a Component."""
    _check_layer(layer)
    if not 0 <= i < layer.n_out:
        raise SpecError(f"neuron {i} is outside the layer's {layer.n_out} neurons")
    return imc_neuron(key=_register(layer, layer.name), i=i)
