"""The check kinds of the rule table, on ``klayout.db`` regions.

Every function takes the design's :class:`~imcflow.extract.drc.layers.Layers`, the rule's check
parameters (``imcflow/pdk/data/drc_rules.yaml``), its value (µm, µm², degrees; ``None`` for a
rule without a number) and a length value in database units, and returns the violation markers
as ``klayout.db.Box`` objects (dbu); :func:`run` does this for a rule of the table.
Widths, spacings and enclosures use the Euclidian metric, as the sky130 decks do; spacing
checks include notches (rule x.6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import klayout.db as kdb

from imcflow.extract.drc.layers import Layers
from imcflow.extract.gds import layer_map
from imcflow.pdk import rules as rule_table
from imcflow.pdk.rules import Rule

Region, Edges, EdgePairs, Box = kdb.Region, kdb.Edges, kdb.EdgePairs, kdb.Box
EUCLID, PROJ = kdb.Metrics.Euclidian, kdb.Metrics.Projection
NO_ZERO = kdb.Region.NeverIncludeZeroDistance

Params = dict[str, Any]
Check = Callable[[Layers, Params, "float | None", "int | None"], list[Box]]


def _boxes(shapes: Region | Edges | EdgePairs | Iterable[Any]) -> list[Box]:
    return [s.bbox() for s in (shapes.each() if hasattr(shapes, "each") else shapes)]


def _layers(p: Params) -> list[str]:
    if "layers" in p:
        return list(p["layers"])
    return [p["layer"]]


def _metric(p: Params) -> kdb.Metrics:
    return PROJ if p.get("metric") == "projection" else EUCLID


# ----------------------------------------------------------------------------- basic kinds
def width(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    return [b for n in _layers(p) for b in _boxes(L[n].width_check(d, metrics=EUCLID))]


def space(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    return [b for n in _layers(p) for b in _boxes(L[n].space_check(d, metrics=EUCLID))]


def separation(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """``a`` to ``b`` at least ``d`` (shapes that touch are not a spacing error); with
    ``overlap: error`` an overlap of ``a`` and ``b`` is one too."""
    a, b = L[p["a"]], L[p["b"]]
    out = _boxes(a.separation_check(b, d, metrics=_metric(p), zero_distance_mode=NO_ZERO))
    if p.get("overlap") == "error":
        out += _boxes(a & b)
    return out


def enclosure(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """``outer`` encloses ``inner`` by ``d``; any part of ``inner`` outside ``outer`` is an
    error. ``coincident_ok``: edges on the outer boundary are allowed."""
    outer, inner = L[p["outer"]], L[p["inner"]]
    out = _boxes(inner - outer)
    if d:
        zmode = NO_ZERO if p.get("coincident_ok") else kdb.Region.IncludeZeroDistanceWhenTouching
        out += _boxes(outer.enclosing_check(inner, d, metrics=EUCLID, zero_distance_mode=zmode))
    return out


def enclosure_2adj(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """``outer`` encloses each ``inner`` shape by ``d`` on at least one of every two adjacent
    sides: a shape fails when two of its sides that meet at a corner both fall short (the
    enclosure of a side measured in projection), or when it is not inside ``outer`` at all."""
    outer, inner = L[p["outer"]], L[p["inner"]]
    short = outer.enclosing_check(inner, d, metrics=PROJ).second_edges()
    corners = short.width_check(1, False, EUCLID, 100.0)     # two short sides at a corner
    return _boxes(inner.interacting(corners.polygons(1)) + inner.not_inside(outer))


def area(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """Polygons of ``layer`` smaller than ``value`` µm²."""
    return _boxes(L[p["layer"]].with_area(0, _area_dbu(L, value), False))


def hole_area(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """Holes of ``layer`` smaller than ``value`` µm²."""
    return _boxes(L[p["layer"]].holes().with_area(0, _area_dbu(L, value), False))


def _area_dbu(L: Layers, value: float | None) -> int:
    assert value is not None
    return int(round(value / (L.dbu * L.dbu)))


def cut_size(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """Rectangular cuts whose sides are not exactly ``d`` (non-rectangles: rule ``rectangular``)."""
    assert d is not None
    rects = L[p["layer"]].rectangles()
    return [b for b in _boxes(rects) if b.width() != d or b.height() != d]


def rectangular(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    return [b for n in _layers(p) for b in _boxes(L[n].non_rectangles())]


def forbidden(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """Any shape on the derived layer ``layer`` is an error."""
    return _boxes(L[p["layer"]])


def must_contain(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """Every polygon of each ``outer`` layer covers at least one ``inner`` polygon."""
    inner = L[p["inner"]]
    return [b for n in p["outer"] for b in _boxes(L[n].not_covering(inner))]


def straddle(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """``a`` does not straddle ``b``: an ``a`` shape not inside ``b`` has no edge over ``b``."""
    a = L[p["a"]]
    bs = p["b"] if isinstance(p["b"], list) else [p["b"]]
    out = []
    for n in bs:
        b = L[n]
        out += _boxes(a.not_inside(b).edges().inside_part(b))
    return out


# ----------------------------------------------------------------------------- grid, angles
def grid(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """Vertices on the ``value`` grid (in µm; a grid finer than the database unit is met)."""
    assert value is not None
    g = int(round(value / L.dbu))
    if g <= 1:
        return []
    names = L.drawing if p["layers"] == "all" else p["layers"]
    return [b for n in names for b in _boxes(L[n].grid_check(g, g))]


def angle(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """Edges at multiples of ``value`` degrees only (90 or 45)."""
    assert value is not None
    kind = {90: kdb.Edges.OrthoEdges, 45: kdb.Edges.OrthoDiagonalEdges}[int(value)]
    return [b for n in p["layers"] for b in _boxes(L[n].edges().with_angle(kind, True))]


# ----------------------------------------------------------------------------- labels, nets
def labels_on_shapes(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """Every text label lies on (inside or on the edge of) a shape of its drawing layer."""
    bad = []
    dbu = L.dbu
    drawing = layer_map()["drawing"]
    for cond, _text, x, y in L.design.labels():
        if cond not in drawing:
            continue
        pt = Box(kdb.Point(round(x / dbu), round(y / dbu)), kdb.Point(round(x / dbu),
                                                                        round(y / dbu)))
        if Region(pt.enlarged(1, 1)).interacting(L[cond]).is_empty():
            bad.append(pt.enlarged(1, 1))
    return bad


#: How the conductors connect, bottom-up: (lower, cut, upper). Source/drain diffusion and gates
#: are where a net meets a device; via3 lands on met3 off the MIM and on capm (the top plate)
#: on it.
CONNECTIONS = (("sd", "licon", "li1"), ("gate", None, "poly"), ("poly", "licon", "li1"),
               ("li1", "mcon", "met1"), ("met1", "via", "met2"), ("met2", "via2", "met3"),
               ("met3", "via3_off_capm", "met4"), ("capm", "via3_capm", "met4"),
               ("met4", "via4", "met5"))
#: Interconnect that must not float (the MIM top plate is exempt as a capacitor).
INTERCONNECT = ("poly", "li1", "met1", "met2", "met3", "met4", "met5")


def floating(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """No floating interconnect: every connected net of poly, li1 and metal reaches a source/
    drain diffusion (through a licon), a gate, or carries a text label (a pin)."""
    regions = {"sd": L["difftap"] - L["poly"], "gate": L["gate"]}
    for lo, cut, hi in CONNECTIONS:
        for n in (lo, cut, hi):
            if n is not None and n not in regions:
                regions[n] = L[n]
    ly = kdb.Layout()
    ly.dbu = L.dbu
    top = ly.create_cell("nets")
    idx = {}
    for k, (name, reg) in enumerate(regions.items()):
        idx[name] = ly.layer(10000 + k, 0)
        top.shapes(idx[name]).insert(reg)
    dbu = L.dbu
    texts: dict[str, int] = {}
    for cond, text, x, y in L.design.labels():
        target = "sd" if cond == "diff" else cond
        if target in regions:
            if target not in texts:
                texts[target] = ly.layer(20000 + len(texts), 0)
            top.shapes(texts[target]).insert(
                kdb.Text(text, kdb.Trans(kdb.Point(round(x / dbu), round(y / dbu)))))
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(ly, top, []))
    lay = {n: l2n.make_polygon_layer(i, n) for n, i in idx.items()}
    for n in lay:
        l2n.connect(lay[n])
    for lo, cut, hi in CONNECTIONS:
        if cut is None:
            l2n.connect(lay[lo], lay[hi])
        else:
            l2n.connect(lay[lo], lay[cut])
            l2n.connect(lay[cut], lay[hi])
    for n, i in texts.items():
        l2n.connect(lay[n], l2n.make_text_layer(i, f"text_{n}"))
    l2n.extract_netlist()
    out: list[Box] = []
    circuit = l2n.netlist().circuit_by_name("nets")
    if circuit is None:
        return out
    for net in circuit.each_net():
        if net.name or not l2n.shapes_of_net(net, lay["sd"]).is_empty() \
                or not l2n.shapes_of_net(net, lay["gate"]).is_empty():
            continue
        for n in INTERCONNECT:
            out += _boxes(l2n.shapes_of_net(net, lay[n]))
    return out


# ----------------------------------------------------------------------------- transistors
def _gate_sd_edges(L: Layers, gate: Region) -> Edges:
    """Gate edges on the poly boundary: the sides that face source and drain (length W)."""
    return gate.edges() & L["poly"].edges()


def _gate_end_edges(L: Layers, gate: Region) -> Edges:
    """Gate edges on the diff boundary: where the endcaps start (length L)."""
    return gate.edges() & L["diff"].edges()


def channel_width(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    return _boxes(_gate_sd_edges(L, L[p["gate"]]).with_length(0, d, False))


def channel_length(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    return _boxes(_gate_end_edges(L, L[p["gate"]]).with_length(0, d, False))


def extension(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """``source_drain``: diff extends ≥ d beyond the gate's S/D sides (poly.7);
    ``endcap``: poly extends ≥ d beyond the gate's diff sides (poly.8)."""
    gate = L["gate"]
    if p["part"] == "endcap":
        edges, over = _gate_end_edges(L, gate), L["poly"]
    else:
        edges, over = _gate_sd_edges(L, gate), L["diff"]
    return _boxes(edges.enclosed_check(over.edges(), d, metrics=PROJ))


