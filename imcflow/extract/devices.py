"""Device and net extraction from a flattened GDS with ``klayout.db.LayoutToNetlist``.

Derived layers (sky130 drawing layers, ``imcflow/pdk/data/layers.yaml``):

* gate = diff ∩ poly; n-active = diff ∩ nsdm − nwell; p-active = diff ∩ psdm ∩ nwell;
  source/drain = active − poly;
* NMOS: ``sky130_fd_pr__nfet_01v8``, under ``lvtn`` ``…_nfet_01v8_lvt``; bulk = p-substrate
  (chip area − nwell), tied to nets through p-taps (tap ∩ psdm − nwell);
* PMOS: ``sky130_fd_pr__pfet_01v8``, under ``hvtp`` ``…_pfet_01v8_hvt``, under ``lvtn``
  ``…_pfet_01v8_lvt``; bulk = nwell, tied through n-taps (tap ∩ nsdm ∩ nwell);
* MIM: ``sky130_fd_pr__cap_mim_m3_1`` where capm lies over met3 (terminal A = capm, contacted
  from met4 through via3; B = met3). W and L are the capm rectangle's x and y extents (µm).

Connectivity: s/d, taps, poly → licon → li1 → mcon → met1 → via → met2 → via2 → met3 →
via3 → met4 → via4 → met5 (via3 over capm lands on the top plate, elsewhere on met3). Nets take
the names of the text labels on the label purpose of their layer.

Fingers: transistors of one type and L whose gate, bulk and {source, drain} nets agree are one
device with ``nf`` fingers; W, AS, AD, PS, PD are summed (W is the total width, as the sky130
models take it). Sizes are in µm (areas µm², perimeters µm).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import klayout.db as kdb

from imcflow import pdk
from imcflow.errors import DataError
from imcflow.extract.gds import Design, layer_map

# Model names by device role (the PDK object's one role → model map).
NFET = pdk.get().model("nfet")
NFET_LVT = pdk.get().model("nfet_lvt")
PFET = pdk.get().model("pfet")
PFET_HVT = pdk.get().model("pfet_hvt")
PFET_LVT = pdk.get().model("pfet_lvt")
MIM = pdk.get().model("mim")
MOS_MODELS = (NFET, NFET_LVT, PFET, PFET_HVT, PFET_LVT)

#: Area capacitance the capacitor extractor starts from (F/µm²); ``C`` is then replaced by the
#: PDK model's C(W, L) of the extracted plate, and the netlist writes W and L.
MIM_AREA_CAP = 2.0e-15

#: Conductors in stacking order with the cut layer that joins each to the next.
METAL_STACK = ("li1", "met1", "met2", "met3", "met4", "met5")
_CUTS = {("li1", "met1"): "mcon", ("met1", "met2"): "via", ("met2", "met3"): "via2",
         ("met4", "met5"): "via4"}


@dataclass
class Extraction:
    """Result of :func:`extract_netlist`: the KLayout objects and convenient views."""

    design: Design
    l2n: kdb.LayoutToNetlist
    netlist: kdb.Netlist
    circuit: kdb.Circuit
    regions: dict[str, kdb.Region] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def net_name(self, net: kdb.Net | None) -> str:
        """The net's label, or ``n<cluster id>`` for an unlabelled net."""
        if net is None:
            return "?"
        return net.name or f"n{net.cluster_id}"

    def net_names(self) -> list[str]:
        return sorted(self.net_name(n) for n in self.circuit.each_net())


def _add_parameter(dc: kdb.DeviceClass, name: str, doc: str, default: float) -> None:
    if not dc.has_parameter(name):
        dc.add_parameter(kdb.DeviceParameterDefinition(name, doc, default))


