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

from dataclasses import dataclass, field

import klayout.db as kdb

from imcflow import pdk
from imcflow.circuit import NEURON_CONTROLS, rcspike
from imcflow.layout import devices as dv
from imcflow.layout.geom import Canvas, sizes
from imcflow.layout.rules import rule, um
from imcflow.spec import DesignSpec, LayerSpec

# --------------------------------------------------------------------------- synapse geometry
# y coordinates (dbu) of the N half of a crossbar row; the P half is its mirror image.
TAP_Y0, TAP_Y1 = 300, 300 + dv.TAP_W          # p-tap strip (licon.7 on both sides)
GY_SEL = 1050                                  # selector gate contact = spike line centre
GX = 500                                       # gate-contact column x inside a cell
DX0 = 800                                      # diff start: licon.14 from the poly licon
BL_FROM_RIGHT = 450                            # bit line centre from the cell's right edge
TRUNK_PITCH = 800
SPIKE_W = 400                                  # met4 spike-line width
BUS_PITCH = 800                                # met3/met4 signal pitch (0.4 wide, 0.4 apart)


@dataclass(frozen=True)
class RowGeom:
    """Vertical geometry of one crossbar row of a layer (dbu)."""

    wf_max: int
    d0: int          # diff bottom (N half)
    rv0: int         # vbn rail bottom
    hn: int          # half-row height (mirror line)

    @property
    def h(self) -> int:
        return 2 * self.hn


def _row_geom(wf_max: int) -> RowGeom:
    s = sizes()
    sel_bar_top = GY_SEL + s.poly_w // 2
    d0 = sel_bar_top + s.poly_sp + s.endcap                     # poly.2 to the CS endcaps
    mem_pad_top = d0 + wf_max + 940                             # see _draw_stack
    rv0 = mem_pad_top + rule("m1.2")
    hn = rv0 + 300 + 150
    return RowGeom(wf_max=wf_max, d0=d0, rv0=rv0, hn=hn)


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


