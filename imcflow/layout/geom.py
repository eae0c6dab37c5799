"""Drawing primitives: the one canvas over a ``klayout.db`` cell, contact/via stacks, and the
composite sizes every cell is drawn with.

All coordinates are integer database units (1 dbu = 1 nm = 0.001 µm). Every size here is a
composite of sky130 rules of the one rule table (``imcflow/pdk/data/drc_rules.yaml``, rule
names in the field comments), rounded up to the 5 nm grid; :mod:`imcflow.extract.synth` puts µm
helpers on top of the same canvas for hand-drawn test cells.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import klayout.db as kdb

from imcflow.layout.rules import label_layers, layers, rule, rule_um, up

#: Conductor levels bottom-up and the cut that connects each level to the next.
LEVELS = ("poly", "li1", "met1", "met2", "met3", "met4")
CUTS = {"poly": "licon", "diff": "licon", "tap": "licon", "li1": "mcon", "met1": "via",
        "met2": "via2", "met3": "via3"}
#: Same-layer spacing rule of each conductor and cut.
SPACE_RULE = {"diff": "difftap.3", "tap": "difftap.3", "poly": "poly.2", "li1": "li.3",
              "met1": "m1.2", "met2": "m2.2", "met3": "m3.2", "met4": "m4.2",
              "licon": "licon.2", "mcon": "ct.2", "via": "via.2", "via2": "via2.2",
              "via3": "via3.2", "npc": "npc.2", "nsdm": "nsd.2", "psdm": "psd.2",
              "nwell": "nwell.2a"}


def side_for_area(min_side: int, area_rule: str) -> int:
    """Other side (dbu) a rectangle with one side ``min_side`` needs for the area rule."""
    return up(rule_um(area_rule) * 1e6 / min_side)


def square_for_area(area_rule: str) -> int:
    """Side (dbu) of the smallest on-grid square meeting the area rule."""
    return up((rule_um(area_rule) * 1e6) ** 0.5)


@dataclass(frozen=True)
class Sizes:
    """Composite sizes in dbu, each derived from named sky130 rules."""

    lic: int            # licon.1 — licon side
    lic_sp: int         # licon.2 — licon spacing
    lic_gate: int       # licon.11 — diff licon to gate
    sd_in: int          # contacted S/D between two gates: licon.1 + 2·licon.11
    sd_end: int         # S/D at a diff end: max(poly.7, licon.11 + licon.1 + licon.5c)
    endcap: int         # poly.8
    poly_sp: int        # poly.2
    poly_w: int         # poly.1a
    poly_diff: int      # poly.4 — field poly to diff
    gc_gap: int         # poly licon to the diff it gates: max(licon.14, psd.5a + licon.9), so
    #                     the licon also clears that diff's psdm
    diff_lic_enc: int   # licon.5c — diff enclosure of licon (used on all sides)
    tap: int            # tap side: licon.1 + 2·licon.7 (licon.7 on all sides)
    ct: int             # ct.1 — mcon side
    ct_sp: int          # ct.2
    via: int            # via.1a
    via2: int           # via2.1a
    via3: int           # via3.1
    npc: int            # npc around a poly licon: licon.1 + 2·licon.15
    pad: dict[str, tuple[int, int]]  # (w, h) of a stack pad per level (see sizes())


@functools.cache
def sizes() -> Sizes:
    """The composite sizes (computed once from the rule table).

    Stack pads: li1 over a licon/mcon is the cut wide and li.5 longer (one-of-two-adjacent-
    sides enclosure), long enough for li.6; met1 and met2 enclose an mcon/via by m1.4/via.4a
    (m2.4) across and m1.5/via.5a (m2.5) along, long enough for m1.6 (m2.6); met2 under a
    via2 is a square of via2.1a + 2·via2.5 (≥ via.1a + 2·m2.5); met3 and met4 are squares big
    enough for their enclosures (m3.4, via3.5; m4.3) and their area (m3.6, m4.4a).
    """
    lic = rule("licon.1")
    ct, via, via2, via3 = rule("ct.1"), rule("via.1a"), rule("via2.1a"), rule("via3.1")
    li_w = max(lic, ct)
    li_h = max(lic + 2 * rule("li.5"), side_for_area(li_w, "li.6"))
    m1_w = max(ct + 2 * rule("m1.4"), via + 2 * rule("via.4a"))
    m1_h = max(ct + 2 * rule("m1.5"), via + 2 * rule("via.5a"), side_for_area(m1_w, "m1.6"))
    m2_w = via + 2 * rule("m2.4")
    m2_h = max(via + 2 * rule("m2.5"), side_for_area(m2_w, "m2.6"))
    m2v2 = max(via2 + 2 * rule("via2.5"), via + 2 * rule("m2.5"))
    m3 = max(via2 + 2 * rule("m3.4"), via3 + 2 * rule("via3.5"), rule("m3.1"),
             square_for_area("m3.6"))
    m4 = max(via3 + 2 * rule("m4.3"), rule("m4.1"), square_for_area("m4.4a"))
    return Sizes(
        lic=lic, lic_sp=rule("licon.2"), lic_gate=rule("licon.11"),
        sd_in=lic + 2 * rule("licon.11"),
        sd_end=max(rule("poly.7"), rule("licon.11") + lic + rule("licon.5c")),
        endcap=rule("poly.8"), poly_sp=rule("poly.2"), poly_w=rule("poly.1a"),
        poly_diff=rule("poly.4"),
        gc_gap=max(rule("licon.14"), rule("psd.5a") + rule("licon.9")),
        diff_lic_enc=rule("licon.5c"), tap=lic + 2 * rule("licon.7"),
        ct=ct, ct_sp=rule("ct.2"), via=via, via2=via2, via3=via3,
        npc=lic + 2 * rule("licon.15"),
        pad={
            "poly": (lic + 2 * rule("licon.8"), lic + 2 * rule("licon.8a")),
            "li1": (li_w, li_h),
            "met1": (m1_w, m1_h),
            "met2": (m2_w, m2_h),           # via only; with a via2 on it: "met2v2"
            "met2v2": (m2v2, m2v2),
            "met3": (m3, m3),
            "met4": (m4, m4),
        })


def pad_key(level: str, has_cut_above: bool) -> str:
    """Key of :attr:`Sizes.pad` for a stack pad on ``level``."""
    return "met2v2" if level == "met2" and has_cut_above else level


class Canvas:
    """Draws rectangles and labels into one ``klayout.db`` cell (coordinates in dbu).

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

    def polygon(self, layer: str, points: list[tuple[int, int]]) -> None:
        """Polygon on drawing layer ``layer`` (vertices in dbu)."""
        pts = [kdb.Point(x + self.dx, self.ty(y)) for x, y in points]
        self.cell.shapes(self._idx[layer]).insert(kdb.Polygon(pts))

    def cbox(self, layer: str, x: int, y: int, w: int, h: int) -> None:
        """Rectangle of size w × h centred on (x, y)."""
        self.box(layer, x - w // 2, y - h // 2, x - w // 2 + w, y - h // 2 + h)

    def label(self, level: str, text: str, x: int, y: int) -> None:
        """Text label ``text`` on the label purpose of conductor ``level`` at (x, y)."""
        t = kdb.Text(text, kdb.Trans(kdb.Point(x + self.dx, self.ty(y))))
        self.cell.shapes(self._lbl[level]).insert(t)

    def stack(self, x: int, y: int, lo: str, hi: str, pads_at_ends: bool = True) -> None:
        """Contact/via stack at (x, y) from conductor ``lo`` (poly, li1, met1…; ``diff``/``tap``
        mean a licon onto an existing active area) up to ``hi``, with enclosing pads on every
        level in between (and on ``lo``/``hi`` when ``pads_at_ends``). A poly contact gets its
        npc (licon.15, licon.18)."""
        s = sizes()
        start = "poly" if lo in ("diff", "tap") else lo
        i0, i1 = LEVELS.index(start), LEVELS.index(hi)
        cut_size = {"licon": s.lic, "mcon": s.ct, "via": s.via, "via2": s.via2, "via3": s.via3}
        for i in range(i0, i1):
            level = LEVELS[i] if i > i0 else lo
            cut = CUTS[level]
            self.cbox(cut, x, y, cut_size[cut], cut_size[cut])
        if lo == "poly" and i1 > i0:
            self.cbox("npc", x, y, s.npc, s.npc)
        for i in range(i0, i1 + 1):
            level = LEVELS[i]
            if i == i0 and lo in ("diff", "tap"):
                continue
            if (i in (i0, i1)) and not pads_at_ends:
                continue
            w, h = s.pad[pad_key(level, i + 1 <= i1)]
            self.cbox(level, x, y, w, h)

    def stack_pads(self, lo: str, hi: str) -> dict[str, tuple[int, int]]:
        """(w, h) of the pad each level of a ``lo``→``hi`` stack gets (as :meth:`stack`)."""
        s = sizes()
        start = "poly" if lo in ("diff", "tap") else lo
        i0, i1 = LEVELS.index(start), LEVELS.index(hi)
        out = {LEVELS[i]: s.pad[pad_key(LEVELS[i], i < i1)] for i in range(i0, i1 + 1)}
        if lo in ("diff", "tap"):
            out.pop("poly")
        return out
