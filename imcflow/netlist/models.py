"""The model-library lines every imcflow deck starts with: ``.lib`` section, ``.temp`` and, for a
Monte-Carlo mismatch instance, the seed.

A mismatch instance at corner ``c`` loads the library's mismatch twin of that corner
(``tt`` → ``tt_mm``: ``MC_MM_SWITCH = 1``, one AGAUSS draw of ΔVth per device instance) and fixes
ngspice's random seed with ``.options seed=N`` — the form ngspice 39.3 honours both in batch and
in the shared library. The facts and their sources are in ``imcflow/pdk/data/mismatch.yaml``.
Without a seed a deck is nominal (no mismatch); imcflow never writes an unseeded mismatch deck,
because that would draw a new instance on every run.
"""

from __future__ import annotations

from typing import Any

from imcflow import pdk
from imcflow.errors import SpecError
from imcflow.netlist.format import fmt, ident


def _mismatch_data() -> dict[str, Any]:
    return pdk.pdk_data("mismatch")


def seed_range() -> tuple[int, int]:
    """Seeds ngspice accepts in ``.options seed=N`` (inclusive)."""
    seed = _mismatch_data()["seed"]
    return int(seed["min"]), int(seed["max"])


def check_mc_seed(mc_seed: object) -> int:
    """``mc_seed`` as an int if it is a valid ngspice seed; :class:`SpecError` otherwise."""
    lo, hi = seed_range()
    if isinstance(mc_seed, bool) or not isinstance(mc_seed, int):
        raise SpecError(f"mc_seed {mc_seed!r} must be an integer in [{lo}, {hi}]")
    if not lo <= mc_seed <= hi:
        raise SpecError(f"mc_seed {mc_seed} is out of range [{lo}, {hi}] (ngspice ignores "
                        "other seeds and draws at random)")
    return int(mc_seed)


def check_corner(corner: str) -> str:
    """``corner`` if the model library has it; :class:`SpecError` otherwise."""
    if corner not in pdk.corners():
        raise SpecError(f"corner {corner!r} is not one of {', '.join(pdk.corners())}")
    return corner


def library_section(corner: str, mc_seed: int | None = None) -> str:
    """The ``.lib`` section to load: ``corner``, or its mismatch twin when ``mc_seed`` is set."""
    check_corner(corner)
    if mc_seed is None:
        return corner
    try:
        section = str(_mismatch_data()["mismatch_section"][corner])
    except KeyError:
        raise SpecError(f"the model library has no mismatch section for corner {corner!r}") \
            from None
    return ident(section, "mismatch section")


def safe_path(path: str) -> str:
    """``path`` if it can stand inside a quoted netlist string (no quote, no line break)."""
    if any(c in path for c in '"\n\r'):
        raise SpecError(f"model library path contains characters unsafe for a netlist: {path!r}")
    return path


def model_lines(corner: str, temperature: float, mc_seed: int | None = None) -> list[str]:
    """``.lib "<library>" <section>``, ``.temp <°C>`` and, with ``mc_seed``, the seed option.

    With ``mc_seed=None`` the lines are exactly the nominal ones (``.lib … <corner>``,
    ``.temp …``), so nominal decks and their cache keys do not change.
    """
    section = library_section(corner, mc_seed)
    lib = safe_path(str(pdk.model_library()))
    lines = [f'.lib "{lib}" {section}', f".temp {fmt(temperature)}"]
    if mc_seed is not None:
        option = ident(str(_mismatch_data()["seed"]["option"]), "seed option")
        lines.append(f".options {option}={check_mc_seed(mc_seed)}")
    return lines


def title_suffix(mc_seed: int | None) -> str:
    """Text appended to a deck's title comment: ``, mismatch seed N`` (or nothing)."""
    return "" if mc_seed is None else f", mismatch seed {check_mc_seed(mc_seed)}"
