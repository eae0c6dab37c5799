"""Parasitic capacitance (and optionally lumped wire resistance) per net, from the geometry.

Model (magic's, with the sky130 coefficients of ``imcflow/pdk/data/parasitics.yaml``):

* **area**: each net's shapes on a conductor layer couple to the nearest conductor below
  (``overlap`` aF/µm² per overlapped area, to that shape's net); what no lower conductor
  covers couples to the substrate (``substrate.area``);
* **fringe**: each perimeter edge couples to the nearest conductor below it (``sideoverlap``
  aF/µm), or to the substrate (``substrate.fringe``) where nothing lies below;
* **lateral**: facing edges of different nets on the same layer within ``coupling_halo_um``
  couple with c·ℓ/(d + offset) (``sidewall``), shielded by shapes in between.

Poly over diffusion (the gate) and met4 over capm (the MIM top plate) are devices, not wires,
and are left out; source/drain diffusion only shields (its junction capacitance is in the MOS
model through AD/AS/PD/PS). Contacts/vias are not counted. Capacitances are in F, lengths in µm.
Resistance (option): a net's wire resistance is estimated from sheet resistances and each
polygon's number of squares, (P/2)²/A − 2 (exact for a rectangle: ℓ/w + w/ℓ).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field

import klayout.db as kdb
import yaml

from imcflow import pdk
from imcflow.errors import PDKError
from imcflow.extract.devices import Extraction

AF = 1e-18  # F per aF
SUBSTRATE = -1  # key of the substrate "net"


@functools.cache
def coefficients() -> dict:
    """``imcflow/pdk/data/parasitics.yaml`` parsed."""
    path = pdk.PDK_DIR / "parasitics.yaml"
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise PDKError(f"parasitics data not found: {path}") from None


@dataclass
class Parasitics:
    """Extracted parasitics. Keys are net cluster ids (``SUBSTRATE`` = −1)."""

    ground: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    coupling: dict[tuple[int, int], float] = field(default_factory=lambda: defaultdict(float))
    resistance: dict[int, float] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    def total(self, net: int) -> float:
        """Total wiring capacitance of ``net`` (to substrate plus every coupling), F."""
        c = self.ground.get(net, 0.0)
        for (a, b), v in self.coupling.items():
            if net in (a, b):
                c += v
        return c

    def by_name(self) -> dict[str, float]:
        """Total wiring capacitance per named net, F."""
        nets = set(self.ground) | {k for pair in self.coupling for k in pair}
        return {self.names.get(n, f"_n{n}"): self.total(n) for n in nets if n != SUBSTRATE}


class _Grid:
    """Bucket index of (net, polygon) pieces for bounding-box queries (dbu)."""

    def __init__(self, pieces: list[tuple[int, kdb.Polygon]], cell: int) -> None:
        self.cell = max(cell, 1)
        self.pieces = pieces
        self.buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, (_, poly) in enumerate(pieces):
            for key in self._keys(poly.bbox()):
                self.buckets[key].append(i)

    def _keys(self, b: kdb.Box):
        c = self.cell
        for ix in range(b.left // c, b.right // c + 1):
            for iy in range(b.bottom // c, b.top // c + 1):
                yield ix, iy

    def query(self, box: kdb.Box) -> list[tuple[int, kdb.Polygon]]:
        found: set[int] = set()
        for key in self._keys(box):
            found.update(self.buckets.get(key, ()))
        return [self.pieces[i] for i in sorted(found) if self.pieces[i][1].bbox().touches(box)]


def _layer_regions(ext: Extraction) -> dict[str, kdb.Region]:
    reg = ext.regions
    return {
        "diff": kdb.Region(),   # pieces come from the registered s/d and tap layers
        "poly": reg["poly"] - reg["diff"],
        "li1": reg["li1"], "met1": reg["met1"], "met2": reg["met2"],
        "met3": reg["met3"], "met4": reg["met4"] - reg["capm"], "met5": reg["met5"],
    }


def _pieces(ext: Extraction, layer: kdb.Region) -> list[tuple[int, kdb.Polygon]]:
    """(net id, polygon) for every net's merged shapes on ``layer``."""
    out = []
    if layer.is_empty():
        return out
    for net in ext.circuit.each_net():
        shapes = ext.l2n.shapes_of_net(net, layer, True)
        if shapes.is_empty():
            continue
        shapes.merge()
        for poly in shapes.each():
            out.append((net.cluster_id, poly))
    return out


