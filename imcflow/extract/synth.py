"""Hand-drawn sky130 geometry with known dimensions, for tests and benchmarks.

The cells are drawn directly with ``klayout.db`` on the layer numbers of ``imcflow/pdk/data/layers.yaml`` and
are clean under ``imcflow/pdk/data/drc_rules.yaml``: a multi-finger MOSFET with source/drain/gate contacts
brought to met1, a MIM capacitor with both plates brought up, wires and text labels. All
coordinates and sizes are in µm; the layout's database unit is 1 nm.
"""

from __future__ import annotations

import klayout.db as kdb

from imcflow.extract.gds import layer_map

LICON = 0.17   # contact size, µm (licon.1)
SD = 0.29      # source/drain column: 0.06 + licon + 0.06, µm (licon.11, poly.7 ≥ 0.25)


class Canvas:
    """A one-cell layout with drawing helpers (µm)."""

    def __init__(self, name: str = "top") -> None:
        self.layout = kdb.Layout()
        self.layout.dbu = 0.001
        self.top = self.layout.create_cell(name)

    def layer(self, name: str, purpose: str = "drawing") -> int:
        ln, dt = layer_map()[purpose][name]
        return self.layout.layer(ln, dt)

    def box(self, name: str, x0: float, y0: float, x1: float, y1: float) -> None:
        """Rectangle on drawing layer ``name`` (corners in µm)."""
        self.top.shapes(self.layer(name)).insert(
            kdb.DBox(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))

    def label(self, conductor: str, text: str, x: float, y: float) -> None:
        """Net label ``text`` on the label purpose of ``conductor`` at (x, y) µm."""
        self.top.shapes(self.layer(conductor, "label")).insert(kdb.DText(text, kdb.DTrans(x, y)))

    def contact(self, cut: str, x: float, y: float, size: float) -> None:
        h = size / 2
        self.box(cut, x - h, y - h, x + h, y + h)

    def li_met1_pad(self, x: float, y: float) -> None:
        """mcon at (x, y) with a 0.29 µm met1 pad (m1.4 0.03 µm: 0.06 all round)."""
        self.contact("mcon", x, y, 0.17)
        self.contact("met1", x, y, 0.29)

    def via12(self, x: float, y: float) -> None:
        """via at (x, y) with 0.29 µm met1 and met2 pads (enclosure 0.07 ≥ 0.055/0.055)."""
        self.contact("via", x, y, 0.15)
        self.contact("met1", x, y, 0.29)
        self.contact("met2", x, y, 0.29)

    def stack(self, x: float, y: float, lo: str, hi: str) -> None:
        """Via stack at (x, y) from conductor ``lo`` up to ``hi`` (met1 … met4), with pads."""
        order = ["met1", "met2", "met3", "met4"]
        cuts = {"met1": ("via", 0.15, 0.29), "met2": ("via2", 0.2, 0.37),
                "met3": ("via3", 0.2, 0.5)}
        i, j = order.index(lo), order.index(hi)
        for k in range(i, j):
            cut, size, pad = cuts[order[k]]
            self.contact(cut, x, y, size)
            low_pad = max(pad, 0.29 if k == 0 else 0.33)
            self.contact(order[k], x, y, low_pad if order[k] != "met3" else 0.6)
            self.contact(order[k + 1], x, y, pad if order[k + 1] != "met3" else 0.6)

    def write(self, path: str) -> None:
        self.layout.write(path)


