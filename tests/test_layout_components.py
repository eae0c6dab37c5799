"""gdsfactory Components of imcflow's cells: typed ports, netlist info, and a chip composed with
gdsfactory routing and pads that imcflow's own DRC and LVS still sign off."""

from __future__ import annotations

from pathlib import Path

import gdsfactory as gf
import klayout.db as kdb
import numpy as np
import pytest
import sky130  # noqa: F401  (a gdsfactory user's session: the sky130 PDK is active)

from imcflow import pdk
from imcflow.circuit import rcspike
from imcflow.errors import SpecError
from imcflow.extract.drc import drc
from imcflow.extract.lvs import lvs
from imcflow.layout import components as C
from imcflow.netlist.cells import network_subckts
from imcflow.spec import DesignSpec, default_spec, make_layer, validate


def _tiny() -> DesignSpec:
    layer = make_layer("a", np.array([[1.2, -0.84, 0.0], [0.0, 2.52, -1.5]]),
                       fingers=np.array([[2, 1, 1], [1, 3, 2]]), mim_um=np.array([5.0, 9.0]))
    spec = DesignSpec(name="tiny", layers=(layer,))
    validate(spec)
    return spec


def _flat_region(c: gf.Component, layer: tuple[int, int]) -> kdb.Region:
    idx = c.kcl.layout.find_layer(*layer)
    return kdb.Region(c.kdb_cell.begin_shapes_rec(idx)).merged()


def _on_edge(region: kdb.Region, x: float, y: float, orientation: float) -> bool:
    """The port at (x, y) µm sits on the boundary of ``region`` facing ``orientation``."""
    p = kdb.Point(round(x * 1000), round(y * 1000))
    step = {0: (1, 0), 90: (0, 1), 180: (-1, 0), 270: (0, -1)}[int(orientation) % 360]
    inside = kdb.Point(p.x - 3 * step[0] - 1, p.y - 3 * step[1] - 1)
    outside = kdb.Point(p.x + 3 * step[0], p.y + 3 * step[1])
    def hit(q: kdb.Point) -> bool:
        return not region.interacting(kdb.Region(kdb.Box(q.x, q.y, q.x + 1, q.y + 1))).is_empty()

    return hit(inside) and not hit(outside)


def test_network_component_ports_and_info() -> None:
    spec = default_spec()
    c = C.network(spec)
    assert C.network(spec) is c                                  # cached (@gf.cell)
    assert [p.name for p in c.ports] == rcspike.network_ports(spec)
    assert c.info["netlist"] == network_subckts(spec)
    assert c.info["subckt"] == f"imc_net_{spec.name}"
    assert c.info["spec"] == spec.to_dict()
    want = {"signal": "met4", "membrane": "met2", "bias": "met2", "control": "met1",
            "supply": "met1"}
    for p in c.ports:
        cls = p.info["net_class"]
        assert p.port_type == "electrical"
        assert (p.layer_info.layer, p.layer_info.datatype) == pdk.get().layer(want[cls])
        assert p.width >= pdk.get().wire_style(cls).width_um - 0.14   # a real wire, ≥ min
        assert _on_edge(_flat_region(c, pdk.get().layer(want[cls])), *p.center, p.orientation)
    assert {c.ports["in0"].orientation, c.ports["l2_out0"].orientation,
            c.ports["l1_mem0"].orientation} == {180, 0, 90}
    assert c.ports["vdd"].width == pytest.approx(1.0)


def test_crossbar_component_is_the_layer_subckt() -> None:
    spec = _tiny()
    layer = spec.layers[0]
    c = C.crossbar(layer)
    assert [p.name for p in c.ports] == rcspike.layer_ports(layer)
    assert f".subckt imc_layer_a {' '.join(rcspike.layer_ports(layer))}" in c.info["netlist"]
    assert c.info["spec"]["width_um"] == [list(r) for r in layer.width_um]