def extract_netlist(design: Design, *, combine_fingers: bool = True) -> Extraction:
    """Run device and net extraction on ``design`` (flattened)."""
    ly, top = design.layout, design.top
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(ly, top, []))
    l2n.threads = 1
    lmap = layer_map()
    reg: dict[str, kdb.Region] = {}
    for name, (ln, dt) in lmap["drawing"].items():
        idx = ly.find_layer(ln, dt)
        if idx is None:
            idx = ly.layer(ln, dt)
        reg[name] = l2n.make_layer(idx, name)
    texts: dict[str, kdb.Texts] = {}
    for name, (ln, dt) in lmap["label"].items():
        idx = ly.find_layer(ln, dt)
        if idx is None:
            idx = ly.layer(ln, dt)
        texts[name] = l2n.make_text_layer(idx, f"{name}_label")

    diff, poly, nwell = reg["diff"], reg["poly"], reg["nwell"]
    gate = diff & poly
    nactive = (diff & reg["nsdm"]) - nwell
    pactive = (diff & reg["psdm"]) & nwell
    nsd = nactive - poly
    psd = pactive - poly
    ngate = gate & nactive
    pgate = gate & pactive
    lvt, hvt = reg["lvtn"], reg["hvtp"]
    derived = {
        "nsd": nsd, "psd": psd,
        "ngate_std": ngate - lvt, "ngate_lvt": ngate & lvt,
        "pgate_std": (pgate - hvt) - lvt, "pgate_hvt": pgate & hvt,
        "pgate_lvt": (pgate & lvt) - hvt,
        "ptap": (reg["tap"] & reg["psdm"]) - nwell,
        "ntap": (reg["tap"] & reg["nsdm"]) & nwell,
        "via3_cap": reg["via3"] & reg["capm"],
        "via3_m3": reg["via3"] - reg["capm"],
    }
    bbox = top.bbox().enlarged(1000)
    derived["sub"] = kdb.Region(bbox) - nwell
    for name, r in derived.items():
        l2n.register(r, name)
    reg.update(derived)

    # devices
    for model, g in ((NFET, "ngate_std"), (NFET_LVT, "ngate_lvt")):
        if not reg[g].is_empty():
            l2n.extract_devices(kdb.DeviceExtractorMOS4Transistor(model),
                                {"SD": nsd, "G": reg[g], "P": poly, "W": reg["sub"]})
    for model, g in ((PFET, "pgate_std"), (PFET_HVT, "pgate_hvt"), (PFET_LVT, "pgate_lvt")):
        if not reg[g].is_empty():
            l2n.extract_devices(kdb.DeviceExtractorMOS4Transistor(model),
                                {"SD": psd, "G": reg[g], "P": poly, "W": nwell})
    if not (reg["capm"] & reg["met3"]).is_empty():
        l2n.extract_devices(kdb.DeviceExtractorCapacitor(MIM, MIM_AREA_CAP),
                            {"P1": reg["capm"], "P2": reg["met3"]})

    # connectivity
    for name in ("nsd", "psd", "poly", "licon", "ptap", "ntap", "nwell", "sub", "capm",
                 "via3_cap", "via3_m3", "mcon", "via", "via2", "via4", *METAL_STACK):
        l2n.connect(reg[name])
    for a in ("nsd", "psd", "poly", "ptap", "ntap"):
        l2n.connect(reg[a], reg["licon"])
    l2n.connect(reg["licon"], reg["li1"])
    for (lo, hi), cut in _CUTS.items():
        l2n.connect(reg[lo], reg[cut])
        l2n.connect(reg[cut], reg[hi])
    l2n.connect(reg["met3"], reg["via3_m3"])
    l2n.connect(reg["via3_m3"], reg["met4"])
    l2n.connect(reg["capm"], reg["via3_cap"])
    l2n.connect(reg["via3_cap"], reg["met4"])
    l2n.connect(reg["sub"], reg["ptap"])
    l2n.connect(reg["nwell"], reg["ntap"])
    for name, t in texts.items():
        if name == "diff":
            for target in ("nsd", "psd", "ptap", "ntap"):
                l2n.connect(reg[target], t)
        else:
            l2n.connect(reg[name], t)
    l2n.connect_global(reg["sub"], "SUBSTRATE")
    l2n.extract_netlist()

    netlist = l2n.netlist()
    circuits = list(netlist.each_circuit_top_down())
    if not circuits:
        raise DataError(f"{design.path}: nothing to extract in cell {design.top_name}")
    circuit = netlist.circuit_by_name(design.top_name) or circuits[0]
    ext = Extraction(design=design, l2n=l2n, netlist=netlist, circuit=circuit, regions=reg)
    _annotate_mim(ext)
    _prepare_mos(ext)
    if combine_fingers:
        combine_mos_fingers(ext.circuit)
    _check_labels(ext)
    return ext


