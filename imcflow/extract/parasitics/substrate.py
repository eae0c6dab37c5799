"""Capacitance of a wire to the substrate below it: area and fringe, before anything shields it.

Every wire starts with ``area_cap × area`` and ``perimeter_cap × length`` of its fringe edges
(edges facing empty space on its plane) to the substrate; the n-well with its own area
capacitance to the substrate (a junction, magic's ``defaultareacap nwell``). What lies under a
wire or in front of its edges later moves shares of this to other nets (``overlap``,
``sideoverlap``) or removes them (``neighbours``).
"""

from __future__ import annotations

from imcflow.extract.parasitics.conductors import NET, Conductors
from imcflow.extract.parasitics.result import Ledger
from imcflow.extract.parasitics.views import fringe_edges


def substrate_caps(cond: Conductors, ledger: Ledger) -> None:
    """Add every wire's unshielded area and fringe capacitance to the substrate (aF)."""
    tech, um = cond.tech, cond.dbu
    for kind in tech.wires:
        area_c, perim_c = tech.area_cap(kind), tech.perimeter_cap(kind)
        if area_c:
            for net, poly in cond.each_tagged(kind):
                ledger.to_substrate(net, area_c * poly.area() * um * um)
        if perim_c:
            for e in fringe_edges(cond, kind).each():
                ledger.to_substrate(int(e.property(NET)), perim_c * e.length() * um)
