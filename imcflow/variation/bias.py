"""Bias voltages that track the corner, as a chip's current-mirror bias generator gives them.

imcflow's spec sets every bias as a fixed gate voltage: the synapse current sources (``vb_n``,
``vb_p``), the discharger (``v_dis``) and the comparator's current limit (``v_cmp``). Held fixed
over process and temperature, those voltages let the currents swing by more than an order of
magnitude (measured, 1 µm synapse finger at the demo's biases: NMOS ×0.18 at tt, −40 °C, ×2.6
at tt, 85 °C, ×0.035 at fs, −40 °C; PMOS ×0.07 … ×6.5). No chip is biased that way: each bias
is the gate voltage of a *replica* device carrying a reference current, so what is held is the
current, and the voltage follows the corner.

:func:`replica_spec` gives that bias at a (corner, temperature): every bias voltage is moved to
where a replica of its device (the same model, W and L, source and bulk on the rail, drain held
at the membrane's resting voltage V₀ as a cascoded mirror holds it) carries the current it
carries at the reference point (tt, 27 °C) with the spec's voltage — times ``scale``, the
chip's one current trim (1 = untrimmed). A plain diode-connected replica sits at another drain
voltage than the cell's device and missed a PMOS finger's current by 10 % at −40 °C. The
replicas are found with one ngspice DC sweep of the four per layer at each point. The reset
level ``v0`` is a voltage reference (a bandgap's job) and stays as it is. With mismatch only
(tt, 27 °C) the biases are the spec's: the generator's own mismatch is not modelled.

What a replica cannot hold: sky130's corners shift narrow and wide devices apart, so only
fingers as wide as the replica's (:func:`finger_width`) keep their current; at fs, −40 °C an
NMOS finger of 0.42 µm carries 0.53× and one of 4 µm 1.57× its tt, 27 °C current under the
same replica bias (a distortion of the weights no bias can undo).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from imcflow import spec as specmod
from imcflow.circuit import Cell, Device
from imcflow.errors import SpecError
from imcflow.netlist.cells import render_cell
from imcflow.netlist.format import fmt
from imcflow.netlist.models import model_lines
from imcflow.sim.ngspice import run_batch
from imcflow.spec import DesignSpec, LayerSpec

__all__ = ["REFERENCE", "Replica", "replica_biases", "replica_spec", "replicas"]

#: The point whose currents the bias generator holds: (corner, °C).
REFERENCE: tuple[str, float] = ("tt", 27.0)
#: Gate-voltage step of the replica sweep, V (the bias is interpolated in log current).
V_STEP = 0.002
#: Bias voltages are rounded to this, V (deterministic decks and cache keys).
V_ROUND = 1e-4
#: Replica synapse width where a layer has no synapse of that polarity, µm.
SYNAPSE_W_UM = 1.0
#: DC sweep timeout, s.
TIMEOUT = 120.0


@dataclass(frozen=True)
class Replica:
    """One bias and its replica device: the spec field (``synapse.vb_n`` …), the device role,
    its W and L (µm) and whether the bias is measured from VDD (PMOS: V_SG = VDD − V_bias)."""

    field: str
    role: str
    w_um: float
    l_um: float
    from_vdd: bool


def finger_width(layer: LayerSpec, positive: bool) -> float:
    """Median width of one finger (µm, to 0.01) over every finger of ``layer``'s NMOS
    (``positive``) or PMOS synapses: the unit a replica of that polarity copies (module doc:
    fingers far from it drift with the corner)."""
    w, nf = layer.widths(), np.asarray(layer.fingers, dtype=int)
    sel = w > 0 if positive else w < 0
    if not sel.any():
        return SYNAPSE_W_UM
    per = np.repeat(np.abs(w[sel]) / nf[sel], nf[sel])
    return round(float(np.median(per)), 2)


def replicas(layer: LayerSpec) -> tuple[Replica, ...]:
    """The biased devices of ``layer``: synapse current sources (one typical finger each),
    discharger, comparator limit."""
    s, n = layer.synapse, layer.neuron
    return (Replica("synapse.vb_n", "nfet", finger_width(layer, True), s.l_um, False),
            Replica("synapse.vb_p", "pfet", finger_width(layer, False), s.l_um, True),
            Replica("neuron.v_dis", "nfet", n.dis_w_um, n.dis_l_um, False),
            Replica("neuron.v_cmp", "pfet", n.cmp_wb_um, n.cmp_lb_um, True))


def _bench(reps: tuple[Replica, ...], corner: str, temperature: float, vdd: float,
           v_drain: float) -> str:
    """DC bench: every replica with its drain at ``v_drain`` behind a 0 V ammeter and |V_GS|
    swept 0 … VDD (NMOS: gate ``g``, source at ground; PMOS: gate ``gp`` = VDD − V(g), source
    and bulk at VDD)."""
    devs: list[Device] = []
    for k, r in enumerate(reps):
        nets = (f"d{k}", "gp", "vdd", "vdd") if r.from_vdd else (f"d{k}", "g", "vss", "vss")
        devs.append(Device(f"R{k}", r.role, nets, r.w_um, r.l_um))
    drains = tuple(f"d{k}" for k in range(len(reps)))
    cell = Cell("imc_bias_replicas", ("g", "gp", *drains, "vdd", "vss"), tuple(devs))
    return "\n".join([
        f"* imcflow replica-bias bench, corner {corner}, {fmt(temperature)} C",
        *model_lines(corner, temperature), "", render_cell(cell),
        f"Xr g gp {' '.join(drains)} vdd 0 imc_bias_replicas",
        *(f"Vm{k} vop d{k} 0" for k in range(len(reps))),
        f"Vop vop 0 {fmt(v_drain)}", f"Vdd vdd 0 {fmt(vdd)}", "Vg g 0 0",
        "Egp gp vdd g 0 -1", f".dc Vg 0 {fmt(vdd)} {fmt(V_STEP)}", ".end", ""])


@lru_cache(maxsize=64)
def _curves(reps: tuple[Replica, ...], corner: str, temperature: float, vdd: float,
            v_drain: float) -> tuple[np.ndarray, np.ndarray]:
    """|V_GS| grid [G] and each replica's drain current [len(reps), G], A."""
    res = run_batch(_bench(reps, corner, temperature, vdd, v_drain),
                    [f"i(vm{k})" for k in range(len(reps))], analysis=None, timeout=TIMEOUT)
    v = np.asarray(res.plot["v(v-sweep)"]).real
    cur = np.array([np.abs(np.asarray(res.plot[f"i(vm{k})"]).real) for k in range(len(reps))])
    return v, cur


