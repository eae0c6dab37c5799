"""Negative-test cells for every implemented DRC rule: a tiny layout that breaks the rule and
its corrected twin (clean under the whole rule set).

:data:`CASES` maps a rule name to ``draw(t, bad)``; :func:`build` places every case on its own
tile of one layout (the bad or the good variant). Values are the rule's own (read from the rule
table), so the good twin sits exactly at the limit and the bad one a grid step past it.
Used by ``tests/test_drc_rules.py`` and ``benchmarks/deck_agreement.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import klayout.db as kdb

from imcflow.extract import gds, synth
from imcflow.extract.drc import checks, layers, rules
from imcflow.pdk.rules import value

#: Manufacturing grid (µm): the step a bad variant is off the limit.
G = 0.005
#: Tile pitch (µm): far beyond every rule's reach.
PITCH = 25.0
#: A met4 landing pad on a via3 (m4.3, m4.4a).
M4 = 0.49
#: Conductors that get a net label (so they do not float, x.22).
CONDUCTORS = ("poly", "li1", "met1", "met2", "met3", "met4", "met5")


def v(name: str) -> float:
    return value(name)


def r5(x: float) -> float:
    """Round to the grid (avoid float dust)."""
    return round(round(x / G) * G, 4)


def up5(x: float) -> float:
    return round(math.ceil(x / G - 1e-9) * G, 4)


class Tile:
    """µm drawing helpers at a tile origin, with a fresh net label on every conductor wire."""

    def __init__(self, c: synth.Canvas, ox: float, oy: float, tag: str) -> None:
        self.c, self.ox, self.oy, self.tag = c, ox, oy, tag
        self.n = 0

    def box(self, layer: str, x0: float, y0: float, x1: float, y1: float) -> None:
        self.c.box(layer, r5(self.ox + x0), r5(self.oy + y0), r5(self.ox + x1), r5(self.oy + y1))

    def label(self, layer: str, x: float, y: float, text: str | None = None) -> None:
        self.n += 1
        self.c.label(layer, text or f"{self.tag}_{self.n}", r5(self.ox + x), r5(self.oy + y))

    def wire(self, layer: str, x0: float, y0: float, x1: float, y1: float) -> None:
        """A box with its own net label (conductors) at its centre."""
        self.box(layer, x0, y0, x1, y1)
        if layer in CONDUCTORS:
            self.label(layer, (x0 + x1) / 2, (y0 + y1) / 2)

    def cbox(self, layer: str, x: float, y: float, w: float, h: float | None = None) -> None:
        h = w if h is None else h
        self.box(layer, x - w / 2, y - h / 2, x + w / 2, y + h / 2)

    # --------------------------------------------------------------- building blocks
    def diff(self, x0: float, y0: float, x1: float, y1: float, imp: str = "nsdm",
             enc: float | None = None) -> None:
        """A diff (or ``layer="tap"`` via :meth:`tap`) with its implant around it."""
        e = v("nsd.5a") if enc is None else enc
        self.box("diff", x0, y0, x1, y1)
        self.box(imp, x0 - e, y0 - e, x1 + e, y1 + e)

    def nfet(self, x: float, y: float, w: float = 0.42, l: float = 0.15,
             sd: float | None = None, endcap: float | None = None, imp: str = "nsdm") -> None:
        """diff [x, x + 2 sd + l] × [y, y + w] with its implant and a bare poly gate."""
        sd = v("poly.7") if sd is None else sd
        ec = v("poly.8") if endcap is None else endcap
        self.diff(x, y, x + 2 * sd + l, y + w, imp)
        self.box("poly", x + sd, y - ec, x + sd + l, y + w + ec)

    def tap(self, x: float, y: float, imp: str, w: float | None = None,
            h: float | None = None, licon: bool = True) -> None:
        """A contacted tap (licon.7 around its licon) at lower-left (x, y) with its implant."""
        lic = v("licon.1")
        w = lic + 2 * v("licon.7") if w is None else w
        h = lic + 2 * v("licon.7") if h is None else h
        e = v("nsd.5b")
        self.box("tap", x, y, x + w, y + h)
        self.box(imp, x - e, y - e, x + w + e, y + h + e)
        if licon:
            self.cbox("licon", x + w / 2, y + h / 2, lic)
            self.li_pad(x + w / 2, y + h / 2)

    def li_pad(self, x: float, y: float) -> None:
        """li1 over a licon: the licon wide, li.5 above and below; labelled."""
        lic = v("licon.1")
        self.cbox("li1", x, y, lic, lic + 2 * v("li.5"))
        self.label("li1", x, y)

    def ntap_well(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """An n-well box with a contacted n-tap in its lower-left corner (nwell.4)."""
        e = v("difftap.10")
        self.box("nwell", x0, y0, x1, y1)
        self.tap(x0 + e, y0 + e, "nsdm")

    def pfet(self, x: float, y: float, w: float = 0.42, l: float = 0.15,
             nw: float | None = None) -> None:
        """A pfet like :meth:`nfet` in psdm, in an n-well that also holds an n-tap to its left;
        the well keeps ``nw`` (difftap.8) right of the diff."""
        nw = v("difftap.8") if nw is None else nw
        sd = v("poly.7")
        tapw = v("licon.1") + 2 * v("licon.7")
        gap = max(v("difftap.3"), v("nsd.5b") + v("nsd.7"))
        tx = x - gap - tapw
        self.nfet(x, y, w, l, imp="psdm")
        e8, e10 = v("difftap.8"), v("difftap.10")
        e = max(e8, e10)
        self.box("nwell", tx - e10, y - e, x + 2 * sd + l + nw,
                 y + max(w, tapw, v("nwell.1") - 2 * e) + e)
        self.tap(tx, y, "nsdm")

    def diff_contact(self, x: float, y: float) -> None:
        """licon with its li1 pad (centre)."""
        self.cbox("licon", x, y, v("licon.1"))
        self.li_pad(x, y)

    def poly_contact(self, x: float, y: float, npc: float | None = None,
                     pw: float | None = None, ph: float | None = None) -> None:
        """A poly pad (licon.8 across, licon.8a along) with licon, npc (licon.15), li1."""
        lic = v("licon.1")
        pw = lic + 2 * v("licon.8") if pw is None else pw
        ph = lic + 2 * v("licon.8a") if ph is None else ph
        npc = lic + 2 * v("licon.15") if npc is None else npc
        self.cbox("poly", x, y, pw, ph)
        self.cbox("licon", x, y, lic)
        self.cbox("npc", x, y, npc)
        self.li_pad(x, y)

    def mim(self, x: float, y: float, w: float, h: float, enc: float | None = None,
            via: bool = True) -> None:
        """capm w × h on a labelled met3 plate (capm.3), top plate: a met4 pad on a central
        via3 (capm.4)."""
        enc = v("capm.3") if enc is None else enc
        self.box("capm", x, y, x + w, y + h)
        self.wire("met3", x - enc, y - enc, x + w + enc, y + h + enc)
        if via:
            cx, cy = r5(x + w / 2), r5(y + h / 2)
            self.cbox("via3", cx, cy, v("via3.1"))
            self.cbox("met4", cx, cy, M4)
            self.label("met4", cx, cy)


# ------------------------------------------------------------------------------ generic kinds
def _area_wire(layer: str, rule: str, w: float) -> Callable[[Tile, bool], None]:
    """A wire of width ``w`` whose area is just the rule (good) or a grid step short (bad)."""
    def draw(t: Tile, bad: bool) -> None:
        length = up5(v(rule) / w)
        t.wire(layer, 0, 0, w, length - (G if bad else 0))
    return draw


def _width(layer: str, rule: str, length: float = 2.0) -> Callable[[Tile, bool], None]:
    def draw(t: Tile, bad: bool) -> None:
        t.wire(layer, 0, 0, v(rule) - (G if bad else 0), length)
    return draw


def _space(layer: str, rule: str, w: float, length: float = 2.0
           ) -> Callable[[Tile, bool], None]:
    def draw(t: Tile, bad: bool) -> None:
        s = v(rule) - (G if bad else 0)
        t.wire(layer, 0, 0, w, length)
        t.wire(layer, w + s, 0, 2 * w + s, length)
    return draw


def _hole(layer: str, rule: str, ring: float, hole_w: float
          ) -> Callable[[Tile, bool], None]:
    """A ring of ``layer`` (line width ``ring``) around a hole hole_w wide with the rule's area
    (good) or a grid step less tall (bad)."""
    def draw(t: Tile, bad: bool) -> None:
        hh = up5(v(rule) / hole_w) - (G if bad else 0)
        x1, y1 = ring + hole_w, ring + hh
        for b in ((0, 0, x1 + ring, ring), (0, y1, x1 + ring, y1 + ring), (0, 0, ring, y1 + ring),
                  (x1, 0, x1 + ring, y1 + ring)):
            t.box(layer, *b)
        if layer in CONDUCTORS:
            t.label(layer, ring / 2, ring / 2)
    return draw


#: Cut stacks: cut → (size rule, lower layer, its (across, along) enclosure rules, upper layer,
#: its enclosure rules, lower/upper area rules). "across" is the all-round rule, "along" the
#: one-of-two-adjacent-sides rule (None where the table has none).
STACKS: dict[str, tuple[str, str, tuple[str | None, str | None], str,
                        tuple[str | None, str | None], str | None, str | None]] = {
    "licon_diff": ("licon.1", "diff", ("licon.5a", "licon.5c"), "li1", (None, "li.5"),
                   None, "li.6"),
    "licon_poly": ("licon.1", "poly", ("licon.8", "licon.8a"), "li1", (None, "li.5"),
                   None, "li.6"),
    "licon_tap": ("licon.1", "tap", (None, "licon.7"), "li1", (None, "li.5"), None, "li.6"),
    "mcon": ("ct.1", "li1", ("ct.4", None), "met1", ("m1.4", "m1.5"), "li.6", "m1.6"),
    "via": ("via.1a", "met1", ("via.4a", "via.5a"), "met2", ("m2.4", "m2.5"), "m1.6", "m2.6"),
    "via2": ("via2.1a", "met2", ("via2.4", "via2.5"), "met3", ("m3.4", None), "m2.6", "m3.6"),
    "via3": ("via3.1", "met3", ("via3.4", "via3.5"), "met4", ("m4.3", None), "m3.6", "m4.4a"),
    "via4": ("via4.1", "met4", ("via4.4", None), "met5", ("m5.3", None), "m4.4a", "m5.4"),
}
CUT_LAYER = {"licon_diff": "licon", "licon_poly": "licon", "licon_tap": "licon",
             "mcon": "mcon", "via": "via", "via2": "via2", "via3": "via3", "via4": "via4"}


def _pad(c: float, n: int, pitch: float, enc: tuple[str | None, str | None],
         area: str | None, min_w: float) -> tuple[float, float, float, float]:
    """(left, right, bottom, top) extent of a pad around ``n`` cuts in a row: the all-round
    rule on the right, the adjacent-sides rule on top; grown left and down (never right or up,
    so those sides sit at the rule) for the width and area rules."""
    ea = v(enc[0]) if enc[0] else 0.0
    eb = max(v(enc[1]) if enc[1] else 0.0, ea)
    span = c + (n - 1) * pitch
    right = span + ea
    left = min(-ea, right - min_w)
    top = c + eb
    bottom = min(-eb, top - min_w)
    if area is not None:
        bottom = min(bottom, top - up5(v(area) / (right - left)))
    return left, right, bottom, top


def stack(t: Tile, kind: str, x: float, y: float, n: int = 1, pitch: float | None = None,
          mode: str = "") -> None:
    """``n`` cuts of ``kind`` in a row from (x, y) (lower-left of the first cut), with pads.
    ``mode`` breaks one thing: lo/hi (all-round enclosure, right side), lo2/hi2 (the adjacent-
    sides enclosure, top side), size (one cut a grid step tall), shape (an L-shaped cut)."""
    size, lo, enc_lo, hi, enc_hi, area_lo, area_hi = STACKS[kind]
    cut = CUT_LAYER[kind]
    c = v(size)
    pitch = c + v({"licon": "licon.2", "mcon": "ct.2", "via": "via.2", "via2": "via2.2",
                   "via3": "via3.2", "via4": "via4.2"}[cut]) if pitch is None else pitch
    min_w = {"li1": v("li.1"), "met1": v("m1.1"), "met2": v("m2.1"), "met3": v("m3.1"),
             "met4": v("m4.1"), "met5": v("m5.1")}
    for k in range(n):
        cx = x + k * pitch
        if k == 0 and mode == "size":
            t.box(cut, cx, y, cx + c, y + c + G)
        elif k == 0 and mode == "shape":
            t.box(cut, cx, y, cx + c, y + c)
            t.box(cut, cx, y + c, cx + c / 2, y + c + G)
        else:
            t.box(cut, cx, y, cx + c, y + c)
    for layer, enc, area, which in ((lo, enc_lo, area_lo, "lo"), (hi, enc_hi, area_hi, "hi")):
        if which == "hi" and mode == "no_hi":
            continue
        lft, rgt, bot, top = _pad(c, n, pitch, enc, area, min_w.get(layer, 0.0))
        if mode == which:
            rgt -= G
        if mode == which + "2":
            top -= G
        box = (x + lft, y + bot, x + rgt, y + top)
        if which == "hi":
            t.wire(layer, *box)
        elif layer == "diff":
            t.diff(*box)
        elif layer == "tap":
            t.box("tap", *box)
            e = v("psd.5b")
            t.box("psdm", box[0] - e, box[1] - e, box[2] + e, box[3] + e)
        else:
            t.box(layer, *box)
    if kind == "licon_poly" and mode != "no_npc":
        e = v("licon.15") - (G if mode == "npc" else 0)
        t.box("npc", x - e, y - e, x + (n - 1) * pitch + c + e, y + c + e)


def _stack_case(kind: str, mode: str, n: int = 1, space: str | None = None
                ) -> Callable[[Tile, bool], None]:
    def draw(t: Tile, bad: bool) -> None:
        if space is not None:
            c = v(STACKS[kind][0])
            stack(t, kind, 1, 1, n=2, pitch=c + v(space) - (G if bad else 0))
        else:
            stack(t, kind, 1, 1, n=n, mode=mode if bad else "")
    return draw


def _huge(layer: str, space: str, part: str) -> Callable[[Tile, bool], None]:
    """A 3.5 µm square (huge) plate; ``huge``: a wire along its right edge at the rule;
    ``attached``: a stub from the plate and a wire beside the stub's first ``space`` µm."""
    def draw(t: Tile, bad: bool) -> None:
        s = v(space) - (G if bad else 0)
        w = 0.3
        t.wire(layer, 0, 0, 3.5, 3.5)
        if part == "huge":
            t.wire(layer, 3.5 + s, 0.5, 3.5 + s + w, 3.0)
        else:
            t.box(layer, 3.5, 1.5, 4.8, 1.5 + w)
            x0 = 3.5 + v(space) + G
            t.wire(layer, x0, 1.5 + w + s, x0 + 1.5, 1.5 + 2 * w + s)
    return draw


