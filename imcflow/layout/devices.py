"""Transistors and taps: imcflow's own sky130 device geometry (correct by construction).

Two device styles:

* :func:`draw_mos` — a single-finger nfet/pfet (01v8, LVT, HVT) for the neuron's device row:
  horizontal diff of height W (µm in the spec, dbu here), a vertical poly gate of length L, one
  licon column per source/drain, and a poly contact to the right of the drain reached by a poly
  bar above the diff. Each terminal ends in a li1→met1→met2 stack; the caller runs met2 stubs from
  those pads up into a routing channel.
* :func:`draw_tap` — a substrate (p+) or n-well (n+) tap with the same kind of stack.

Implants (nsdm/psdm), n-well and threshold-adjust layers (lvtn/hvtp) are drawn by the caller per
group of devices (merged rectangles keep the implant spacing rules trivially satisfied); for
LVT/HVT devices :func:`vt_box` gives the layer's rectangle (gate enclosure ``lvtn.4b``/``hvtp.4``).
"""

from __future__ import annotations

from dataclasses import dataclass

from imcflow.layout.geom import Canvas, sizes
from imcflow.layout.rules import down, rule

#: Gap between device footprints in a row (dbu): the next source licon column then sits
#: 0.21 µm from the previous poly licon (licon.14: 0.19), met1 pads 0.18 apart (m1.2: 0.14) and
#: met2 stubs 0.44 µm on centre (0.26 pads + m2.2).
ROW_GAP = 160
#: Gap between a tap and a device: room for the abutting nsdm/psdm (2 × nsd.5a) and difftap.3.
TAP_GAP = 600
#: Extra gap around an LVT/HVT device so its Vt layer stays clear of neighbouring gates.
VT_GAP = 500
#: Poly-bar offset above the diff (≥ poly.4) and the gate-contact centre above the diff top.
BAR_DY = 150
TAP_W = 410    # licon.1 + 2·licon.7
TAP_H = 530    # licon.1 + 2·0.18 µm


@dataclass(frozen=True)
class MosGeom:
    """Where a drawn transistor's terminals are (stack centres, dbu) and its footprint."""

    s: tuple[int, int]
    d: tuple[int, int]
    g: tuple[int, int]
    diff: tuple[int, int, int, int]   # x0, y0, x1, y1 of the diff
    right: int                        # right edge of everything drawn


def licon_column(w: int) -> list[int]:
    """Bottom y (relative to the diff bottom) of the licons in a S/D column of a diff of height
    ``w`` dbu: as many as fit with licon.2 spacing and licon.5c enclosure, centred."""
    s = sizes()
    enc = s.diff_lic_enc
    n = max(1, (w - 2 * enc + s.lic_sp) // (s.lic + s.lic_sp))
    span = n * s.lic + (n - 1) * s.lic_sp
    y0 = down((w - span) / 2)
    if y0 < enc:
        raise ValueError(f"diff height {w} nm too small for a licon")
    return [y0 + k * (s.lic + s.lic_sp) for k in range(n)]


def mos_width(l_nm: int) -> int:
    """Diff length (x) of a single-finger device of gate length ``l_nm``."""
    return 2 * sizes().sd_end + l_nm


def draw_mos(cv: Canvas, x0: int, w: int, l_nm: int) -> MosGeom:
    """Single-finger transistor with its diff at x ∈ [x0, x0 + 2·sd_end + L], y ∈ [0, w]."""
    s = sizes()
    a = s.sd_end
    xr = x0 + mos_width(l_nm)
    cv.box("diff", x0, 0, xr, w)
    # gate: vertical stripe, bottom endcap poly.8, up to a bar BAR_DY above the diff (poly.4)
    bar0 = w + BAR_DY
    bar1 = bar0 + s.poly_w
    gx = xr + s.poly_lic_diff + s.lic // 2            # licon.14 from the diff edge
    gy = (bar0 + bar1) // 2
    pw, _ = s.pad["poly"]
    cv.box("poly", x0 + a, -s.endcap, x0 + a + l_nm, bar1)
    cv.box("poly", x0 + a, bar0, gx, bar1)
    cv.stack(gx, gy, "poly", "met2")
    # source / drain licon columns, li1 stripes, stack at the top licon
    xs = x0 + a - s.lic_gate - s.lic // 2
    xd = x0 + a + l_nm + s.lic_gate + s.lic // 2
    ys = licon_column(w)
    li_ext = (sizes().pad["li1"][1] - s.lic) // 2
    for xc in (xs, xd):
        for y in ys:
            cv.cbox("licon", xc, y + s.lic // 2, s.lic, s.lic)
        cv.box("li1", xc - s.lic // 2, ys[0] - li_ext, xc + s.lic // 2, ys[-1] + s.lic + li_ext)
    yt = ys[-1] + s.lic // 2
    cv.stack(xs, yt, "li1", "met2")
    cv.stack(xd, yt, "li1", "met2")
    return MosGeom(s=(xs, yt), d=(xd, yt), g=(gx, gy), diff=(x0, 0, xr, w),
                   right=gx + pw // 2)


def draw_tap(cv: Canvas, x0: int) -> tuple[int, int]:
    """A tap (diff of the tap layer, implant drawn by the caller) at x ∈ [x0, x0 + TAP_W],
    y ∈ [0, TAP_H], with a stack up to met2; returns the stack centre."""
    cv.box("tap", x0, 0, x0 + TAP_W, TAP_H)
    x, y = x0 + TAP_W // 2, TAP_H // 2
    cv.stack(x, y, "tap", "met2")
    return x, y


def vt_box(geom: MosGeom, l_nm: int) -> tuple[int, int, int, int]:
    """LVT/HVT layer rectangle: the diff grown by lvtn.4b / hvtp.4 (same value)."""
    e = max(rule("lvtn.4b"), rule("hvtp.4"))
    x0, y0, x1, y1 = geom.diff
    return x0 - e, y0 - e, x1 + e, y1 + e
