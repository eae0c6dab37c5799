"""Hand-drawn sky130 geometry with known dimensions, for tests and benchmarks.

µm helpers on top of the layout generator's canvas (:class:`imcflow.layout.geom.Canvas`): the
same layer map, the same stack pads and the same rule composites (:func:`imcflow.layout.geom.
sizes`, values from ``imcflow/pdk/data/drc_rules.yaml``). :func:`mosfet` draws a multi-finger
MOSFET with source/drain/gate contacts brought to met1, :func:`mim` a MIM capacitor with both
plates brought up to met4; both are clean under the DRC. Coordinates and sizes are in µm (on the
5 nm grid); the layout's database unit is 1 nm.
"""

from __future__ import annotations

import klayout.db as kdb

from imcflow.layout import devices as dv
from imcflow.layout import geom
from imcflow.layout.rules import DBU_UM, down, rule, um, up


def _um(x_dbu: int) -> float:
    return round(x_dbu * DBU_UM, 6)


class Canvas:
    """A one-cell layout with µm drawing helpers over :class:`imcflow.layout.geom.Canvas`."""

    def __init__(self, name: str = "top") -> None:
        self.layout = kdb.Layout()
        self.layout.dbu = DBU_UM
        self.top = self.layout.create_cell(name)
        self.cv = geom.Canvas(self.layout, self.top)

    def box(self, name: str, x0: float, y0: float, x1: float, y1: float) -> None:
        """Rectangle on drawing layer ``name`` (corners in µm)."""
        self.cv.box(name, um(x0), um(y0), um(x1), um(y1))

    def polygon(self, name: str, points: list[tuple[float, float]]) -> None:
        """Polygon on drawing layer ``name`` (vertices in µm)."""
        self.cv.polygon(name, [(um(x), um(y)) for x, y in points])

    def label(self, conductor: str, text: str, x: float, y: float) -> None:
        """Net label ``text`` on the label purpose of ``conductor`` at (x, y) µm."""
        self.cv.label(conductor, text, um(x), um(y))

    def contact(self, cut: str, x: float, y: float, size: float) -> None:
        """A square ``cut`` of side ``size`` centred on (x, y)."""
        self.cv.cbox(cut, um(x), um(y), um(size), um(size))

    def via12(self, x: float, y: float) -> None:
        """via at (x, y) with the generator's met1 and met2 pads."""
        self.cv.stack(um(x), um(y), "met1", "met2")

    def stack(self, x: float, y: float, lo: str, hi: str) -> None:
        """Contact/via stack at (x, y) from conductor ``lo`` up to ``hi``, with pads."""
        self.cv.stack(um(x), um(y), lo, hi)

    def write(self, path: str) -> None:
        self.layout.write(path)


def _met1_on_li(cv: geom.Canvas, x: int, y: int) -> None:
    """mcon on li1 at (x, y) with a met1 pad (m1.4, m1.5)."""
    s = geom.sizes()
    cv.cbox("mcon", x, y, s.ct, s.ct)
    cv.cbox("met1", x, y, *s.pad["met1"])


def tap_gap() -> int:
    """Gap (dbu) from a device's diff to its tap of the other implant: difftap.3, and the
    tap's implant (n/psd.5b) at n/psd.7 from the diff."""
    return max(rule("difftap.3"), rule("nsd.5b") + rule("nsd.7"),
               rule("psd.5b") + rule("psd.7"))


