"""Sidewall coupling between facing edges of one layer (magic's ``defaultsidewall``).

Each part of an edge whose view (see ``views``) ends at a conductor of another net couples to it
with ``c·ℓ/(d + offset)``. Both facing edges see each other, so each adds half.
"""

from __future__ import annotations

from imcflow.extract.parasitics.boxes import group_sum
from imcflow.extract.parasitics.conductors import Conductors
from imcflow.extract.parasitics.law import sidewall_coupling
from imcflow.extract.parasitics.result import Ledger
from imcflow.extract.parasitics.views import Views


def sidewall_caps(views: Views, cond: Conductors, ledger: Ledger) -> None:
    """Add the sidewall coupling of every blocked view part (aF)."""
    c, offset = cond.tech.sidewall(views.kind)
    if c <= 0.0:
        return
    um = cond.dbu
    ids, length, dist, far = views.blocked
    own = views.edges.net[ids]
    other = own != far
    cc = 0.5 * sidewall_coupling(c, offset, length[other] * um, dist[other] * um)
    (a, b), sums = group_sum([own[other], far[other]], cc)
    for x, y, v in zip(a.tolist(), b.tolist(), sums.tolist(), strict=True):
        ledger.between(x, y, v)
