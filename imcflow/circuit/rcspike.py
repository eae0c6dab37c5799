"""The RC-Spike crossbar as cells, built from a :class:`~imcflow.spec.DesignSpec`.

This module is the one place the circuit is written down (after Sakemi et al., PAPERS.md §1.4;
sizes carry the weights, not biases). The netlist writer renders it, the layout generator places
the neuron's devices from it, LVS compares the layout against it, and the DC benches reuse its
synapse and discharger cells.

* ``imc_syn_n_<layer>`` — positive weight: current-source NMOS (drain on the membrane, gate at
  ``vbn``) over a selector NMOS gated by the spike; it *discharges* the membrane while the spike
  is high, so v = −(V − V₀)/V_th rises. Both share W and fingers; the selector has L =
  ``sel_l_um``.
* ``imc_syn_p_<layer>`` — negative weight: the mirror image with PMOS to VDD, selector gated by
  the inverted spike; it *charges* the membrane.
* ``imc_neuron_<layer>`` — MIM membrane to ground; reset transmission gate to V₀ (``rst``/
  ``rstb``); discharger NMOS current source (gate ``vdis``) enabled by ``fire``; comparator: a
  current-limited inverter (PMOS at ``vcmp`` over an HVT PMOS, LVT NMOS) that flips when the
  membrane falls below V_switch (default sizes: measured V_switch = 0.483 V, 9.5 nA at V₀,
  ≤ 3 µA while switching; the output moves < 3 ns between a 2 fF and a 15 fF load on a
  0.87 V/µs ramp — the first, 0.42/1.5 µm current limit took ~1 µs with post-layout wiring);
  two restoring inverters; NAND with ``fire`` and an inverter give ``out`` (a clean step: high
  from the crossing to the end of the fire phase) and ``outb``.
* ``imc_layer_<layer>`` — the crossbar: synapse (i, j) between input j and membrane i (none
  where the width is 0), one neuron per output.
* ``imc_net_<name>`` — layers chained: layer l's ``out``/``outb`` are layer l+1's inputs.
* ``imc_dis_<layer>`` — the neuron's discharger alone (for the DC benches).

Sizes in µm; switches and logic at the minimum channel length of the 1.8 V devices.
"""

from __future__ import annotations

from imcflow import pdk
from imcflow.circuit.model import Cell, Device, Instance, Library, Param, Value
from imcflow.spec import DesignSpec, LayerSpec, NeuronDesign, check_identifier

#: Per-layer control nets in port order: phase clocks, reset level, synapse biases, discharger
#: and comparator biases.
CONTROL_NETS = ("rst", "rstb", "fire", "v0", "vbn", "vbp", "vdis", "vcmp")
#: The synapse current-source biases (crossbar trunks); the other control nets run along the
#: neuron row.
SYNAPSE_BIASES = ("vbn", "vbp")
NEURON_CONTROLS = tuple(n for n in CONTROL_NETS if n not in SYNAPSE_BIASES)
SUPPLIES = ("vdd", "vss")


def l_min() -> float:
    """Minimum channel length of the 1.8 V devices, µm (switches and logic)."""
    return pdk.device("nfet_01v8").l_min_um


def _ident(name: str) -> str:
    check_identifier(name, "layer name")
    return name


def net_class(net: str) -> str:
    """Net class of a cell or network net (a key of the PDK's wire styles): ``signal`` (spike
    inputs ``in``/``inb``/``spk``/``spkb``, neuron outputs), ``control`` (the neuron row's
    clocks and levels), ``bias`` (synapse biases), ``membrane`` (bit lines), ``supply``."""
    base = net.rsplit("_", 1)[-1] if "_" in net else net
    if base in SUPPLIES:
        return "supply"
    if base in SYNAPSE_BIASES:
        return "bias"
    if base in NEURON_CONTROLS:
        return "control"
    if base.startswith("mem"):
        return "membrane"
    if base.startswith(("in", "out", "spk")):
        return "signal"
    raise ValueError(f"net {net!r} has no net class")