def _poly_shape(t: Tile, layer: str, pts: list[tuple[float, float]]) -> None:
    t.c.polygon(layer, [(r5(t.ox + x), r5(t.oy + y)) for x, y in pts])


def _butt(t: Tile, tap_w: float = 0.29, gate_gap: float | None = None,
          tap_licon: float | None = None, tap_h: float | None = None,
          n_short: float = 0.0, p_short: float = 0.0, diffs: int = 1) -> None:
    """A diff (nsdm) whose right edge abuts a tap (psdm) of width ``tap_w``: the source
    diffusion holds a licon (licon.16) licon.2 from the tap's, which sits ``tap_licon``
    (licon.5b) from the butting edge. With ``gate_gap``, a gate that far left of the tap
    (poly.6); ``diffs=2`` puts a mirrored diff on the tap's right too (difftap.5)."""
    h = 0.5
    th = h if tap_h is None else tap_h
    e = v("nsd.5a")
    lic = v("licon.1")
    xb = 0.9
    t.box("diff", 0, 0, xb, h)
    t.box("nsdm", -e, -e, xb - n_short, h + e)
    t.box("tap", xb, 0, xb + tap_w, th)
    xr = xb + tap_w
    t.box("psdm", xb + p_short, -e, xr + (0 if diffs == 2 else e), max(h, th) + e)
    if gate_gap is not None:                     # the source licon licon.11 from the gate
        gx1 = xb - gate_gap
        t.box("poly", gx1 - 0.15, -v("poly.8"), gx1, h + v("poly.8"))
        d_l = gate_gap - v("licon.11") - lic
        tl = max(v("licon.5b"), v("licon.2") - d_l) if tap_licon is None else tap_licon
    else:
        tl = v("licon.5b") if tap_licon is None else tap_licon
        if diffs == 2:
            tl = (tap_w - lic) / 2
        d_l = max(v("licon.5a"), v("licon.2") - tl)
    t.diff_contact(xb - d_l - lic / 2, h / 2)
    t.cbox("licon", xb + tl + lic / 2, th / 2, lic)
    t.li_pad(xb + tl + lic / 2, th / 2)
    if diffs == 2:
        t.box("diff", xr, 0, xr + xb, h)
        t.box("nsdm", xr, -e, xr + xb + e, h + e)
        t.diff_contact(xr + d_l + lic / 2, h / 2)


