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
coordinates are in database units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imcflow.extract.parasitics.boxes import Boxes, intersect
from imcflow.extract.parasitics.conductors import NET, Conductors


@dataclass
class Edges:
    """Fringe edges of one kind. Edge ``i`` lies on the line ``base[i]`` of axis ``normal[i]``
    (0: a vertical edge at x = base, 1: a horizontal one at y = base), spans ``lo[i]`` …
    ``hi[i]`` along it, faces ``sign[i]`` (±1) along the normal axis and belongs to net
    ``net[i]``. ``slanted`` holds (net, length) of edges at other angles."""

    net: np.ndarray
    normal: np.ndarray
    sign: np.ndarray
    base: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    slanted: list[tuple[int, float]]

    def boxes_ahead(self, depth: np.ndarray) -> Boxes:
        """For each edge, the box from the edge out to ``depth`` (tagged with the edge id)."""
        far = self.base + self.sign * depth
        a, b = np.minimum(self.base, far), np.maximum(self.base, far)
        horiz = self.normal == 1
        return Boxes(np.where(horiz, self.lo, a), np.where(horiz, a, self.lo),
                     np.where(horiz, self.hi, b), np.where(horiz, b, self.hi),
                     np.arange(len(self.net), dtype=np.int64))

    def frame(self, ids: np.ndarray, b: Boxes) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                         np.ndarray]:
        """Boxes ``b`` in front of edges ``ids`` in the edges' frame: (along from, along to,
        near distance, far distance)."""
        horiz = self.normal[ids] == 1
        sign, base = self.sign[ids], self.base[ids]
        a0 = np.where(horiz, b.x0, b.y0)
        a1 = np.where(horiz, b.x1, b.y1)
        c0 = np.where(horiz, b.y0, b.x0)
        c1 = np.where(horiz, b.y1, b.x1)
        near = np.where(sign > 0, c0 - base, base - c1)
        far = np.where(sign > 0, c1 - base, base - c0)
        return a0, a1, near, far


def fringe_edges(cond: Conductors, kind: str) -> Edges:
    """Outline edges of ``kind`` that face empty space on its plane, with their nets.

    Field poly does not fringe where it meets diffusion, a gate or a tap (magic's perimeter
    rules only count edges against space).
    """
    if kind == "poly":
        reg = cond.ext.regions
        raw = cond.material[kind].edges().not_(reg["diff"] + reg["tap"])
    else:
        raw = cond.tagged[kind].edges()
    coords = [(e.x1, e.y1, e.x2, e.y2) for e in raw.each()]
    nets = ([-1] * len(coords) if kind == "poly"
            else [int(e.property(NET)) for e in raw.each()])
    c = np.asarray(coords, dtype=np.int64).reshape(-1, 4)
    net = np.asarray(nets, dtype=np.int64)
    dx, dy = c[:, 2] - c[:, 0], c[:, 3] - c[:, 1]
    straight = (dx == 0) != (dy == 0)
    tilted = (dx != 0) & (dy != 0)
    slanted = list(zip(net[tilted].tolist(),
                       np.hypot(dx[tilted], dy[tilted]).tolist(), strict=True))
    c, net, dx, dy = c[straight], net[straight], dx[straight], dy[straight]
    horiz = dy == 0
    # outline edges keep their inside on the right, so outward is on the left
    edges = Edges(net=net, normal=horiz.astype(np.int64),
                  sign=np.where(horiz, np.sign(dx), -np.sign(dy)).astype(np.int64),
                  base=np.where(horiz, c[:, 1], c[:, 0]),
                  lo=np.where(horiz, np.minimum(c[:, 0], c[:, 2]), np.minimum(c[:, 1], c[:, 3])),
                  hi=np.where(horiz, np.maximum(c[:, 0], c[:, 2]), np.maximum(c[:, 1], c[:, 3])),
                  slanted=slanted)
    if kind == "poly" and len(net):
        # the net of a bare poly edge: the poly just inside its middle
        mid = (edges.lo + edges.hi) // 2
        inside = edges.base - np.where(edges.sign > 0, 1, 0)
        x = np.where(edges.normal == 1, mid, inside)
        y = np.where(edges.normal == 1, inside, mid)
        edges.net = cond.nets_at(kind, x, y)
        keep = edges.net >= 0
        edges = Edges(edges.net[keep], edges.normal[keep], edges.sign[keep], edges.base[keep],
                      edges.lo[keep], edges.hi[keep], [])
    return edges


