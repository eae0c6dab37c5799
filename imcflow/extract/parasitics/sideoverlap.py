"""Side-overlap: the fringe of an edge onto conductors of other planes inside its view.

The fringe field of a wire's edge spreads sideways (see ``law``) into the band in front of the
edge (its view, see ``views``). A conductor of another plane inside that band, not shielded
from the edge by material on a plane between the two, takes ``sideoverlap`` × the share of the
field over the part it occupies (the multiplier of the pair). This works in both directions:
down onto lower conductors and up onto higher ones (magic's tech file gives both tables).

A lower conductor also stands between the edge and the substrate: the same part of the
edge's substrate fringe (with the substrate multiplier) is removed. A higher one does not.
Over the n-well the fringe goes to the well's net.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from imcflow.extract.parasitics.conductors import KEEP, Conductors, boxes
from imcflow.extract.parasitics.law import fringe_share
from imcflow.extract.parasitics.result import Ledger
from imcflow.extract.parasitics.views import EDGE, Views


def sideoverlap_caps(views: Views, cond: Conductors, ledger: Ledger) -> None:
    """Add the fringe coupling of ``views``' edges onto every other plane (aF)."""
    tech, um, kind = cond.tech, cond.dbu, views.kind
    if views.visible.is_empty():
        return
    perim_c, sub_mult = tech.perimeter_cap(kind), tech.substrate_mult(kind)
    scale = tech.atan_scale
    own_plane = tech.plane_of[kind]
    for plane in tech.planes:
        if plane == own_plane:
            continue
        targets = [t for t in cond.kinds(plane) if tech.sideoverlap(kind, t) > 0.0]
        if not targets:
            continue
        shields = cond.shields(kind, targets[0])
        lower = tech.is_below(targets[0], kind)
        for target in targets:
            seen = views.visible.and_(cond.material[target], KEEP)
            if not shields.is_empty():
                seen = seen.not_(shields, KEEP)
            if seen.is_empty():
                continue
            ids, nets, x0, y0, x1, y1 = _boxes_with_targets(seen, cond, target)
            length, near, far = views.distances(ids, x0, y0, x1, y1)
            length, near, far = length * um, np.maximum(near, 0) * um, far * um
            mult = tech.fringe_mult(kind, target)
            share = length * (fringe_share(mult, far, scale) - fringe_share(mult, near, scale))
            c_so = tech.sideoverlap(kind, target)
            own = views.net[ids]
            pair_sum: dict[tuple[int, int], float] = defaultdict(float)
            for a, b, s in zip(own.tolist(), nets.tolist(), share.tolist(), strict=True):
                pair_sum[a, b] += s
            for (a, b), s in pair_sum.items():
                if b >= 0:
                    ledger.between(a, b, c_so * s)
            if lower and perim_c > 0.0:
                sub = length * (fringe_share(sub_mult, far, scale)
                                - fringe_share(sub_mult, near, scale))
                sub_sum: dict[int, float] = defaultdict(float)
                for a, s in zip(own.tolist(), sub.tolist(), strict=True):
                    sub_sum[a] += s
                for a, s in sub_sum.items():
                    ledger.to_substrate(a, -perim_c * s)


def _boxes_with_targets(seen, cond: Conductors, target: str):
    """Rectangles of the view parts over ``target``: (edge ids, target nets (−1: unknown),
    x0, y0, x1, y1) arrays, database units."""
    index = cond.index(target)
    rows = []
    for piece in seen.each():
        i = int(piece.property(EDGE))
        p = next(piece.each_point_hull())
        net = index.net_at(p.x, p.y)
        net = -1 if net is None else net
        for b in boxes(piece):
            rows.append((i, net, b.left, b.bottom, b.right, b.top))
    arr = np.array(rows, dtype=np.int64).reshape(-1, 6)
    return arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 5]
