"""Area coupling: a wire over a conductor of a lower plane, shielded by the planes between.

Where a wire lies over conductors, each part of its area couples to the nearest one below it
(``overlap`` aF/µm² of the pair) instead of the substrate; material on a plane between the two
shields it. A lower kind the pair table does not list (the p-tap) is transparent: the wire keeps
its substrate area capacitance there. Over the n-well the wire couples to the well's net.
"""

from __future__ import annotations

import numpy as np

from imcflow.extract.parasitics.boxes import group_sum, intersect
from imcflow.extract.parasitics.conductors import Conductors
from imcflow.extract.parasitics.result import Ledger


def overlap_caps(cond: Conductors, ledger: Ledger) -> None:
    """Move each wire's area capacitance over lower conductors from the substrate to them."""
    tech, um2 = cond.tech, cond.dbu * cond.dbu
    for kind in tech.wires:
        upper = cond.boxes(kind)
        if len(upper) == 0:
            continue
        area_c = tech.area_cap(kind)
        for plane in tech.planes[:tech.level[tech.plane_of[kind]]]:
            for target in cond.kinds(plane):
                ov = tech.overlap(kind, target)
                if ov is None:
                    continue
                lower = cond.boxes(target)
                over, i, j = intersect(upper, lower)
                own, other = upper.tag[i], lower.tag[j]
                # the parts a plane between covers come off (shields are disjoint boxes)
                covered, k, _ = intersect(over, cond.shields(kind, target))
                keys = [_cat(own, own[k]), _cat(other, other[k])]
                area = _cat(over.area(), -covered.area()).astype(float) * um2
                (a, b), sums = group_sum(keys, area)
                for x, y, s in zip(a.tolist(), b.tolist(), sums.tolist(), strict=True):
                    ledger.to_substrate(x, -area_c * s)
                    ledger.between(x, y, ov * s)


def _cat(*arrays: np.ndarray) -> np.ndarray:
    return np.concatenate(arrays)