def _draw_stack(cv: Canvas, g: RowGeom, wf: int, nf: int, l_sel: int, l_cs: int,
                x_bl: int, imp: str) -> None:
    """Series selector + current source (``nf`` fingers each, finger width ``wf``) in the N-half
    coordinate frame of ``cv`` (mirrored by the canvas for the P half)."""
    s = sizes()
    regions, gates, lengths = _stack_gates(nf, l_sel, l_cs)
    d0, d1 = g.d0, g.d0 + wf
    length = stack_length(nf, l_sel, l_cs)
    cv.box("diff", DX0, d0, DX0 + length, d1)
    e = rule("nsd.5a")
    cv.box(imp, DX0 - e, d0 - e, DX0 + length + e, d1 + e)
    sel_bar = (GY_SEL - s.poly_w // 2, GY_SEL + s.poly_w // 2)
    gy_cs = d1 + s.endcap + s.poly_sp + s.poly_w // 2
    cs_bar = (gy_cs - s.poly_w // 2, gy_cs + s.poly_w // 2)
    # gates and the bars joining them
    x = DX0 + s.sd_end
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
    cv.box("poly", GX, sel_bar[0], last_sel, sel_bar[1])
    cv.box("poly", GX, cs_bar[0], last_cs, cs_bar[1])
    cv.stack(GX, GY_SEL, "poly", "met4")            # selector gate up to the spike line
    cv.stack(GX, gy_cs, "poly", "met1")             # current-source gate to the bias rail
    m1w = s.pad["met1"][0]
    cv.box("met1", GX - m1w // 2, gy_cs, GX + m1w // 2, g.rv0 + 300)
    # source/drain columns
    ys = [d0 + y for y in dv.licon_column(wf)]
    li_ext = (s.pad["li1"][1] - s.lic) // 2
    mem_bar = (d1 + 670, d1 + 870)
    centers = [DX0 + s.sd_end - s.lic_gate - s.lic // 2]
    centers += [x1 + s.lic_gate + s.lic // 2 for (_, x1) in gate_x]
    x_mcons: list[int] = []
    mem_xs: list[int] = []
    for net, xc in zip(regions, centers, strict=True):
        for y in ys:
            cv.cbox("licon", xc, y + s.lic // 2, s.lic, s.lic)
        y_lo, y_hi = ys[0] - li_ext, ys[-1] + s.lic + li_ext
        if net == "rail":
            y_lo = TAP_Y0 + 200
        elif net == "mem":
            y_hi = mem_bar[1]
            mem_xs.append(xc)
        else:
            x_mcons.append(xc)
        cv.box("li1", xc - s.lic // 2, y_lo, xc + s.lic // 2, y_hi)
    cv.box("li1", min(mem_xs) - s.lic // 2, mem_bar[0], x_bl + s.lic // 2, mem_bar[1])
    cv.stack(x_bl, (mem_bar[0] + mem_bar[1]) // 2, "li1", "met2")
    if len(x_mcons) > 1:                            # join the series nodes of all fingers
        yc = ys[0] + s.lic // 2
        for xc in x_mcons:
            cv.cbox("mcon", xc, yc, s.ct, s.ct)
        ext = s.ct // 2 + rule("m1.5")
        cv.box("met1", min(x_mcons) - ext, yc - 130, max(x_mcons) + ext, yc + 130)


def _draw_row_background(cv: Canvas, g: RowGeom, width: int, tap: str, tap_imp: str,
                         rail_lo: int) -> None:
    """Tap strip with contacts and the two met1 rails of one half row (N-half frame)."""
    s = sizes()
    cv.box(tap, 0, TAP_Y0, width, TAP_Y1)
    e = rule("nsd.5a")
    cv.box(tap_imp, 0, TAP_Y0 - e, width, TAP_Y1 + e)
    yc = (TAP_Y0 + TAP_Y1) // 2
    li_h = s.lic + 2 * 90
    cv.box("li1", 0, yc - li_h // 2, width, yc + li_h // 2)
    cv.box("met1", 0, TAP_Y0, width, TAP_Y1)
    pitch = 400                                     # ≥ licon.1 + licon.2 and ≥ ct.1 + ct.2
    x = 200
    while x + s.lic + 200 <= width:
        cv.box("licon", x, yc - s.lic // 2, x + s.lic, yc + s.lic - s.lic // 2)
        cv.box("mcon", x, yc - s.ct // 2, x + s.ct, yc + s.ct - s.ct // 2)
        x += pitch
    cv.box("met1", 0, rail_lo, width, rail_lo + 300)


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
    n_cv.box("nwell", 0, g.hn, pitch, h - 100)
    x_bl = pitch - BL_FROM_RIGHT
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
TRACK_PITCH = 500
TRACK_W = 260


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
    top: int                       # top of the device area
    yc0: int                       # channel base
    devs: list[Dev] = field(default_factory=list)

    @property
    def min_width(self) -> int:
        return self.right + 3200 + BL_FROM_RIGHT

    @property
    def channel_top(self) -> int:
        return self.yc0 + len(TRACKS) * TRACK_PITCH

    def track_y(self, net: str) -> int:
        k = len(TRACKS) - 1 - TRACKS.index(net)
        return self.yc0 + TRACK_W // 2 + k * TRACK_PITCH


def _mos_right(d: Dev, x0: int) -> int:
    s = sizes()
    return x0 + dv.mos_width(d.l) + s.poly_lic_diff + s.lic // 2 + s.pad["poly"][0] // 2


def plan_neuron(layer: LayerSpec) -> NeuronPlan:
    """Place the neuron's devices in one row: n-tap, PMOS (one n-well), NMOS, p-tap."""
    devs = neuron_devices(layer)
    x = 400
    ntap_x = x
    x += dv.TAP_W + dv.TAP_GAP
    xs: list[int] = []
    nwell_x1 = n_x0 = 0
    prev_kind = "p"
    for d in devs:
        if d.kind[0] == "n" and prev_kind[0] == "p":
            nwell_x1 = x - dv.ROW_GAP + 300
            x = nwell_x1 + rule("difftap.9") + 200
            n_x0 = x
        if d.kind in ("nlvt", "phvt"):
            x += dv.VT_GAP
        xs.append(x)
        x = _mos_right(d, x) + dv.ROW_GAP
        if d.kind in ("nlvt", "phvt"):
            x += dv.VT_GAP
        prev_kind = d.kind
    ptap_x = x - dv.ROW_GAP + dv.TAP_GAP
    right = ptap_x + dv.TAP_W
    top = max(max(d.w for d in devs) + dv.BAR_DY + 400, dv.TAP_H)
    return NeuronPlan(xs=xs, ntap_x=ntap_x, ptap_x=ptap_x, nwell_x1=nwell_x1, n_x0=n_x0,
                      right=right, top=top, yc0=top + 400, devs=devs)


def mim_min_pitch(w: int) -> int:
    """Column pitch a MIM of width ``w`` dbu needs (plate, tab and lanes, see draw_neuron)."""
    return 400 + w + 400 + 1200 + BL_FROM_RIGHT


@dataclass(frozen=True)
class NeuronPins:
    """Connection points of a drawn neuron, relative to its origin (dbu)."""

    mem: tuple[int, int]      # via on the mem track at the bit-line x
    out: tuple[int, int]      # met3 pad of the out exit
    outb: tuple[int, int]
    vss_y: int
    vdd_y: int
    track_y: dict[str, int]
    top: int
    bottom: int


def neuron_pins(plan: NeuronPlan, pitch: int, l_max: int) -> NeuronPins:
    """Pin positions of a neuron cell of width ``pitch`` (MIM lengths up to ``l_max`` dbu)."""
    x_bl = pitch - BL_FROM_RIGHT
    ty = {t: plan.track_y(t) for t in TRACKS}
    ym0 = plan.channel_top + 600
    return NeuronPins(mem=(x_bl, ty["mem"]), out=(x_bl - 1600, ty["out"]),
                      outb=(x_bl - 2400, ty["outb"]), vss_y=ty["vss"], vdd_y=ty["vdd"],
                      track_y=ty, top=ym0 + l_max + 400 + 500, bottom=-400)


def neuron_cell(layout: kdb.Layout, name: str, plan: NeuronPlan, pitch: int, mim_w: int,
                mim_l: int) -> kdb.Cell:
    """The neuron: device row, routing channel (one met1 track per net, met2 stubs), the MIM
    membrane above the channel and the exits (bit line lane, out/outb lanes) at the right."""
    s = sizes()
    cell = layout.create_cell(name)
    cv = Canvas(layout, cell)
    terms: dict[str, list[tuple[int, int]]] = {t: [] for t in TRACKS}
    # taps
    terms["vdd"].append(dv.draw_tap(cv, plan.ntap_x))
    terms["vss"].append(dv.draw_tap(cv, plan.ptap_x))
    e = rule("nsd.5a")
    cv.box("nsdm", plan.ntap_x - e, -e, plan.ntap_x + dv.TAP_W + e, dv.TAP_H + e)
    cv.box("psdm", plan.ptap_x - e, -e, plan.ptap_x + dv.TAP_W + e, dv.TAP_H + e)
    geoms: list[dv.MosGeom] = []
    for d, x0 in zip(plan.devs, plan.xs, strict=True):
        gm = dv.draw_mos(cv, x0, d.w, d.l)
        geoms.append(gm)
        terms[d.s].append(gm.s)
        terms[d.d].append(gm.d)
        terms[d.g].append(gm.g)
        if d.kind == "nlvt":
            cv.box("lvtn", *dv.vt_box(gm, d.l))
        elif d.kind == "phvt":
            cv.box("hvtp", *dv.vt_box(gm, d.l))
    pg = [gm for gm, d in zip(geoms, plan.devs, strict=True) if d.kind[0] == "p"]
    ng = [gm for gm, d in zip(geoms, plan.devs, strict=True) if d.kind[0] == "n"]
    cv.box("psdm", pg[0].diff[0] - e, -e, pg[-1].diff[2] + e, max(g.diff[3] for g in pg) + e)
    cv.box("nsdm", ng[0].diff[0] - e, -e, ng[-1].diff[2] + e, max(g.diff[3] for g in ng) + e)
    nw_top = max(max(g.diff[3] for g in pg), dv.TAP_H) + 300
    cv.box("nwell", plan.ntap_x - 180, -300, plan.nwell_x1, nw_top)
    # exits in the corridor at the right
    x_bl = pitch - BL_FROM_RIGHT
    pins = neuron_pins(plan, pitch, mim_l)
    terms["mem"].append(pins.mem)
    cv.stack(pins.mem[0], pins.mem[1], "met1", "met2")
    for net in ("out", "outb"):
        x, y = getattr(pins, net)
        cv.stack(x, y, "met1", "met3")
    # stubs and tracks
    for net in TRACKS:
        y = plan.track_y(net)
        pts = terms[net]
        if net in GLOBAL_TRACKS:
            x0, x1 = 0, pitch
        else:
            xs = [p[0] for p in pts] + ([getattr(pins, net)[0]] if net in ("out", "outb")
                                        else [])
            x0, x1 = min(xs) - 200, max(xs) + 200
        cv.box("met1", x0, y - TRACK_W // 2, x1, y + TRACK_W // 2)
        for (x, yp) in pts:
            if (x, yp) == pins.mem:
                continue
            cv.box("met2", x - 130, yp, x + 130, y)
            cv.stack(x, y, "met1", "met2")
    # MIM: bottom plate met3 (vss) with a tab to the vss lane, capm, via3 grid, met4 top plate
    ym0 = plan.channel_top + 600
    bx1 = x_bl - 1200
    bx0 = bx1 - mim_w - 400
    cv.box("met3", bx0, ym0, bx1, ym0 + mim_l + 400)
    cx0, cy0, cx1, cy1 = bx0 + 200, ym0 + 200, bx1 - 200, ym0 + 200 + mim_l
    cv.box("capm", cx0, cy0, cx1, cy1)
    cv.box("met4", cx0, cy0, cx1, cy1)
    for vx in _grid_points(cx0, cx1):
        for vy in _grid_points(cy0, cy1):
            cv.cbox("via3", vx, vy, s.via3, s.via3)
    x_vs = x_bl - 800
    cv.box("met3", bx1 - 100, ym0, x_vs + 200, ym0 + 400)
    cv.stack(x_vs, ym0 + 200, "met2", "met3", pads_at_ends=False)
    cv.cbox("met2", x_vs, ym0 + 200, 400, 400)
    cv.box("met2", x_vs - 130, pins.vss_y, x_vs + 130, ym0 + 200)
    cv.stack(x_vs, pins.vss_y, "met1", "met2")
    yi = ym0 + 200 + (mim_l // 2 // 5) * 5
    cv.box("met4", cx1 - 100, yi - 200, x_bl + 200, yi + 200)
    cv.stack(x_bl, yi, "met2", "met4")
    return cell


def _grid_points(a: int, b: int, inset: int = 350, pitch: int = 800) -> list[int]:
    """Via centres along [a, b]: ``pitch`` apart, ≥ ``inset`` from both ends, centred."""
    span = b - a - 2 * inset
    n = max(1, span // pitch + 1)
    first = a + ((b - a) - (n - 1) * pitch) // 2 // 5 * 5
    return [first + k * pitch for k in range(n)]


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
    syn = DX0 + widest + 850
    mim = max(mim_min_pitch(_q(w)) for w in layer.mim_w_um)
    p = max(syn, plan.min_width, mim)
    return (p + 99) // 100 * 100


def draw_layer(layout: kdb.Layout, layer: LayerSpec, first: bool) -> LayerGeom:
    """Crossbar rows (input ``j`` on row ``n_in − 1 − j`` from the bottom, so row 0 is on top),
    neuron row below, output bus below that, trunks at the left."""
    s = sizes()
    name = layer.name
    cell = layout.create_cell(f"imc_layer_{name}")
    cv = Canvas(layout, cell)
    plan = plan_neuron(layer)
    pitch = layer_pitch(layer, plan)
    n_in, n_out = layer.n_in, layer.n_out
    wfs = [_q(abs(layer.width_um[i][j]) / layer.fingers[i][j])
           for i in range(n_out) for j in range(n_in) if layer.width_um[i][j] != 0]
    g = _row_geom(max(wfs + [um(0.42)]))
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
    # row ends: implant / n-well caps so the tap strips stay enclosed (nsd.5a, difftap.10)
    e = rule("nsd.5a")
    for r in range(n_in):
        y = r * h
        for x0, x1 in ((-300, 0), (width, width + 300)):
            cv.box("psdm", x0, y + TAP_Y0 - e, x1, y + TAP_Y1 + e)
            cv.box("nsdm", x0, y + h - TAP_Y1 - e, x1, y + h - TAP_Y0 + e)
            cv.box("nwell", x0, y + g.hn, x1, y + h - 100)
    # trunks (met2, 0.4 wide) left of the crossbar
    trunk_x = {"vss": -4 * TRUNK_PITCH, "vdd": -3 * TRUNK_PITCH, "vbn": -2 * TRUNK_PITCH,
               "vbp": -TRUNK_PITCH}
    rails = {"vss": ((TAP_Y0 + TAP_Y1) // 2, TAP_Y1 - TAP_Y0),
             "vbn": (g.rv0 + 150, 300), "vbp": (h - g.rv0 - 150, 300),
             "vdd": (h - (TAP_Y0 + TAP_Y1) // 2, TAP_Y1 - TAP_Y0)}
    for r in range(n_in):
        for net, (yc, hh) in rails.items():
            y = r * h + yc
            cv.box("met1", trunk_x[net] - 200, y - hh // 2, 0, y - hh // 2 + hh)
            cv.stack(trunk_x[net], y, "met1", "met2")
    # neuron row
    l_max = max(_q(v) for v in layer.mim_l_um)
    pins = neuron_pins(plan, pitch, l_max)
    ny = -1000 - pins.top                       # neuron origin y
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
        cv.box("met1", tx - 200, y - TRACK_W // 2, 0, y + TRACK_W // 2)
        cv.stack(tx, y, "met1", "met2")
    # bit lines
    m2w = s.pad["met1"][0]
    for i in range(n_out):
        x = i * pitch + pitch - BL_FROM_RIGHT
        cv.box("met2", x - m2w // 2, ny + pins.mem[1], x + m2w // 2, top - 300)
    # output bus (met4) below the neurons, descents (met3) from the out/outb exits
    bus_top = ny + pins.bottom - 800
    bus_y: dict[tuple[int, bool], int] = {}
    for i in range(n_out):
        for inv in (False, True):
            t = 2 * i + int(inv)
            yb = bus_top - 200 - t * BUS_PITCH
            bus_y[(i, inv)] = yb
            px, py = pins.outb if inv else pins.out
            x = i * pitch + px
            cv.box("met3", x - 200, yb - 200, x + 200, ny + py)
            cv.cbox("via3", x, yb, s.via3, s.via3)
            cv.box("met4", x - 200, yb - 200, width + 200, yb + 200)
    bottom = bus_top - 2 * n_out * BUS_PITCH - 400
    # trunk verticals
    for net in ("vbn", "vbp"):
        cv.box("met2", trunk_x[net] - 200, rails[net][0] - 300, trunk_x[net] + 200,
               (n_in - 1) * h + rails[net][0] + 300)
    for net in ("vss", "vdd"):
        cv.box("met2", trunk_x[net] - 200, bottom, trunk_x[net] + 200,
               (n_in - 1) * h + rails[net][0] + 300)
    # spike lines (met4)
    left = -4 * TRUNK_PITCH - 600 - (400 if first else 0)
    spike_y: dict[tuple[int, bool], int] = {}
    for j in range(n_in):
        r = n_in - 1 - j
        for inv in (False, True):
            y = r * h + (h - GY_SEL if inv else GY_SEL)
            spike_y[(j, inv)] = y
            cv.box("met4", left, y - SPIKE_W // 2, width, y + SPIKE_W // 2)
    # labels (suffix = net name inside the layer; the network adds prefixes)
    labels: list[tuple[str, str, int, int]] = []
    for i in range(n_out):
        x = i * pitch + pitch - BL_FROM_RIGHT
        labels.append(("met2", f"mem{i}", x, top - 400))
        for inv in (False, True):
            px = (pins.outb if inv else pins.out)[0] + i * pitch
            labels.append(("met4", f"{'outb' if inv else 'out'}{i}", px, bus_y[(i, inv)]))
    for net in NEURON_CONTROLS:
        labels.append(("met1", net, 200, ny + pins.track_y[net]))
    for net in ("vbn", "vbp"):
        labels.append(("met2", net, trunk_x[net], (n_in - 1) * h + rails[net][0]))
    if first:
        for (j, inv), y in spike_y.items():
            labels.append(("met4", f"{'inb' if inv else 'in'}{j}", left + 200, y))
    return LayerGeom(cell=cell, width=width, left=left, bottom=bottom, row_h=h, n_in=n_in,
                     spike_y=spike_y, bus_y=bus_y, trunk_x=trunk_x, labels=labels)


# --------------------------------------------------------------------------- network
def draw_network(layout: kdb.Layout, spec: DesignSpec) -> kdb.Cell:
    """All layers side by side, layer l's out/outb bused to layer l+1's spike lines, global
    vdd/vss rails along the bottom, one label per net."""
    s = sizes()
    top = layout.create_cell(f"imc_net_{spec.name}")
    cv = Canvas(layout, top)
    x = 0
    geoms: list[tuple[int, LayerGeom]] = []
    prev: tuple[int, LayerGeom] | None = None
    for li, layer in enumerate(spec.layers):
        lg = draw_layer(layout, layer, first=(li == 0))
        if prev is not None:
            px, pg = prev
            chan0 = px + pg.width + 1000
            chan_x = {key: chan0 + (2 * key[0] + int(key[1])) * BUS_PITCH for key in pg.bus_y}
            x = chan0 + len(chan_x) * BUS_PITCH + 600 - lg.left
            for key, cx in chan_x.items():
                yb = pg.bus_y[key]
                ys = lg.spike_y[key]
                cv.box("met4", px + pg.width, yb - 200, cx + 200, yb + 200)
                cv.box("met3", cx - 200, yb - 200, cx + 200, ys + 200)
                cv.cbox("via3", cx, yb, s.via3, s.via3)
                cv.cbox("via3", cx, ys, s.via3, s.via3)
                cv.box("met4", cx - 200, ys - SPIKE_W // 2, x + lg.left, ys + SPIKE_W // 2)
        top.insert(kdb.CellInstArray(lg.cell.cell_index(), kdb.Trans(kdb.Vector(x, 0))))
        for level, suffix, lx, ly in lg.labels:
            net = suffix if (li == 0 and suffix.startswith("in")) else f"{layer.name}_{suffix}"
            cv.label(level, net, x + lx, ly)
        geoms.append((x, lg))
        prev = (x, lg)
    # global supply rails (met1, 1 µm) under everything; vdd above vss
    y_low = min(g.bottom for _, g in geoms)
    x0 = min(gx + g.left for gx, g in geoms) - 200
    x1 = max(gx + g.width for gx, g in geoms) + 400
    rails = {"vdd": y_low - 700, "vss": y_low - 2200}
    for net, yc in rails.items():
        cv.box("met1", x0, yc - 500, x1, yc + 500)
        cv.label("met1", net, x0 + 300, yc)
    for gx, g in geoms:
        for net in ("vdd", "vss"):
            tx = gx + g.trunk_x[net]
            cv.box("met2", tx - 200, rails[net] - 300, tx + 200, g.bottom + 10)
            for dyv in (-200, 200):
                cv.stack(tx, rails[net] + dyv, "met1", "met2")
    return top
