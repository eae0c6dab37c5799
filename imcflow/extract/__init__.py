"""Physical verification from the GDS alone, on ``klayout.db``.

Functions the flow calls:

* :func:`drc` ``(gds, top=None) → DrcReport`` — the sky130 periphery rules of
  ``imcflow/pdk/data/drc_rules.yaml``;
* :func:`extract` ``(gds, ports=None, top=None, subckt=None, parasitics=True,
  resistance=False) → str`` — post-layout SPICE: a ``.subckt`` whose pins are ``ports`` (net
  labels, in order; default: every label, sorted), sky130 device calls and parasitic C (R);
* :func:`lvs` ``(gds, spec, top=None) → LvsReport`` — against ``imc_net_<spec.name>``.
"""

from __future__ import annotations

from imcflow.extract.drc import DrcReport, drc
from imcflow.extract.lvs import LvsReport, lvs
from imcflow.extract.postlayout import PostLayout, extract, extract_design

__all__ = ["DrcReport", "LvsReport", "PostLayout", "drc", "extract", "extract_design", "lvs"]