def test_tiles_have_their_pins() -> None:
    layer = _tiny().layers[0]
    n, p, empty = C.synapse(layer, 0, 0), C.synapse(layer, 0, 1), C.synapse(layer, 0, 2)
    assert {q.name for q in n.ports} == {"vss", "vbn", "vbp", "vdd", "mem", "spk"}
    assert {q.name for q in p.ports} == {"vss", "vbn", "vbp", "vdd", "mem", "spkb"}
    assert {q.name for q in empty.ports} == {"vss", "vbn", "vbp", "vdd"}
    assert n.info["subckt"] == "imc_syn_n_a" and "nf={nf}" in n.info["netlist"]
    rails = [n.ports[k].center[1] for k in ("vss", "vbn", "vbp", "vdd")]
    assert rails == sorted(rails)
    neu = C.neuron(layer, 1)
    assert {q.name for q in neu.ports} == set(rcspike.neuron(layer).ports)
    assert neu.info["spec"]["mim_w_um"] == 9.0
    assert neu.ports["out"].layer_info.layer == pdk.get().layer("met3")[0]
    with pytest.raises(SpecError, match="outside"):
        C.synapse(layer, 2, 0)


@pytest.mark.filterwarnings("ignore:.*ignored for cross_section:UserWarning")
def test_chip_composed_with_gdsfactory_passes_imcflow_drc_and_lvs(tmp_path: Path) -> None:
    """Route the network's inputs and supplies to pads with gdsfactory, write the GDS, and sign
    it off with imcflow's DRC and LVS."""
    spec = default_spec()
    chip = gf.Component("imc_test_chip")
    net = chip << C.network(spec)
    x_pad = net.xmin - 60
    route = {"bend": gf.components.wire_corner, "straight": gf.components.straight,
             "sort_ports": True, "auto_taper": False, "allow_width_mismatch": True}
    inputs = [net.ports[f"{s}{j}"] for s in ("in", "inb") for j in range(spec.n_inputs)]
    pads = []
    for k in range(len(inputs)):
        pad = chip << gf.components.pad(size=(10, 10), layer=pdk.get().layer("met4"),
                                        port_orientations=(0,), port_type="electrical")
        pad.move((x_pad, net.ymin + 15 * k))
        pads.append(pad.ports["e1"])
    gf.routing.route_bundle(chip, inputs, pads, cross_section=C.cross_section("signal"),
                            separation=pdk.get().wire_style("signal").pitch_um, **route)
    rails, rail_pads = [net.ports["vss"], net.ports["vdd"]], []
    for k in range(2):
        pad = chip << gf.components.pad(size=(10, 10), layer=pdk.get().layer("met1"),
                                        port_orientations=(0,), port_type="electrical")
        pad.move((x_pad, net.ymin - 60 + 20 * k))
        rail_pads.append(pad.ports["e1"])
    gf.routing.route_bundle(chip, rails, rail_pads, cross_section=C.cross_section("supply"),
                            separation=pdk.get().wire_style("supply").pitch_um, **route)
    path = tmp_path / "chip.gds"
    chip.write_gds(path)

    report = drc(path)
    assert report.clean, report.text()
    check = lvs(path, spec)
    assert check.match, check.text()
    assert check.layout_devices == check.schematic_devices
    # the pads really are on the nets: a pad shorted to its neighbour's route breaks LVS
    chip2 = gf.Component("imc_test_chip_short")
    chip2 << chip
    chip2.add_polygon([(x_pad, net.ymin + 4), (x_pad + 10, net.ymin + 4),
                       (x_pad + 10, net.ymin + 16), (x_pad, net.ymin + 16)],
                      layer=pdk.get().layer("met4"))
    bad = tmp_path / "short.gds"
    chip2.write_gds(bad)
    broken = lvs(bad, spec)
    assert not broken.match and any("short" in i for i in broken.issues), broken.text()