def mosfet(c: Canvas, x: float, y: float, *, w_finger: float, l: float, nf: int = 1,
           polarity: str = "n", flavor: str = "", tap: bool = False,
           nets: tuple[str, str, str] | None = None) -> dict[str, tuple[float, float]]:
    """Draw an ``nf``-finger MOSFET with its diffusion's lower-left corner at (x, y).

    Source columns (even) join on a li1 bar below the device, drain columns (odd) on a li1 bar
    above it; the gates join on a poly bar above the diffusion with a contact on the left.
    Each of S, D, G gets an mcon and a met1 pad; returns their centres. ``flavor`` is ``""``,
    ``"lvt"`` (lvtn marker) or ``"hvt"`` (hvtp marker). ``tap`` adds a substrate/well tap
    tied to the source. ``nets`` = (d, g, s) labels on met1.
    """
    pitch = SD + l
    length = (nf + 1) * SD + nf * l
    top = y + w_finger
    c.box("diff", x, y, x + length, top)
    impl = "nsdm" if polarity == "n" else "psdm"
    c.box(impl, x - 0.125, y - 0.125, x + length + 0.125, top + 0.125)
    if polarity == "p":
        c.box("nwell", x - 0.6, y - 1.6, x + length + 0.6, top + 0.6)
    if flavor == "lvt":
        c.box("lvtn", x - 0.18, y - 0.18, x + length + 0.18, top + 0.18)
    elif flavor == "hvt":
        c.box("hvtp", x - 0.18, y - 0.18, x + length + 0.18, top + 0.18)
    # gates and the poly bar above the diffusion
    bar_y0, bar_y1 = top + 0.3, top + 0.63
    for k in range(nf):
        gx = x + SD + k * pitch
        c.box("poly", gx, y - 0.13, gx + l, bar_y0)
    c.box("poly", x - 0.45, bar_y0, x + SD + (nf - 1) * pitch + l, bar_y1)
    gcx, gcy = x - 0.285, (bar_y0 + bar_y1) / 2
    c.contact("licon", gcx, gcy, LICON)
    c.box("li1", x - 0.45, bar_y0, x - 0.12, bar_y1)
    c.li_met1_pad(gcx, gcy)
    # contacts in each s/d column
    n_ct = max(1, int((w_finger - 0.08 - LICON) / 0.34 + 1e-9) + 1)
    span = (n_ct - 1) * 0.34
    cy0 = y + w_finger / 2 - span / 2
    s_bar = (y - 0.47, y - 0.3)
    d_bar = (top + 0.85, top + 1.02)
    xs_s, xs_d = [], []
    for k in range(nf + 1):
        cx = x + k * pitch + SD / 2
        for m in range(n_ct):
            c.contact("licon", cx, cy0 + m * 0.34, LICON)
        lo, hi = cy0 - 0.085 - 0.08, cy0 + span + 0.085 + 0.08
        if k % 2 == 0:
            c.box("li1", cx - 0.085, s_bar[0], cx + 0.085, hi)
            xs_s.append(cx)
        else:
            c.box("li1", cx - 0.085, lo, cx + 0.085, d_bar[1])
            xs_d.append(cx)
    c.box("li1", xs_s[0] - 0.085, s_bar[0], xs_s[-1] + 0.085, s_bar[1])
    c.box("li1", xs_d[0] - 0.085, d_bar[0], xs_d[-1] + 0.085, d_bar[1])
    s_pad = (xs_s[-1], (s_bar[0] + s_bar[1]) / 2)
    d_pad = (xs_d[-1], (d_bar[0] + d_bar[1]) / 2)
    c.li_met1_pad(*s_pad)
    c.li_met1_pad(*d_pad)
    if tap:
        tx0, ty0 = x, y - 1.0
        c.box("tap", tx0, ty0, tx0 + 0.41, ty0 + 0.41)
        other = "psdm" if polarity == "n" else "nsdm"
        c.box(other, tx0 - 0.125, ty0 - 0.125, tx0 + 0.535, ty0 + 0.41 + 0.125)
        c.contact("licon", tx0 + 0.205, ty0 + 0.205, LICON)
        c.box("li1", tx0 + 0.12, ty0 + 0.04, tx0 + 0.29, s_bar[1])
    pins = {"d": d_pad, "g": (gcx, gcy), "s": s_pad}
    if nets is not None:
        for (_key, pos), name in zip(pins.items(), nets, strict=True):
            c.label("met1", name, *pos)
    return pins


def mim(c: Canvas, x: float, y: float, w: float, l: float,
        nets: tuple[str, str] | None = None) -> dict[str, tuple[float, float]]:
    """Draw a ``sky130_fd_pr__cap_mim_m3_1`` of W × L µm (capm) with its lower-left at (x, y).

    met3 bottom plate encloses capm by 0.14 (capm.3) and extends 1.2 µm to the right for a
    via3 landing; met4 covers the top plate and lands on it through via3 (capm.4: 0.14 µm).
    Returns the top-plate (met4) and bottom-plate (met4 pickup) label positions.
    """
    c.box("capm", x, y, x + w, y + l)
    c.box("met3", x - 0.14, y - 0.14, x + w + 1.3, y + l + 0.14)
    c.box("met4", x + 0.1, y + 0.1, x + w - 0.1, y + l - 0.1)
    c.contact("via3", x + w / 2, y + l / 2, 0.2)
    bx = x + w + 0.9
    c.contact("via3", bx, y + l / 2, 0.2)
    c.box("met4", bx - 0.25, y + l / 2 - 0.25, bx + 0.25, y + l / 2 + 0.25)
    pins = {"a": (x + w / 2, y + l / 2), "b": (bx, y + l / 2)}
    if nets is not None:
        c.label("met4", nets[0], *pins["a"])
        c.label("met4", nets[1], *pins["b"])
    return pins
