"""Fringe edges and what each one sees: the band in front of it, cut at the nearest conductor of
its own layer.

An edge of a wire's outline that faces empty space on its own plane carries fringe
capacitance. Its field reaches out perpendicular to the edge, up to ``fringe.halo_um`` (8 µm),
but stops at the first conductor of the same layer in front of it (any net, its own too): that
conductor takes the field beyond it. For every point along an edge this module finds that
distance; the **view** of an edge is the band between the edge and that first conductor (or the
halo). Everything else reads the views:

* the sidewall coupling to the conductor that closes the view (``sidewall``);
* the substrate fringe the conductor cuts off (``neighbours``);
* the fringe onto conductors of other planes inside the view (``sideoverlap``).

The result depends only on the geometry, not on how polygons are cut. Edges that are not
horizontal or vertical carry only their substrate fringe (as in magic). Distances and
coordinates are in database units unless named ``_um``.
"""

from __future__ import annotations

from dataclasses import dataclass

import klayout.db as kdb
import numpy as np

from imcflow.extract.parasitics.conductors import KEEP, NET, PER_TAG, Conductors

EDGE = 1  # property key of the edge id on view shapes

#: Outward directions: (axis of the normal, sign) → unit vector.
DIRECTIONS = {(1, 1): (0, 1), (1, -1): (0, -1), (0, 1): (1, 0), (0, -1): (-1, 0)}


def fringe_edges(cond: Conductors, kind: str) -> kdb.Edges:
    """Outline edges of ``kind`` that face empty space on its plane, tagged with their net.

    Field poly does not fringe where it meets diffusion, a gate or a tap (magic's perimeter
    rules only count edges against space).
    """
    if kind != "poly":
        return cond.tagged[kind].edges()
    reg = cond.ext.regions
    bare = cond.material[kind].edges().not_(reg["diff"] + reg["tap"])
    index = cond.index(kind)
    out = kdb.Edges()
    for e in bare.each():
        dx, dy = e.dx(), e.dy()
        n = max(abs(dx), abs(dy))
        # the inside of an outline edge is on its right
        x = (e.p1.x + e.p2.x) // 2 + (1 if dy > 0 else -1 if dy < 0 else 0)
        y = (e.p1.y + e.p2.y) // 2 + (-1 if dx > 0 else 1 if dx < 0 else 0)
        net = index.net_at(x, y) if n else None
        if net is not None:
            out.insert(kdb.EdgeWithProperties(kdb.Edge(e.p1, e.p2), {NET: net}))
    return out


@dataclass
class Views:
    """The fringe edges of one kind and their views.

    Edge ``i``: ``net[i]``; the edge runs along axis ``1 - normal[i]`` from ``lo[i]`` to
    ``hi[i]`` on the line ``base[i]`` of axis ``normal[i]`` (0: x, 1: y), and faces
    ``sign[i]`` (±1) along that axis. ``visible`` holds every edge's view, tagged ``EDGE`` = i.
    ``blocked`` lists the parts of edges whose view ends at a conductor of the same layer:
    rows (edge, length, distance, net of that conductor).
    """

    kind: str
    net: np.ndarray
    normal: np.ndarray
    sign: np.ndarray
    base: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    visible: kdb.Region
    blocked: list[tuple[int, int, int, int]]

    def distances(self, ids: np.ndarray, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray,
                  y1: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For boxes in front of edges ``ids``: (length along the edge, near and far distance
        from it), database units."""
        normal, sign, base = self.normal[ids], self.sign[ids], self.base[ids]
        along_lo = np.where(normal == 1, x0, y0)
        along_hi = np.where(normal == 1, x1, y1)
        across_lo = np.where(normal == 1, y0, x0)
        across_hi = np.where(normal == 1, y1, x1)
        near = np.where(sign > 0, across_lo - base, base - across_hi)
        far = np.where(sign > 0, across_hi - base, base - across_lo)
        return along_hi - along_lo, near, far


def compute_views(cond: Conductors, kind: str) -> Views:
    """The views of every horizontal or vertical fringe edge of ``kind``."""
    halo = int(round(cond.tech.halo_um / cond.dbu))
    rows: list[tuple[int, int, int, int, int, int]] = []
    by_dir: dict[tuple[int, int], kdb.Edges] = {d: kdb.Edges() for d in DIRECTIONS}
    for e in fringe_edges(cond, kind).each():
        dx, dy = e.dx(), e.dy()
        if dx != 0 and dy != 0 or (dx == 0 and dy == 0):
            continue
        # outward is on the left of an outline edge
        if dy == 0:
            normal, sign, base = 1, (1 if dx > 0 else -1), e.p1.y
            lo, hi = sorted((e.p1.x, e.p2.x))
        else:
            normal, sign, base = 0, (-1 if dy > 0 else 1), e.p1.x
            lo, hi = sorted((e.p1.y, e.p2.y))
        i = len(rows)
        rows.append((int(e.property(NET)), normal, sign, base, lo, hi))
        by_dir[normal, sign].insert(kdb.EdgeWithProperties(kdb.Edge(e.p1, e.p2), {EDGE: i}))
    arr = np.array(rows, dtype=np.int64).reshape(-1, 6)
    material = cond.material[kind]
    visible = kdb.Region()
    for d, edges in by_dir.items():
        if edges.is_empty():
            continue
        strips = edges.extended(0, 0, halo, 0, False)
        ahead = strips.and_(material, KEEP)
        vx, vy = DIRECTIONS[d]
        shadow = ahead.minkowski_sum(kdb.Edge(0, 0, vx * halo, vy * halo))
        visible += strips.not_(shadow, PER_TAG)
    views = Views(kind=kind, net=arr[:, 0], normal=arr[:, 1], sign=arr[:, 2], base=arr[:, 3],
                  lo=arr[:, 4], hi=arr[:, 5], visible=visible, blocked=[])
    views.blocked = _blocked(views, cond, halo)
    return views


def _blocked(views: Views, cond: Conductors, halo: int) -> list[tuple[int, int, int, int]]:
    """Parts of the views' far sides that lie on a conductor of the kind (not the halo)."""
    index = cond.index(views.kind)
    out = []
    for poly in views.visible.each():
        i = int(poly.property(EDGE))
        normal, sign, base = int(views.normal[i]), int(views.sign[i]), int(views.base[i])
        pts = list(poly.each_point_hull())
        for p, q in zip(pts, pts[1:] + pts[:1], strict=True):
            if normal == 1:
                if p.y != q.y:
                    continue
                across, a, b = p.y, p.x, q.x
            else:
                if p.x != q.x:
                    continue
                across, a, b = p.x, p.y, q.y
            s = (across - base) * sign
            if s <= 0 or s >= halo:
                continue
            a, b = min(a, b), max(a, b)
            mid = (a + b) // 2
            x, y = (mid, across) if normal == 1 else (across, mid)
            far = index.net_at(x, y)
            if far is not None:
                out.append((i, b - a, s, far))
    return out
