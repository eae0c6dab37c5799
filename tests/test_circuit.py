"""The circuit description: one source for the netlist, the layout and LVS."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

from imcflow import layout as L
from imcflow import pdk
from imcflow.circuit import (
    CONTROL_NETS,
    Cell,
    Device,
    Instance,
    Library,
    Param,
    net_class,
    rcspike,
)
from imcflow.errors import SpecError
from imcflow.extract import devices as dev_mod
from imcflow.extract import gds
from imcflow.extract.lvs import lvs, lvs_extraction
from imcflow.layout.cells import neuron_devices
from imcflow.netlist.cells import network_subckts, render_cell, render_flat
from imcflow.spec import DesignSpec, default_spec, make_layer, validate

sys.path.insert(0, str(Path(__file__).parent))
from test_layout_build import small_spec  # noqa: E402

#: sha256 of the demo spec's netlist. The flow's cache and every ngspice result are keyed on
#: these bytes: change it only with a stated reason (and a note in the commit).
DEMO_NETLIST_SHA256 = "5d32a0414e35cad0750c0e30d0c68647994be4385e55d04bad9bbf1b2a978aba"


def test_demo_netlist_bytes_are_unchanged() -> None:
    text = network_subckts(default_spec())
    digest = hashlib.sha256(text.encode()).hexdigest()
    assert digest == DEMO_NETLIST_SHA256, digest


def test_roles_map_to_models_through_the_pdk() -> None:
    cell = rcspike.neuron(default_spec().layers[0])
    models = {d.role: d.model for d in cell.devices}
    assert models == {r: pdk.get().model(r) for r in models}
    assert models["mim"] == "sky130_fd_pr__cap_mim_m3_1"
    assert models["nfet_lvt"] == "sky130_fd_pr__nfet_01v8_lvt"
    assert "XCN c1 mem vss vss sky130_fd_pr__nfet_01v8_lvt W=8.0 L=0.15 nf=1" in render_cell(cell)


def test_control_nets_are_one_tuple_in_every_port_list() -> None:
    spec = default_spec()
    layer = spec.layers[0]
    assert rcspike.layer_ports(layer)[-10:] == [*CONTROL_NETS, "vdd", "vss"]
    ports = rcspike.network_ports(spec)
    for ly in spec.layers:
        assert [p for p in ports if p.startswith(f"{ly.name}_") and
                p.split("_", 1)[1] in CONTROL_NETS] == [f"{ly.name}_{c}" for c in CONTROL_NETS]


def test_layout_places_exactly_the_circuit_transistors() -> None:
    layer = default_spec().layers[0]
    cell = rcspike.neuron(layer)
    drawn = {(d.name, d.w, d.l, d.d, d.g, d.s) for d in neuron_devices(layer)}
    want = {(d.name, round(float(d.w) * 1000), round(float(d.l) * 1000), *d.nets[:3])
            for d in cell.devices if d.is_mos}
    assert drawn == want
    kinds = [d.kind[0] for d in neuron_devices(layer)]
    assert kinds == sorted(kinds, key=lambda k: k != "p")        # PMOS first: one n-well


def test_flatten_resolves_parameters_and_hierarchy() -> None:
    spec = small_spec()
    flat = rcspike.network(spec).flatten()
    n_syn = sum(1 for ly in spec.layers for row in ly.width_um for w in row if w != 0)
    n_neu = sum(ly.n_out for ly in spec.layers)
    assert len(flat) == 2 * n_syn + 18 * n_neu
    sel = next(d for d in flat if d.name == "Xa.XSN_1_1.SEL")        # w = 2.52 µm, 3 fingers
    assert (sel.w, sel.nf, sel.l) == (2.52, 3, 0.15)
    assert sel.nets == ("Xa.XSN_1_1.x", "in1", "vss", "vss")
    mim = next(d for d in flat if d.name == "Xa.XN1.CM")
    assert (mim.w, mim.l) == (9.0, 9.0) and mim.nets == ("a_mem1", "vss")
    # layer b's inputs are layer a's outputs
    assert next(d for d in flat if d.name == "Xb.XSN_0_0.SEL").nets[1] == "a_out0"


def test_flat_rendering_has_numeric_sizes() -> None:
    spec = small_spec()
    lib = rcspike.network(spec)
    text = render_flat(lib)
    assert "{" not in text and text.count("\nX") == len(lib.flatten())
    assert "XXa_XSN_1_1_SEL Xa_XSN_1_1_x in1 vss vss sky130_fd_pr__nfet_01v8 W=2.52 L=0.15 nf=3" \
        in text


def test_bad_names_and_shapes_are_refused() -> None:
    ok = Device("M1", "nfet", ("d", "g", "s", "b"), 1.0, 0.15)
    with pytest.raises(SpecError, match="not an identifier"):
        Device("M 1", "nfet", ("d", "g", "s", "b"), 1.0, 0.15)
    with pytest.raises(SpecError, match="not an identifier"):
        Device("M1", "nfet", ("d", "g;rm", "s", "b"), 1.0, 0.15)
    with pytest.raises(SpecError, match="needs 4 nets"):
        Device("M1", "nfet", ("d", "g"), 1.0, 0.15)
    with pytest.raises(Exception, match="unknown device role"):
        Device("M1", "bjt", ("c", "b", "e", "s"), 1.0, 0.15)
    with pytest.raises(SpecError, match="not defined before"):
        Library((Cell("top", ("a",), (Instance("X1", "leaf", ("a",)),)),))
    leaf = Cell("leaf", ("d", "g"), (ok,))
    with pytest.raises(SpecError, match="1 nets for the 2 ports"):
        Library((leaf, Cell("top", ("a",), (Instance("X1", "leaf", ("a",)),))))
    with pytest.raises(SpecError, match="parameter 'w' is not defined"):
        Library((Cell("c", ("d",), (Device("M", "nfet", ("d", "d", "d", "d"), Param("w"), 1.0),
                                     )),)).flatten()


def test_net_classes_have_wire_styles() -> None:
    styles = pdk.get().wire_styles
    for net in rcspike.network_ports(small_spec()):
        assert net_class(net) in styles
    assert net_class("in3") == net_class("a_outb1") == "signal"
    assert net_class("vdd") == "supply" and net_class("a_vbn") == "bias"
    assert net_class("a_fire") == "control" and net_class("b_mem0") == "membrane"


def test_lvs_from_the_circuit_agrees_with_lvs_from_its_spice(tmp_path) -> None:
    spec = small_spec()
    path = L.write_gds(L.build(spec), tmp_path / "tiny.gds")
    top = f"imc_net_{spec.name}"
    ports = rcspike.network_ports(spec)
    a = lvs_extraction(dev_mod.extract_netlist(gds.load(path)), rcspike.network(spec), top, ports)
    b = lvs_extraction(dev_mod.extract_netlist(gds.load(path)), network_subckts(spec), top, ports)
    assert a.match and b.match, a.text() + b.text()
    assert a.schematic_devices == b.schematic_devices == a.layout_devices


def _variant_neuron(layer):
    """The neuron plus one extra transistor (a weak pull-down on c1, gated by c2)."""
    base = _ORIGINAL_NEURON(layer)
    extra = Device("KN", "nfet", ("c1", "c2", "vss", "vss"), 0.42, 0.5)
    return Cell(base.name, base.ports, (*base.elements, extra), base.params)


_ORIGINAL_NEURON = rcspike.neuron


def test_a_neuron_variant_is_one_change(tmp_path, monkeypatch) -> None:
    """Changing the neuron in the circuit description alone changes the netlist, the layout and
    the LVS reference together: the variant's layout matches the variant, not the original."""
    spec = DesignSpec(name="one", layers=(make_layer("a", np.array([[1.0, -1.0]]), mim_um=4.0),))
    validate(spec)
    original = L.write_gds(L.build(spec), tmp_path / "orig.gds")
    monkeypatch.setattr(rcspike, "neuron", _variant_neuron)
    assert "XKN c1 c2 vss vss sky130_fd_pr__nfet_01v8 W=0.42 L=0.5 nf=1" in network_subckts(spec)
    variant = L.write_gds(L.build(spec), tmp_path / "variant.gds")
    good = lvs(variant, spec)
    assert good.match, good.text()
    assert not lvs(original, spec).match                 # the old layout lacks the new device
    monkeypatch.setattr(rcspike, "neuron", _ORIGINAL_NEURON)
    assert not lvs(variant, spec).match
