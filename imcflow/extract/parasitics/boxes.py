"""Axis-aligned boxes in numpy arrays, and the one geometric query the extractor needs: every
pair of boxes from two sets that overlap with positive area.

Conductors, views and shields are all held as sets of boxes (database units) with an integer
tag each (a net or an edge id). A region cut into disjoint boxes integrates exactly: the
capacitance laws only need the boxes' extents. The pair query bins boxes into a uniform grid
and reports each overlapping pair once (in the cell that holds the lower-left corner of the
overlap), so the work grows with the number of boxes and of overlapping pairs, not their
product.
"""

from __future__ import annotations

from dataclasses import dataclass

import klayout.db as kdb
import numpy as np

#: Bounds of the pair query's grid cell, database units (0.5 µm and 20 µm at 1 nm).
CELL_MIN, CELL_MAX = 500, 20_000


@dataclass
class Boxes:
    """Boxes ``[x0, x1] × [y0, y1]`` with a tag each (int64 arrays of one length)."""

    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    tag: np.ndarray

    @classmethod
    def empty(cls) -> Boxes:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z, z, z)

    @classmethod
    def from_rows(cls, rows: list[tuple[int, int, int, int, int]]) -> Boxes:
        """From (x0, y0, x1, y1, tag) rows."""
        if not rows:
            return cls.empty()
        a = np.asarray(rows, dtype=np.int64)
        return cls(a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4])

    @classmethod
    def from_region(cls, region: kdb.Region, key: int | None = None) -> Boxes:
        """``region``'s polygons cut into boxes, tagged with property ``key`` (or 0).

        Polygons that are not Manhattan are cut into trapezoids, each replaced by the box of
        the same height and area on its centre line.
        """
        rows = []
        for poly in region.each():
            tag = int(poly.property(key)) if key is not None else 0
            if poly.is_box():
                b = poly.bbox()
                rows.append((b.left, b.bottom, b.right, b.top, tag))
                continue
            for t in poly.decompose_trapezoids():
                b = t.bbox()
                if t.is_box():
                    rows.append((b.left, b.bottom, b.right, b.top, tag))
                elif b.height() > 0:
                    w = int(round(t.area() / b.height()))
                    cx = (b.left + b.right) // 2
                    rows.append((cx - w // 2, b.bottom, cx - w // 2 + w, b.top, tag))
        return cls.from_rows(rows)

    @classmethod
    def concat(cls, *parts: Boxes) -> Boxes:
        """The boxes of ``parts`` one after the other."""
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("x0", "y0", "x1", "y1", "tag")))

    def __len__(self) -> int:
        return len(self.tag)

    def area(self) -> np.ndarray:
        return (self.x1 - self.x0) * (self.y1 - self.y0)