def _custom_pfet(t: Tile, l: float, lvtn_enc: float | None = None,
                 nwell_right: float | None = None, lvtn_gap: float | None = None) -> None:
    """A pfet (W = 0.42, given L) at (1.5, 1.5) in a roomy n-well with an n-tap at its lower
    left. ``lvtn_enc``: an lvtn box around its gate; ``lvtn_gap``: an lvtn box that far to the
    right of its gate (S/D direction); ``nwell_right``: well edge that far right of the lvtn."""
    x, y, w = 1.5, 1.5, 0.42
    sd = v("poly.7")
    t.nfet(x, y, w, l, imp="psdm")
    g0, g1 = x + sd, x + sd + l
    right = x + 2 * sd + l + 1.0
    if lvtn_enc is not None:
        e = lvtn_enc
        t.box("lvtn", g0 - e, y - e, g1 + e, y + w + e)
        right = g1 + e + (v("lvtn.10") if nwell_right is None else nwell_right)
    if lvtn_gap is not None:
        t.box("lvtn", g1 + lvtn_gap, y + 0.2, g1 + lvtn_gap + 0.38, y + 1.2)
        right = g1 + lvtn_gap + 0.38 + v("lvtn.10")
    if lvtn_enc is None and lvtn_gap is None:
        right = x + 2 * sd + l + 0.5
    t.ntap_well(0, 0, right, y + 1.2 + v("lvtn.10"))


