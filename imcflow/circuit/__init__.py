"""The circuit description: one structural source for the netlist, the layout and LVS.

* :mod:`.model` — :class:`Device` (role, nets, W, L, fingers), :class:`Instance`, :class:`Cell`
  (ports, parameters, elements), :class:`Library` (cells in order; :meth:`Library.flatten`);
* :mod:`.rcspike` — the RC-Spike cells built from a design spec: synapse, neuron, discharger,
  crossbar layer, network; the control-net names; each net's wire class.

Like a gLayout component that carries its own netlist, every cell imcflow draws is described here
once: :mod:`imcflow.netlist.cells` renders it as SPICE, :mod:`imcflow.layout.cells` places the
neuron's devices from it, and :mod:`imcflow.extract.lvs` checks the layout against its
flattened devices. Device models come from the PDK object by role (:meth:`imcflow.pdk.Pdk.model`).
"""

from imcflow.circuit.model import (
    Cell,
    Device,
    FlatDevice,
    Instance,
    Library,
    Param,
    Value,
    check_name,
    resolve,
)
from imcflow.circuit.rcspike import (
    CONTROL_NETS,
    NEURON_CONTROLS,
    SUPPLIES,
    SYNAPSE_BIASES,
    crossbar,
    discharger,
    discharger_devices,
    l_min,
    layer_cells,
    layer_ports,
    net_class,
    network,
    network_ports,
    neuron,
    neuron_internal_nets,
    synapse,
)

__all__ = [
    "CONTROL_NETS", "NEURON_CONTROLS", "SUPPLIES", "SYNAPSE_BIASES", "Cell", "Device",
    "FlatDevice", "Instance", "Library", "Param", "Value", "check_name", "crossbar",
    "discharger", "discharger_devices", "l_min", "layer_cells", "layer_ports", "net_class",
    "network", "network_ports", "neuron", "neuron_internal_nets", "resolve", "synapse",
]
