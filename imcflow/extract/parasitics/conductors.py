"""The conductors of an extraction, by kind, each shape tagged with its net, as boxes.

Kinds (``imcflow/pdk/data/parasitics.yaml``: ``planes``) come from the regions of
:func:`imcflow.extract.devices.extract_netlist`: the metals, li1, capm, the n-well, the
source/drain and tap diffusions, and the drawn poly split into the **gate** (poly over
diffusion, on the poly's net: a coupling target for what lies above and a shield, its own
capacitance is the MOS model's) and **field poly** (the rest: a wire). Shapes are merged per
net and cut into disjoint boxes tagged with the net (the cluster id of the net in
``ext.circuit``). Database units throughout.
"""

from __future__ import annotations

from collections.abc import Iterable

import klayout.db as kdb
import numpy as np

from imcflow.extract.devices import Extraction
from imcflow.extract.parasitics.boxes import Boxes, pairs
from imcflow.extract.parasitics.tech import Tech

NET = 0  # property key of the net on tagged klayout shapes
KEEP = kdb.Region.NoPropertyConstraint  # booleans keep the first operand's properties

#: Region of ``ext.regions`` each kind's nets come from (``gate`` and ``poly`` split ``poly``).
SOURCE = {"nwell": "nwell", "nsd": "nsd", "psd": "psd", "ntap": "ntap", "ptap": "ptap",
          "li1": "li1", "met1": "met1", "met2": "met2", "met3": "met3", "capm": "capm",
          "met4": "met4", "met5": "met5"}


class Conductors:
    """Net-tagged shapes per conductor kind (klayout regions and boxes) and plane shields."""

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
        #: untagged merged material of each kind
        self.material: dict[str, kdb.Region] = {k: _untagged(r) for k, r in self.tagged.items()}
        self._boxes: dict[str, Boxes] = {}
        self._shields: dict[tuple[str, ...], Boxes] = {}

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

    def boxes(self, kind: str) -> Boxes:
        """The shapes of ``kind`` as disjoint boxes tagged with their net."""
        if kind not in self._boxes:
            self._boxes[kind] = Boxes.from_region(self.tagged[kind], NET)
        return self._boxes[kind]

    def shields(self, a: str, b: str) -> Boxes:
        """All material of the planes strictly between the planes of kinds ``a`` and ``b``, as
        disjoint boxes (what stands between the two)."""
        planes = tuple(self.tech.planes_between(a, b))
        if planes not in self._shields:
            union = kdb.Region()
            for plane in planes:
                for k in self.tech.kinds_on(plane):
                    union += self.material[k]
            self._shields[planes] = Boxes.from_region(union.merged())
        return self._shields[planes]

    def nets_at(self, kind: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Net of the ``kind`` shape covering the unit square at each (x, y); −1 where none."""
        probes = Boxes(x, y, x + 1, y + 1, np.arange(len(x), dtype=np.int64))
        out = np.full(len(x), -1, dtype=np.int64)
        i, j = pairs(probes, self.boxes(kind))
        out[i] = self.boxes(kind).tag[j]
        return out

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