def mosfet(c: Canvas, x: float, y: float, *, w_finger: float, l: float, nf: int = 1,
           polarity: str = "n", flavor: str = "", tap: bool = False,
           nets: tuple[str, str, str] | None = None) -> dict[str, tuple[float, float]]:
    """Draw an ``nf``-finger MOSFET with its diffusion's lower-left corner at (x, y) µm.

    Source columns (even) join on a li1 bar below the device, drain columns (odd) on a li1
    bar above it; the gates join on a poly bar poly.4 above the diffusion, contacted at its
    left end (licon.14/licon.9 from the diff). Each of S, D, G gets a met1 pad; returns their
    centres (µm). The drain pad sits a met1 pad and m1.2 above the gate pad, so a met1 strap
    along any pin's row clears the other pins. ``flavor`` is ``""``, ``"lvt"`` (lvtn) or
    ``"hvt"`` (hvtp). ``tap`` adds a substrate (n) or well (p) tap tied to the source, below
    the device; a pfet needs it for its n-well (nwell.4). ``nets`` = (d, g, s) labels on met1.
    """
    s = geom.sizes()
    cv = c.cv
    x0, y0, w, lg = um(x), um(y), um(w_finger), um(l)
    length = 2 * s.sd_end + nf * lg + (nf - 1) * s.sd_in
    top = y0 + w
    diff = (x0, y0, x0 + length, top)
    cv.box("diff", *diff)
    cv.box("nsdm" if polarity == "n" else "psdm",
           *dv.implant_box(diff, "nsdm" if polarity == "n" else "psdm"))
    if flavor:
        e = dv.vt_enclosure()
        cv.box({"lvt": "lvtn", "hvt": "hvtp"}[flavor], x0 - e, y0 - e, x0 + length + e, top + e)
    # gates, and the poly bar above the diffusion with its contact at the left
    bar0 = top + dv.bar_dy()
    bar1 = bar0 + s.poly_w
    gates = [x0 + s.sd_end + k * (lg + s.sd_in) for k in range(nf)]
    for gx in gates:
        cv.box("poly", gx, y0 - s.endcap, gx + lg, bar1)
    gcx = x0 - s.gc_gap - s.lic // 2
    gcy = (bar0 + bar1) // 2
    cv.box("poly", gcx, bar0, gates[-1] + lg, bar1)
    cv.stack(gcx, gcy, "poly", "met1")
    # source/drain licon columns; sources down to a li1 bar, drains up to one
    ys = [y0 + v for v in dv.licon_column(w)]
    li_ext = (s.pad["li1"][1] - s.lic) // 2
    out = li_ext - s.diff_lic_enc                      # column li1 beyond the diff
    li_w = rule("li.1")
    s_bar = (y0 - out - rule("li.3") - li_w, y0 - out - rule("li.3"))
    m1h = s.pad["met1"][1]
    d_mid = up(gcy + m1h + rule("m1.2"))               # drain pad a pad + m1.2 above the gate's
    d_bar = (d_mid - li_w // 2, d_mid - li_w // 2 + li_w)
    cols = [x0 + s.sd_end - s.lic_gate - s.lic // 2]
    cols += [gx + lg + s.lic_gate + s.lic // 2 for gx in gates]
    xs_s, xs_d = cols[0::2], cols[1::2]
    for k, cx in enumerate(cols):
        for yl in ys:
            cv.cbox("licon", cx, yl + s.lic // 2, s.lic, s.lic)
        lo, hi = ys[0] - li_ext, ys[-1] + s.lic + li_ext
        if k % 2 == 0:
            cv.box("li1", cx - s.lic // 2, s_bar[0], cx + s.lic // 2, hi)
        else:
            cv.box("li1", cx - s.lic // 2, lo, cx + s.lic // 2, d_bar[1])
    cv.box("li1", xs_s[0] - s.lic // 2, s_bar[0], xs_s[-1] + s.lic // 2, s_bar[1])
    cv.box("li1", xs_d[0] - s.lic // 2, d_bar[0], xs_d[-1] + s.lic // 2, d_bar[1])
    s_pad = (xs_s[-1], (s_bar[0] + s_bar[1]) // 2)
    d_pad = (xs_d[-1], (d_bar[0] + d_bar[1]) // 2)
    _met1_on_li(cv, *s_pad)
    _met1_on_li(cv, *d_pad)
    nw_box = diff
    if tap:
        t = s.tap
        ty1 = y0 - tap_gap()
        tcx = xs_s[0]
        tbox = (tcx - t // 2, ty1 - t, tcx - t // 2 + t, ty1)
        cv.box("tap", *tbox)
        cv.box("psdm" if polarity == "n" else "nsdm",
               *dv.implant_box(tbox, "psdm" if polarity == "n" else "nsdm"))
        cv.stack(tcx, ty1 - t // 2, "tap", "li1")
        cv.box("li1", tcx - s.lic // 2, ty1 - t // 2, tcx + s.lic // 2, s_bar[1])
        nw_box = (min(diff[0], tbox[0]), tbox[1], max(diff[2], tbox[2]), diff[3])
    if polarity == "p":
        e = max(rule("difftap.8"), rule("difftap.10"))
        cv.box("nwell", nw_box[0] - e, nw_box[1] - e, nw_box[2] + e, nw_box[3] + e)
    pins = {"d": d_pad, "g": (gcx, gcy), "s": s_pad}
    pins_um = {k: (_um(px), _um(py)) for k, (px, py) in pins.items()}
    if nets is not None:
        for (_key, pos), name in zip(pins_um.items(), nets, strict=True):
            c.label("met1", name, *pos)
    return pins_um


def mim_pickup() -> int:
    """Bottom-plate pickup (via3 centre, dbu) to the right of the capm: capm.5 from the capm,
    and its met4 pad m4.5b (huge-met4 spacing) from the top plate."""
    s = geom.sizes()
    return max(rule("capm.5") + s.via3 // 2, rule("m4.5b") + s.pad["met4"][0] // 2)


def mim(c: Canvas, x: float, y: float, w: float, l: float,
        nets: tuple[str, str] | None = None) -> dict[str, tuple[float, float]]:
    """Draw a ``sky130_fd_pr__cap_mim_m3_1`` of W × L µm (capm) with its lower-left at (x, y).

    The met3 bottom plate encloses capm by capm.3 and extends to the right over a via3
    pickup (:func:`mim_pickup`) with a met4 pad; the met4 top plate covers the capm and lands on
    it through a via3 at its centre (capm.4). Returns the top-plate and bottom-plate (met4
    pickup) label positions (µm).
    """
    s = geom.sizes()
    cv = c.cv
    x0, y0, x1, y1 = um(x), um(y), um(x + w), um(y + l)
    enc = rule("capm.3")
    bx = x1 + mim_pickup()
    cy = y0 + down((y1 - y0) / 2)
    m3 = s.pad["met3"][0]
    cv.box("capm", x0, y0, x1, y1)
    cv.box("met3", x0 - enc, y0 - enc, max(x1 + enc, bx + m3 // 2), y1 + enc)
    cv.box("met4", x0, y0, x1, y1)
    cx = x0 + down((x1 - x0) / 2)
    cv.cbox("via3", cx, cy, s.via3, s.via3)
    cv.cbox("via3", bx, cy, s.via3, s.via3)
    cv.cbox("met4", bx, cy, *s.pad["met4"])
    pins = {"a": (_um(cx), _um(cy)), "b": (_um(bx), _um(cy))}
    if nets is not None:
        c.label("met4", nets[0], *pins["a"])
        c.label("met4", nets[1], *pins["b"])
    return pins