def _mim_pair(t: Tile, gap: float, shared: bool) -> None:
    """Two 2 × 2 capms ``gap`` apart: on one met3 plate (``shared``) or on two plates whose
    bottom plates are ``gap`` apart."""
    e = v("capm.3")
    if shared:
        t.mim(0, 0, 2, 2, via=True)
        t.box("capm", 2 + gap, 0, 4 + gap, 2)
        t.box("met3", 2, -e, 4 + gap + e, 2 + e)
        t.cbox("via3", 3 + gap, 1, v("via3.1"))
        t.cbox("met4", 3 + gap, 1, M4)
        t.label("met4", 3 + gap, 1)
    else:
        t.mim(0, 0, 2, 2)
        t.mim(2 + 2 * e + gap, 0, 2, 2)


def _mim_side(t: Tile, cut: str, gap: float) -> None:
    """A 2 × 2 capm whose met3 plate extends right over a ``cut`` (via3: with a met4 pad; via2:
    with a met2 pad below) ``gap`` from the capm."""
    e = v("capm.3")
    t.mim(0, 0, 2, 2)
    c = v("via3.1") if cut == "via3" else v("via2.1a")
    cx = 2 + gap + c / 2
    t.box("met3", 2, -e, cx + c / 2 + 0.3, 2 + e)
    t.cbox(cut, cx, 1, c)
    if cut == "via3":
        t.cbox("met4", cx, 1, M4)
        t.label("met4", cx, 1)
    else:
        t.cbox("met2", cx, 1, 0.37)


def _shape(layer: str, pts_good: list[tuple[float, float]], pts_bad: list[tuple[float, float]],
           implant: bool = False) -> Callable[[Tile, bool], None]:
    def draw(t: Tile, bad: bool) -> None:
        _poly_shape(t, layer, pts_bad if bad else pts_good)
        if layer in CONDUCTORS:
            t.label(layer, 0.2, 0.2)
    return draw


def _l_shape(layer: str, extra_implant: bool = False) -> Callable[[Tile, bool], None]:
    """A rectangle (good) or an L of two rectangles (bad)."""
    def draw(t: Tile, bad: bool) -> None:
        if layer == "diff":
            t.diff(0, 0, 1.0, 0.5)
            if bad:
                t.diff(0, 0.5, 0.5, 1.0)
        elif layer == "capm":
            e = v("capm.3")
            t.mim(0, 0, 2, 2)
            if bad:
                t.box("capm", 0, 2, 1, 3)
                t.box("met3", -e, 2, 1 + e, 3 + e)
    return draw


def _sep_boxes(a: tuple[str, float, float], b: tuple[str, float, float], rule: str,
               pre: Callable[[Tile], None] | None = None) -> Callable[[Tile, bool], None]:
    """Two boxes (layer, width, height) side by side, the rule's spacing apart."""
    def draw(t: Tile, bad: bool) -> None:
        s = v(rule) - (G if bad else 0)
        t.wire(a[0], 0, 0, a[1], a[2])
        t.wire(b[0], a[1] + s, 0, a[1] + s + b[1], b[2])
    return draw


