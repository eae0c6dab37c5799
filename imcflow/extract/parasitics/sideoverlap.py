"""Side-overlap: the fringe of an edge onto conductors of other planes inside its view.

The fringe field of a wire's edge spreads sideways (see ``law``) into the band in front of the
edge (its view, see ``views``). A conductor of another plane inside that band, not shielded
from the edge by material on a plane between the two, takes ``sideoverlap`` × the share of the
field over the part it occupies (with the multiplier of the pair). This works in both
directions: down onto lower conductors and up onto higher ones (magic's tech file gives both
tables). Over the n-well the fringe goes to the well's net.

A lower conductor also stands between the edge and the substrate: the same part of the edge's
substrate fringe (with the substrate multiplier) is removed. A higher one does not.

Where imcflow deliberately differs from magic (8.3.677), both small: (1) over a conductor of
the edge's own net that a plane between partly covers, magic removes the substrate share of the
whole conductor and again that of the cover, twice for the covered part; here once, as the
field lands only once. (2) For an edge that borders a contact cut, magic's table lookup with
the contact type gives the pair multiplier 0 when it subtracts the shielded part, so its
coupling passes through the planes between (e.g. li1 over p-diffusion onto the n-well); here the
planes between shield it.
"""

from __future__ import annotations

import numpy as np

from imcflow.extract.parasitics.boxes import Boxes, group_sum, intersect
from imcflow.extract.parasitics.conductors import Conductors
from imcflow.extract.parasitics.law import band_share
from imcflow.extract.parasitics.result import Ledger
from imcflow.extract.parasitics.views import Views


def sideoverlap_caps(views: Views, cond: Conductors, ledger: Ledger) -> None:
    """Add the fringe coupling of ``views``' edges onto every other plane (aF)."""
    tech, kind = cond.tech, views.kind
    if len(views.visible) == 0:
        return
    perim_c, sub_mult = tech.perimeter_cap(kind), tech.substrate_mult(kind)
    own_plane = tech.plane_of[kind]
    for plane in tech.planes:
        if plane == own_plane:
            continue
        for target in cond.kinds(plane):
            c_so = tech.sideoverlap(kind, target)
            if c_so <= 0.0:
                continue
            found = cond.boxes(target)
            seen, _, j = intersect(views.visible, found)
            # the parts a plane between covers count negatively (shields are disjoint boxes)
            covered, k, _ = intersect(seen, cond.shields(kind, target))
            parts = Boxes.concat(seen, covered)
            sign = np.concatenate([np.ones(len(seen)), -np.ones(len(covered))])
            other = found.tag[np.concatenate([j, j[k]])]
            own = views.edges.net[parts.tag]
            share = sign * _band_shares(views, cond, parts, tech.fringe_mult(kind, target))
            (a, b), sums = group_sum([own, other], share)
            for x, y, s in zip(a.tolist(), b.tolist(), sums.tolist(), strict=True):
                ledger.between(x, y, c_so * s)
            if perim_c > 0.0 and tech.is_below(target, kind):
                sub = sign * _band_shares(views, cond, parts, sub_mult)
                (a,), sums = group_sum([own], sub)
                for x, s in zip(a.tolist(), sums.tolist(), strict=True):
                    ledger.to_substrate(x, -perim_c * s)


def _band_shares(views: Views, cond: Conductors, parts: Boxes, mult: float) -> np.ndarray:
    """Fringe share (µm of edge) each box in front of its edge receives with ``mult``."""
    um = cond.dbu
    a0, a1, near, far = views.edges.frame(parts.tag, parts)
    return band_share(mult, near * um, far * um, (a1 - a0) * um, cond.tech.atan_scale)
