"""Capacitance of a wire to the substrate below it: area and fringe, before anything shields it.

Every wire starts with ``area_cap × area`` and ``perimeter_cap × length`` of its fringe edges
(edges facing empty space on its plane) to the substrate; the n-well with its own area
capacitance to the substrate (a junction, magic's ``defaultareacap nwell``). What lies under a
wire or in front of its edges later moves shares of this to other nets (``overlap``,
``sideoverlap``) or removes them (``neighbours``).
"""

from __future__ import annotations

import numpy as np

from imcflow.extract.parasitics.boxes import group_sum
from imcflow.extract.parasitics.conductors import Conductors
from imcflow.extract.parasitics.result import Ledger
from imcflow.extract.parasitics.views import Edges


def substrate_caps(cond: Conductors, ledger: Ledger, edges: dict[str, Edges]) -> None:
    """Add every wire's unshielded area and fringe capacitance to the substrate (aF).

    ``edges``: the fringe edges of each kind that has a fringe capacitance.
    """
    tech, um = cond.tech, cond.dbu
    for kind in tech.wires:
        area_c, perim_c = tech.area_cap(kind), tech.perimeter_cap(kind)
        if area_c:
            b = cond.boxes(kind)
            (net,), area = group_sum([b.tag], b.area().astype(float) * um * um)
            for n, a in zip(net.tolist(), area.tolist(), strict=True):
                ledger.to_substrate(n, area_c * a)
        if perim_c and kind in edges:
            e = edges[kind]
            nets = np.concatenate([e.net, np.asarray([s[0] for s in e.slanted], dtype=np.int64)])
            lengths = np.concatenate([(e.hi - e.lo).astype(float),
                                      np.asarray([s[1] for s in e.slanted], dtype=float)])
            (net,), length = group_sum([nets], lengths * um)
            for n, ln in zip(net.tolist(), length.tolist(), strict=True):
                if n >= 0:
                    ledger.to_substrate(n, perim_c * ln)