def _substrate_net(ext: Extraction) -> kdb.Net | None:
    sub = ext.regions["sub"]
    if sub.is_empty():
        return None
    poly = next(iter(sub.each()))
    pt = poly.bbox().p1
    net = ext.l2n.probe_net(sub, kdb.Point(pt.x + 1, pt.y + 1))
    if net is None:
        return None
    return ext.circuit.net_by_cluster_id(net.cluster_id) or net


def extract_parasitics(ext: Extraction, *, resistance: bool = False) -> Parasitics:
    """Capacitance per net and between nets (see the module docstring)."""
    co = coefficients()
    order = list(co["layers"])
    dbu = ext.design.dbu
    a_um2 = dbu * dbu
    regions = _layer_regions(ext)
    pieces = {name: _pieces(ext, regions[name]) for name in order if name != "diff"}
    if "diff" in order:
        pieces["diff"] = [pc for key in ("nsd", "psd", "ptap", "ntap")
                          for pc in _pieces(ext, ext.regions[key])]
    grids = {name: _Grid(p, int(10.0 / dbu)) for name, p in pieces.items()}
    par = Parasitics()
    for net in ext.circuit.each_net():
        par.names[net.cluster_id] = net.name or f"_n{net.cluster_id}"
    sub_net = _substrate_net(ext)
    sub_key = sub_net.cluster_id if sub_net is not None else SUBSTRATE

    def add(n: int, m: int, c: float) -> None:
        if c <= 0.0 or n == m or (n == sub_key and m == SUBSTRATE):
            return
        if m == sub_key or m == SUBSTRATE:
            par.ground[n] += c
        elif n == sub_key:
            par.ground[m] += c
        else:
            par.coupling[(min(n, m), max(n, m))] += c

    for i, name in enumerate(order):
        sub_c = co["substrate"][name]
        ov = co.get("overlap", {}).get(name, {})
        sov = co.get("sideoverlap", {}).get(name, {})
        below = order[:i][::-1]   # nearest first
        for n, poly in pieces[name]:
            rem = kdb.Region(poly)
            edges = kdb.Region(poly).edges()
            for lower in below:
                cands = grids[lower].query(poly.bbox())
                if not cands:
                    continue
                shield = kdb.Region()
                for m, q in cands:
                    qreg = kdb.Region(q)
                    shield.insert(q)
                    if m == n:
                        continue
                    area = (rem & qreg).area() * a_um2
                    length = edges.inside_part(qreg).length() * dbu
                    add(n, m, (ov.get(lower, 0.0) * area + sov.get(lower, 0.0) * length) * AF)
                rem -= shield
                edges = edges.outside_part(shield)
                if rem.is_empty() and edges.is_empty():
                    break
            c_sub = sub_c["area"] * rem.area() * a_um2 + sub_c["fringe"] * edges.length() * dbu
            add(n, SUBSTRATE, c_sub * AF)

    halo = float(co["coupling_halo_um"])
    for name in order:
        sw = co["sidewall"][name]
        if len(pieces[name]) < 2 or sw["c"] <= 0.0:
            continue
        tagged = kdb.Region()
        for n, poly in pieces[name]:
            tagged.insert(kdb.PolygonWithProperties(poly, {1: n}))
        pairs = tagged.space_check(
            int(round(halo / dbu)), False, kdb.Metrics.Projection, None, None, None, True,
            kdb.Region.NoOppositeFilter, kdb.Region.NoRectFilter, False,
            kdb.Region.DifferentPropertiesConstraint)
        seen: dict[tuple, set[int]] = defaultdict(set)
        geom: dict[tuple, tuple[float, float]] = {}
        for ep in pairs.each():
            e1, e2 = ep.first, ep.second
            key = tuple(sorted([(e1.p1.x, e1.p1.y, e1.p2.x, e1.p2.y),
                                (e2.p1.x, e2.p1.y, e2.p2.x, e2.p2.y)]))
            seen[key].add(int(ep.property(1)))
            geom[key] = (min(e1.length(), e2.length()) * dbu, ep.distance() * dbu)
        for key, nets in seen.items():
            if len(nets) != 2:
                continue
            a, b = sorted(nets)
            length, d = geom[key]
            add(a, b, sw["c"] * length / (d + sw["offset"]) * AF)

    if resistance:
        rs = co["sheet_resistance"]
        for name in order:
            if rs[name] <= 0.0:
                continue
            for n, poly in pieces[name]:
                area = poly.area() * a_um2
                half_p = poly.perimeter() * dbu / 2.0
                if area <= 0:
                    continue
                squares = max(half_p * half_p / area - 2.0, 0.0)
                par.resistance[n] = par.resistance.get(n, 0.0) + rs[name] * squares
    return par
