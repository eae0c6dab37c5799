"""Layout versus schematic: the netlist extracted from the GDS against the circuit description.

The schematic is the spec's circuit (:func:`imcflow.circuit.network`), flattened and turned
straight into a ``klayout.db.Netlist`` (MOS4 devices with W, L, nf; MIM capacitors with W, L) —
or, for any other design, SPICE text read with ``klayout.db.Netlist.read``, where a reader
delegate turns ``X… sky130_fd_pr__*`` calls into the same devices. Both netlists are flat,
parallel fingers are combined the same way on both sides, and ``klayout.db.NetlistComparer``
matches them by graph structure, seeded by the top-level port names. The report lists
missing/extra devices, devices matched with different sizes or types, and nets that do not
match.
Tolerances: W and L within 0.0025 µm (half the 0.005 µm grid), nf exact; MIM {W, L} as an
unordered pair within 0.0025 µm.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import klayout.db as kdb

from imcflow.circuit import Library
from imcflow.errors import DataError
from imcflow.extract import devices as dev_mod
from imcflow.extract.devices import MIM, MOS_MODELS, Extraction, combine_mos_fingers
from imcflow.extract.gds import load
from imcflow.extract.spice import attach_ports

TOL_UM = 0.0025


class _MimCompare(kdb.GenericDeviceParameterCompare):
    """MIM sizes as an unordered {W, L} pair (the model is symmetric in W and L)."""

    def _key(self, d: kdb.Device) -> tuple[float, float]:
        w, l = d.parameter("W"), d.parameter("L")
        return (min(w, l), max(w, l))

    def equal(self, a: kdb.Device, b: kdb.Device) -> bool:
        ka, kb = self._key(a), self._key(b)
        return all(abs(x - y) <= TOL_UM for x, y in zip(ka, kb, strict=True))

    def less(self, a: kdb.Device, b: kdb.Device) -> bool:
        if self.equal(a, b):
            return False
        return self._key(a) < self._key(b)


def _set_tolerances(nl: kdb.Netlist) -> None:
    for dc in nl.each_device_class():
        if dc.name in MOS_MODELS:
            eq = (kdb.EqualDeviceParameters(dc.parameter_id("W"), TOL_UM, 0.0)
                  + kdb.EqualDeviceParameters(dc.parameter_id("L"), TOL_UM, 0.0))
            if dc.has_parameter("NF"):
                eq = eq + kdb.EqualDeviceParameters(dc.parameter_id("NF"), 0.01, 0.0)
            dc.equal_parameters = eq
        elif dc.name == MIM:
            dc.equal_parameters = _MimCompare()


def _add_device(circuit: kdb.Circuit, name: str, model: str, nets: list[kdb.Net],
                params: dict[str, float]) -> None:
    """Create device ``name`` of sky130 ``model`` (MOS4: nets d, g, s, b and W, L, NF; MIM:
    nets top, bottom and W, L; sizes in µm) in ``circuit``."""
    nl = circuit.netlist()
    m = model.lower()
    cls = nl.device_class_by_name(m)
    if m == MIM:
        if cls is None:
            cls = kdb.DeviceClassCapacitor()
            cls.name = m
            for par in ("W", "L"):
                cls.add_parameter(kdb.DeviceParameterDefinition(par, par, 0.0))
            nl.add(cls)
        if len(nets) != 2:
            raise DataError(f"schematic {name}: {m} needs 2 nodes, got {len(nets)}")
        dev = circuit.create_device(cls, name)
        dev.connect_terminal("A", nets[0])
        dev.connect_terminal("B", nets[1])
        dev.set_parameter("W", params.get("W", 0.0))
        dev.set_parameter("L", params.get("L", 0.0))
        return
    if m not in MOS_MODELS:
        raise DataError(f"schematic {name}: model {model} is not one LVS knows")
    if cls is None:
        cls = kdb.DeviceClassMOS4Transistor()
        cls.name = m
        cls.add_parameter(kdb.DeviceParameterDefinition("NF", "fingers", 1.0))
        nl.add(cls)
    if len(nets) != 4:
        raise DataError(f"schematic {name}: {m} needs 4 nodes, got {len(nets)}")
    dev = circuit.create_device(cls, name)
    for term, net in zip(("D", "G", "S", "B"), nets, strict=True):
        dev.connect_terminal(term, net)
    dev.set_parameter("W", params.get("W", 0.0))
    dev.set_parameter("L", params.get("L", 0.0))
    dev.set_parameter("NF", params.get("NF", 1.0))


class _SchematicReader(kdb.NetlistSpiceReaderDelegate):
    """Maps ``X… sky130_fd_pr__<model>`` subcircuit calls onto KLayout devices."""

    def wants_subcircuit(self, name: str) -> bool:
        return name.lower().startswith("sky130_fd_pr__")

    def element(self, circuit: kdb.Circuit, el: str, name: str, model: str, value: float,
                nets: list[kdb.Net], params: dict[str, Any]) -> bool:
        if el != "X" or not model.lower().startswith("sky130_fd_pr__"):
            return super().element(circuit, el, name, model, value, nets, params)
        _add_device(circuit, name, model, nets, {k.upper(): float(v) for k, v in params.items()})
        return True


def read_schematic(text: str, top: str) -> kdb.Netlist:
    """Parse schematic SPICE ``text`` and flatten it into circuit ``top``."""
    nl = kdb.Netlist()
    nl.case_sensitive = False
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "schematic.spice"
        path.write_text(text, encoding="utf-8")
        try:
            nl.read(str(path), kdb.NetlistSpiceReader(_SchematicReader()))
        except RuntimeError as exc:
            raise DataError(f"cannot read the schematic netlist: {exc}") from None
    circuit = nl.circuit_by_name(top)
    if circuit is None:
        raise DataError(f"schematic has no subcircuit {top!r}")
    nl.flatten()
    circuit = nl.circuit_by_name(top)
    combine_mos_fingers(circuit)
    for c in [c for c in nl.each_circuit() if c.name.lower() != top.lower()]:
        nl.remove(c)
    return nl


def schematic_netlist(lib: Library, top: str | None = None) -> kdb.Netlist:
    """The flat reference netlist of circuit ``lib`` (cell ``top``, default its last cell)
    built from its devices, with a pin per port of the top cell."""
    cell = lib.cell(top) if top is not None else lib.top
    nl = kdb.Netlist()
    circuit = kdb.Circuit()
    nl.add(circuit)
    circuit.name = cell.name
    nets: dict[str, kdb.Net] = {}

    def net(name: str) -> kdb.Net:
        if name not in nets:
            nets[name] = circuit.create_net(name)
        return nets[name]

    for port in cell.ports:
        circuit.connect_pin(circuit.create_pin(port), net(port))
    for d in lib.flatten(cell.name):
        params = {"W": d.w, "L": d.l, "NF": float(d.nf)}
        _add_device(circuit, d.name, d.model, [net(n) for n in d.nets], params)
    combine_mos_fingers(circuit)
    return nl


@dataclass
class LvsReport:
    """Result of :func:`lvs`."""

    gds: str
    top: str
    match: bool
    layout_devices: int
    schematic_devices: int
    issues: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"gds": self.gds, "top": self.top, "match": self.match,
                "layout_devices": self.layout_devices,
                "schematic_devices": self.schematic_devices,
                "issues": self.issues, "warnings": self.warnings}

    def text(self) -> str:
        verdict = "MATCH" if self.match else "MISMATCH"
        lines = [f"LVS {self.gds} vs {self.top}: {verdict} "
                 f"(layout {self.layout_devices} devices, schematic {self.schematic_devices})"]
        lines += [f"  {s}" for s in self.issues]
        lines += [f"  warning: {s}" for s in self.warnings]
        return "\n".join(lines) + "\n"


def _dev_text(d: kdb.Device | None, side: str) -> str:
    if d is None:
        return f"(none in {side})"
    dc = d.device_class()
    terms = ",".join(f"{t.name}={(d.net_for_terminal(t.id()).name or '?') if d.net_for_terminal(t.id()) else '-'}"  # noqa: E501
                     for t in dc.terminal_definitions())
    pars = " ".join(f"{p.name}={d.parameter(p.id()):.4g}" for p in dc.parameter_definitions()
                    if p.name in ("W", "L", "NF"))
    return f"{dc.name} {d.expanded_name()} ({terms}) {pars}".strip()


class _Logger(kdb.GenericNetlistCompareLogger):
    def __init__(self) -> None:
        super().__init__()
        self.issues: list[str] = []

    def device_mismatch(self, a: kdb.Device | None, b: kdb.Device | None, msg: str = "") -> None:
        if a is None:
            self.issues.append(f"missing in layout: {_dev_text(b, 'layout')}")
        elif b is None:
            self.issues.append(f"extra in layout: {_dev_text(a, 'schematic')}")
        else:
            self.issues.append(f"device mismatch: layout {_dev_text(a, '')} vs schematic "
                               f"{_dev_text(b, '')}")

    def match_devices_with_different_parameters(self, a: kdb.Device, b: kdb.Device) -> None:
        self.issues.append(f"size mismatch: layout {_dev_text(a, '')} vs schematic "
                           f"{_dev_text(b, '')}")

    def match_devices_with_different_device_classes(self, a: kdb.Device, b: kdb.Device) -> None:
        self.issues.append(f"type mismatch: layout {_dev_text(a, '')} vs schematic "
                           f"{_dev_text(b, '')}")

    def net_mismatch(self, a: kdb.Net | None, b: kdb.Net | None, msg: str = "") -> None:
        an = (a.name or f"_n{a.cluster_id}") if a is not None else "(none)"
        bn = (b.name or "?") if b is not None else "(none)"
        self.issues.append(f"net mismatch: layout {an} vs schematic {bn}"
                           + (f" ({msg})" if msg else ""))

    def pin_mismatch(self, a: kdb.Pin | None, b: kdb.Pin | None, msg: str = "") -> None:
        self.issues.append(f"pin mismatch: layout {a.name() if a else '(none)'} vs schematic "
                           f"{b.name() if b else '(none)'}")

    def circuit_mismatch(self, a: kdb.Circuit | None, b: kdb.Circuit | None,
                         msg: str = "") -> None:
        self.issues.append(f"circuit mismatch: {a.name if a else '-'} vs "
                           f"{b.name if b else '-'} {msg}")


def lvs_extraction(ext: Extraction, schematic: str | Library, top: str,
                   ports: list[str]) -> LvsReport:
    """Compare an extraction (pins ``ports`` attached here) with circuit ``top`` of
    ``schematic``: a circuit description, or SPICE text."""
    if isinstance(schematic, Library):
        ref = schematic_netlist(schematic, top)
    else:
        ref = read_schematic(schematic, top)
    attach_ports(ext, ports)
    lay = ext.netlist
    lay.case_sensitive = False
    ext.circuit.name = top
    _set_tolerances(lay)
    _set_tolerances(ref)
    sc = next(c for c in ref.each_circuit() if c.name.lower() == top.lower())
    logger = _Logger()
    comparer = kdb.NetlistComparer(logger)
    for dc in lay.each_device_class():
        other = ref.device_class_by_name(dc.name)
        if other is not None:
            comparer.same_device_classes(dc, other)
    comparer.same_circuits(ext.circuit, sc)
    ok = comparer.compare(lay, ref)
    n_lay = sum(1 for _ in ext.circuit.each_device())
    n_ref = sum(1 for _ in sc.each_device())
    issues = list(dict.fromkeys(logger.issues))
    # Two ports on one layout net is a short, even where the comparer cannot see it (a port net
    # with no device, e.g. an input line no synapse uses, merged with a neighbour).
    shorted: dict[int, list[str]] = {}
    for pin in ext.circuit.each_pin():
        net = ext.circuit.net_for_pin(pin.id())
        if net is not None:
            shorted.setdefault(net.cluster_id, []).append(pin.name())
    for names in shorted.values():
        if len(names) > 1:
            ok = False
            issues.append(f"short: ports {', '.join(names)} are one net in the layout")
    if not ok and not issues:
        issues.append("netlists differ (no detail from the comparer)")
    return LvsReport(gds=str(ext.design.path), top=top, match=bool(ok), layout_devices=n_lay,
                     schematic_devices=n_ref, issues=issues, warnings=list(ext.warnings))


def lvs(gds: str | os.PathLike[str], spec: Any, top: str | None = None) -> LvsReport:
    """LVS of ``gds`` against the circuit the spec describes (``imc_net_<spec.name>``)."""
    from imcflow.circuit import rcspike

    design = load(gds, top)
    ext = dev_mod.extract_netlist(design)
    return lvs_extraction(ext, rcspike.network(spec), f"imc_net_{spec.name}",
                          rcspike.network_ports(spec))
