"""Post-layout netlist: devices + parasitics extracted from a GDS, written as SPICE."""

from __future__ import annotations

import os
from dataclasses import dataclass

import klayout.db as kdb

from imcflow.extract import parasitics as par_mod
from imcflow.extract import spice
from imcflow.extract.devices import Extraction, extract_netlist
from imcflow.extract.gds import Design, load

#: Parasitic capacitors below this value (F) are dropped from the netlist (still in totals).
C_MIN = 1e-19


@dataclass
class PostLayout:
    """An extraction with its parasitics and SPICE text."""

    extraction: Extraction
    parasitics: par_mod.Parasitics | None
    spice: str


def _add_parasitics(ext: Extraction, par: par_mod.Parasitics, resistance: bool) -> None:
    nl, circuit = ext.netlist, ext.circuit
    cap_cls = kdb.DeviceClassCapacitor()
    cap_cls.name = spice.PAR_C
    nl.add(cap_cls)
    nets = {n.cluster_id: n for n in circuit.each_net()}
    sub = par_mod._substrate_net(ext)
    gnd = circuit.net_by_cluster_id(sub.cluster_id) if sub is not None else None
    if gnd is None:
        gnd = circuit.create_net("0")
    k = 0
    for n, c in sorted(par.ground.items()):
        if c < C_MIN or n not in nets or n == gnd.cluster_id:
            continue
        k += 1
        d = circuit.create_device(cap_cls, f"g{k}")
        d.connect_terminal("A", nets[n])
        d.connect_terminal("B", gnd)
        d.set_parameter("C", c)
    for (a, b), c in sorted(par.coupling.items()):
        if c < C_MIN or a not in nets or b not in nets:
            continue
        k += 1
        d = circuit.create_device(cap_cls, f"c{k}")
        d.connect_terminal("A", nets[a])
        d.connect_terminal("B", nets[b])
        d.set_parameter("C", c)
    if resistance:
        res_cls = kdb.DeviceClassResistor()
        res_cls.name = spice.PAR_R
        nl.add(res_cls)
        # Lumped: each port net gets one series resistor (its total wire resistance)
        # between the pin and the rest of the net.
        for pin in list(circuit.each_pin()):
            net = circuit.net_for_pin(pin.id())
            r = par.resistance.get(net.cluster_id, 0.0) if net is not None else 0.0
            if net is None or r <= 0.0:
                continue
            outer = circuit.create_net(pin.name())
            inner_name = f"{pin.name()}__int"
            circuit.disconnect_pin(pin.id())
            net.name = inner_name
            circuit.connect_pin(pin.id(), outer)
            k += 1
            d = circuit.create_device(res_cls, f"r{k}")
            d.connect_terminal("A", outer)
            d.connect_terminal("B", net)
            d.set_parameter("R", r)


def extract_design(design: Design, ports: list[str] | None = None, *,
                   subckt: str | None = None, parasitics: bool = True,
                   resistance: bool = False) -> PostLayout:
    """Extract devices (and parasitics) of a loaded design and write SPICE."""
    ext = extract_netlist(design)
    spice.attach_ports(ext, ports if ports is not None else spice.default_ports(ext))
    par = None
    if parasitics:
        par = par_mod.extract_parasitics(ext, resistance=resistance)
        _add_parasitics(ext, par, resistance)
    text = spice.write_spice(ext, subckt or design.top_name)
    return PostLayout(extraction=ext, parasitics=par, spice=text)


def extract(gds: str | os.PathLike[str], ports: list[str] | None = None, *,
            top: str | None = None, subckt: str | None = None, parasitics: bool = True,
            resistance: bool = False) -> str:
    """Post-layout SPICE of ``gds``: ``.subckt <subckt or top cell> <ports…>``."""
    return extract_design(load(gds, top), ports, subckt=subckt, parasitics=parasitics,
                          resistance=resistance).spice
