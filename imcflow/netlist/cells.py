"""SPICE text of the circuit description (:mod:`imcflow.circuit`): ``.subckt`` per cell.

The circuit itself — which devices, sizes and nets each cell has — is written in
:mod:`imcflow.circuit.rcspike`; this module only renders it (sizes in µm, as the sky130 models
expect). A transistor is ``X<name> d g s b <model> W=… L=… nf=…``, the MIM capacitor
``X<name> top bottom <model> W=… L=…``; a cell parameter is written ``{name}``; an instance is
``X… <nets> <cell> [param=value …]``. Cells are separated by one blank line; the same spec gives
byte-identical text.
"""

from __future__ import annotations

from imcflow import pdk
from imcflow.circuit import (
    Cell,
    Device,
    Instance,
    Library,
    Param,
    Value,
    layer_ports,
    network_ports,
    rcspike,
)
from imcflow.netlist.format import fmt
from imcflow.spec import DesignSpec, LayerSpec

__all__ = ["layer_ports", "layer_subckt", "network_ports", "network_subckts", "neuron_subckt",
           "render_cell", "render_flat", "render_library", "synapse_subckts"]


def _value(v: Value) -> str:
    """A size or count as netlist text: ``{param}``, an integer, or a formatted float."""
    if isinstance(v, Param):
        return "{" + v.name + "}"
    if isinstance(v, bool):
        raise TypeError("a boolean is not a netlist value")
    if isinstance(v, int):
        return str(v)
    return fmt(v)


def _device_line(d: Device) -> str:
    head = f"X{d.name} {' '.join(d.nets)} {d.model} W={_value(d.w)} L={_value(d.l)}"
    return head + f" nf={_value(d.nf)}" if d.is_mos else head


def _instance_line(inst: Instance) -> str:
    params = "".join(f" {k}={_value(v)}" for k, v in inst.params)
    return f"{inst.name} {' '.join(inst.nets)} {inst.cell}{params}"


def render_cell(cell: Cell) -> str:
    """``.subckt … .ends`` of ``cell``, newline-terminated."""
    head = " ".join([".subckt", cell.name, *cell.ports,
                     *(f"{k}={_value(v)}" for k, v in cell.params)])
    lines = [head]
    for e in cell.elements:
        if isinstance(e, Device):
            if e.section:
                lines.append(f"* {e.section}")
            lines.append(_device_line(e))
        else:
            lines.append(_instance_line(e))
    lines += [f".ends {cell.name}", ""]
    return "\n".join(lines)


def render_library(lib: Library) -> str:
    """All cells of ``lib`` after its title comment."""
    head = f"* {lib.title}\n\n" if lib.title else ""
    return head + "\n".join(render_cell(c) for c in lib.cells)


def render_flat(lib: Library, top: str | None = None) -> str:
    """Cell ``top`` (default: the last) flattened into one ``.subckt`` with numeric sizes —
    for tools that do not evaluate subcircuit parameters (netgen). Internal nets and devices are
    named by their instance path with ``_`` for the separator (``Xl1_XN0_dx``)."""
    cell = lib.cell(top) if top is not None else lib.top
    lines = [f"* {lib.title} (flat)" if lib.title else "* flat",
             " ".join([".subckt", cell.name, *cell.ports])]
    for d in lib.flatten(cell.name):
        nets = " ".join(n.replace(".", "_") for n in d.nets)
        size = f"W={_value(d.w)} L={_value(d.l)}"
        nf = f" nf={d.nf}" if pdk.get().role(d.role).is_mos else ""
        lines.append(f"X{d.name.replace('.', '_')} {nets} {d.model} {size}{nf}")
    lines += [f".ends {cell.name}", ""]
    return "\n".join(lines)


def synapse_subckts(layer: LayerSpec) -> str:
    """The NMOS and PMOS synapse subcircuits of ``layer`` (params ``w`` total µm, ``nf``)."""
    return "\n".join(render_cell(rcspike.synapse(layer, p)) for p in ("n", "p"))


def neuron_subckt(layer: LayerSpec) -> str:
    """The neuron subcircuit of ``layer`` (params ``cw``, ``cl``: MIM W and L in µm)."""
    return render_cell(rcspike.neuron(layer))


def layer_subckt(layer: LayerSpec) -> str:
    """The crossbar subcircuit ``imc_layer_<name>``: synapses and neurons of one layer."""
    return render_cell(rcspike.crossbar(layer))


def network_subckts(spec: DesignSpec) -> str:
    """All subcircuits of ``spec``, ending with ``imc_net_<name>``."""
    return render_library(rcspike.network(spec))
