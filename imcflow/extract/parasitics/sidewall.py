"""Sidewall coupling between facing edges of one layer (magic's ``defaultsidewall``).

Each part of an edge whose view (see ``views``) ends at a conductor of another net couples to it
with ``c·ℓ/(d + offset)``. Both facing edges see each other, so each adds half.
"""

from __future__ import annotations

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
    for i, length, d, far in views.blocked:
        own = int(views.net[i])
        if far != own:
            ledger.between(own, far, 0.5 * float(sidewall_coupling(c, offset, length * um,
                                                                   d * um)))
