"""Fringe shielding by a same-layer neighbour (magic's ``extRemoveSubcap``).

A conductor of the wire's own layer in front of an edge, at distance d, catches the edge's
fringe field beyond it: the share that would reach the substrate past d, ``1 − share(d)`` with
the substrate multiplier, is removed from the edge's substrate fringe. (What the neighbour
catches is its sidewall coupling, counted separately.)
"""

from __future__ import annotations

from imcflow.extract.parasitics.boxes import group_sum
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
    ids, length, dist, _far = views.blocked
    cut = 1.0 - fringe_share(tech.substrate_mult(views.kind), dist * um, tech.atan_scale)
    (own,), sums = group_sum([views.edges.net[ids]], perim_c * cut * length * um)
    for n, v in zip(own.tolist(), sums.tolist(), strict=True):
        ledger.to_substrate(n, -v)
