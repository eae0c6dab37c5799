"""The two distance laws of the capacitance model (magic's), one function each.

* **Fringe spread.** The fringe field of an edge spreads sideways: the share of an edge's
  fringe capacitance that ends within distance d (µm) of the edge, measured outward and
  perpendicular to it, is ``s·atan(mult·d)`` with ``s`` = ``fringe.atan_scale`` (magic's 0.6366,
  i.e. 2/π, so the share tends to 1 far away) and ``mult`` (1/µm) the halo multiplier of the pair
  of layers. A conductor that occupies the band [d_near, d_far] in front of an edge segment of
  length ℓ receives ``ℓ·(share(d_far) − share(d_near))`` of it: a share density that only
  depends on d, so any cutting of a region into rectangles integrates it exactly.
* **Sidewall coupling.** Two facing same-layer edges at distance d over a common length ℓ couple
  with ``c·ℓ/(d + offset)``.
"""

from __future__ import annotations

import numpy as np


def fringe_share(mult: float, d: np.ndarray | float, scale: float) -> np.ndarray | float:
    """Share of an edge's fringe field within distance ``d`` µm of it (0 … ``scale``·π/2)."""
    return scale * np.arctan(mult * np.asarray(d, dtype=float))


def band_share(mult: float, d_near: np.ndarray, d_far: np.ndarray, length: np.ndarray,
               scale: float) -> np.ndarray:
    """ℓ·(share(d_far) − share(d_near)) of each band (µm): the length of edge whose whole fringe
    the band in front of an edge segment ℓ long, from d_near to d_far, receives."""
    d_near = np.maximum(np.asarray(d_near, dtype=float), 0.0)
    return np.asarray(length, dtype=float) * (fringe_share(mult, d_far, scale)
                                              - fringe_share(mult, d_near, scale))


def sidewall_coupling(c: float, offset: float, length: float | np.ndarray,
                      d: float | np.ndarray) -> np.ndarray | float:
    """Coupling (aF) of facing edges ``length`` µm long at distance ``d`` µm: c·ℓ/(d + offset)."""
    return c * np.asarray(length, dtype=float) / (np.asarray(d, dtype=float) + offset)
