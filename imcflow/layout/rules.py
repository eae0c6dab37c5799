"""Layer map and design-rule values the layout generator draws with.

* :func:`layers` — the PDK object's layer map (name → (layer, datatype)), drawing and label
  purposes;
* :func:`rule` — a sky130 rule value in database units (1 dbu = 1 nm), looked up by its sky130
  rule name (``"poly.8"``, ``"m1.2"``, …) in the one rule table the DRC checks,
  ``imcflow/pdk/data/drc_rules.yaml`` (read by :mod:`imcflow.pdk.rules`).

The generator is correct by construction: every offset it uses is either one of these rule values
or a composite of them (spelled out where it is computed), rounded *up* to the 5 nm grid.
"""

from __future__ import annotations

import math

from imcflow import pdk
from imcflow.pdk import rules as rule_table

#: Database unit in µm (1 nm); all generator coordinates are integers in dbu.
DBU_UM = 0.001
#: Manufacturing grid in dbu (0.005 µm).
GRID = 5


def layers() -> dict[str, tuple[int, int]]:
    """Drawing layers: name → (GDS layer, datatype) (:attr:`imcflow.pdk.Pdk.layers`)."""
    return pdk.get().layers


def label_layers() -> dict[str, tuple[int, int]]:
    """Label purposes: conductor → (GDS layer, datatype) (:attr:`imcflow.pdk.Pdk.label_layers`)."""
    return pdk.get().label_layers


def rule_um(name: str) -> float:
    """Value of sky130 rule ``name`` in µm (µm² for areas), from the rule table."""
    return rule_table.value(name)


def up(x_dbu: float) -> int:
    """Round a length in dbu up to the 5 nm grid."""
    return int(math.ceil(round(x_dbu, 6) / GRID - 1e-9)) * GRID


def down(x_dbu: float) -> int:
    """Round a length in dbu down to the 5 nm grid."""
    return int(math.floor(round(x_dbu, 6) / GRID + 1e-9)) * GRID


def rule(name: str) -> int:
    """Value of sky130 length rule ``name`` in dbu (nm), rounded up to the grid."""
    return up(rule_um(name) / DBU_UM)


def um(x_um: float) -> int:
    """A size in µm (on the 5 nm grid) as dbu."""
    return int(round(x_um / DBU_UM))
