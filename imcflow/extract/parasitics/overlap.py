"""Area coupling: a wire over a conductor of a lower plane, shielded by the planes between.

Where a wire lies over conductors, each part of its area couples to the nearest one below it
(``overlap`` aF/µm² of the pair) instead of the substrate; a plane between the two shields it.
A lower kind the pair table does not list (the p-tap) is transparent: the wire keeps its
substrate area capacitance there. Over the n-well the wire couples to the well's net.
"""

from __future__ import annotations

from imcflow.extract.parasitics.conductors import KEEP, NET, Conductors
from imcflow.extract.parasitics.result import Ledger


def overlap_caps(cond: Conductors, ledger: Ledger) -> None:
    """Move each wire's area capacitance over lower conductors from the substrate to them."""
    tech, um2 = cond.tech, cond.dbu * cond.dbu
    planes = tech.planes
    for kind in tech.wires:
        area_c = tech.area_cap(kind)
        rest = cond.tagged[kind]
        below = planes[:tech.level[tech.plane_of[kind]]][::-1]   # nearest first
        for plane in below:
            if rest.is_empty():
                break
            opaque = [t for t in cond.kinds(plane) if tech.overlap(kind, t) is not None]
            for target in opaque:
                ov = tech.overlap(kind, target)
                index = cond.index(target)
                for piece in rest.and_(cond.material[target], KEEP).each():
                    own = int(piece.property(NET))
                    p = next(piece.each_point_hull())
                    other = index.net_at(p.x, p.y)
                    area = piece.area() * um2
                    ledger.to_substrate(own, -area_c * area)
                    if other is not None:
                        ledger.between(own, other, ov * area)
            if opaque:
                shade = cond.material[opaque[0]].dup()
                for t in opaque[1:]:
                    shade += cond.material[t]
                rest = rest.not_(shade, KEEP)
