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
from imcflow.netlist.models import model_lines, title_suffix
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
    sweep: tuple[float, float, float]


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
    corner = corner or spec.corner
    if corner not in pdk.corners():
        raise SpecError(f"corner {corner!r} is not one of {', '.join(pdk.corners())}")
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
                src = f"vm_{n}_{dev}_{k}".lower()
                node = f"d_{n}_{dev}_{k}"
                body.append(f"{src} vm {node} 0")
                if dev == "n":
                    body.append(f"X{n}_n_{k} {node} hi {n}_vbn vss imc_syn_n_{n} "
                                f"w={fmt(w)} nf=1")
                elif dev == "p":
                    body.append(f"X{n}_p_{k} {node} lo {n}_vbp vdd imc_syn_p_{n} "
                                f"w={fmt(w)} nf=1")
                else:
                    body.append(f"X{n}_dis_{k} {node} {n}_vdis hi vss imc_dis_{n} w={fmt(w)}")
                probes.append(DCProbe(layer=n, device=dev, width_um=w, source=src, replica=r))
    lines += body
    lines += ["", f".dc Vm {fmt(v0)} {fmt(v1)} {fmt(dv)}", ".end", ""]
    return DCBench(text="\n".join(lines), probes=tuple(probes), sweep=(v0, v1, dv))