# --------------------------------------------------------------------------- synapse
def synapse(layer: LayerSpec, polarity: str) -> Cell:
    """``imc_syn_<polarity>_<layer>`` (params ``w``: total width µm, ``nf``: fingers)."""
    n = _ident(layer.name)
    s = layer.synapse
    w, nf = Param("w"), Param("nf")
    if polarity == "n":
        ports, role, spk, bias, rail = ("mem", "spk", "vbn", "vss"), "nfet", "spk", "vbn", "vss"
    elif polarity == "p":
        ports, role, spk, bias, rail = ("mem", "spkb", "vbp", "vdd"), "pfet", "spkb", "vbp", "vdd"
    else:
        raise ValueError(f"synapse polarity must be 'n' or 'p', got {polarity!r}")
    return Cell(f"imc_syn_{polarity}_{n}", ports, (
        Device("CS", role, ("mem", bias, "x", rail), w, s.l_um, nf),
        Device("SEL", role, ("x", spk, rail, rail), w, s.sel_l_um, nf),
    ), params=(("w", 1), ("nf", 1)))


# --------------------------------------------------------------------------- neuron
def discharger_devices(d: NeuronDesign, w: Value, section: str = "") -> tuple[Device, Device]:
    """The discharger: current source (gate ``vdis``, L = ``dis_l_um``) over the fire-enable
    switch, both of width ``w`` µm, from ``mem`` to ``vss``."""
    return (Device("DCS", "nfet", ("mem", "vdis", "dx", "vss"), w, d.dis_l_um, section=section),
            Device("DEN", "nfet", ("dx", "fire", "vss", "vss"), w, l_min()))


def discharger(layer: LayerSpec) -> Cell:
    """``imc_dis_<layer>``: the neuron's discharger alone (param ``w``: W of the current source
    and of its enable switch, µm)."""
    n = _ident(layer.name)
    return Cell(f"imc_dis_{n}", ("mem", "vdis", "fire", "vss"),
                discharger_devices(layer.neuron, Param("w")), params=(("w", 1),))


def neuron(layer: LayerSpec) -> Cell:
    """``imc_neuron_<layer>`` (params ``cw``, ``cl``: MIM W and L in µm)."""
    n = _ident(layer.name)
    d = layer.neuron
    lm = l_min()
    wn, wp = d.logic_wn_um, d.logic_wp_um
    return Cell(f"imc_neuron_{n}",
                ("mem", "out", "outb", *NEURON_CONTROLS, *SUPPLIES), (
        Device("CM", "mim", ("mem", "vss"), Param("cw"), Param("cl"),
               section="membrane: MIM capacitor, bottom plate grounded"),
        Device("RN", "nfet", ("mem", "rst", "v0", "vss"), d.reset_w_um, lm,
               section="reset transmission gate to V0"),
        Device("RP", "pfet", ("mem", "rstb", "v0", "vdd"), d.reset_w_um, lm),
        *discharger_devices(d, d.dis_w_um,
                            section="discharger: current source enabled in the fire phase"),
        Device("CB", "pfet", ("cx", "vcmp", "vdd", "vdd"), d.cmp_wb_um, d.cmp_lb_um,
               section="comparator: current-limited inverter, high when mem < V_switch"),
        Device("CP", "pfet_hvt", ("c1", "mem", "cx", "vdd"), d.cmp_wp_um, lm),
        Device("CN", "nfet_lvt", ("c1", "mem", "vss", "vss"), d.cmp_wn_um, lm),
        Device("I1P", "pfet", ("c2", "c1", "vdd", "vdd"), wp, lm,
               section="two restoring inverters"),
        Device("I1N", "nfet", ("c2", "c1", "vss", "vss"), wn, lm),
        Device("I2P", "pfet", ("c3", "c2", "vdd", "vdd"), wp, lm),
        Device("I2N", "nfet", ("c3", "c2", "vss", "vss"), wn, lm),
        Device("NAP", "pfet", ("outb", "c3", "vdd", "vdd"), wp, lm,
               section="output: out = c3 AND fire (NAND + inverter); outb = NAND output"),
        Device("NBP", "pfet", ("outb", "fire", "vdd", "vdd"), wp, lm),
        Device("NAN", "nfet", ("outb", "c3", "nx", "vss"), 2 * wn, lm),
        Device("NBN", "nfet", ("nx", "fire", "vss", "vss"), 2 * wn, lm),
        Device("OP", "pfet", ("out", "outb", "vdd", "vdd"), wp, lm),
        Device("ON", "nfet", ("out", "outb", "vss", "vss"), wn, lm),
    ), params=(("cw", 7), ("cl", 7)))


def neuron_internal_nets() -> tuple[str, ...]:
    """The neuron's internal nets (not ports), sorted; they do not depend on sizes."""
    probe = LayerSpec(name="probe", width_um=((1.0,),), fingers=((1,),), mim_w_um=(7.0,),
                      mim_l_um=(7.0,))
    return tuple(sorted(neuron(probe).internal_nets()))


