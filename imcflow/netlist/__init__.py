"""SPICE netlists of the RC-Spike circuit in sky130, generated from a :class:`DesignSpec`.

* :mod:`.cells` — ``.subckt`` text of the synapse (NMOS / PMOS pair), the neuron, a layer and the
  network;
* :mod:`.testbench` — transient decks: phase clocks, PWL input spikes, supply-current probe;
* :mod:`.dc` — DC sweeps of single synapse and discharger devices (what the fitter needs).

All text is deterministic: the same spec gives byte-identical netlists. Names that reach a
netlist are validated identifiers (see :func:`imcflow.spec.check_identifier`); numbers are
formatted by :func:`fmt`.
"""

from imcflow.netlist.cells import network_subckts
from imcflow.netlist.testbench import Testbench, build_transient, phase_times, stimuli

__all__ = ["Testbench", "build_transient", "network_subckts", "phase_times", "stimuli"]