@dataclass
class Views:
    """The fringe edges of one kind and their views.

    ``visible``: every edge's view as boxes tagged with the edge id. ``blocked``: the parts of
    edges whose view ends at a conductor of the same layer, as arrays (edge id, length,
    distance, net of that conductor).
    """

    kind: str
    edges: Edges
    visible: Boxes
    blocked: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def compute_views(cond: Conductors, kind: str) -> Views:
    """The views of every horizontal or vertical fringe edge of ``kind``."""
    halo = int(round(cond.tech.halo_um / cond.dbu))
    edges = fringe_edges(cond, kind)
    n = len(edges.net)
    strips = edges.boxes_ahead(np.full(n, halo, dtype=np.int64))
    material = cond.boxes(kind)
    hit, _, j = intersect(strips, material)
    ids = hit.tag
    a0, a1, near, _ = edges.frame(ids, hit)
    part, (p0, p1), dist, owner = _skyline(edges, ids, a0, a1, near, halo)
    segs = Edges(edges.net[part], edges.normal[part], edges.sign[part], edges.base[part],
                 p0, p1, [])
    visible = segs.boxes_ahead(dist)
    visible.tag = part
    blocked = owner >= 0
    far_net = material.tag[j[owner[blocked]]]
    return Views(kind=kind, edges=edges, visible=visible,
                 blocked=(part[blocked], (p1 - p0)[blocked], dist[blocked], far_net))


def _skyline(edges: Edges, ids: np.ndarray, a0: np.ndarray, a1: np.ndarray, near: np.ndarray,
             halo: int) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray,
                                 np.ndarray]:
    """Cut every edge into parts by the nearest obstacle ahead.

    Obstacles: edge ``ids``, spanning ``a0`` … ``a1`` along it, at distance ``near``. Returns
    (edge id, (from, to), distance, obstacle index or −1 where nothing is ahead: distance =
    ``halo``) per part.
    """
    n = len(edges.net)
    # breakpoints: each edge's ends and its obstacles' ends, sorted per edge
    e_all = np.concatenate([np.arange(n), np.arange(n), ids, ids])
    p_all = np.concatenate([edges.lo, edges.hi, a0, a1])
    order = np.lexsort((p_all, e_all))
    e_s, p_s = e_all[order], p_all[order]
    dup = np.zeros(len(e_s), dtype=bool)
    dup[1:] = (e_s[1:] == e_s[:-1]) & (p_s[1:] == p_s[:-1])
    e_s, p_s = e_s[~dup], p_s[~dup]
    same = e_s[1:] == e_s[:-1]
    part_e, part_a, part_b = e_s[:-1][same], p_s[:-1][same], p_s[1:][same]
    m = len(part_e)
    dist = np.full(m, halo, dtype=np.int64)
    owner = np.full(m, -1, dtype=np.int64)
    if len(ids):
        # parts each obstacle covers: from the one starting at a0 to the one ending at a1
        span = int(max(p_all.max() - p_all.min(), 0)) + 1
        key = part_e * span + (part_a - p_all.min())
        first = np.searchsorted(key, ids * span + (a0 - p_all.min()))
        key_end = part_e * span + (part_b - p_all.min())
        last = np.searchsorted(key_end, ids * span + (a1 - p_all.min()))
        count = last - first + 1
        ob = np.repeat(np.arange(len(ids)), count)
        part = np.repeat(first, count) + (np.arange(int(count.sum()))
                                          - np.repeat(np.cumsum(count) - count, count))
        # the nearest obstacle of each part
        order = np.lexsort((near[ob], part))
        part, ob = part[order], ob[order]
        head = np.ones(len(part), dtype=bool)
        head[1:] = part[1:] != part[:-1]
        dist[part[head]] = near[ob[head]]
        owner[part[head]] = ob[head]
    return part_e, (part_a, part_b), dist, owner
