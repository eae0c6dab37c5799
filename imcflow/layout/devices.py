"""Transistors and taps: imcflow's own sky130 device geometry (correct by construction).

* :func:`draw_mos` — a single-finger nfet/pfet (01v8, LVT, HVT) for the neuron's device row:
  horizontal diff of height W, a vertical poly gate of length L, one licon column per
  source/drain, and a poly contact to the right of the drain reached by a poly bar above the
  diff. Each terminal ends in a li1→met1→met2 stack; the caller runs met2 stubs from those pads
  up into a routing channel.
* :func:`draw_tap` — a substrate (p+) or n-well (n+) tap with the same kind of stack.
* :func:`place_after` — where the next device or tap of a row goes: as close as the spacing
  rules between the layers of the two allow (:data:`PAIRS`).

Implants (nsdm/psdm), n-well and threshold-adjust layers (lvtn/hvtp) are drawn by the caller
(:func:`implant_box`, :func:`vt_box`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imcflow.layout.geom import Canvas, sizes
from imcflow.layout.rules import down, rule

#: Spacing between the layers of two neighbours in a row, left item's layer first: (left
#: layer, right layer, rule). Footprint layers: diff (diff or tap), gate, poly, licon_d (licons
#: on diff/tap), licon_p (poly licons), npc, li1, met1, met2, vt (lvtn/hvtp), nsdm, psdm.
PAIRS: tuple[tuple[str, str, str], ...] = (
    ("diff", "diff", "difftap.3"), ("poly", "poly", "poly.2"),
    ("poly", "diff", "poly.4"), ("diff", "poly", "poly.4"),
    ("licon_p", "diff", "licon.14"), ("diff", "licon_p", "licon.14"),
    ("licon_p", "psdm", "licon.9"), ("psdm", "licon_p", "licon.9"),
    ("licon_d", "licon_d", "licon.2"), ("licon_p", "licon_d", "licon.2"),
    ("licon_d", "licon_p", "licon.2"),
    ("npc", "licon_d", "licon.13"), ("licon_d", "npc", "licon.13"), ("npc", "npc", "npc.2"),
    ("npc", "gate", "npc.4"), ("gate", "npc", "npc.4"),
    ("li1", "li1", "li.3"), ("met1", "met1", "m1.2"), ("met2", "met2", "m2.2"),
    ("vt", "gate", "lvtn.3a"), ("gate", "vt", "lvtn.3a"), ("vt", "vt", "lvtn.2"),
    ("psdm", "psdm", "psd.2"), ("nsdm", "nsdm", "nsd.2"),
    ("nsdm", "pdiff", "nsd.7"), ("pdiff", "nsdm", "nsd.7"),
    ("psdm", "ndiff", "psd.7"), ("ndiff", "psdm", "psd.7"),
)


@dataclass(frozen=True)
class Footprint:
    """x extent (dbu, relative to the item's left diff/tap edge) of each layer an item draws."""

    ext: dict[str, tuple[int, int]] = field(default_factory=dict)

    def shifted(self, dx: int) -> Footprint:
        return Footprint({k: (a + dx, b + dx) for k, (a, b) in self.ext.items()})


def place_after(left: Footprint, right: Footprint, merged: tuple[str, ...] = ()) -> int:
    """Smallest x0 of the ``right`` item (its footprint relative to its own x0) next to the
    ``left`` item (absolute footprint) under :data:`PAIRS`; layers in ``merged`` are drawn as
    one box across both items by the caller and need no spacing."""
    x0 = left.ext["diff"][1]
    for la, lb, r in PAIRS:
        if la == lb and la in merged:
            continue
        if la in left.ext and lb in right.ext:
            x0 = max(x0, left.ext[la][1] + rule(r) - right.ext[lb][0])
    return x0


@dataclass(frozen=True)
class MosGeom:
    """Where a drawn transistor's terminals are (stack centres, dbu) and its footprint."""

    s: tuple[int, int]
    d: tuple[int, int]
    g: tuple[int, int]
    diff: tuple[int, int, int, int]   # x0, y0, x1, y1 of the diff
    right: int                        # right edge of everything drawn
    footprint: Footprint


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


def bar_dy() -> int:
    """Gap from the diff top to the poly bar that joins the gate to its contact: poly.4."""
    return rule("poly.4")


def vt_enclosure() -> int:
    """Enclosure of a gate by its lvtn/hvtp box: lvtn.4b (hvtp.3 for hvtp, the same value)."""
    return max(rule("lvtn.4b"), rule("hvtp.3"))


def mos_footprint(l_nm: int, w: int, kind: str) -> Footprint:
    """Footprint of :func:`draw_mos` at x0 = 0 (``kind``: n, p, nlvt, phvt)."""
    s = sizes()
    a = s.sd_end
    xr = mos_width(l_nm)
    gx = xr + s.gc_gap + s.lic // 2
    xs = a - s.lic_gate - s.lic // 2
    pads = Canvas.stack_pads(None, "li1", "met2")  # type: ignore[arg-type]
    ext = {
        "diff": (0, xr), "gate": (a, a + l_nm), "poly": (a, gx + s.pad["poly"][0] // 2),
        "licon_d": (xs - s.lic // 2, xr - (xs - s.lic // 2)),
        "licon_p": (gx - s.lic // 2, gx + s.lic // 2),
        "npc": (gx - s.npc // 2, gx + s.npc // 2),
    }
    for level in ("li1", "met1", "met2"):
        half = max(pads[level][0], s.lic) // 2
        ext[level] = (xs - half, gx + half)
    imp = "psdm" if kind[0] == "p" else "nsdm"
    e = rule("psd.5a" if imp == "psdm" else "nsd.5a")
    ext[imp] = (-e, xr + e)
    ext["pdiff" if imp == "psdm" else "ndiff"] = (0, xr)
    if kind in ("nlvt", "phvt"):
        ext["vt"] = (-vt_enclosure(), xr + vt_enclosure())
    return Footprint(ext)


def draw_mos(cv: Canvas, x0: int, w: int, l_nm: int, kind: str = "n") -> MosGeom:
    """Single-finger transistor with its diff at x ∈ [x0, x0 + 2·sd_end + L], y ∈ [0, w]."""
    s = sizes()
    a = s.sd_end
    xr = x0 + mos_width(l_nm)
    cv.box("diff", x0, 0, xr, w)
    # gate: vertical stripe from its endcap (poly.8) up to a bar poly.4 above the diff
    bar0 = w + bar_dy()
    bar1 = bar0 + s.poly_w
    gx = xr + s.gc_gap + s.lic // 2
    gy = (bar0 + bar1) // 2
    pw, _ = s.pad["poly"]
    cv.box("poly", x0 + a, -s.endcap, x0 + a + l_nm, bar1)
    cv.box("poly", x0 + a, bar0, gx, bar1)
    cv.stack(gx, gy, "poly", "met2")
    # source / drain licon columns, li1 stripes, stack at the top licon
    xs = x0 + a - s.lic_gate - s.lic // 2
    xd = x0 + a + l_nm + s.lic_gate + s.lic // 2
    ys = licon_column(w)
    li_ext = (s.pad["li1"][1] - s.lic) // 2
    for xc in (xs, xd):
        for y in ys:
            cv.cbox("licon", xc, y + s.lic // 2, s.lic, s.lic)
        cv.box("li1", xc - s.lic // 2, ys[0] - li_ext, xc + s.lic // 2, ys[-1] + s.lic + li_ext)
    yt = ys[-1] + s.lic // 2
    cv.stack(xs, yt, "li1", "met2")
    cv.stack(xd, yt, "li1", "met2")
    return MosGeom(s=(xs, yt), d=(xd, yt), g=(gx, gy), diff=(x0, 0, xr, w),
                   right=gx + pw // 2, footprint=mos_footprint(l_nm, w, kind).shifted(x0))


def tap_footprint(kind: str) -> Footprint:
    """Footprint of :func:`draw_tap` at x0 = 0 (``kind``: ``n`` tap in nsdm, ``p`` in psdm)."""
    s = sizes()
    c = s.tap // 2
    pads = Canvas.stack_pads(None, "tap", "met2")  # type: ignore[arg-type]
    ext = {"diff": (0, s.tap), "licon_d": (c - s.lic // 2, c + s.lic // 2)}
    for level in ("li1", "met1", "met2"):
        ext[level] = (c - pads[level][0] // 2, c + pads[level][0] // 2)
    imp = "psdm" if kind == "p" else "nsdm"
    e = rule("psd.5a" if imp == "psdm" else "nsd.5a")
    ext[imp] = (-e, s.tap + e)
    ext["pdiff" if imp == "psdm" else "ndiff"] = (0, s.tap)
    return Footprint(ext)


def draw_tap(cv: Canvas, x0: int) -> tuple[int, int]:
    """A square tap (licon.7 around its licon; implant drawn by the caller) at
    x ∈ [x0, x0 + tap], y ∈ [0, tap], with a stack up to met2; returns the stack centre."""
    t = sizes().tap
    cv.box("tap", x0, 0, x0 + t, t)
    x, y = x0 + t // 2, t // 2
    cv.stack(x, y, "tap", "met2")
    return x, y


def implant_box(diff: tuple[int, int, int, int], implant: str) -> tuple[int, int, int, int]:
    """nsdm/psdm rectangle around a diff or tap box: nsd.5a / psd.5a (5b for taps, the same)."""
    e = max(rule("nsd.5a" if implant == "nsdm" else "psd.5a"),
            rule("nsd.5b" if implant == "nsdm" else "psd.5b"))
    x0, y0, x1, y1 = diff
    return x0 - e, y0 - e, x1 + e, y1 + e


def vt_box(geom: MosGeom) -> tuple[int, int, int, int]:
    """LVT/HVT layer rectangle: the diff grown by :func:`vt_enclosure`."""
    e = vt_enclosure()
    x0, y0, x1, y1 = geom.diff
    return x0 - e, y0 - e, x1 + e, y1 + e
