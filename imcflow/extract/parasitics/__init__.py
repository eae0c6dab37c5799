"""Parasitic capacitance per net and between nets, on magic's model with the sky130 tables.

The model is magic's (8.3, ``extract`` with its default options: distributed fringe, no corner
terms) with the coefficients of ``imcflow/pdk/data/parasitics.yaml``; one module per effect:

* ``substrate``: each wire's area and edge-fringe capacitance to the substrate;
* ``overlap``: area coupling to the nearest conductor below, shielded by the planes between;
* ``views``: the band in front of each edge, cut at the nearest conductor of its own layer
  (within the 8 µm halo) — what the next three read;
* ``sidewall``: coupling between facing edges of one layer, c·ℓ/(d + offset);
* ``neighbours``: the substrate fringe a same-layer neighbour cuts off;
* ``sideoverlap``: fringe onto conductors of other planes in the band, down and up, shielded by
  the planes between, with the arctangent spread of ``law``;
* ``resistance`` (optional): lumped wire resistance.

Conductors (``conductors``): metals, li1, field poly; gates (poly over diffusion, on the poly's
net), source/drain and tap diffusion and the n-well as coupling targets and shields (their own
capacitance is in the device models), capm as a shield. Wiring over the n-well couples to the
well's net, as magic does. Contacts and vias count as the metal around them.

Where imcflow deliberately differs from magic:

* capm shields met4 from met3 inside a MIM. magic leaves capm out of its plane stack and reports
  the top plate's area capacitance to the bottom plate (and the fringe of its edges over the capm
  margin) as wiring coupling; physically capm, on the top plate's net, lies between them, and the
  capm–met3 capacitance is the MIM device's. Fringe from wires above onto the capm margin goes to
  the top plate, not the bottom one. On the demo layout this is the only sizeable difference
  (about 40 fF on each membrane; see the ``planes`` note in the data file).
* Two small accounting slips of magic are not copied (see ``sideoverlap``): a substrate share
  taken twice over an own-net conductor under a shield, and contact-bordered edges whose fringe
  passes through shields. They move a MOSFET terminal net's total by up to a few per cent.

Capacitances come out in F.
"""

from __future__ import annotations

import klayout.db as kdb

from imcflow.extract.devices import Extraction
from imcflow.extract.parasitics.conductors import Conductors, substrate_net
from imcflow.extract.parasitics.neighbours import neighbour_shielding
from imcflow.extract.parasitics.overlap import overlap_caps
from imcflow.extract.parasitics.resistance import wire_resistance
from imcflow.extract.parasitics.result import AF, SUBSTRATE, Ledger, Parasitics
from imcflow.extract.parasitics.sideoverlap import sideoverlap_caps
from imcflow.extract.parasitics.sidewall import sidewall_caps
from imcflow.extract.parasitics.substrate import substrate_caps
from imcflow.extract.parasitics.tech import Tech, coefficients
from imcflow.extract.parasitics.views import compute_views

__all__ = ["AF", "SUBSTRATE", "Parasitics", "Tech", "coefficients", "extract_parasitics"]


def _substrate_net(ext: Extraction) -> kdb.Net | None:
    """The net the substrate belongs to (tied through p-taps), or None."""
    return substrate_net(ext)


def _warn_unmodelled(ext: Extraction, cond: Conductors) -> None:
    """Note geometry the model covers only approximately in ``ext.warnings``."""
    if "dnwell" in ext.regions and not ext.regions["dnwell"].is_empty():
        ext.warnings.append("parasitics: deep n-well is not modelled (wiring over it couples "
                            "to the substrate, as if it were absent)")
    slanted = sorted(k for k, r in cond.material.items() if not r.non_rectilinear().is_empty())
    if slanted:
        ext.warnings.append("parasitics: non-Manhattan shapes on " + ", ".join(slanted)
                            + " are approximated (equal-area boxes; slanted edges carry only "
                              "their substrate fringe)")


def extract_parasitics(ext: Extraction, *, resistance: bool = False,
                       tech: Tech | None = None) -> Parasitics:
    """Capacitance per net and between nets of ``ext`` (see the module docstring), F.

    ``tech``: the coefficient tables (default: the installed ``parasitics.yaml``).
    """
    tech = tech or Tech.load()
    cond = Conductors(ext, tech)
    _warn_unmodelled(ext, cond)
    sub = substrate_net(ext)
    ledger = Ledger(sub.cluster_id if sub is not None else None)
    fringing = [k for k in tech.wires
                if tech.perimeter_cap(k) > 0.0 and not cond.material[k].is_empty()]
    views = {kind: compute_views(cond, kind) for kind in fringing}
    substrate_caps(cond, ledger, {k: v.edges for k, v in views.items()})
    overlap_caps(cond, ledger)
    for v in views.values():
        sidewall_caps(v, cond, ledger)
        neighbour_shielding(v, cond, ledger)
        sideoverlap_caps(v, cond, ledger)
    names = {n.cluster_id: n.name or f"_n{n.cluster_id}" for n in ext.circuit.each_net()}
    par = ledger.result(names)
    if resistance:
        par.resistance = wire_resistance(cond)
    return par
