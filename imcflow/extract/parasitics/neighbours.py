"""Fringe shielding by a same-layer neighbour (magic's ``extRemoveSubcap``).

A conductor of the wire's own layer in front of an edge, at distance d, catches the edge's
fringe field beyond it: the share that would reach the substrate past d, ``1 − share(d)`` with
the substrate multiplier, is removed from the edge's substrate fringe. (What the neighbour
catches is its sidewall coupling, counted separately.)
"""

from __future__ import annotations

from imcflow.extract.parasitics.conductors import Conductors
from imcflow.extract.parasitics.law import fringe_share
from imcflow.extract.parasitics.result import Ledger
from imcflow.extract.parasitics.views import Views


def neighbour_shielding(views: Views, cond: Conductors, ledger: Ledger) -> None:
    """Remove the substrate fringe cut off by the conductor that closes each view (aF)."""
    tech, um = cond.tech, cond.dbu
    perim_c = tech.perimeter_cap(views.kind)
    if perim_c <= 0.0:
        return
    mult, scale = tech.substrate_mult(views.kind), tech.atan_scale
    for i, length, d, _far in views.blocked:
        cut = 1.0 - float(fringe_share(mult, d * um, scale))
        ledger.to_substrate(int(views.net[i]), -perim_c * cut * length * um)