# --------------------------------------------------------------------------- layer
def layer_ports(layer: LayerSpec) -> list[str]:
    """Port order of ``imc_layer_<name>``."""
    ports = [f"in{j}" for j in range(layer.n_in)] + [f"inb{j}" for j in range(layer.n_in)]
    ports += [f"out{i}" for i in range(layer.n_out)] + [f"outb{i}" for i in range(layer.n_out)]
    ports += [f"mem{i}" for i in range(layer.n_out)]
    return ports + [*CONTROL_NETS, *SUPPLIES]


def crossbar(layer: LayerSpec) -> Cell:
    """``imc_layer_<name>``: the synapses and neurons of one layer."""
    n = _ident(layer.name)
    grid = pdk.snap
    elements: list[Instance] = []
    for i in range(layer.n_out):
        for j in range(layer.n_in):
            w, nf = layer.width_um[i][j], layer.fingers[i][j]
            if w > 0:
                elements.append(Instance(f"XSN_{i}_{j}", f"imc_syn_n_{n}",
                                         (f"mem{i}", f"in{j}", "vbn", "vss"),
                                         (("w", grid(w)), ("nf", nf))))
            elif w < 0:
                elements.append(Instance(f"XSP_{i}_{j}", f"imc_syn_p_{n}",
                                         (f"mem{i}", f"inb{j}", "vbp", "vdd"),
                                         (("w", grid(-w)), ("nf", nf))))
    for i in range(layer.n_out):
        elements.append(Instance(f"XN{i}", f"imc_neuron_{n}",
                                 (f"mem{i}", f"out{i}", f"outb{i}", *NEURON_CONTROLS,
                                  *SUPPLIES),
                                 (("cw", layer.mim_w_um[i]), ("cl", layer.mim_l_um[i]))))
    return Cell(f"imc_layer_{n}", tuple(layer_ports(layer)), tuple(elements))


def layer_cells(layer: LayerSpec) -> tuple[Cell, ...]:
    """The cells of one layer in dependency order: synapses, neuron, crossbar."""
    return synapse(layer, "n"), synapse(layer, "p"), neuron(layer), crossbar(layer)


# --------------------------------------------------------------------------- network
def network_ports(spec: DesignSpec) -> list[str]:
    """Port order of ``imc_net_<name>``: inputs, then per layer outputs, membranes, control
    nets; then vdd, vss. Top-level node names are the same strings."""
    first = spec.layers[0]
    ports = [f"in{j}" for j in range(first.n_in)] + [f"inb{j}" for j in range(first.n_in)]
    for layer in spec.layers:
        n = layer.name
        ports += [f"{n}_out{i}" for i in range(layer.n_out)]
        ports += [f"{n}_outb{i}" for i in range(layer.n_out)]
        ports += [f"{n}_mem{i}" for i in range(layer.n_out)]
        ports += [f"{n}_{s}" for s in CONTROL_NETS]
    return ports + list(SUPPLIES)


def network(spec: DesignSpec) -> Library:
    """Every cell of ``spec``, ending with ``imc_net_<name>``."""
    cells: list[Cell] = []
    instances: list[Instance] = []
    prev_out: list[str] | None = None
    prev_outb: list[str] | None = None
    for layer in spec.layers:
        cells += layer_cells(layer)
        n = layer.name
        ins = prev_out or [f"in{j}" for j in range(layer.n_in)]
        inbs = prev_outb or [f"inb{j}" for j in range(layer.n_in)]
        outs = [f"{n}_out{i}" for i in range(layer.n_out)]
        outbs = [f"{n}_outb{i}" for i in range(layer.n_out)]
        mems = [f"{n}_mem{i}" for i in range(layer.n_out)]
        ctl = [f"{n}_{s}" for s in CONTROL_NETS]
        instances.append(Instance(f"X{n}", f"imc_layer_{n}",
                                  (*ins, *inbs, *outs, *outbs, *mems, *ctl, *SUPPLIES)))
        prev_out, prev_outb = outs, outbs
    cells.append(Cell(f"imc_net_{_ident(spec.name)}", tuple(network_ports(spec)),
                      tuple(instances)))
    title = (f"imcflow network {spec.name}: shape " + "-".join(str(k) for k in spec.shape))
    return Library(tuple(cells), title=title)