def _tiles() -> dict[str, Callable[[Tile, bool], None]]:
    lic = v("licon.1")
    C: dict[str, Callable[[Tile, bool], None]] = {}

    # ---- x: grid, angles, labels, floating
    def x1b(t: Tile, bad: bool) -> None:
        d = 0.001 if bad else 0.0
        t.c.box("met1", t.ox + d, t.oy, t.ox + 1 + d, t.oy + 1)
        t.label("met1", 0.5, 0.5)
    C["x.1b"] = x1b
    C["x.2"] = _shape("poly", [(0, 0), (0.6, 0), (0.6, 2), (0, 2)],
                      [(0, 0), (0.6, 0), (0.6, 1.7), (0.3, 2), (0, 2)])
    C["x.2a"] = _l_shape("diff")
    C["x.3a"] = _shape("met1", [(0, 0), (2, 0), (2, 0.5), (1.5, 1), (0, 1)],
                       [(0, 0), (2, 0), (2, 0.5), (1.15, 1), (0, 1)])

    def x17(t: Tile, bad: bool) -> None:
        t.box("met1", 0, 0, 1, 0.3)
        t.label("met1", 0.5, 0.5 if bad else 0.15)
    C["x.17"] = x17

    def x22(t: Tile, bad: bool) -> None:
        t.box("met1", 0, 0, 1, 0.3)
        if not bad:
            t.label("met1", 0.5, 0.15)
    C["x.22"] = x22

    # ---- nwell
    def nwell1(t: Tile, bad: bool) -> None:
        t.ntap_well(0, 0, v("nwell.1") - (G if bad else 0), 2)
    C["nwell.1"] = nwell1

    def nwell2(t: Tile, bad: bool) -> None:
        w = v("nwell.1")
        s = v("nwell.2a") - (G if bad else 0)
        t.ntap_well(0, 0, w, 2)
        t.ntap_well(w + s, 0, 2 * w + s, 2)
    C["nwell.2a"] = nwell2

    def nwell4(t: Tile, bad: bool) -> None:
        if bad:
            t.box("nwell", 0, 0, 1, 2)
        else:
            t.ntap_well(0, 0, 1, 2)
    C["nwell.4"] = nwell4

    # ---- lvtn, hvtp
    for vt in ("lvtn", "hvtp"):
        w_rule = "lvtn.1a" if vt == "lvtn" else "hvtp.1"
        s_rule = "lvtn.2" if vt == "lvtn" else "hvtp.2"
        a_rule = "lvtn.13" if vt == "lvtn" else "hvtp.5"
        h_rule = "lvtn.14" if vt == "lvtn" else "hvtp.6"
        C[w_rule] = _width(vt, w_rule)
        C[s_rule] = _space(vt, s_rule, 0.38)
        C[a_rule] = _area_wire(vt, a_rule, 0.38)
        C[h_rule] = _hole(vt, h_rule, 0.38, 0.38)

    def lvtn3a(t: Tile, bad: bool) -> None:
        t.nfet(0, 0)
        g1 = v("poly.7") + 0.15
        s = v("lvtn.3a") - (G if bad else 0)
        t.box("lvtn", g1 + s, -0.5, g1 + s + 0.5, 1.0)
    C["lvtn.3a"] = lvtn3a
    C["lvtn.3b"] = lambda t, bad: _custom_pfet(t, 0.15, lvtn_gap=v("lvtn.3b") - (G if bad else 0))

    def lvtn4b(t: Tile, bad: bool) -> None:
        t.nfet(0, 0)
        sd, e = v("poly.7"), v("lvtn.4b")
        t.box("lvtn", sd - e, -e, sd + 0.15 + e - (G if bad else 0), 0.42 + e)
    C["lvtn.4b"] = lvtn4b
    C["lvtn.9"] = _sep_boxes(("lvtn", 0.38, 1), ("hvtp", 0.38, 1), "lvtn.9")
    C["lvtn.10"] = lambda t, bad: _custom_pfet(t, 0.35, lvtn_enc=v("lvtn.4b"),
                                               nwell_right=v("lvtn.10") - (G if bad else 0))

    def hvtp3(t: Tile, bad: bool) -> None:
        t.pfet(0, 0)
        sd, e = v("poly.7"), v("hvtp.3")
        t.box("hvtp", sd - e, -e, sd + 0.15 + e - (G if bad else 0), 0.42 + e)
    C["hvtp.3"] = hvtp3

    def hvtp4(t: Tile, bad: bool) -> None:
        t.pfet(0, 0, nw=1.0)
        g1 = v("poly.7") + 0.15
        s = v("hvtp.4") - (G if bad else 0)
        t.box("hvtp", g1 + s, -0.3, g1 + s + 0.5, 0.8)
    C["hvtp.4"] = hvtp4

    # ---- difftap
    def dt1(t: Tile, bad: bool) -> None:
        t.diff(0, 0, v("difftap.1") - (G if bad else 0), 1.0)
    C["difftap.1"] = dt1
    C["difftap.2"] = lambda t, bad: t.nfet(0, 0, w=v("difftap.2") - (G if bad else 0))

    def dt3(t: Tile, bad: bool) -> None:
        s = v("difftap.3") - (G if bad else 0)
        t.box("diff", 0, 0, 0.5, 1)
        t.box("diff", 0.5 + s, 0, 1 + s, 1)
        e = v("nsd.5a")
        t.box("nsdm", -e, -e, 1 + s + e, 1 + e)
    C["difftap.3"] = dt3
    C["difftap.4"] = lambda t, bad: _butt(t, tap_w=v("difftap.4") - (G if bad else 0))
    C["difftap.5"] = lambda t, bad: _butt(t, tap_w=v("difftap.5") - (G if bad else 0), diffs=2)
    C["difftap.6"] = lambda t, bad: _butt(t, tap_h=0.45 if bad else None)
    C["difftap.7"] = lambda t, bad: _butt(t, tap_w=0.125 if bad else 0.29,
                                          tap_licon=0.0 if bad else None)
    C["difftap.8"] = lambda t, bad: t.pfet(0, 0, nw=v("difftap.8") - (G if bad else 0))

    def dt9(t: Tile, bad: bool) -> None:
        t.ntap_well(0, 0, 1, 2)
        s = v("difftap.9") - (G if bad else 0)
        t.diff(1 + s, 0, 1.5 + s, 1)
    C["difftap.9"] = dt9

    def dt10(t: Tile, bad: bool) -> None:
        e = v("difftap.10")
        x0 = v("nwell.1")         # the tap at the well's right edge, the well wide enough
        t.box("nwell", 0, 0, x0 + 0.41 + e - (G if bad else 0), 1.5)
        t.tap(x0, e, "nsdm")
    C["difftap.10"] = dt10

    def dt11(t: Tile, bad: bool) -> None:
        t.ntap_well(0, 0, 1, 2)
        s = v("difftap.11") - (G if bad else 0)
        t.tap(1 + s, 0.3, "psdm")
    C["difftap.11"] = dt11

    # ---- poly
    C["poly.1a"] = _width("poly", "poly.1a")
    C["poly.1b"] = lambda t, bad: _custom_pfet(t, v("poly.1b") - (G if bad else 0),
                                               lvtn_enc=v("lvtn.4b"))
    C["poly.2"] = _space("poly", "poly.2", 0.15)

    def poly4(t: Tile, bad: bool) -> None:
        t.diff(0, 0, 0.5, 1.5)
        s = v("poly.4") - (G if bad else 0)
        t.wire("poly", 0.5 + s, 0, 0.65 + s, 1.5)
    C["poly.4"] = poly4

    def poly5(t: Tile, bad: bool) -> None:
        t.tap(0, 0, "psdm")
        s = v("poly.5") - (G if bad else 0)
        t.wire("poly", 0.41 + s, 0, 0.56 + s, 1.5)
    C["poly.5"] = poly5
    C["poly.6"] = lambda t, bad: _butt(t, gate_gap=v("poly.6") - (G if bad else 0))
    C["poly.7"] = lambda t, bad: t.nfet(0, 0, sd=v("poly.7") - (G if bad else 0))
    C["poly.8"] = lambda t, bad: t.nfet(0, 0, endcap=v("poly.8") - (G if bad else 0))

    def poly10(t: Tile, bad: bool) -> None:
        t.diff(0, 0, 1.5, 0.6)
        t.diff(0, 0.6, 0.6, 1.5)
        if bad:      # across the inner corner at (0.6, 0.6)
            t.box("poly", 0.5, -0.13, 0.65, 1.63)
        else:
            t.box("poly", 1.0, -0.13, 1.15, 0.73)
    C["poly.10"] = poly10

    def poly11(t: Tile, bad: bool) -> None:
        t.diff(0, 0, 1.5, 1.5)
        t.box("poly", 0.5, -0.13, 0.65, 1.63)
        if bad:
            t.box("poly", 0.5, 0.6, 1.63, 0.75)
    C["poly.11"] = poly11

    def poly12(t: Tile, bad: bool) -> None:
        t.tap(0, 0, "psdm")
        if bad:
            t.wire("poly", 0.05, -0.5, 0.2, 1.0)
        else:
            t.wire("poly", 0.41 + v("poly.5"), -0.5, 0.56 + v("poly.5"), 1.0)
    C["poly.12"] = poly12

    # ---- implants
    for imp, pre in (("nsdm", "nsd"), ("psdm", "psd")):
        C[f"{pre}.1"] = _width(imp, f"{pre}.1", 1.0)
        C[f"{pre}.2"] = _space(imp, f"{pre}.2", 0.38, 1.0)
        C[f"{pre}.11"] = _hole(imp, f"{pre}.11", 0.38, 0.38)
    C["nsd.10a"] = _area_wire("nsdm", "nsd.10a", 0.38)
    C["psd.10b"] = _area_wire("psdm", "psd.10b", 0.38)

    def imp5a(imp: str, pre: str) -> Callable[[Tile, bool], None]:
        def draw(t: Tile, bad: bool) -> None:
            e = v(f"{pre}.5a")
            t.box("diff", 0, 0, 0.5, 1)
            t.box(imp, -e, -e, 0.5 + e - (G if bad else 0), 1 + e)
        return draw
    C["nsd.5a"] = imp5a("nsdm", "nsd")
    C["psd.5a"] = imp5a("psdm", "psd")

    def nsd5b(t: Tile, bad: bool) -> None:
        e10, e = v("difftap.10"), v("nsd.5b")
        t.box("nwell", 0, 0, 1.2, 1.2)
        x, y, tw = e10 + 0.2, e10 + 0.2, 0.41
        t.box("tap", x, y, x + tw, y + tw)
        t.box("nsdm", x - e, y - e, x + tw + e - (G if bad else 0), y + tw + e)
        t.diff_contact(x + tw / 2, y + tw / 2)
    C["nsd.5b"] = nsd5b

    def psd5b(t: Tile, bad: bool) -> None:
        e, tw = v("psd.5b"), 0.41
        t.box("tap", 0, 0, tw, tw)
        t.box("psdm", -e, -e, tw + e - (G if bad else 0), tw + e)
        t.diff_contact(tw / 2, tw / 2)
    C["psd.5b"] = psd5b
    C["nsd.6"] = lambda t, bad: _butt(t, n_short=G if bad else 0.0)
    C["psd.6"] = lambda t, bad: _butt(t, p_short=G if bad else 0.0)

    def nsd7(t: Tile, bad: bool) -> None:
        t.tap(0, 0, "psdm")
        s = v("nsd.7") - (G if bad else 0)
        t.box("nsdm", 0.41 + s, 0, 0.79 + s, 1)
    C["nsd.7"] = nsd7

    def psd7(t: Tile, bad: bool) -> None:
        t.ntap_well(0, 0, 1.5, 1.5)
        s = v("psd.7") - (G if bad else 0)
        x1 = v("difftap.10") + 0.41
        t.box("psdm", x1 + s, 0.18, x1 + s + 0.38, 1.2)
    C["psd.7"] = psd7

    def npsd8(t: Tile, bad: bool) -> None:
        t.diff(0, 0, 0.5, 1)
        x = 0.3 if bad else 0.5 + v("psd.7")
        t.box("psdm", x, -0.3, x + 0.38, 1.3)
    C["n/psd.8"] = npsd8

    def npsd9(t: Tile, bad: bool) -> None:
        if bad:
            t.box("diff", 0, 0, 0.5, 1)
        else:
            t.diff(0, 0, 0.5, 1)
    C["n/psd.9"] = npsd9

    # ---- npc
    C["npc.1"] = _width("npc", "npc.1", 1.0)
    C["npc.2"] = _space("npc", "npc.2", 0.27, 1.0)

    def npc4(t: Tile, bad: bool) -> None:
        t.nfet(0, 0)
        g1 = v("poly.7") + 0.15
        s = v("npc.4") - (G if bad else 0)
        t.box("npc", g1 + s, -0.3, g1 + s + 0.3, 0.8)
    C["npc.4"] = npc4

    # ---- licon
    C["licon.1"] = _stack_case("licon_diff", "size")
    C["licon.2"] = _stack_case("licon_diff", "", space="licon.2")
    C["licon.3"] = _stack_case("licon_diff", "shape")
    C["licon.4"] = _stack_case("licon_diff", "no_hi")
    C["licon.5a"] = _stack_case("licon_diff", "lo")
    C["licon.5b"] = lambda t, bad: _butt(t, tap_licon=v("licon.5b") - (G if bad else 0))
    C["licon.5c"] = _stack_case("licon_diff", "lo2")

    def licon6(t: Tile, bad: bool) -> None:
        t.box("tap", 0, 0, 0.41, 0.41)
        e = v("psd.5b")
        t.box("psdm", -e, -e, 0.41 + e, 0.41 + e)
        x = 0.41 if bad else 0.205
        t.diff_contact(x, 0.205)
    C["licon.6"] = licon6
    C["licon.7"] = _stack_case("licon_tap", "lo2")
    C["licon.8"] = _stack_case("licon_poly", "lo")
    C["licon.8a"] = _stack_case("licon_poly", "lo2")

    def licon9(t: Tile, bad: bool) -> None:
        t.poly_contact(0.5, 0.5)
        s = v("licon.9") - (G if bad else 0)
        t.box("psdm", 0.5 + lic / 2 + s, 0, 0.88 + lic / 2 + s, 1.0)
    C["licon.9"] = licon9

    def licon11(t: Tile, bad: bool) -> None:
        sd = v("licon.11") + lic + v("licon.5c")
        t.nfet(0, 0, sd=sd)
        g1 = sd + 0.15
        t.diff_contact(g1 + v("licon.11") - (G if bad else 0) + lic / 2, 0.21)
    C["licon.11"] = licon11

    def licon13(t: Tile, bad: bool) -> None:
        t.diff(0, 0, 0.5, 0.5)
        t.diff_contact(0.25, 0.25)
        s = v("licon.13") - (G if bad else 0)
        t.box("npc", 0.25 + lic / 2 + s, 0, 0.25 + lic / 2 + s + 0.3, 1.0)
    C["licon.13"] = licon13

    def licon14(t: Tile, bad: bool) -> None:
        t.poly_contact(0.5, 0.5)
        s = v("licon.14") - (G if bad else 0)
        t.diff(0.5 + lic / 2 + s, 0, 1.0 + lic / 2 + s, 1.0)
    C["licon.14"] = licon14
    C["licon.15"] = _stack_case("licon_poly", "npc")
    C["licon.16"] = lambda t, bad: t.tap(0, 0, "psdm", licon=not bad)

    def licon17(t: Tile, bad: bool) -> None:
        sd = v("licon.11") + lic + v("licon.5c")
        t.nfet(0, 0, sd=sd)
        x = sd + 0.075 if bad else sd / 2
        t.diff_contact(x, 0.21)
    C["licon.17"] = licon17
    C["licon.18"] = _stack_case("licon_poly", "no_npc")

    # ---- li, ct
    C["li.1"] = _width("li1", "li.1")
    C["li.3"] = _space("li1", "li.3", 0.17)
    C["li.5"] = _stack_case("licon_diff", "hi2")
    C["li.6"] = _area_wire("li1", "li.6", 0.17)
    C["ct.1"] = _stack_case("mcon", "size")
    C["ct.2"] = _stack_case("mcon", "", space="ct.2")
    C["ct.3"] = _stack_case("mcon", "shape")
    C["ct.4"] = _stack_case("mcon", "lo")

    # ---- capm
    def capm1(t: Tile, bad: bool) -> None:
        t.mim(0, 0, v("capm.1") - (G if bad else 0), 2)
    C["capm.1"] = capm1
    C["capm.2a"] = lambda t, bad: _mim_pair(t, v("capm.2a") - (G if bad else 0), shared=True)
    C["capm.2b"] = lambda t, bad: _mim_pair(t, v("capm.2b") - (G if bad else 0), shared=False)
    C["capm.3"] = lambda t, bad: t.mim(0, 0, 2, 2, enc=v("capm.3") - (G if bad else 0))

    def capm4(t: Tile, bad: bool) -> None:
        t.mim(0, 0, 2, 2, via=False)
        c = v("via3.1")
        x = v("capm.4") - (G if bad else 0) + c / 2
        t.cbox("via3", x, 1, c)
        t.cbox("met4", x, 1, M4)
        t.label("met4", x, 1)
    C["capm.4"] = capm4
    C["capm.5"] = lambda t, bad: _mim_side(t, "via3", v("capm.5") - (G if bad else 0))
    C["capm.7"] = _l_shape("capm")
    C["capm.8"] = lambda t, bad: _mim_side(t, "via2", v("capm.8") - (G if bad else 0))

    def capm10(t: Tile, bad: bool) -> None:
        t.mim(0, 0, 2, 2)
        if bad:
            t.wire("met1", 1.5, 0.5, 3.0, 0.8)
        else:
            t.wire("met1", 2.5, 0.5, 3.0, 0.8)
    C["capm.10"] = capm10

    def capm11(t: Tile, bad: bool) -> None:
        t.mim(0, 0, 2, 2)
        s = v("capm.11") - (G if bad else 0)
        t.wire("met3", 2 + s, 0, 2.3 + s, 2)
    C["capm.11"] = capm11

    # ---- metals and vias
    metals = {"met1": ("m1", 0.14), "met2": ("m2", 0.14), "met3": ("m3", 0.3),
              "met4": ("m4", 0.3), "met5": ("m5", 1.6)}
    for layer, (pre, w) in metals.items():
        C[f"{pre}.1"] = _width(layer, f"{pre}.1", 3.0 if layer == "met5" else 2.0)
        C[f"{pre}.2"] = _space(layer, f"{pre}.2", w, 3.0 if layer == "met5" else 2.0)
    for layer, pre, area, hole in (("met1", "m1", "m1.6", "m1.7"), ("met2", "m2", "m2.6", "m2.7"),
                                   ("met3", "m3", "m3.6", "m3.7"), ("met4", "m4", "m4.4a", "m4.7"),
                                   ("met5", "m5", "m5.4", None)):
        w = metals[layer][1]
        C[area] = _area_wire(layer, area, max(w, 0.26 if layer == "met2" else w))
        if hole:
            C[hole] = _hole(layer, hole, max(w, 0.3), 0.35 if pre in ("m1", "m2") else 0.3)
    for layer, (a, b) in {"met1": ("m1.3a", "m1.3b"), "met2": ("m2.3a", "m2.3b"),
                          "met3": ("m3.3c", "m3.3d"), "met4": ("m4.5a", "m4.5b")}.items():
        C[a] = _huge(layer, a, "attached")
        C[b] = _huge(layer, b, "huge")
    C["m1.4"] = _stack_case("mcon", "hi")
    C["m1.5"] = _stack_case("mcon", "hi2")
    for kind, (size, space, shape, lo, lo2, hi, hi2) in {
        "via": ("via.1a", "via.2", "via.3", "via.4a", "via.5a", "m2.4", "m2.5"),
        "via2": ("via2.1a", "via2.2", "via2.3", "via2.4", "via2.5", "m3.4", None),
        "via3": ("via3.1", "via3.2", "via3.3", "via3.4", "via3.5", "m4.3", None),
        "via4": ("via4.1", "via4.2", "via4.3", "via4.4", None, "m5.3", None),
    }.items():
        C[size] = _stack_case(kind, "size")
        C[space] = _stack_case(kind, "", space=space)
        C[shape] = _stack_case(kind, "shape")
        C[lo] = _stack_case(kind, "lo")
        if lo2:
            C[lo2] = _stack_case(kind, "lo2")
        C[hi] = _stack_case(kind, "hi")
        if hi2:
            C[hi2] = _stack_case(kind, "hi2")
    return C


