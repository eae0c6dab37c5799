"""Number and name formatting for SPICE text (the only way values enter a netlist)."""

from __future__ import annotations

import math

from imcflow.spec import check_identifier


def fmt(x: float) -> str:
    """A finite float as SPICE text: shortest round-trip repr, no SPICE unit suffixes."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot write a non-finite number ({x}) into a netlist")
    if x == 0.0:
        return "0"
    # 12 significant digits: exact for every size on the grid and every spec value, and free of
    # binary noise such as 9.999999999999999e-10 for T/1000.
    return repr(float(f"{x:.12g}"))


def ident(name: str, where: str = "name") -> str:
    """Return ``name`` if it is a safe identifier (raises SpecError otherwise)."""
    check_identifier(name, where)
    return name