def _v_at(v: np.ndarray, i: np.ndarray, target: float) -> float:
    """|V_GS| at which the (increasing) replica current reaches ``target`` (log interpolation)."""
    ok = i > 0
    li = np.maximum.accumulate(np.log(i[ok]))
    if not li[0] <= np.log(target) <= li[-1]:
        raise SpecError(f"no gate voltage in 0 … {v[-1]:.2f} V gives the replica current "
                        f"{target:.3g} A")
    return float(np.interp(np.log(target), li, v[ok]))


def replica_biases(layer: LayerSpec, corner: str, temperature: float, vdd: float,
                   scale: float = 1.0) -> dict[str, float]:
    """Bias voltages (spec field → V) of ``layer`` at (corner, temperature) that give the
    reference point's currents × ``scale``; :class:`SpecError` if a current is out of reach."""
    if not scale > 0:
        raise SpecError(f"current scale {scale}: must be > 0")
    reps = replicas(layer)
    v0 = layer.neuron.v0
    v_ref, i_ref = _curves(reps, *REFERENCE, vdd, v0)
    v_pt, i_pt = _curves(reps, corner, float(temperature), vdd, v0)
    out = {}
    for k, r in enumerate(reps):
        bias = _get(layer, r.field)
        vgs = vdd - bias if r.from_vdd else bias
        target = scale * float(np.exp(np.interp(vgs, v_ref, np.log(np.maximum(i_ref[k],
                                                                              1e-30)))))
        vgs_pt = _v_at(v_pt, i_pt[k], target)
        out[r.field] = round((vdd - vgs_pt if r.from_vdd else vgs_pt) / V_ROUND) * V_ROUND
    return out


def _get(layer: LayerSpec, field: str) -> float:
    part, name = field.split(".")
    return float(getattr(getattr(layer, part), name))


def replica_spec(spec: DesignSpec, corner: str, temperature: float, scale: float = 1.0
                 ) -> DesignSpec:
    """``spec`` biased by a replica generator at (corner, temperature) with current trim
    ``scale`` (module doc). At the reference point with ``scale = 1`` it is ``spec`` itself."""
    if (corner, float(temperature)) == REFERENCE and scale == 1.0:
        return spec
    layers = []
    for layer in spec.layers:
        b = replica_biases(layer, corner, temperature, spec.vdd, scale)
        syn = dataclasses.replace(layer.synapse, vb_n=b["synapse.vb_n"], vb_p=b["synapse.vb_p"])
        neu = dataclasses.replace(layer.neuron, v_dis=b["neuron.v_dis"],
                                  v_cmp=b["neuron.v_cmp"])
        layers.append(dataclasses.replace(layer, synapse=syn, neuron=neu))
    out = dataclasses.replace(spec, layers=tuple(layers))
    specmod.validate(out)
    return out
