"""The RC-Spike cells: synapse, neuron, crossbar layer and network (``klayout.db`` geometry).

Metal assignment (after the paper: spike lines on metal4, bit lines on metal2):

==========  =====================================================================================
level       use
==========  =====================================================================================
li1         device-local: S/D stripes, tap strips, gate-contact pads
met1        horizontal rails/tracks: per crossbar row ``vss``/``vbn``/``vbp``/``vdd``; the neuron
            routing channel (one track per net); the network's global ``vdd``/``vss`` rails
met2        vertical: bit lines (membranes ``mem<i>``), device stubs into the channel, supply and
            bias trunks left of each crossbar
met3        MIM bottom plate (``vss``); vertical output descents and the inter-layer channel
met4        horizontal: spike lines ``in<j>``/``inb<j>`` across the crossbar rows, output buses
            below each layer; MIM top plate (the membrane) and its strap to the bit line
==========  =====================================================================================

Every net of the network carries exactly one text label, placed on a shape of that net, on the
label purpose (``<metal>/5``) of the metal it sits on, named as in
:func:`imcflow.circuit.network_ports` (layer name ``<n>``):

* ``in<j>``, ``inb<j>`` — met4, left end of the first layer's spike lines;
* ``<n>_mem<i>`` — met2, top end of bit line i;
* ``<n>_out<i>``, ``<n>_outb<i>`` — met4, on the output bus track below the neuron (for a
  non-last layer this net is also the next layer's spike line ``in<i>``/``inb<i>``);
* ``<n>_rst``, ``_rstb``, ``_fire``, ``_v0``, ``_vdis``, ``_vcmp`` — met1, left end of the
  neuron-channel track; ``<n>_vbn``, ``<n>_vbp`` — met2, on the bias trunk;
* ``vdd``, ``vss`` — met1, left end of the global rails at the bottom.

Internal nodes (synapse series node, ``dx``, ``cx``, ``c1``–``c3``, ``nx``) are unlabelled. Body
terminals: every NMOS sits in the p-substrate tied to ``vss`` by p-taps, every PMOS in an n-well
tied to ``vdd`` by n-taps.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import klayout.db as kdb

from imcflow import pdk
from imcflow.circuit import NEURON_CONTROLS, rcspike
from imcflow.layout import devices as dv
from imcflow.layout.geom import Canvas, sizes
from imcflow.layout.rules import down, rule, um, up
from imcflow.spec import DesignSpec, LayerSpec


# --------------------------------------------------------------------------- composites
def _half(x: int) -> int:
    """Half of a length, rounded up to the grid (a clearance shared by two neighbours)."""
    return up(x / 2)


@dataclass(frozen=True)
class Dims:
    """Every offset the cells are drawn with (dbu): composites of rule values, named where
    computed in :func:`dims`, rounded up to the 5 nm grid. Two are design choices, not rule
    minima, and say so (the global supply rail width, the MIM via3 pitch)."""

    # routing widths and pitches
    pad_max: int        # widest stack pad (met3/met4 landing of a via2/via3)
    edge_keep: int      # stack pads stay this far inside a cell's left/right edge
    track_w: int        # met1 channel track
    track_pitch: int
    stub_w: int         # met2 stub from a pad to its track
    rail_w: int         # met1 bias rail of a crossbar row
    trunk_w: int        # met2 supply/bias trunk left of a crossbar
    trunk_pitch: int
    bus_w: int          # met3/met4 signal line (output bus, descents, inter-layer channel)
    bus_pitch: int
    spike_w: int        # met4 spike line across a crossbar row
    supply_w: int       # global vdd/vss met1 rail
    supply_gap: int
    via_pair: int       # centre offset of the two vias of a supply crossing
    # crossbar row (N-half frame; the P half is its mirror image)
    tap_y0: int         # tap strip's distance from the row boundary
    strip_li_h: int     # li1 along a tap strip
    strip_pitch: int    # licon/mcon pitch along a tap strip
    strip_end: int      # first/last strip contact from a cell edge
    gy_sel: int         # selector gate contact = spike line centre
    cap: int            # implant/nwell cap beyond a row's end
    # MIM
    mim_enc: int        # met3 bottom plate around capm
    mim_keep: int       # capm to the nearest other met3: that met3 keeps max(capm.2b, capm.11)
    #                     from the bottom plate (capm.3 around the capm), so capm.2b holds and
    #                     capm.11 holds even measured from the plate instead of the capm
    mim_via_in: int     # via3 centre from a capm edge
    mim_via_pitch: int
    # neuron
    nwell_enc: int      # nwell around p+ diff and n+ tap


@functools.cache
def dims() -> Dims:
    """The composites (computed once from the rule table)."""
    s = sizes()
    m1w, m1h = s.pad["met1"]
    pad_max = max(max(p) for p in s.pad.values())
    space_max = max(rule(r) for r in ("li.3", "m1.2", "m2.2", "m3.2", "m4.2"))
    # the n-tap of one row and the p-tap of the next face each other across the row boundary,
    # where the n-well ends: difftap.10 / difftap.11 to that edge, and half of difftap.3 and
    # of n/psd.5b + n/psd.7 (implant to the other tap) each
    tap_y0 = up(max(rule("difftap.10"), rule("difftap.11"), rule("difftap.3") / 2,
                    (rule("nsd.5b") + rule("nsd.7")) / 2, (rule("psd.5b") + rule("psd.7")) / 2))
    tap_y1 = tap_y0 + s.tap
    tap_c = (tap_y0 + tap_y1) // 2
    strip_li_h = s.lic + 2 * rule("li.5")
    # the selector's gate contact sits above the p-tap strip as close as its stack allows
    gy_sel = up(max(
        tap_y1 + rule("m1.2") + m1h / 2,                     # its met1 pad to the vss rail
        tap_c + strip_li_h / 2 + rule("li.3") + s.pad["li1"][1] / 2,   # li1 pad to strip li1
        tap_y1 + rule("psd.5b") + rule("licon.9") + s.lic / 2,  # licon to the strip's psdm
        tap_y1 + rule("licon.14") + s.lic / 2,                  # licon to the tap
        tap_y1 + rule("poly.5") + s.pad["poly"][1] / 2,          # poly pad to the tap
        tap_c + s.lic / 2 + rule("licon.13") + s.npc / 2))      # npc to the strip licons
    m3_pad = s.pad["met3"][0]
    bus_w = max(s.via3 + 2 * rule("via3.5"), s.via3 + 2 * rule("m4.3"), rule("m3.1"),
                rule("m4.1"))
    trunk_w = s.pad["met2"][1]
    return Dims(
        pad_max=pad_max,
        edge_keep=up(pad_max / 2 + space_max / 2),
        track_w=m1w,                                          # via.4a across the via
        track_pitch=up(m1h / 2 + rule("m1.2") + m1w / 2),     # a via pad clears the next track
        stub_w=s.pad["met2"][0],
        rail_w=m1h,                                           # holds a via landing pad
        trunk_w=trunk_w,
        trunk_pitch=trunk_w + rule("m2.2"),
        bus_w=bus_w,
        bus_pitch=max(bus_w, m3_pad) + max(rule("m3.2"), rule("m4.2")),
        spike_w=s.pad["met4"][0],                             # as wide as its via3 landing pad
        supply_w=um(1.0),               # design choice: the global rails carry every neuron
        supply_gap=rule("m1.2"),
        via_pair=up((s.via + rule("via.2")) / 2),           # two vias (x.18 recommends them)
        tap_y0=tap_y0, strip_li_h=strip_li_h,
        strip_pitch=max(s.lic + s.lic_sp, s.ct + s.ct_sp),
        strip_end=up(max(rule("licon.7"), _half(s.lic_sp), _half(s.ct_sp))),
        gy_sel=gy_sel,
        cap=max(rule("nsd.5b"), rule("psd.5b"), rule("difftap.10")),
        mim_enc=rule("capm.3"),
        mim_keep=max(rule("capm.11"), rule("capm.2b")) + rule("capm.3"),
        mim_via_in=rule("capm.4") + s.via3 // 2,
        mim_via_pitch=4 * s.via3,       # design choice: a sparse via3 grid (≥ via3.1 + via3.2)
        nwell_enc=max(rule("difftap.8"), rule("difftap.10")),
    )


# --------------------------------------------------------------------------- synapse geometry
def gx() -> int:
    """Gate-contact column x inside a crossbar cell: its pads keep :attr:`Dims.edge_keep`
    from the cell's left edge (the bit line of the cell to the left is as far from its right)."""
    return dims().edge_keep


