"""Subcircuits of the RC-Spike crossbar (sizes in µm, as the sky130 models expect).

Circuit (after Sakemi et al., PAPERS.md §1.4; sizes carry the weights, not biases):

* ``imc_syn_n_<layer>`` — positive weight: current-source NMOS (drain on the membrane, gate at
  ``vbn``) over a selector NMOS gated by the spike; it *discharges* the membrane while the spike
  is high, so v = −(V − V₀)/V_th rises. Both share W and fingers; the selector has L = ``sel_l_um``.
* ``imc_syn_p_<layer>`` — negative weight: the mirror image with PMOS to VDD, selector gated by
  the inverted spike; it *charges* the membrane.
* ``imc_neuron_<layer>`` — MIM membrane to ground; reset transmission gate to V₀ (``rst``/
  ``rstb``); discharger NMOS current source (gate ``vdis``) enabled by ``fire``; comparator: a
  current-limited inverter (PMOS at ``vcmp`` over an HVT PMOS, LVT NMOS) that flips when the
  membrane falls below V_switch (default sizes: measured V_switch = 0.483 V, 9.5 nA at V₀,
  ≤ 3 µA while switching; the output moves < 3 ns between a 2 fF and a 15 fF load on a
  0.87 V/µs ramp — the first, 0.42/1.5 µm current limit took ~1 µs with post-layout wiring);
  two restoring inverters; NAND with ``fire`` and an inverter give
  ``out`` (a clean step: high from the crossing to the end of the fire phase) and ``outb``.
* ``imc_layer_<layer>`` — the crossbar: synapse (i, j) between input j and membrane i.
* ``imc_net_<name>`` — layers chained: layer l's ``out``/``outb`` are layer l+1's inputs.
"""

from __future__ import annotations

from imcflow import pdk
from imcflow.netlist.format import fmt, ident
from imcflow.spec import DesignSpec, LayerSpec

NFET = "sky130_fd_pr__nfet_01v8"
PFET = "sky130_fd_pr__pfet_01v8"
NFET_LVT = "sky130_fd_pr__nfet_01v8_lvt"
PFET_HVT = "sky130_fd_pr__pfet_01v8_hvt"
MIM = "sky130_fd_pr__cap_mim_m3_1"
L_MIN = 0.15  # µm, switches and logic


def _mos(name: str, d: str, g: str, s: str, b: str, model: str, w: float | str,
         l: float | str, nf: int | str = 1) -> str:
    w_txt = w if isinstance(w, str) else fmt(w)
    l_txt = l if isinstance(l, str) else fmt(l)
    nf_txt = nf if isinstance(nf, str) else str(int(nf))
    return f"X{name} {d} {g} {s} {b} {model} W={w_txt} L={l_txt} nf={nf_txt}"


def layer_ports(layer: LayerSpec) -> list[str]:
    """Port order of ``imc_layer_<name>``."""
    ports = [f"in{j}" for j in range(layer.n_in)] + [f"inb{j}" for j in range(layer.n_in)]
    ports += [f"out{i}" for i in range(layer.n_out)] + [f"outb{i}" for i in range(layer.n_out)]
    ports += [f"mem{i}" for i in range(layer.n_out)]
    ports += ["rst", "rstb", "fire", "v0", "vbn", "vbp", "vdis", "vcmp", "vdd", "vss"]
    return ports


def synapse_subckts(layer: LayerSpec) -> str:
    """The NMOS and PMOS synapse subcircuits of ``layer`` (params ``w`` total µm, ``nf``)."""
    n = ident(layer.name, "layer name")
    s = layer.synapse
    return "\n".join([
        f".subckt imc_syn_n_{n} mem spk vbn vss w=1 nf=1",
        _mos("CS", "mem", "vbn", "x", "vss", NFET, "{w}", s.l_um, "{nf}"),
        _mos("SEL", "x", "spk", "vss", "vss", NFET, "{w}", s.sel_l_um, "{nf}"),
        f".ends imc_syn_n_{n}",
        "",
        f".subckt imc_syn_p_{n} mem spkb vbp vdd w=1 nf=1",
        _mos("CS", "mem", "vbp", "x", "vdd", PFET, "{w}", s.l_um, "{nf}"),
        _mos("SEL", "x", "spkb", "vdd", "vdd", PFET, "{w}", s.sel_l_um, "{nf}"),
        f".ends imc_syn_p_{n}",
        "",
    ])


