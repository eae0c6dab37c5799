"""The conductors of an extraction, by kind, each shape tagged with its net; and point lookup.

Kinds (``imcflow/pdk/data/parasitics.yaml``: ``planes``) come from the regions of
:func:`imcflow.extract.devices.extract_netlist`: the metals, li1, capm, the n-well, the
source/drain and tap diffusions, and the drawn poly split into the **gate** (poly over
diffusion, on the poly's net: a coupling target for what lies above and a shield, its own
capacitance is the MOS model's) and **field poly** (the rest: a wire). Every region here is in
database units and merged per net; the net is the ``NET`` property (the cluster id of the net
in ``ext.circuit``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

import klayout.db as kdb

from imcflow.extract.devices import Extraction
from imcflow.extract.parasitics.tech import Tech

NET = 0  # property key of the net on tagged shapes
KEEP = kdb.Region.NoPropertyConstraint  # booleans keep the first operand's properties
PER_TAG = kdb.Region.SamePropertiesConstraint  # booleans between shapes with equal properties

#: Region of ``ext.regions`` each kind's nets come from (``gate`` and ``poly`` split ``poly``).
SOURCE = {"nwell": "nwell", "nsd": "nsd", "psd": "psd", "ntap": "ntap", "ptap": "ptap",
          "li1": "li1", "met1": "met1", "met2": "met2", "met3": "met3", "capm": "capm",
          "met4": "met4", "met5": "met5"}


def boxes(poly: kdb.Polygon) -> Iterator[kdb.Box]:
    """``poly`` cut into rectangles (it must be Manhattan)."""
    if poly.is_box():
        yield poly.bbox()
    else:
        for t in poly.decompose_trapezoids():
            yield t.bbox()


class NetIndex:
    """Which net's shape of one kind covers a point: a bucket grid of the shapes' rectangles."""

    def __init__(self, tagged: kdb.Region, cell: int) -> None:
        self.cell = max(int(cell), 1)
        self.buckets: dict[tuple[int, int], list[tuple[int, int, int, int, int]]] = \
            defaultdict(list)
        c = self.cell
        for poly in tagged.each():
            net = int(poly.property(NET))
            for b in boxes(poly):
                item = (b.left, b.bottom, b.right, b.top, net)
                for ix in range(b.left // c, b.right // c + 1):
                    for iy in range(b.bottom // c, b.top // c + 1):
                        self.buckets[ix, iy].append(item)

    def net_at(self, x: int, y: int) -> int | None:
        """Net of the shape that contains (x, y) (boundary included), or None."""
        for x0, y0, x1, y1, net in self.buckets.get((x // self.cell, y // self.cell), ()):
            if x0 <= x <= x1 and y0 <= y <= y1:
                return net
        return None


class Conductors:
    """Net-tagged shapes per conductor kind, plane material and point lookup."""

    def __init__(self, ext: Extraction, tech: Tech) -> None:
        self.ext = ext
        self.tech = tech
        self.dbu = ext.design.dbu
        reg = ext.regions
        self.tagged: dict[str, kdb.Region] = {}
        for kind, src in SOURCE.items():
            if kind in tech.plane_of:
                self.tagged[kind] = self._tag(reg[src])
        poly = self._tag(reg["poly"])
        diff = reg["diff"]
        self.tagged["gate"] = poly.and_(diff, KEEP)
        self.tagged["poly"] = poly.not_(diff, KEEP)
        #: untagged merged material of each kind and each plane
        self.material: dict[str, kdb.Region] = {k: _untagged(r) for k, r in self.tagged.items()}
        self.plane_material: dict[str, kdb.Region] = {}
        for plane in tech.planes:
            m = kdb.Region()
            for k in tech.kinds_on(plane):
                m += self.material.get(k, kdb.Region())
            self.plane_material[plane] = m.merged()
        self._index: dict[str, NetIndex] = {}

    def _tag(self, region: kdb.Region) -> kdb.Region:
        """``region``'s shapes of every net, merged per net and tagged with it."""
        out = kdb.Region()
        if region.is_empty():
            return out
        l2n = self.ext.l2n
        for net in self.ext.circuit.each_net():
            shapes = l2n.shapes_of_net(net, region, True)
            if shapes.is_empty():
                continue
            cid = net.cluster_id
            for poly in shapes.each_merged():
                out.insert(kdb.PolygonWithProperties(poly, {NET: cid}))
        return out

    def kinds(self, plane: str) -> list[str]:
        """Kinds on ``plane`` that have shapes here."""
        return [k for k in self.tech.kinds_on(plane) if not self.material[k].is_empty()]

    def shields(self, a: str, b: str) -> kdb.Region:
        """Material of every plane strictly between the planes of kinds ``a`` and ``b``."""
        out = kdb.Region()
        for plane in self.tech.planes_between(a, b):
            out += self.plane_material[plane]
        return out.merged()

    def index(self, kind: str) -> NetIndex:
        """Point lookup for ``kind`` (built on first use)."""
        if kind not in self._index:
            self._index[kind] = NetIndex(self.tagged[kind], int(round(10.0 / self.dbu)))
        return self._index[kind]

    def each_tagged(self, kind: str) -> Iterable[tuple[int, kdb.Polygon]]:
        """(net, polygon) of every shape of ``kind``."""
        for poly in self.tagged[kind].each():
            yield int(poly.property(NET)), poly


def _untagged(region: kdb.Region) -> kdb.Region:
    out = region.dup()
    out.remove_properties()
    return out.merged()


def substrate_net(ext: Extraction) -> kdb.Net | None:
    """The net of the substrate region (the one p-taps tie), or None if there is none."""
    sub = ext.regions["sub"]
    if sub.is_empty():
        return None
    poly = next(iter(sub.each()))
    pt = poly.bbox().p1
    net = ext.l2n.probe_net(sub, kdb.Point(pt.x + 1, pt.y + 1))
    if net is None:
        return None
    return ext.circuit.net_by_cluster_id(net.cluster_id) or net