def dx0() -> int:
    """Diff start in a crossbar cell: the gate licon's gap to the diff (licon.14, and licon.9
    beyond the psdm of a p stack)."""
    s = sizes()
    return gx() + s.lic // 2 + s.gc_gap


def bl_from_right() -> int:
    """Bit-line centre from a cell's right edge (its stacks are as wide as any pad)."""
    return dims().edge_keep


@dataclass(frozen=True)
class RowGeom:
    """Vertical geometry of one crossbar row of a layer (dbu)."""

    wf_max: int
    d0: int          # diff bottom (N half)
    mem_bar: int     # bottom of the li1 bar joining the mem columns (above the tallest diff)
    rv0: int         # vbn rail bottom
    hn: int          # half-row height (mirror line)

    @property
    def h(self) -> int:
        return 2 * self.hn

    @property
    def tap_y1(self) -> int:
        return dims().tap_y0 + sizes().tap

    @property
    def mem_y(self) -> int:
        """Centre of the mem bar and its stack to the bit line."""
        return self.mem_bar + rule("li.1") // 2


def _row_geom(wf_max: int) -> RowGeom:
    s, D = sizes(), dims()
    sel_bar_top = D.gy_sel + s.poly_w // 2
    d0 = sel_bar_top + s.poly_sp + s.endcap                     # poly.2 to the CS endcaps
    # S/D li1 columns end li_ext above their top licon (≤ licon.5c below the diff top)
    li_ext = (s.pad["li1"][1] - s.lic) // 2
    mem_bar = d0 + wf_max - s.diff_lic_enc + li_ext + rule("li.3")
    mem_y = mem_bar + rule("li.1") // 2
    mem_pad_top = mem_y + max(s.pad[k][1] for k in ("li1", "met1", "met2")) // 2
    rv0 = mem_pad_top + rule("m1.2")
    hn = rv0 + D.rail_w + _half(rule("m1.2"))                # vbn and vbp rails m1.2 apart
    return RowGeom(wf_max=wf_max, d0=d0, mem_bar=mem_bar, rv0=rv0, hn=hn)


def _stack_gates(nf: int, l_sel: int, l_cs: int) -> tuple[list[str], list[str], list[int]]:
    """Finger pattern of a selector + current-source series pair with ``nf`` fingers each:
    regions (S/D nets ``rail``/``x``/``mem``), gates (``sel``/``cs``) and gate lengths."""
    regions, gates, lengths = ["rail"], [], []
    for k in range(nf):
        if k % 2 == 0:
            gates += ["sel", "cs"]
            lengths += [l_sel, l_cs]
            regions += ["x", "mem"]
        else:
            gates += ["cs", "sel"]
            lengths += [l_cs, l_sel]
            regions += ["x", "rail"]
    return regions, gates, lengths


