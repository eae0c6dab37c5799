"""Membrane-capacitance testbench: every membrane of a network discharged by a constant current.

The network sits in its accumulate-phase state with no input spike: reset released, fire low,
every spike line idle (true lines low, inverted lines high, so every synapse selector is off and
no synapse current flows), biases at their design values. After the reset opens at
:data:`T_RELEASE`, a constant current ``i_test`` (A) is drawn from each membrane to ground; the
membrane voltage then falls at dV/dt = −i_test / C(V), where C(V) is everything the membrane
node carries: MIM, wiring, the synapse current sources' drain junctions and overlaps, the reset
switch, the discharger and the comparator input (:mod:`imcflow.sim.capacitance` reads it off).
``subckts`` may be a post-layout extraction (the measured C then includes the extracted wiring
and the devices' extracted junction geometry).
"""

from __future__ import annotations

from dataclasses import dataclass

from imcflow import pdk
from imcflow.circuit import NEURON_CONTROLS
from imcflow.errors import SpecError
from imcflow.netlist.cells import network_ports, network_subckts
from imcflow.netlist.format import fmt
from imcflow.netlist.models import model_lines, title_suffix
from imcflow.netlist.testbench import TRAN_OPTIONS
from imcflow.spec import DesignSpec

#: When the reset opens and the test currents start, s.
T_RELEASE = 20e-9
#: Edge time of the reset release and of the test currents, s.
T_EDGE = 1e-9


@dataclass(frozen=True)
class CapacitanceBench:
    """A capacitance deck (no ``.control`` block), the membranes it probes and its timing."""

    text: str
    i_test_A: dict[str, float]
    t_stop: float

    @property
    def membranes(self) -> tuple[str, ...]:
        return tuple(self.i_test_A)

    @property
    def vectors(self) -> tuple[str, ...]:
        return tuple(f"v({m})" for m in self.membranes)


def build_capacitance(spec: DesignSpec, *, i_test_A: dict[str, float], t_ramp: float,
                      subckts: str | None = None, corner: str | None = None,
                      temperature: float | None = None,
                      mc_seed: int | None = None) -> CapacitanceBench:
    """The deck that discharges membrane ``<layer>_mem<i>`` with ``i_test_A[name]`` (A) for
    ``t_ramp`` s (``mc_seed``: a seeded mismatch instance, as the transient testbench)."""
    if t_ramp <= 0 or any(not i > 0 for i in i_test_A.values()):
        raise SpecError("the test currents and the ramp time must be positive")
    corner = corner or spec.corner
    if corner not in pdk.corners():
        raise SpecError(f"corner {corner!r} is not one of {', '.join(pdk.corners())}")
    temp = spec.temperature if temperature is None else float(temperature)
    vdd = fmt(spec.vdd)
    t_on = T_RELEASE + T_EDGE
    t_stop = t_on + t_ramp
    lines = [f"* imcflow membrane-capacitance testbench: {spec.name}, corner {corner}, "
             f"{fmt(temp)} C{title_suffix(mc_seed)}",
             *model_lines(corner, temp, mc_seed), TRAN_OPTIONS, "",
             subckts if subckts is not None else network_subckts(spec),
             "Xdut " + " ".join(network_ports(spec)) + f" imc_net_{spec.name}", "",
             f"Vdd vdd 0 {vdd}", "Vss vss 0 0"]
    for layer in spec.layers:
        n, s, d = layer.name, layer.synapse, layer.neuron
        level = {"v0": d.v0, "vdis": d.v_dis, "vcmp": d.v_cmp, "fire": 0.0}
        for net in NEURON_CONTROLS:
            if net == "rst":
                wave = f"PWL(0 {vdd} {fmt(T_RELEASE)} {vdd} {fmt(T_RELEASE + T_EDGE)} 0)"
            elif net == "rstb":
                wave = f"PWL(0 0 {fmt(T_RELEASE)} 0 {fmt(T_RELEASE + T_EDGE)} {vdd})"
            else:
                wave = fmt(level[net])
            lines.append(f"V{n}_{net} {n}_{net} 0 {wave}")
        lines += [f"V{n}_vbn {n}_vbn 0 {fmt(s.vb_n)}", f"V{n}_vbp {n}_vbp 0 {fmt(s.vb_p)}"]
        for i in range(layer.n_out):
            mem = f"{n}_mem{i}"
            if mem not in i_test_A:
                raise SpecError(f"no test current for membrane {mem}")
            lines.append(f"Itest_{mem} {mem} 0 PWL(0 0 {fmt(T_RELEASE)} 0 {fmt(t_on)} "
                         f"{fmt(i_test_A[mem])})")
    for j in range(spec.n_inputs):
        lines += [f"Vin{j} in{j} 0 0", f"Vinb{j} inb{j} 0 {vdd}"]
    lines += ["", f".tran {fmt(t_stop / 2000)} {fmt(t_stop)} 0 {fmt(t_stop / 500)}",
              ".save " + " ".join(f"v({m})" for m in i_test_A), ".end", ""]
    return CapacitanceBench(text="\n".join(lines), i_test_A=dict(i_test_A), t_stop=t_stop)