def sd_space(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """Spacing from the S/D sides of the gates ``gate`` to layer ``b``, measured along the
    source/drain direction (projection)."""
    assert d is not None
    edges = _gate_sd_edges(L, L[p["gate"]])
    strips = edges.extended(0, 0, d, 0, False)        # d beyond each S/D side, outward
    return _boxes(strips.overlapping(L[p["b"]]))


def inner_corner(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """``layer`` does not cover an inner (concave) corner of ``over``."""
    corners = L[p["over"]].corners(0.0, 180.0)       # concave vertices, 2 dbu boxes
    return _boxes(corners.inside(L[p["layer"]]))


# ----------------------------------------------------------------------------- abutment
def _butt_edges(L: Layers) -> Edges:
    """Edges where diff and tap abut."""
    return L["diff"].edges() & L["tap"].edges()


def tap_bound(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """Width of a tap butting exactly ``butting`` diffusions."""
    n = int(p["butting"])
    taps = L["tap"].interacting(L["diff"], n, n)
    return _boxes(taps.width_check(d, metrics=EUCLID))


def butt_extend(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """Where diff and tap abut, the abutting edge is a whole edge of both."""
    butt = _butt_edges(L)
    if butt.is_empty():
        return []
    bad = []
    for layer, other in (("diff", "tap"), ("tap", "diff")):
        for poly in L[layer].interacting(L[other]).each():
            for e in poly.each_edge():
                common = Edges([e]) & butt
                if not common.is_empty() and common.length() != e.length():
                    bad.append(e.bbox())
    return bad


def butt_edge_space(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """An abutting edge keeps ``d`` from any diff/tap edge that does not coincide with it."""
    assert d is not None
    butt = _butt_edges(L)
    if butt.is_empty():
        return []
    strips = butt.extended(0, 0, d, d, False)
    others = (L["diff"].edges() + L["tap"].edges()) - butt
    return _boxes(others.inside_part(strips))


def butt_cut_space(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """A licon on tap keeps ``d`` from the tap's diff-abutting edge."""
    assert d is not None
    butt = _butt_edges(L)
    if butt.is_empty():
        return []
    licon_tap = L["licon"].overlapping(L["tap"])
    return _boxes(licon_tap.overlapping(butt.extended(0, 0, d, d, False)))


def implant_enclosure(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """``implant`` encloses the ``layer`` (diff or tap) under it by ``d``, except along an
    abutting diff/tap edge."""
    imp = L[p["implant"]]
    inner = L[p["layer"]] & imp
    butt = _butt_edges(L)
    out = []
    for ep in imp.enclosing_check(inner, d, metrics=EUCLID).each():
        e = ep.second
        if not butt.is_empty() and (Edges([e]) - butt).is_empty():
            continue
        out.append(ep.bbox())
    return out


def butt_implant(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """The abutting edge of a diff/tap under ``implant`` lies inside or on the implant."""
    butt = _butt_edges(L)
    if butt.is_empty():
        return []
    imp = L[p["implant"]]
    mine = L["difftap"].overlapping(imp)
    edges = butt.inside_part(mine.sized(1)) & (L["diff"].overlapping(imp).edges()
                                                + L["tap"].overlapping(imp).edges())
    return _boxes(edges.outside_part(imp.sized(1)))


# ----------------------------------------------------------------------------- wide metal, MIM
def huge_space(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """Spacing rules of huge metal (wider and longer than ``huge`` µm, table C3).

    ``huge``: edges of the huge part to any other edge of the layer; ``attached``: edges of
    the metal joined to a huge part within ``d`` of it (not huge itself) to any other edge."""
    assert d is not None
    metal = L[p["layer"]]
    half = int(round(float(p["huge"]) / 2 / L.dbu))
    wide = metal.sized(-half).sized(half) & metal
    if wide.is_empty():
        return []
    edges = metal.edges()
    huge_edges = edges & wide.edges()
    if p["part"] == "huge":
        sel = huge_edges
    else:
        sel = (metal.interacting(wide).edges() - huge_edges).inside_part(wide.sized(d))
    others = edges - sel
    out = _boxes(sel.space_check(d, metrics=EUCLID))
    out += _boxes(sel.separation_check(others, d, metrics=EUCLID))
    return out


def bottom_plate_space(L: Layers, p: Params, value: float | None, d: int | None) -> list[Box]:
    """capm.2b: the MIM bottom plate ((capm ∩ met3) grown by capm.3, table C3) keeps ``d``
    from other bottom plates (unless met3 joins them: one plate) and from other met3."""
    grow = int(round(rule_table.value("capm.3") / L.dbu))
    bp = (L["capm"] & L["met3"]).sized(grow)
    if bp.is_empty():
        return []
    met3 = L["met3"]
    gaps = bp.isolated_check(d, metrics=EUCLID).polygons() - met3
    out = _boxes(gaps)
    out += _boxes(met3.not_interacting(bp).separation_check(bp, d, metrics=EUCLID))
    return out


#: Check kind → function.
KINDS: dict[str, Check] = {
    "width": width, "space": space, "separation": separation, "enclosure": enclosure,
    "enclosure_2adj": enclosure_2adj, "area": area, "hole_area": hole_area,
    "cut_size": cut_size, "rectangular": rectangular, "forbidden": forbidden,
    "must_contain": must_contain, "straddle": straddle, "grid": grid, "angle": angle,
    "labels_on_shapes": labels_on_shapes, "floating": floating,
    "channel_width": channel_width, "channel_length": channel_length, "extension": extension,
    "sd_space": sd_space, "inner_corner": inner_corner, "tap_bound": tap_bound,
    "butt_extend": butt_extend, "butt_edge_space": butt_edge_space,
    "butt_cut_space": butt_cut_space, "implant_enclosure": implant_enclosure,
    "butt_implant": butt_implant, "huge_space": huge_space,
    "bottom_plate_space": bottom_plate_space,
}


def value_dbu(rule: Rule, dbu: float) -> int | None:
    """A length rule's value in database units (None for areas, angles and valueless rules)."""
    if rule.value is None or rule.unit != "um":
        return None
    return int(round(rule.value / dbu))


def run(L: Layers, rule: Rule) -> list[Box]:
    """Violation markers (dbu) of implemented rule ``rule`` on the design of ``L``."""
    assert rule.check is not None
    return KINDS[rule.check["kind"]](L, rule.check, rule.value, value_dbu(rule, L.dbu))
