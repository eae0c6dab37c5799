"""DC testbenches: drain current versus membrane voltage of synapse and discharger devices.

One deck holds, for every layer of a spec, one instance per (device type, width) of

* ``n``   — the layer's NMOS synapse subckt (``imc_syn_n_<layer>``, exactly as in the network),
  selector on (spike = VDD), current source at ``vb_n``; it *sinks* current from the membrane;
* ``p``   — the PMOS synapse (``imc_syn_p_<layer>``), selector on (spike-bar = 0), source at
  ``vb_p``; it *sources* current into the membrane;
* ``dis`` — the neuron's discharger (current source at ``v_dis`` over the fire-enable switch,
  same sizes as in ``imc_neuron_<layer>`` except the swept width), enabled (fire = VDD).

Every device's drain (the membrane node) hangs on one swept source ``Vm`` through its own 0 V
ammeter ``Vm_<layer>_<type>_<k>``; a single ``.dc Vm`` sweep gives all curves in one ngspice run
(the models load once). Current convention: ``i(vm_…)`` is the current flowing from ``vm`` into the
device, so positive for ``n``/``dis`` (sinking) and negative for ``p`` (sourcing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from imcflow import pdk
from imcflow.circuit import rcspike
from imcflow.errors import SpecError
from imcflow.netlist.cells import render_cell, synapse_subckts
from imcflow.netlist.format import fmt
from imcflow.netlist.models import check_corner, model_lines, title_suffix
from imcflow.spec import DesignSpec, LayerSpec

DEVICE_TYPES = ("n", "p", "dis")
#: Default membrane sweep step, V; the sweep runs over the whole supply, 0 … VDD, so that the
#: fitter can tell over which membrane range each device's model holds.
V_STEP = 0.01
#: Default current-source widths, µm (per finger; one finger).
DEFAULT_WIDTHS = (0.42, 0.5, 1.0, 1.5, 2.0, 4.0)


@dataclass(frozen=True)
class DCProbe:
    """One swept device: which layer, type, width (µm) and the ammeter that measures it."""

    layer: str
    device: str
    width_um: float
    source: str  # ngspice source name, lower case; the vector is ``i(<source>)``
    replica: int = 0  # which copy of this (device, width) (``build_dc(replicas=…)``)

    @property
    def vector(self) -> str:
        return f"i({self.source})"


@dataclass(frozen=True)
class DCBench:
    """A DC deck (no ``.control`` block) and its probes."""

    text: str
    probes: tuple[DCProbe, ...]
    sweep: tuple[float, float, float] | None  # (start, stop, step) V; None for a transient


def discharger_subckt(layer: LayerSpec) -> str:
    """``imc_dis_<layer>``: the neuron's discharger alone (param ``w``: W of the current source
    and of its enable switch, µm, as in the neuron; :func:`imcflow.circuit.discharger`)."""
    return render_cell(rcspike.discharger(layer))


def _widths_for(layer: LayerSpec, device: str, widths: Sequence[float] | None) -> list[float]:
    if widths is not None:
        ws = list(widths)
    else:
        ws = list(DEFAULT_WIDTHS)
        if device == "dis":
            ws.append(layer.neuron.dis_w_um)
    out = sorted({pdk.snap(w) for w in ws})
    dev = pdk.device("nfet_01v8" if device != "p" else "pfet_01v8")
    for w in out:
        if not dev.w_min_um <= w <= dev.w_max_um:
            raise SpecError(f"DC sweep width {w:g} µm is out of range "
                            f"[{dev.w_min_um:g}, {dev.w_max_um:g}] µm for {dev.name}")
    return out


def build_dc(spec: DesignSpec, *, widths: Sequence[float] | None = None,
             devices: Sequence[str] = DEVICE_TYPES, corner: str | None = None,
             temperature: float | None = None,
             sweep: tuple[float, float, float] | None = None,
             mc_seed: int | None = None, replicas: int = 1) -> DCBench:
    """The DC deck of every layer's synapse and discharger devices (see the module doc).

    ``mc_seed``: one seeded Monte-Carlo mismatch instance of the deck
    (:func:`imcflow.netlist.models.model_lines`; None: nominal). ``replicas``: instances of each
    (device, width), each with its own ammeter (with mismatch, independent draws of the same
    device; probes of one width are consecutive, ``DCProbe.replica`` numbers them).
    """
    corner = check_corner(corner or spec.corner)
    for dev in devices:
        if dev not in DEVICE_TYPES:
            raise SpecError(f"unknown DC device {dev!r} (choose from {', '.join(DEVICE_TYPES)})")
    v0, v1, dv = sweep if sweep is not None else (0.0, spec.vdd, V_STEP)
    if not (0.0 <= v0 < v1 <= spec.vdd and 0 < dv <= v1 - v0):
        raise SpecError(f"DC sweep {v0:g}..{v1:g} V step {dv:g} V must lie in [0, vdd] "
                        "with a positive step")
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise SpecError(f"replicas = {replicas!r}: need an integer >= 1")
    temp = spec.temperature if temperature is None else float(temperature)
    lines = [f"* imcflow DC characterization: {spec.name}, corner {corner}, {fmt(temp)} C"
             f"{title_suffix(mc_seed)}", *model_lines(corner, temp, mc_seed), ""]
    probes: list[DCProbe] = []
    body = ["* supplies and the swept membrane", f"Vdd vdd 0 {fmt(spec.vdd)}", "Vss vss 0 0",
            f"Vhi hi 0 {fmt(spec.vdd)}", "Vlo lo 0 0", f"Vm vm 0 {fmt(v0)}"]
    for layer in spec.layers:
        n = layer.name
        lines += [synapse_subckts(layer), discharger_subckt(layer)]
        s, d = layer.synapse, layer.neuron
        body += [f"* layer {n} biases", f"V{n}_vbn {n}_vbn 0 {fmt(s.vb_n)}",
                 f"V{n}_vbp {n}_vbp 0 {fmt(s.vb_p)}", f"V{n}_vdis {n}_vdis 0 {fmt(d.v_dis)}"]
        for dev in devices:
            sized = [(w, r) for w in _widths_for(layer, dev, widths) for r in range(replicas)]
            for k, (w, r) in enumerate(sized):
                body += _instance(n, dev, k, w, membrane="vm", spike="hi", spike_b="lo")
                probes.append(DCProbe(layer=n, device=dev, width_um=w,
                                      source=_ammeter(n, dev, k), replica=r))
    lines += body
    lines += ["", f".dc Vm {fmt(v0)} {fmt(v1)} {fmt(dv)}", ".end", ""]
    return DCBench(text="\n".join(lines), probes=tuple(probes), sweep=(v0, v1, dv))


def _ammeter(layer: str, device: str, k: int) -> str:
    return f"vm_{layer}_{device}_{k}".lower()


def _instance(layer: str, device: str, k: int, w: float, *, membrane: str, spike: str,
              spike_b: str) -> list[str]:
    """Device ``k`` of ``layer`` (one finger of ``w`` µm) on node ``membrane`` through its 0 V
    ammeter; the synapse selectors on nodes ``spike`` (NMOS) and ``spike_b`` (PMOS), the
    discharger enabled."""
    n, node = layer, f"d_{layer}_{device}_{k}"
    out = [f"{_ammeter(n, device, k)} {membrane} {node} 0"]
    if device == "n":
        out.append(f"X{n}_n_{k} {node} {spike} {n}_vbn vss imc_syn_n_{n} w={fmt(w)} nf=1")
    elif device == "p":
        out.append(f"X{n}_p_{k} {node} {spike_b} {n}_vbp vdd imc_syn_p_{n} w={fmt(w)} nf=1")
    else:
        out.append(f"X{n}_dis_{k} {node} {n}_vdis hi vss imc_dis_{n} w={fmt(w)}")
    return out


#: Membrane voltage at which the switching charge is measured, as a fraction of V_th below V₀:
#: the middle of the way from reset to threshold.
SWITCHING_V_FRACTION = 0.5


def switching_membrane_V(layer: LayerSpec) -> float:
    """Membrane voltage (V) the switching bench holds: V₀ − SWITCHING_V_FRACTION · V_th."""
    v_th = layer.neuron.v0 - layer.neuron.v_switch
    return layer.neuron.v0 - SWITCHING_V_FRACTION * v_th


def build_switching(spec: DesignSpec, *, widths: Sequence[float] | None = None,
                    corner: str | None = None, temperature: float | None = None) -> DCBench:
    """The switching-charge deck: every layer's NMOS and PMOS synapse (one finger per swept
    width) with its membrane held at :func:`switching_membrane_V`, its spike on for one phase
    [T, 2T) and off for the next [2T, 3T] (``.tran``; the ammeters as in :func:`build_dc`).

    A synapse is its current source on the membrane over its selector on the rail; while the
    selector conducts, the node between them sits at the rail. The charge a spike delivers
    differs from the DC current × time at both ends: at the onset (measured: 9 % less for a
    1.5 nA PMOS finger) and after the spike, when the current source keeps discharging the
    shared node into the membrane: a *selector tail* in the fire phase (measured: 0.5 % of a
    phase's charge for the demo's synapses, 5 % for a PMOS at L = 0.5 µm, 65 % for that 1.5 nA
    finger at sf, 0 °C, L = 1 µm). ``sweep`` is None.
    """
    corner = check_corner(corner or spec.corner)
    temp = spec.temperature if temperature is None else float(temperature)
    T, e, vdd = spec.T, spec.t_edge, spec.vdd
    rise, fall = (fmt(T), fmt(T + e)), (fmt(2 * T), fmt(2 * T + e))
    hi, lo = fmt(vdd), "0"
    lines = [f"* imcflow switching-charge bench: {spec.name}, corner {corner}, {fmt(temp)} C",
             *model_lines(corner, temp, None), "",
             f"Vdd vdd 0 {hi}", "Vss vss 0 0", f"Vhi hi 0 {hi}",
             f"Vspk spk 0 PWL(0 {lo} {rise[0]} {lo} {rise[1]} {hi} {fall[0]} {hi} {fall[1]} {lo})",
             f"Vspkb spkb 0 PWL(0 {hi} {rise[0]} {hi} {rise[1]} {lo} {fall[0]} {lo} {fall[1]} "
             f"{hi})"]
    probes: list[DCProbe] = []
    for layer in spec.layers:
        n, s = layer.name, layer.synapse
        v_hold = fmt(switching_membrane_V(layer))
        lines += [synapse_subckts(layer), f"Vhold_{n} mem_{n} 0 {v_hold}",
                  f"V{n}_vbn {n}_vbn 0 {fmt(s.vb_n)}", f"V{n}_vbp {n}_vbp 0 {fmt(s.vb_p)}"]
        for dev in ("n", "p"):
            for k, w in enumerate(_widths_for(layer, dev, widths)):
                lines += _instance(n, dev, k, w, membrane=f"mem_{n}", spike="spk",
                                   spike_b="spkb")
                probes.append(DCProbe(layer=n, device=dev, width_um=w,
                                      source=_ammeter(n, dev, k)))
    lines += ["", f".tran {fmt(T / 1000)} {fmt(3 * T)} 0 {fmt(T / 200)}", ".end", ""]
    return DCBench(text="\n".join(lines), probes=tuple(probes), sweep=None)