def neuron_subckt(layer: LayerSpec) -> str:
    """The neuron subcircuit of ``layer`` (params ``cw``, ``cl``: MIM W and L in µm)."""
    n = ident(layer.name, "layer name")
    d = layer.neuron
    wn, wp = d.logic_wn_um, d.logic_wp_um
    lines = [
        f".subckt imc_neuron_{n} mem out outb rst rstb fire v0 vdis vcmp vdd vss cw=7 cl=7",
        "* membrane: MIM capacitor, bottom plate grounded",
        f"XCM mem vss {MIM} W={{cw}} L={{cl}}",
        "* reset transmission gate to V0",
        _mos("RN", "mem", "rst", "v0", "vss", NFET, d.reset_w_um, L_MIN),
        _mos("RP", "mem", "rstb", "v0", "vdd", PFET, d.reset_w_um, L_MIN),
        "* discharger: current source enabled in the fire phase",
        _mos("DCS", "mem", "vdis", "dx", "vss", NFET, d.dis_w_um, d.dis_l_um),
        _mos("DEN", "dx", "fire", "vss", "vss", NFET, d.dis_w_um, L_MIN),
        "* comparator: current-limited inverter, high when mem < V_switch",
        _mos("CB", "cx", "vcmp", "vdd", "vdd", PFET, d.cmp_wb_um, d.cmp_lb_um),
        _mos("CP", "c1", "mem", "cx", "vdd", PFET_HVT, d.cmp_wp_um, L_MIN),
        _mos("CN", "c1", "mem", "vss", "vss", NFET_LVT, d.cmp_wn_um, L_MIN),
        "* two restoring inverters",
        _mos("I1P", "c2", "c1", "vdd", "vdd", PFET, wp, L_MIN),
        _mos("I1N", "c2", "c1", "vss", "vss", NFET, wn, L_MIN),
        _mos("I2P", "c3", "c2", "vdd", "vdd", PFET, wp, L_MIN),
        _mos("I2N", "c3", "c2", "vss", "vss", NFET, wn, L_MIN),
        "* output: out = c3 AND fire (NAND + inverter); outb = NAND output",
        _mos("NAP", "outb", "c3", "vdd", "vdd", PFET, wp, L_MIN),
        _mos("NBP", "outb", "fire", "vdd", "vdd", PFET, wp, L_MIN),
        _mos("NAN", "outb", "c3", "nx", "vss", NFET, 2 * wn, L_MIN),
        _mos("NBN", "nx", "fire", "vss", "vss", NFET, 2 * wn, L_MIN),
        _mos("OP", "out", "outb", "vdd", "vdd", PFET, wp, L_MIN),
        _mos("ON", "out", "outb", "vss", "vss", NFET, wn, L_MIN),
        f".ends imc_neuron_{n}",
        "",
    ]
    return "\n".join(lines)


def layer_subckt(layer: LayerSpec) -> str:
    """The crossbar subcircuit ``imc_layer_<name>``: synapses and neurons of one layer."""
    n = ident(layer.name, "layer name")
    lines = [f".subckt imc_layer_{n} " + " ".join(layer_ports(layer))]
    for i in range(layer.n_out):
        for j in range(layer.n_in):
            w, nf = layer.width_um[i][j], layer.fingers[i][j]
            if w > 0:
                lines.append(f"XSN_{i}_{j} mem{i} in{j} vbn vss imc_syn_n_{n} "
                             f"w={fmt(pdk.snap(w))} nf={nf}")
            elif w < 0:
                lines.append(f"XSP_{i}_{j} mem{i} inb{j} vbp vdd imc_syn_p_{n} "
                             f"w={fmt(pdk.snap(-w))} nf={nf}")
    for i in range(layer.n_out):
        lines.append(f"XN{i} mem{i} out{i} outb{i} rst rstb fire v0 vdis vcmp vdd vss "
                     f"imc_neuron_{n} cw={fmt(layer.mim_w_um[i])} cl={fmt(layer.mim_l_um[i])}")
    lines += [f".ends imc_layer_{n}", ""]
    return "\n".join(lines)


def network_ports(spec: DesignSpec) -> list[str]:
    """Port order of ``imc_net_<name>``: inputs, then per layer outputs, membranes, clocks,
    biases; then vdd, vss. Top-level node names are the same strings."""
    first = spec.layers[0]
    ports = [f"in{j}" for j in range(first.n_in)] + [f"inb{j}" for j in range(first.n_in)]
    for layer in spec.layers:
        n = layer.name
        ports += [f"{n}_out{i}" for i in range(layer.n_out)]
        ports += [f"{n}_outb{i}" for i in range(layer.n_out)]
        ports += [f"{n}_mem{i}" for i in range(layer.n_out)]
        ports += [f"{n}_{s}" for s in ("rst", "rstb", "fire", "v0", "vbn", "vbp", "vdis", "vcmp")]
    return ports + ["vdd", "vss"]


def network_subckts(spec: DesignSpec) -> str:
    """All subcircuits of ``spec``, ending with ``imc_net_<name>``."""
    parts = [f"* imcflow network {ident(spec.name, 'name')}: shape "
             + "-".join(str(k) for k in spec.shape), ""]
    for layer in spec.layers:
        parts += [synapse_subckts(layer), neuron_subckt(layer), layer_subckt(layer)]
    lines = [f".subckt imc_net_{spec.name} " + " ".join(network_ports(spec))]
    prev_out: list[str] | None = None
    prev_outb: list[str] | None = None
    for layer in spec.layers:
        n = layer.name
        ins = prev_out or [f"in{j}" for j in range(layer.n_in)]
        inbs = prev_outb or [f"inb{j}" for j in range(layer.n_in)]
        outs = [f"{n}_out{i}" for i in range(layer.n_out)]
        outbs = [f"{n}_outb{i}" for i in range(layer.n_out)]
        mems = [f"{n}_mem{i}" for i in range(layer.n_out)]
        ctl = [f"{n}_{s}" for s in ("rst", "rstb", "fire", "v0", "vbn", "vbp", "vdis", "vcmp")]
        lines.append(f"X{n} " + " ".join(ins + inbs + outs + outbs + mems + ctl + ["vdd", "vss"])
                     + f" imc_layer_{n}")
        prev_out, prev_outb = outs, outbs
    lines += [f".ends imc_net_{spec.name}", ""]
    parts.append("\n".join(lines))
    return "\n".join(parts)
