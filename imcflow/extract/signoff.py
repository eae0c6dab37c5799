"""Sign-off of one spec: layout, DRC, LVS and extraction → the post-layout netlist the
simulations use (``imcflow characterize --post-layout`` and the flow)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from imcflow import atomicio, layout
from imcflow.errors import ImcflowError
from imcflow.extract.drc import drc
from imcflow.extract.gds import load
from imcflow.extract.lvs import lvs
from imcflow.extract.postlayout import extract_design
from imcflow.netlist.cells import network_ports
from imcflow.spec import DesignSpec


class SignoffError(ImcflowError):
    """A generated layout failed DRC or LVS (a generator bug, never silently ignored)."""


@dataclass(frozen=True)
class PostLayoutFiles:
    """What :func:`post_layout` wrote and measured."""

    gds: str
    png: str
    spice: str
    area_um2: float
    drc_violations: int
    lvs_devices: int
    membrane_wiring_F: dict[str, float]
    wiring_F: dict[str, float] = field(default_factory=dict)
    membrane_coupling_F: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def post_layout(spec: DesignSpec, out_dir: str | os.PathLike[str], *,
                name: str | None = None) -> PostLayoutFiles:
    """Lay out ``spec``, check DRC and LVS (raise :class:`SignoffError` unless clean) and write
    ``<name>_post.spice``: ``.subckt imc_net_<spec.name>`` with the schematic's port order, the
    extracted devices and the parasitic capacitances."""
    out = Path(out_dir)
    stem = name or spec.name
    files = layout.write(spec, out, stem)
    d = drc(files.gds)
    atomicio.write_text(out / f"{stem}_drc.txt", d.text())
    if not d.clean:
        raise SignoffError(f"{files.gds}: {d.total} DRC violation(s); see {stem}_drc.txt")
    v = lvs(files.gds, spec)
    atomicio.write_text(out / f"{stem}_lvs.txt", v.text())
    if not v.match:
        raise SignoffError(f"{files.gds}: LVS mismatch; see {stem}_lvs.txt")
    post = extract_design(load(files.gds), network_ports(spec), subckt=f"imc_net_{spec.name}")
    spice = out / f"{stem}_post.spice"
    atomicio.write_text(spice, post.spice)
    caps = post.parasitics.by_name() if post.parasitics is not None else {}
    named = {k: float(c) for k, c in sorted(caps.items()) if not k.startswith("_n")}
    mem = {k: c for k, c in named.items() if "_mem" in k}
    coupling = ({m: dict(sorted(post.parasitics.couplings_of(m).items())) for m in mem}
                if post.parasitics is not None else {})
    return PostLayoutFiles(gds=str(files.gds), png=str(files.png), spice=str(spice),
                           area_um2=float(files.area_um2), drc_violations=d.total,
                           lvs_devices=v.layout_devices, membrane_wiring_F=mem, wiring_F=named,
                           membrane_coupling_F=coupling)