def _annotate_mim(ext: Extraction) -> None:
    """Give every MIM device W and L (µm): the x and y extent of its capm ∩ met3 plate."""
    dc = ext.netlist.device_class_by_name(MIM)
    if dc is None:
        return
    _add_parameter(dc, "W", "MIM width (x extent), µm", 0.0)
    _add_parameter(dc, "L", "MIM length (y extent), µm", 0.0)
    plates = ext.regions["capm"] & ext.regions["met3"]
    dbu = ext.design.dbu
    boxes = [p.bbox() for p in plates.each_merged()]
    for dev in ext.circuit.each_device():
        if dev.device_class().name != MIM:
            continue
        where = dev.trans.disp
        pt = kdb.Point(round(where.x / dbu), round(where.y / dbu))
        hit = [b for b in boxes if b.contains(pt)]
        if not hit:
            # fall back to area/perimeter of a rectangle: W+L = P/2, W·L = A
            a, p = dev.parameter("A"), dev.parameter("P")
            s = p / 2.0
            disc = max(s * s - 4 * a, 0.0) ** 0.5
            w, l = (s + disc) / 2.0, (s - disc) / 2.0
        else:
            b = hit[0]
            w, l = b.width() * dbu, b.height() * dbu
            if abs(w * l - dev.parameter("A")) > 1e-6 * max(w * l, 1.0):
                ext.warnings.append(f"MIM at ({where.x:.3f}, {where.y:.3f}) µm is not a "
                                    f"rectangle (area {dev.parameter('A'):.3f} µm²)")
        dev.set_parameter("W", round(w, 6))
        dev.set_parameter("L", round(l, 6))
        # C from the extracted geometry with the PDK model's formula (dw added to W and L)
        dev.set_parameter("C", pdk.mim_capacitance(round(w, 6), round(l, 6)))


def _prepare_mos(ext: Extraction) -> None:
    for model in MOS_MODELS:
        dc = ext.netlist.device_class_by_name(model)
        if dc is not None:
            _add_parameter(dc, "NF", "number of fingers", 1.0)
            for dev in ext.circuit.each_device():
                if dev.device_class().name == model:
                    dev.set_parameter("NF", 1.0)


def combine_mos_fingers(circuit: kdb.Circuit) -> None:
    """Merge parallel fingers: same model, L, gate, bulk and {S, D} nets → one device with
    ``NF`` = count and W/AS/AD/PS/PD summed."""
    groups: dict[tuple, list[kdb.Device]] = defaultdict(list)
    for dev in circuit.each_device():
        dc = dev.device_class()
        if dc.name not in MOS_MODELS:
            continue
        nets = {t.name: dev.net_for_terminal(t.id()) for t in dc.terminal_definitions()}
        ids = {k: (n.expanded_name() if n is not None else "") for k, n in nets.items()}
        key = (dc.name, round(dev.parameter("L"), 6), ids["G"], ids["B"],
               tuple(sorted((ids["S"], ids["D"]))))
        groups[key].append(dev)
    for devs in groups.values():
        if len(devs) < 2:
            continue
        devs.sort(key=lambda d: (d.trans.disp.x, d.trans.disp.y))
        keep = devs[0]
        for name in ("W", "AS", "AD", "PS", "PD", "NF"):
            keep.set_parameter(name, sum(d.parameter(name) for d in devs))
        for d in devs[1:]:
            circuit.remove_device(d)


def _check_labels(ext: Extraction) -> None:
    """Record labels that name more than one net (an open) as warnings."""
    seen: dict[str, int] = defaultdict(int)
    for net in ext.circuit.each_net():
        for part in (net.name or "").split(","):
            if part:
                seen[part] += 1
    for name, count in sorted(seen.items()):
        if count > 1:
            ext.warnings.append(f"label {name!r} names {count} unconnected nets (open)")


def devices_table(ext: Extraction) -> list[dict]:
    """Every extracted device as a plain dict: name, model, terminals (net names), params."""
    rows = []
    for dev in ext.circuit.each_device():
        dc = dev.device_class()
        terms = {t.name: ext.net_name(dev.net_for_terminal(t.id()))
                 for t in dc.terminal_definitions()}
        params = {p.name: dev.parameter(p.id()) for p in dc.parameter_definitions()}
        rows.append({"name": dev.expanded_name(), "model": dc.name, "terminals": terms,
                     "params": params, "x_um": dev.trans.disp.x, "y_um": dev.trans.disp.y})
    return rows
