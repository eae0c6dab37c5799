"""Post-layout SPICE from an extraction: sky130 subcircuit calls and parasitic elements.

Transistors are written as ``X<n> d g s b sky130_fd_pr__nfet_01v8 W=… L=… nf=… ad=… as=…
pd=… ps=…`` and MIM capacitors as ``X<n> a b sky130_fd_pr__cap_mim_m3_1 W=… L=…`` — sizes in
µm (µm², µm), because the sky130 model library sets ``.option scale=1.0u``. Parasitic
capacitors (``C<n> a b <F>``) and optional wire resistors (``R<n> a b <Ω>``) are plain SPICE
elements in SI units. The top cell becomes ``.subckt <name> <ports…>``.
"""

from __future__ import annotations

import re

import klayout.db as kdb

from imcflow.errors import DataError
from imcflow.extract.devices import MIM, MOS_MODELS, Extraction

#: Device classes for parasitic elements added to an extracted netlist.
PAR_C = "PARASITIC_C"
PAR_R = "PARASITIC_R"

_NODE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\[\]<>.]*$")


def _num(v: float) -> str:
    return f"{v:.6g}"


def node_name(net: kdb.Net | None) -> str:
    """SPICE node of ``net``: its label (the first, if a short gave it several) or ``_n<id>``."""
    if net is None:
        return "_nc"
    if net.name:
        first = sorted(net.name.split(","))[0]
        if _NODE.match(first):
            return first
    return f"_n{net.cluster_id}"


class _Delegate(kdb.NetlistSpiceWriterDelegate):
    """Writes sky130 subcircuit calls for devices (KLayout's writer does the rest)."""

    def write_header(self) -> None:  # noqa: D401 - KLayout callback
        self.emit_comment(" post-layout netlist extracted by imcflow (klayout.db) from the GDS")
        self.emit_comment(" sizes in um (the sky130 models set .option scale=1.0u)")

    def write_device_intro(self, cls: kdb.DeviceClass) -> None:
        pass

    def net_to_string(self, net: kdb.Net) -> str:
        return node_name(net)

    def write_device(self, dev: kdb.Device) -> None:
        dc = dev.device_class()
        name = dc.name

        def t(term: str) -> str:
            return node_name(dev.net_for_terminal(dc.terminal_id(term)))

        def p(par: str) -> float:
            return dev.parameter(par)

        ident = dev.expanded_name().replace("$", "")
        if name in MOS_MODELS:
            nf = int(round(p("NF"))) if dc.has_parameter("NF") else 1
            self.emit_line(
                f"XM{ident} {t('D')} {t('G')} {t('S')} {t('B')} {name} "
                f"W={_num(p('W'))} L={_num(p('L'))} nf={nf} ad={_num(p('AD'))} "
                f"as={_num(p('AS'))} pd={_num(p('PD'))} ps={_num(p('PS'))}")
        elif name == MIM:
            self.emit_line(f"XC{ident} {t('A')} {t('B')} {name} W={_num(p('W'))} "
                           f"L={_num(p('L'))}")
        elif name == PAR_C:
            self.emit_line(f"Cp{ident} {t('A')} {t('B')} {p('C'):.4e}")
        elif name == PAR_R:
            self.emit_line(f"Rp{ident} {t('A')} {t('B')} {_num(p('R'))}")
        else:
            raise DataError(f"cannot write device class {name!r} to SPICE")


def default_ports(ext: Extraction) -> list[str]:
    """Ports derived from the GDS alone: every label name in the top cell, sorted."""
    names = {text for _, text, _, _ in ext.design.labels()}
    return sorted(n for n in names if _NODE.match(n))


def attach_ports(ext: Extraction, ports: list[str]) -> None:
    """Make ``ports`` (net labels, in order) the pins of the top circuit.

    Raises :class:`DataError` naming any port with no labelled net in the layout.
    """
    by_name: dict[str, kdb.Net] = {}
    for net in ext.circuit.each_net():
        for part in (net.name or "").split(","):
            if part and part not in by_name:
                by_name[part] = net
    missing = [p for p in ports if p not in by_name]
    if missing:
        raise DataError(f"{ext.design.path}: ports without a labelled net in cell "
                        f"{ext.design.top_name}: {', '.join(missing)}")
    if len(set(ports)) != len(ports):
        raise DataError("duplicate port names")
    for name in ports:
        pin = ext.circuit.create_pin(name)
        ext.circuit.connect_pin(pin, by_name[name])


def write_spice(ext: Extraction, subckt_name: str | None = None) -> str:
    """The extracted top circuit as SPICE text (``.subckt`` with its pins, if any)."""
    if subckt_name is not None:
        ext.circuit.name = subckt_name
    writer = kdb.NetlistSpiceWriter(_Delegate())
    writer.use_net_names = True
    writer.with_comments = False
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.spice"
        ext.netlist.write(str(path), writer)
        text = path.read_text(encoding="utf-8")
    return text