#: Rule name → draw(tile, bad).
CASES: dict[str, Callable[[Tile, bool], None]] = _tiles()
#: Rules a good twin may still break because the rule under test needs that shape (an L
#: diff: poly.10 is about the inner corner of one).
TWIN_EXEMPT: dict[str, set[str]] = {"poly.10": {"x.2a"}}


def tile_origin(k: int) -> tuple[float, float]:
    cols = 16
    return (k % cols) * PITCH, (k // cols) * PITCH


def build(bad: bool, rules: list[str] | None = None) -> tuple[synth.Canvas, dict[str, int]]:
    """Every case (or those in ``rules``) on its own tile of one cell ``drc_cases``; returns
    the canvas and rule → tile index."""
    c = synth.Canvas("drc_cases")
    index: dict[str, int] = {}
    for k, (name, draw) in enumerate(CASES.items()):
        if rules is not None and name not in rules:
            continue
        ox, oy = tile_origin(k)
        draw(Tile(c, ox, oy, f"t{k}"), bad)
        index[name] = k
    return c, index


def tile_of(x: float, y: float) -> int:
    """Tile index of a location (µm)."""
    col = int((x + PITCH / 2) // PITCH)
    row = int((y + PITCH / 2) // PITCH)
    return row * 16 + col


def tile_hits(layout: kdb.Layout) -> dict[int, set[str]]:
    """Tile → names of the implemented rules with a violation on it (every location, not
    the report's first few)."""
    design = gds.from_layout(layout)
    L = layers.Layers(design)
    hits: dict[int, set[str]] = {}
    for r in rules():
        for b in checks.run(L, r):
            c = b.center()
            hits.setdefault(tile_of(c.x * design.dbu, c.y * design.dbu), set()).add(r.name)
    return hits


def offgrid_1nm(bad: bool) -> kdb.Layout:
    """x.1a on its own layout (database unit 0.1 nm): a labelled met1 box half a nanometre
    off the 1 nm grid (bad) or on the 5 nm grid (good)."""
    ly = kdb.Layout()
    ly.dbu = 0.0001
    top = ly.create_cell("drc_cases")
    d = 5 if bad else 0
    top.shapes(ly.layer(*gds.layer_map()["drawing"]["met1"])).insert(
        kdb.Box(d, 0, 10000 + d, 3000))
    top.shapes(ly.layer(*gds.layer_map()["label"]["met1"])).insert(
        kdb.Text("a", kdb.Trans(kdb.Point(5000, 1500))))
    return ly