def stack_length(nf: int, l_sel: int, l_cs: int) -> int:
    """Diff length (x, dbu) of a synapse stack."""
    s = sizes()
    return 2 * s.sd_end + nf * (l_sel + l_cs) + (2 * nf - 1) * s.sd_in


def stack_right_margin() -> int:
    """From a stack's diff end to the bit line: the x-node met1 strip ends at the diff end and
    the last li1 column licon.5c inside it; the bit line's pads clear both (m1.2, li.3)."""
    s = sizes()
    return max(rule("m1.2") + s.pad["met1"][0] // 2,
               rule("li.3") + s.pad["li1"][0] // 2 - s.diff_lic_enc,
               dims().pad_max // 2 + _half(rule("m2.2")))


def _draw_stack(cv: Canvas, g: RowGeom, wf: int, nf: int, l_sel: int, l_cs: int,
                x_bl: int, imp: str) -> None:
    """Series selector + current source (``nf`` fingers each, finger width ``wf``) in the N-half
    coordinate frame of ``cv`` (mirrored by the canvas for the P half)."""
    s, D = sizes(), dims()
    regions, gates, lengths = _stack_gates(nf, l_sel, l_cs)
    x_d0 = dx0()
    d0, d1 = g.d0, g.d0 + wf
    length = stack_length(nf, l_sel, l_cs)
    cv.box("diff", x_d0, d0, x_d0 + length, d1)
    cv.box(imp, *dv.implant_box((x_d0, d0, x_d0 + length, d1), imp))
    sel_bar = (D.gy_sel - s.poly_w // 2, D.gy_sel + s.poly_w // 2)
    gy_cs = d1 + s.endcap + s.poly_sp + s.poly_w // 2             # poly.2 above the endcaps
    cs_bar = (gy_cs - s.poly_w // 2, gy_cs + s.poly_w // 2)
    # gates and the bars joining them
    x = x_d0 + s.sd_end
    gate_x: list[tuple[int, int]] = []
    for kind, lg in zip(gates, lengths, strict=True):
        if kind == "sel":
            cv.box("poly", x, sel_bar[0], x + lg, d1 + s.endcap)
        else:
            cv.box("poly", x, d0 - s.endcap, x + lg, cs_bar[1])
        gate_x.append((x, x + lg))
        x += lg + s.sd_in
    last_sel = max(x1 for (x0, x1), k in zip(gate_x, gates, strict=True) if k == "sel")
    last_cs = max(x1 for (x0, x1), k in zip(gate_x, gates, strict=True) if k == "cs")
    gxc = gx()
    cv.box("poly", gxc, sel_bar[0], last_sel, sel_bar[1])
    cv.box("poly", gxc, cs_bar[0], last_cs, cs_bar[1])
    cv.stack(gxc, D.gy_sel, "poly", "met4")         # selector gate up to the spike line
    cv.stack(gxc, gy_cs, "poly", "met1")            # current-source gate to the bias rail
    m1w = s.pad["met1"][0]
    cv.box("met1", gxc - m1w // 2, gy_cs, gxc + m1w // 2, g.rv0 + D.rail_w)
    # source/drain columns
    ys = [d0 + y for y in dv.licon_column(wf)]
    li_ext = (s.pad["li1"][1] - s.lic) // 2
    mem_bar = (g.mem_bar, g.mem_bar + rule("li.1"))
    tap_c = (D.tap_y0 + g.tap_y1) // 2
    centers = [x_d0 + s.sd_end - s.lic_gate - s.lic // 2]
    centers += [x1 + s.lic_gate + s.lic // 2 for (_, x1) in gate_x]
    x_mcons: list[int] = []
    mem_xs: list[int] = []
    for net, xc in zip(regions, centers, strict=True):
        for y in ys:
            cv.cbox("licon", xc, y + s.lic // 2, s.lic, s.lic)
        y_lo, y_hi = ys[0] - li_ext, ys[-1] + s.lic + li_ext
        if net == "rail":
            y_lo = tap_c                            # down into the tap strip's li1
        elif net == "mem":
            y_hi = mem_bar[1]
            mem_xs.append(xc)
        else:
            x_mcons.append(xc)
        cv.box("li1", xc - s.lic // 2, y_lo, xc + s.lic // 2, y_hi)
    cv.box("li1", min(mem_xs) - s.lic // 2, mem_bar[0], x_bl + s.lic // 2, mem_bar[1])
    cv.stack(x_bl, g.mem_y, "li1", "met2")
    if len(x_mcons) > 1:                            # join the series nodes of all fingers
        yc = ys[0] + s.lic // 2
        for xc in x_mcons:
            cv.cbox("mcon", xc, yc, s.ct, s.ct)
        ext = s.ct // 2 + rule("m1.5")
        cv.box("met1", min(x_mcons) - ext, yc - m1w // 2, max(x_mcons) + ext, yc + m1w // 2)


def _draw_row_background(cv: Canvas, g: RowGeom, width: int, tap: str, tap_imp: str,
                         rail_lo: int) -> None:
    """Tap strip with contacts and the two met1 rails of one half row (N-half frame)."""
    s, D = sizes(), dims()
    y0, y1 = D.tap_y0, g.tap_y1
    cv.box(tap, 0, y0, width, y1)
    e = rule("nsd.5b")
    cv.box(tap_imp, 0, y0 - e, width, y1 + e)
    yc = (y0 + y1) // 2
    cv.box("li1", 0, yc - D.strip_li_h // 2, width, yc + D.strip_li_h // 2)
    cv.box("met1", 0, y0, width, y1)
    x = D.strip_end
    while x + max(s.lic, s.ct) + D.strip_end <= width:
        cv.box("licon", x, yc - s.lic // 2, x + s.lic, yc + s.lic - s.lic // 2)
        cv.box("mcon", x, yc - s.ct // 2, x + s.ct, yc + s.ct - s.ct // 2)
        x += D.strip_pitch
    cv.box("met1", 0, rail_lo, width, rail_lo + D.rail_w)


def synapse_cell(layout: kdb.Layout, name: str, g: RowGeom, pitch: int, sign: int, wf: int,
                 nf: int, l_sel: int, l_cs: int) -> kdb.Cell:
    """One crossbar slot (width ``pitch``, height ``g.h``): taps, rails, n-well strip, and an
    NMOS (``sign`` > 0), PMOS (< 0) or no (0) selector + current-source pair."""
    cell = layout.create_cell(name)
    h = g.h
    n_cv = Canvas(layout, cell)
    p_cv = Canvas(layout, cell, ty=lambda y: h - y)
    _draw_row_background(n_cv, g, pitch, "tap", "psdm", g.rv0)
    _draw_row_background(p_cv, g, pitch, "tap", "nsdm", g.rv0)
    # the n-well fills the P half up to the row boundary (tap_y0 ≥ difftap.10, difftap.11)
    n_cv.box("nwell", 0, g.hn, pitch, h)
    x_bl = pitch - bl_from_right()
    if sign > 0:
        _draw_stack(n_cv, g, wf, nf, l_sel, l_cs, x_bl, "nsdm")
    elif sign < 0:
        _draw_stack(p_cv, g, wf, nf, l_sel, l_cs, x_bl, "psdm")
    return cell


# --------------------------------------------------------------------------- neuron
#: Channel tracks of the neuron, top to bottom (``vss`` on top: the MIM plate drops onto it;
#: ``mem`` next: the bit line arrives from above).
TRACKS = ("vss", "mem", "vdd", *NEURON_CONTROLS, "out", "outb", *rcspike.neuron_internal_nets())
GLOBAL_TRACKS = ("vss", "vdd", *NEURON_CONTROLS)


@dataclass(frozen=True)
class Dev:
    """One transistor of the neuron as the layout places it: name, kind (polarity and
    threshold flavour: n, p, nlvt, phvt), W, L (dbu), d/g/s nets."""

    name: str
    kind: str
    w: int
    l: int
    d: str
    g: str
    s: str


def neuron_devices(layer: LayerSpec) -> list[Dev]:
    """The transistors of :func:`imcflow.circuit.rcspike.neuron` in placement order: PMOS first (one
    n-well), then NMOS, each in circuit order."""
    out = []
    for d in rcspike.neuron(layer).devices:
        role = pdk.get().role(d.role)
        if not role.is_mos:
            continue
        vt = {"lvtn": "lvt", "hvtp": "hvt"}.get(role.vt_layer or "", "")
        out.append(Dev(d.name, f"{role.polarity}{vt}", um(float(d.w)), um(float(d.l)),
                       *d.nets[:3]))
    return sorted(out, key=lambda dev: dev.kind[0] != "p")


@dataclass
class NeuronPlan:
    """Device x positions of a neuron row and the sizes derived from them (dbu)."""

    xs: list[int]
    ntap_x: int
    ptap_x: int
    nwell_x1: int
    n_x0: int
    right: int                     # right edge of the device area
    top: int                       # top of the device area's met1
    yc0: int                       # channel base
    devs: list[Dev] = field(default_factory=list)

    @property
    def min_width(self) -> int:
        """Neuron width the device row needs: the ptap's stub clears the outb column, then the
        exit corridor (:func:`corridor`) and the bit line's keep-out."""
        s = sizes()
        ptap_c = self.ptap_x + s.tap // 2
        first = dims().stub_w // 2 + rule("m2.2") + s.pad["met2v2"][0] // 2
        return ptap_c + first + corridor()["outb"] + bl_from_right()

    @property
    def channel_top(self) -> int:
        return self.yc0 + len(TRACKS) * dims().track_pitch

    def track_y(self, net: str) -> int:
        D = dims()
        k = len(TRACKS) - 1 - TRACKS.index(net)
        return self.yc0 + D.track_w // 2 + k * D.track_pitch


def corridor() -> dict[str, int]:
    """Distance left of the bit line of the neuron's exit columns: the MIM's vss drop (its via2
    pad clears the bit line, m2.2), then the out and outb exits one bus pitch apart."""
    s, D = sizes(), dims()
    vs = up(D.stub_w / 2 + rule("m2.2") + s.pad["met2v2"][0] / 2)
    return {"vss": vs, "out": vs + D.bus_pitch, "outb": vs + 2 * D.bus_pitch}


def plan_neuron(layer: LayerSpec) -> NeuronPlan:
    """Place the neuron's devices in one row: n-tap, PMOS (one n-well), NMOS, p-tap; each as
    close to the previous as :func:`imcflow.layout.devices.place_after` allows."""
    s, D = sizes(), dims()
    devs = neuron_devices(layer)
    ntap_x = D.edge_keep - s.tap // 2                # tap stack pads keep edge_keep
    prev = dv.tap_footprint("n").shifted(ntap_x)
    prev_kind = "p"
    xs: list[int] = []
    nwell_x1 = n_x0 = 0
    last_p_right = 0
    for d in devs:
        fp = dv.mos_footprint(d.l, d.w, d.kind)
        merged = ("nsdm",) if d.kind[0] == "n" and prev_kind[0] == "n" else ()
        x = dv.place_after(prev, fp, merged)
        if d.kind[0] == "n" and prev_kind[0] == "p":
            nwell_x1 = last_p_right + D.nwell_enc                # difftap.8
            x = max(x, nwell_x1 + rule("difftap.9"))
            n_x0 = x
        xs.append(x)
        prev = fp.shifted(x)
        if d.kind[0] == "p":
            last_p_right = x + dv.mos_width(d.l)
        prev_kind = d.kind
    ptap_x = dv.place_after(prev, dv.tap_footprint("p"))
    right = ptap_x + s.tap
    m1h = s.pad["met1"][1]
    top = max(max(d.w + dv.bar_dy() + s.poly_w // 2 for d in devs), s.tap // 2) + m1h // 2
    return NeuronPlan(xs=xs, ntap_x=ntap_x, ptap_x=ptap_x, nwell_x1=nwell_x1, n_x0=n_x0,
                      right=right, top=top, yc0=top + rule("m1.2"), devs=devs)


def mim_min_pitch(w: int) -> int:
    """Column pitch a MIM of width ``w`` dbu needs: the capm keeps :attr:`Dims.mim_keep` from
    the met3 pads on this column's bit line and on the bit line of the column to the left."""
    D = dims()
    return w + D.pad_max + 2 * D.mim_keep


@dataclass(frozen=True)
class NeuronPins:
    """Connection points of a drawn neuron, relative to its origin (dbu)."""

    mem: tuple[int, int]      # via on the mem track at the bit-line x
    out: tuple[int, int]      # met3 pad of the out exit
    outb: tuple[int, int]
    vss_y: int
    vdd_y: int
    track_y: dict[str, int]
    top: int                  # top of the MIM bottom plate
    bottom: int               # lowest drawn y (n-well, implants, endcaps)


def neuron_pins(plan: NeuronPlan, pitch: int, l_max: int) -> NeuronPins:
    """Pin positions of a neuron cell of width ``pitch`` (MIM lengths up to ``l_max`` dbu)."""
    s, D = sizes(), dims()
    x_bl = pitch - bl_from_right()
    ty = {t: plan.track_y(t) for t in TRACKS}
    c = corridor()
    return NeuronPins(mem=(x_bl, ty["mem"]), out=(x_bl - c["out"], ty["out"]),
                      outb=(x_bl - c["outb"], ty["outb"]), vss_y=ty["vss"], vdd_y=ty["vdd"],
                      track_y=ty, top=plan.channel_top + l_max + 2 * D.mim_enc,
                      bottom=-max(D.nwell_enc, s.endcap, rule("nsd.5a"), rule("psd.5a")))


def neuron_cell(layout: kdb.Layout, name: str, plan: NeuronPlan, pitch: int, mim_w: int,
                mim_l: int) -> kdb.Cell:
    """The neuron: device row, routing channel (one met1 track per net, met2 stubs), the MIM
    membrane above the channel and the exits (bit line lane, out/outb lanes) at the right."""
    s, D = sizes(), dims()
    cell = layout.create_cell(name)
    cv = Canvas(layout, cell)
    terms: dict[str, list[tuple[int, int]]] = {t: [] for t in TRACKS}
    # taps
    terms["vdd"].append(dv.draw_tap(cv, plan.ntap_x))
    terms["vss"].append(dv.draw_tap(cv, plan.ptap_x))
    cv.box("nsdm", *dv.implant_box((plan.ntap_x, 0, plan.ntap_x + s.tap, s.tap), "nsdm"))
    cv.box("psdm", *dv.implant_box((plan.ptap_x, 0, plan.ptap_x + s.tap, s.tap), "psdm"))
    geoms: list[dv.MosGeom] = []
    for d, x0 in zip(plan.devs, plan.xs, strict=True):
        gm = dv.draw_mos(cv, x0, d.w, d.l, d.kind)
        geoms.append(gm)
        terms[d.s].append(gm.s)
        terms[d.d].append(gm.d)
        terms[d.g].append(gm.g)
        if d.kind == "nlvt":
            cv.box("lvtn", *dv.vt_box(gm))
        elif d.kind == "phvt":
            cv.box("hvtp", *dv.vt_box(gm))
    pg = [gm for gm, d in zip(geoms, plan.devs, strict=True) if d.kind[0] == "p"]
    ng = [gm for gm, d in zip(geoms, plan.devs, strict=True) if d.kind[0] == "n"]
    for g in pg:              # one psdm per pfet: its gate licon must clear the next (licon.9)
        cv.box("psdm", *dv.implant_box(g.diff, "psdm"))
    n_box = (ng[0].diff[0], 0, ng[-1].diff[2], max(g.diff[3] for g in ng))
    cv.box("nsdm", *dv.implant_box(n_box, "nsdm"))
    nw_top = max(max(g.diff[3] for g in pg), s.tap) + D.nwell_enc
    cv.box("nwell", plan.ntap_x - D.nwell_enc, -D.nwell_enc, plan.nwell_x1, nw_top)
    # exits in the corridor at the right
    x_bl = pitch - bl_from_right()
    pins = neuron_pins(plan, pitch, mim_l)
    terms["mem"].append(pins.mem)
    cv.stack(pins.mem[0], pins.mem[1], "met1", "met2")
    for net in ("out", "outb"):
        x, y = getattr(pins, net)
        cv.stack(x, y, "met1", "met3")
    # stubs and tracks
    m1w = s.pad["met1"][0]
    for net in TRACKS:
        y = plan.track_y(net)
        pts = terms[net]
        if net in GLOBAL_TRACKS:
            x0, x1 = 0, pitch
        else:
            xs = [p[0] for p in pts] + ([getattr(pins, net)[0]] if net in ("out", "outb")
                                        else [])
            x0, x1 = min(xs) - m1w // 2, max(xs) + m1w // 2
        cv.box("met1", x0, y - D.track_w // 2, x1, y + D.track_w // 2)
        for (x, yp) in pts:
            if (x, yp) == pins.mem:
                continue
            cv.box("met2", x - D.stub_w // 2, yp, x + D.stub_w // 2, y)
            cv.stack(x, y, "met1", "met2")
    # MIM: capm keeps mim_keep from the bit line's met3 pads; met3 bottom plate (vss) around
    # it by capm.3 with a tab to the vss drop; via3 grid; met4 top plate strapped to the bit line
    ym0 = plan.channel_top
    cx1 = x_bl - D.pad_max // 2 - D.mim_keep
    cx0, cy0, cy1 = cx1 - mim_w, ym0 + D.mim_enc, ym0 + D.mim_enc + mim_l
    cv.box("met3", cx0 - D.mim_enc, ym0, cx1 + D.mim_enc, cy1 + D.mim_enc)
    cv.box("capm", cx0, cy0, cx1, cy1)
    cv.box("met4", cx0, cy0, cx1, cy1)
    for vx in _grid_points(cx0, cx1):
        for vy in _grid_points(cy0, cy1):
            cv.cbox("via3", vx, vy, s.via3, s.via3)
    x_vs = x_bl - corridor()["vss"]
    m3 = s.pad["met3"][0]
    cv.box("met3", cx1 + D.mim_enc, ym0, x_vs + m3 // 2, ym0 + m3)
    cv.stack(x_vs, ym0 + m3 // 2, "met2", "met3")
    cv.box("met2", x_vs - D.stub_w // 2, pins.vss_y, x_vs + D.stub_w // 2, ym0 + m3 // 2)
    cv.stack(x_vs, pins.vss_y, "met1", "met2")
    yi = cy0 + down(mim_l / 2)
    cv.box("met4", cx1, yi - D.spike_w // 2, x_bl, yi + D.spike_w // 2)
    cv.stack(x_bl, yi, "met2", "met4")
    return cell


def _grid_points(a: int, b: int) -> list[int]:
    """via3 centres along [a, b]: the via pitch apart, ≥ mim_via_in from both ends, centred."""
    D = dims()
    span = b - a - 2 * D.mim_via_in
    n = max(1, span // D.mim_via_pitch + 1)
    first = a + down(((b - a) - (n - 1) * D.mim_via_pitch) / 2)
    return [first + k * D.mim_via_pitch for k in range(n)]


# --------------------------------------------------------------------------- layer
@dataclass
class LayerGeom:
    """A drawn crossbar layer: its cell and the positions the network connects to (dbu)."""

    cell: kdb.Cell
    width: int                        # crossbar/neuron-row width (x from 0)
    left: int                         # leftmost x of the layer's shapes
    bottom: int
    row_h: int
    n_in: int
    spike_y: dict[tuple[int, bool], int]      # (j, inverted) → met4 line centre
    bus_y: dict[tuple[int, bool], int]        # (i, inverted) → bus track centre
    trunk_x: dict[str, int]
    labels: list[tuple[str, str, int, int]]   # (level, suffix, x, y)


def _q(x_um: float) -> int:
    return um(x_um)


def layer_pitch(layer: LayerSpec, plan: NeuronPlan) -> int:
    """Column pitch of a layer: the widest of synapse slot, neuron row and MIM needs."""
    s = layer.synapse
    widest = 0
    for i in range(layer.n_out):
        for j in range(layer.n_in):
            if layer.width_um[i][j] != 0:
                nf = layer.fingers[i][j]
                widest = max(widest, stack_length(nf, _q(s.sel_l_um), _q(s.l_um)))
    syn = dx0() + widest + stack_right_margin() + bl_from_right()
    mim = max(mim_min_pitch(_q(w)) for w in layer.mim_w_um)
    return up(max(syn, plan.min_width, mim))


def xbar_gap(pins: NeuronPins) -> int:
    """Neuron origin below the crossbar (whose bottom row starts at y = 0): the MIM bottom
    plate keeps capm.2b (and its capm capm.11) from the selector stacks' met3 pads."""
    D = dims()
    pad_bottom = D.gy_sel - D.pad_max // 2
    return pad_bottom - (D.mim_keep - D.mim_enc) - pins.top


def draw_layer(layout: kdb.Layout, layer: LayerSpec, first: bool) -> LayerGeom:
    """Crossbar rows (input ``j`` on row ``n_in − 1 − j`` from the bottom, so row 0 is on top),
    neuron row below, output bus below that, trunks at the left."""
    s, D = sizes(), dims()
    name = layer.name
    cell = layout.create_cell(f"imc_layer_{name}")
    cv = Canvas(layout, cell)
    plan = plan_neuron(layer)
    pitch = layer_pitch(layer, plan)
    n_in, n_out = layer.n_in, layer.n_out
    wfs = [_q(abs(layer.width_um[i][j]) / layer.fingers[i][j])
           for i in range(n_out) for j in range(n_in) if layer.width_um[i][j] != 0]
    g = _row_geom(max(wfs + [rule("difftap.2")]))
    width = n_out * pitch
    l_sel, l_cs = _q(layer.synapse.sel_l_um), _q(layer.synapse.l_um)
    # synapse cells (one per distinct variant)
    variants: dict[tuple[int, int, int], kdb.Cell] = {}
    for i in range(n_out):
        for j in range(n_in):
            w = layer.width_um[i][j]
            sign = (w > 0) - (w < 0)
            nf = layer.fingers[i][j] if sign else 0
            wf = _q(abs(w) / nf) if sign else 0
            key = (sign, wf, nf)
            if key not in variants:
                kind = {1: "n", -1: "p", 0: "0"}[sign]
                variants[key] = synapse_cell(
                    layout, f"imc_syn_{name}_{kind}_w{wf}_nf{nf}", g, pitch, sign, wf, nf,
                    l_sel, l_cs)
            r = n_in - 1 - j
            cell.insert(kdb.CellInstArray(variants[key].cell_index(),
                                          kdb.Trans(kdb.Vector(i * pitch, r * g.h))))
    h = g.h
    top = n_in * h
    # row ends: implant / n-well caps so the tap strips stay enclosed (n/psd.5b, difftap.10)
    e = rule("nsd.5b")
    for r in range(n_in):
        y = r * h
        for x0, x1 in ((-D.cap, 0), (width, width + D.cap)):
            cv.box("psdm", x0, y + D.tap_y0 - e, x1, y + g.tap_y1 + e)
            cv.box("nsdm", x0, y + h - g.tap_y1 - e, x1, y + h - D.tap_y0 + e)
            cv.box("nwell", x0, y + g.hn, x1, y + h)
    # trunks (met2) left of the crossbar
    tp = D.trunk_pitch
    trunk_x = {"vss": -4 * tp, "vdd": -3 * tp, "vbn": -2 * tp, "vbp": -tp}
    strip = (D.tap_y0 + g.tap_y1) // 2
    rails = {"vss": (strip, s.tap), "vbn": (g.rv0 + D.rail_w // 2, D.rail_w),
             "vbp": (h - g.rv0 - D.rail_w // 2, D.rail_w), "vdd": (h - strip, s.tap)}
    m1w = s.pad["met1"][0]
    pad_h = max(s.pad["met1"][1], s.pad["met2"][1])
    for r in range(n_in):
        for net, (yc, hh) in rails.items():
            y = r * h + yc
            cv.box("met1", trunk_x[net] - m1w // 2, y - hh // 2, 0, y - hh // 2 + hh)
            cv.stack(trunk_x[net], y, "met1", "met2")
    # neuron row
    l_max = max(_q(v) for v in layer.mim_l_um)
    pins = neuron_pins(plan, pitch, l_max)
    ny = xbar_gap(pins)                         # neuron origin y
    ncells: dict[tuple[int, int], kdb.Cell] = {}
    for i in range(n_out):
        key = (_q(layer.mim_w_um[i]), _q(layer.mim_l_um[i]))
        if key not in ncells:
            ncells[key] = neuron_cell(layout, f"imc_neuron_{name}_w{key[0]}_l{key[1]}", plan,
                                      pitch, *key)
        cell.insert(kdb.CellInstArray(ncells[key].cell_index(),
                                      kdb.Trans(kdb.Vector(i * pitch, ny))))
    for net, tx in (("vss", trunk_x["vss"]), ("vdd", trunk_x["vdd"])):
        y = ny + pins.track_y[net]
        cv.box("met1", tx - m1w // 2, y - D.track_w // 2, 0, y + D.track_w // 2)
        cv.stack(tx, y, "met1", "met2")
    # bit lines: from the neuron's mem track up to the top row's (P-half) mem stack
    bl_top = top - g.mem_y + pad_h // 2
    for i in range(n_out):
        x = i * pitch + pitch - bl_from_right()
        cv.box("met2", x - D.stub_w // 2, ny + pins.mem[1], x + D.stub_w // 2, bl_top)
    # output bus (met4) right below the neuron (which draws no met3/met4 down there), descents
    # (met3) from the out/outb exits
    bus_top = ny + pins.bottom
    bus_y: dict[tuple[int, bool], int] = {}
    for i in range(n_out):
        for inv in (False, True):
            t = 2 * i + int(inv)
            yb = bus_top - D.bus_w // 2 - t * D.bus_pitch
            bus_y[(i, inv)] = yb
            px, py = pins.outb if inv else pins.out
            x = i * pitch + px
            cv.box("met3", x - D.bus_w // 2, yb - D.bus_w // 2, x + D.bus_w // 2, ny + py)
            cv.cbox("via3", x, yb, s.via3, s.via3)
            cv.box("met4", x - D.bus_w // 2, yb - D.bus_w // 2, width, yb + D.bus_w // 2)
    bottom = bus_top - (2 * n_out - 1) * D.bus_pitch - D.bus_w
    # trunk verticals
    last = (n_in - 1) * h
    for net in ("vbn", "vbp"):
        cv.box("met2", trunk_x[net] - D.trunk_w // 2, rails[net][0] - pad_h // 2,
               trunk_x[net] + D.trunk_w // 2, last + rails[net][0] + pad_h // 2)
    for net in ("vss", "vdd"):
        cv.box("met2", trunk_x[net] - D.trunk_w // 2, bottom, trunk_x[net] + D.trunk_w // 2,
               last + rails[net][0] + pad_h // 2)
    # spike lines (met4), from the leftmost trunk's edge across the crossbar
    left = trunk_x["vss"] - D.trunk_w // 2
    spike_y: dict[tuple[int, bool], int] = {}
    for j in range(n_in):
        r = n_in - 1 - j
        for inv in (False, True):
            y = r * h + (h - D.gy_sel if inv else D.gy_sel)
            spike_y[(j, inv)] = y
            cv.box("met4", left, y - D.spike_w // 2, width, y + D.spike_w // 2)
    # labels (suffix = net name inside the layer; the network adds prefixes)
    labels: list[tuple[str, str, int, int]] = []
    for i in range(n_out):
        x = i * pitch + pitch - bl_from_right()
        labels.append(("met2", f"mem{i}", x, top - g.mem_y))
        for inv in (False, True):
            px = (pins.outb if inv else pins.out)[0] + i * pitch
            labels.append(("met4", f"{'outb' if inv else 'out'}{i}", px, bus_y[(i, inv)]))
    for net in NEURON_CONTROLS:
        labels.append(("met1", net, D.track_w // 2, ny + pins.track_y[net]))
    for net in ("vbn", "vbp"):
        labels.append(("met2", net, trunk_x[net], last + rails[net][0]))
    if first:
        for (j, inv), y in spike_y.items():
            labels.append(("met4", f"{'inb' if inv else 'in'}{j}", left + D.spike_w // 2, y))
    return LayerGeom(cell=cell, width=width, left=left, bottom=bottom, row_h=h, n_in=n_in,
                     spike_y=spike_y, bus_y=bus_y, trunk_x=trunk_x, labels=labels)


# --------------------------------------------------------------------------- network
#: Extra distance (dbu) between a layer's last bit line and the inter-layer channel: a design
#: choice, not a rule. At the minimum spacing the first channel line (the previous layer's out0)
#: coupled 1.4 fF into the last membrane (extracted on the demo), a 2 mV kick, ≈ 2.5 ns of spike
#: time, whenever neuron 0 fired before the last neuron; 2 µm further it is 0.14 fF.
CHANNEL_KEEP = um(2.0)


def draw_network(layout: kdb.Layout, spec: DesignSpec) -> kdb.Cell:
    """All layers side by side, layer l's out/outb bused to layer l+1's spike lines, global
    vdd/vss rails along the bottom, one label per net."""
    s, D = sizes(), dims()
    top = layout.create_cell(f"imc_net_{spec.name}")
    cv = Canvas(layout, top)
    x = 0
    geoms: list[tuple[int, LayerGeom]] = []
    prev: tuple[int, LayerGeom] | None = None
    # the inter-layer channel's first met3 line clears the last bit line's met3 pads (m3.2) and
    # its spike stubs clear the previous layer's spike lines (m4.2); beyond that it keeps
    # CHANNEL_KEEP from the last bit line: the channel carries the previous layer's outputs,
    # which switch while that layer's membranes still ramp
    chan_gap = max(D.pad_max // 2 - bl_from_right() + rule("m3.2"), rule("m4.2")) + CHANNEL_KEEP
    for li, layer in enumerate(spec.layers):
        lg = draw_layer(layout, layer, first=(li == 0))
        if prev is not None:
            px, pg = prev
            chan0 = px + pg.width + chan_gap + D.bus_w // 2
            chan_x = {key: chan0 + (2 * key[0] + int(key[1])) * D.bus_pitch
                      for key in pg.bus_y}
            x = max(chan_x.values()) + D.bus_w // 2 + rule("m3.2") - lg.left
            for key, cx in chan_x.items():
                yb = pg.bus_y[key]
                ys = lg.spike_y[key]
                cv.box("met4", px + pg.width, yb - D.bus_w // 2, cx + D.bus_w // 2,
                       yb + D.bus_w // 2)
                cv.box("met3", cx - D.bus_w // 2, yb - D.bus_w // 2, cx + D.bus_w // 2,
                       ys + D.bus_w // 2)
                cv.cbox("via3", cx, yb, s.via3, s.via3)
                cv.cbox("via3", cx, ys, s.via3, s.via3)
                cv.box("met4", cx - D.bus_w // 2, ys - D.spike_w // 2, x + lg.left,
                       ys + D.spike_w // 2)
        top.insert(kdb.CellInstArray(lg.cell.cell_index(), kdb.Trans(kdb.Vector(x, 0))))
        for level, suffix, lx, ly in lg.labels:
            net = suffix if (li == 0 and suffix.startswith("in")) else f"{layer.name}_{suffix}"
            cv.label(level, net, x + lx, ly)
        geoms.append((x, lg))
        prev = (x, lg)
    # global supply rails (met1) under everything, spanning every layer's supply trunks
    y_low = min(g.bottom for _, g in geoms)
    x0 = min(gx + g.left for gx, g in geoms)
    x1 = max(gx + g.trunk_x["vdd"] + D.trunk_w // 2 for gx, g in geoms)
    rails = {"vdd": y_low - D.supply_w // 2,
             "vss": y_low - D.supply_w - D.supply_gap - D.supply_w // 2}
    for net, yc in rails.items():
        cv.box("met1", x0, yc - D.supply_w // 2, x1, yc + D.supply_w // 2)
        cv.label("met1", net, x0 + D.supply_w // 2, yc)
    pad_h = max(s.pad["met1"][1], s.pad["met2"][1])
    for gx, g in geoms:
        for net in ("vdd", "vss"):
            tx = gx + g.trunk_x[net]
            cv.box("met2", tx - D.trunk_w // 2, rails[net] - D.via_pair - pad_h // 2,
                   tx + D.trunk_w // 2, g.bottom)
            for dyv in (-D.via_pair, D.via_pair):
                cv.stack(tx, rails[net] + dyv, "met1", "met2")
    return top