def _cells(b: Boxes, cell: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (box index, cell x, cell y) a box covers."""
    cx0, cy0 = b.x0 // cell, b.y0 // cell
    cx1, cy1 = (b.x1 - 1) // cell, (b.y1 - 1) // cell
    nx, ny = cx1 - cx0 + 1, cy1 - cy0 + 1
    n = nx * ny
    idx = np.repeat(np.arange(len(b)), n)
    k = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    nx_r = np.repeat(nx, n)
    return idx, np.repeat(cx0, n) + k % nx_r, np.repeat(cy0, n) + k // nx_r


#: A box longer than this many grid cells is paired on a grid of its own (coarser) size.
BIG = 16


def _cell_size(*sets: Boxes) -> int:
    """Grid cell: twice the median size (√area) of the boxes, within [CELL_MIN, CELL_MAX]
    (few cells per box, few boxes per cell)."""
    size = np.sqrt(np.concatenate([b.area() for b in sets]).astype(float))
    return int(np.clip(2 * np.median(size), CELL_MIN, CELL_MAX))


def pairs(a: Boxes, b: Boxes) -> tuple[np.ndarray, np.ndarray]:
    """Indices (i, j) of every box a[i] that overlaps b[j] with positive area, once each.

    Boxes much longer than the typical one (rails, wells, plates) would be copied into very
    many cells of a fine grid; they are paired with everything on a grid of their own size.
    """
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    if len(a) == 0 or len(b) == 0:
        return empty
    cell = _cell_size(a, b)
    big_a = np.maximum(a.x1 - a.x0, a.y1 - a.y0) > BIG * cell
    big_b = np.maximum(b.x1 - b.x0, b.y1 - b.y0) > BIG * cell
    if not big_a.any() and not big_b.any():
        return _grid_pairs(a, b, cell)
    sa, sb = np.flatnonzero(~big_a), np.flatnonzero(~big_b)
    la, lb = np.flatnonzero(big_a), np.flatnonzero(big_b)
    # small with small on the fine grid; the big ones of a with all of b, and the small of a
    # with the big ones of b, each on a grid sized to those big boxes
    jobs = [(sa, sb, cell)]
    if len(la):
        jobs.append((la, np.arange(len(b)), _cell_size(_subset(a, la))))
    if len(lb):
        jobs.append((sa, lb, _cell_size(_subset(b, lb))))
    out_i, out_j = [], []
    for ia, ib, c in jobs:
        if len(ia) and len(ib):
            i, j = _grid_pairs(_subset(a, ia), _subset(b, ib), c)
            out_i.append(ia[i])
            out_j.append(ib[j])
    if not out_i:
        return empty
    return np.concatenate(out_i), np.concatenate(out_j)


def _subset(b: Boxes, idx: np.ndarray) -> Boxes:
    return Boxes(b.x0[idx], b.y0[idx], b.x1[idx], b.y1[idx], b.tag[idx])


def _grid_pairs(a: Boxes, b: Boxes, cell: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pairs` on one grid of ``cell`` database units."""
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    ia, ax, ay = _cells(a, cell)
    ib, bx, by = _cells(b, cell)
    lo = min(ax.min(), bx.min()), min(ay.min(), by.min())
    width = max(ax.max(), bx.max()) - lo[0] + 1
    ka = (ay - lo[1]) * width + (ax - lo[0])
    kb = (by - lo[1]) * width + (bx - lo[0])
    order = np.argsort(kb, kind="stable")
    kb_sorted, ib_sorted = kb[order], ib[order]
    order = np.argsort(ka, kind="stable")
    ka, ia = ka[order], ia[order]
    start = np.searchsorted(kb_sorted, ka, side="left")
    stop = np.searchsorted(kb_sorted, ka, side="right")
    count = stop - start
    if count.sum() == 0:
        return empty
    pa = np.repeat(ia, count)
    pos = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    pb = ib_sorted[np.repeat(start, count) + pos]
    pk = np.repeat(ka, count)
    # positive-area overlap, reported in the cell of its lower-left corner only
    x0 = np.maximum(a.x0[pa], b.x0[pb])
    y0 = np.maximum(a.y0[pa], b.y0[pb])
    keep = (x0 < np.minimum(a.x1[pa], b.x1[pb])) & (y0 < np.minimum(a.y1[pa], b.y1[pb]))
    home = (y0 // cell - lo[1]) * width + (x0 // cell - lo[0])
    keep &= home == pk
    return pa[keep], pb[keep]


def intersect(a: Boxes, b: Boxes) -> tuple[Boxes, np.ndarray, np.ndarray]:
    """The overlaps of ``a`` with ``b`` as boxes (tagged like ``a``), with the index of the
    ``a`` and ``b`` box each comes from."""
    i, j = pairs(a, b)
    out = Boxes(np.maximum(a.x0[i], b.x0[j]), np.maximum(a.y0[i], b.y0[j]),
                np.minimum(a.x1[i], b.x1[j]), np.minimum(a.y1[i], b.y1[j]), a.tag[i])
    return out, i, j


def group_sum(keys: list[np.ndarray], values: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Sum ``values`` over equal key tuples (one or two int columns, each ≥ −1 and < 2³¹):
    (the distinct key columns, their sums)."""
    if len(values) == 0:
        return [k[:0] for k in keys], values[:0]
    combined = keys[0] + 1
    if len(keys) == 2:
        combined = (combined << 32) | (keys[1] + 1)
    uniq, inv = np.unique(combined, return_inverse=True)
    sums = np.bincount(inv.ravel(), weights=values, minlength=len(uniq))
    if len(keys) == 2:
        return [(uniq >> 32) - 1, (uniq & 0xFFFFFFFF) - 1], sums
    return [uniq - 1], sums
