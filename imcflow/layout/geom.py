"""Drawing primitives: a canvas over a ``klayout.db`` cell, contact/via stacks, derived sizes.

All coordinates are integer database units (1 dbu = 1 nm = 0.001 µm). Derived sizes are
composites of the sky130 rules in ``imcflow/pdk/data/layout_rules.yaml`` (rule names in the comments), rounded
up to the 5 nm grid.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import klayout.db as kdb

from imcflow.layout.rules import GRID, label_layers, layers, rule, rule_um, up

#: Conductor levels bottom-up and the cut that connects each level to the next.
LEVELS = ("poly", "li1", "met1", "met2", "met3", "met4")
CUTS = {"poly": "licon", "diff": "licon", "tap": "licon", "li1": "mcon", "met1": "via",
        "met2": "via2", "met3": "via3"}


@dataclass(frozen=True)
class Sizes:
    """Composite sizes in dbu, each derived from named sky130 rules."""

    lic: int          # licon.1 — licon side
    lic_sp: int       # licon.2 — licon spacing
    lic_gate: int     # licon.11 — diff licon to gate
    sd_in: int        # contacted S/D between two gates: licon.1 + 2·licon.11
    sd_end: int       # S/D at a diff end: max(poly.7, licon.11 + licon.1 + licon.5c)
    endcap: int       # poly.8
    poly_sp: int      # poly.2
    poly_w: int       # poly.1a
    poly_diff: int    # poly.4
    poly_lic_diff: int  # licon.14 — poly licon to diff
    diff_lic_enc: int   # licon.5c — diff enclosure of licon (used on all sides)
    tap_lic_enc: int    # licon.7 — tap enclosure of licon (used on all sides)
    ct: int           # ct.1 — mcon side
    ct_sp: int        # ct.2
    via: int          # via.1a
    via2: int         # via2.1a
    via3: int         # via3.1
    pad: dict[str, tuple[int, int]]  # (w, h) of a stack pad per level


@functools.cache
def sizes() -> Sizes:
    """The composite sizes (computed once from ``imcflow/pdk/data/layout_rules.yaml``)."""
    lic = rule("licon.1")
    li_h = max(lic + 2 * rule("li.5"), up(rule_um("li.6") * 1e6 / lic)) + 2 * GRID  # li.5, li.6
    m1 = (max(rule("ct.1") + 2 * rule("m1.4"), rule("via.1a") + 2 * rule("via.4a")),
          max(rule("ct.1") + 2 * rule("m1.5"), rule("via.1a") + 2 * rule("via.5a")))
    m1 = (m1[0], max(m1[1], up(rule_um("m1.6") * 1e6 / m1[0])) + 2 * GRID)       # m1.6 area
    m2_via2 = max(rule("via2.1a") + 2 * rule("via2.5"), rule("via.1a") + 2 * rule("m2.5"))
    m3 = max(rule("via2.1a") + 2 * rule("m3.4"), rule("via3.1") + 2 * rule("via3.5"),
             up((rule_um("m3.6") * 1e6) ** 0.5)) + 2 * GRID                       # m3.6 area
    m4 = max(rule("via3.1") + 2 * rule("m4.3"), rule("m4.1"))
    m4 = max(m4, up((rule_um("m4.4a") * 1e6) ** 0.5)) + 2 * GRID                   # m4.4a area
    return Sizes(
        lic=lic, lic_sp=rule("licon.2"), lic_gate=rule("licon.11"),
        sd_in=lic + 2 * rule("licon.11"),
        sd_end=max(rule("poly.7"), rule("licon.11") + lic + rule("licon.5c")),
        endcap=rule("poly.8"), poly_sp=rule("poly.2"), poly_w=rule("poly.1a"),
        poly_diff=rule("poly.4"), poly_lic_diff=rule("licon.14"),
        diff_lic_enc=rule("licon.5c"), tap_lic_enc=rule("licon.7"),
        ct=rule("ct.1"), ct_sp=rule("ct.2"), via=rule("via.1a"), via2=rule("via2.1a"),
        via3=rule("via3.1"),
        pad={
            "poly": (lic + 2 * rule("licon.8"), lic + 2 * rule("licon.8a")),
            "li1": (lic, li_h),
            "met1": m1,
            "met2": m1,                     # via only; with a via2 on it: "met2v2"
            "met2v2": (m2_via2, m2_via2),
            "met3": (m3, m3),
            "met4": (m4, m4),
        })


class Canvas:
    """Draws rectangles and labels into one ``klayout.db`` cell.

    ``dx`` shifts x; ``ty`` maps y (mirroring/offset; default ``y + dy``).
    """

    def __init__(self, layout: kdb.Layout, cell: kdb.Cell,
                 ty: Callable[[int], int] | None = None, dx: int = 0, dy: int = 0) -> None:
        self.layout = layout
        self.cell = cell
        self.ty = ty or (lambda y: y + dy)
        self.dx = dx
        self._idx = {name: layout.layer(*ld) for name, ld in layers().items()}
        self._lbl = {name: layout.layer(*ld) for name, ld in label_layers().items()}

    def box(self, layer: str, x0: int, y0: int, x1: int, y1: int) -> None:
        """Rectangle on drawing layer ``layer`` (corners in dbu, any order)."""
        ya, yb = self.ty(y0), self.ty(y1)
        xa, xb = x0 + self.dx, x1 + self.dx
        b = kdb.Box(min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb))
        if b.width() <= 0 or b.height() <= 0:
            raise ValueError(f"degenerate {layer} box {b}")
        self.cell.shapes(self._idx[layer]).insert(b)

    def cbox(self, layer: str, x: int, y: int, w: int, h: int) -> None:
        """Rectangle of size w × h centred on (x, y); w, h even multiples of the grid/2."""
        self.box(layer, x - w // 2, y - h // 2, x - w // 2 + w, y - h // 2 + h)

    def label(self, level: str, text: str, x: int, y: int) -> None:
        """Text label ``text`` on the label purpose of conductor ``level`` at (x, y)."""
        t = kdb.Text(text, kdb.Trans(kdb.Point(x + self.dx, self.ty(y))))
        self.cell.shapes(self._lbl[level]).insert(t)

    def stack(self, x: int, y: int, lo: str, hi: str, pads_at_ends: bool = True) -> None:
        """Contact/via stack at (x, y) from conductor ``lo`` (poly, li1, met1…; ``diff``/``tap``
        mean a licon onto an existing active area) up to ``hi``, with enclosing pads on every
        level in between (and on ``lo``/``hi`` when ``pads_at_ends``)."""
        s = sizes()
        start = "poly" if lo in ("diff", "tap") else lo
        i0, i1 = LEVELS.index(start), LEVELS.index(hi)
        cut_size = {"licon": s.lic, "mcon": s.ct, "via": s.via, "via2": s.via2, "via3": s.via3}
        for i in range(i0, i1):
            level = LEVELS[i] if i > i0 else lo
            cut = CUTS[level]
            self.cbox(cut, x, y, cut_size[cut], cut_size[cut])
        for i in range(i0, i1 + 1):
            level = LEVELS[i]
            if i == i0 and lo in ("diff", "tap"):
                continue
            if (i in (i0, i1)) and not pads_at_ends:
                continue
            key = level
            if level == "met2" and i + 1 <= i1:
                key = "met2v2"
            w, h = s.pad[key]
            self.cbox(level, x, y, w, h)
