"""Lumped wire resistance per net (optional): sheet resistance × squares of each shape.

A polygon's number of squares is estimated as (P/2)²/A − 2 (exact for a rectangle: ℓ/w + w/ℓ);
a net's resistance is the sum over its shapes on every wire layer (Ω).
"""

from __future__ import annotations

from imcflow.extract.parasitics.conductors import Conductors


def wire_resistance(cond: Conductors) -> dict[int, float]:
    """Net cluster id → lumped wire resistance, Ω."""
    tech, um = cond.tech, cond.dbu
    out: dict[int, float] = {}
    for kind in tech.wires:
        rs = tech.sheet_resistance(kind)
        if rs <= 0.0:
            continue
        for net, poly in cond.each_tagged(kind):
            area = poly.area() * um * um
            if area <= 0:
                continue
            half_p = poly.perimeter() * um / 2.0
            squares = max(half_p * half_p / area - 2.0, 0.0)
            out[net] = out.get(net, 0.0) + rs * squares
    return out
