"""The capacitance tables of ``imcflow/pdk/data/parasitics.yaml`` as one object with lookups.

Every coefficient the extractor uses comes from here (the file names its sources: the sky130A
magic tech file and magic's extractor). Units as in the file: area capacitance aF/µm²,
perimeter and side-overlap capacitance aF/µm, sidewall ``c`` aF/µm with ``offset`` µm, fringe
multipliers 1/µm, distances µm.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from imcflow import pdk
from imcflow.errors import PDKError


@functools.cache
def coefficients() -> dict:
    """``imcflow/pdk/data/parasitics.yaml`` parsed (the PDK object's capacitance tables)."""
    return pdk.get().capacitance


@dataclass(frozen=True)
class Tech:
    """Lookups into the coefficient tables (see the module docstring for units)."""

    data: dict

    @classmethod
    @functools.cache
    def load(cls) -> Tech:
        """The tables of the installed ``parasitics.yaml``, checked for consistency."""
        tech = cls(coefficients())
        tech.check()
        return tech

    # --- structure -------------------------------------------------------------------------
    @property
    def planes(self) -> list[str]:
        """Plane names from the substrate up."""
        return list(self.data["planes"])

    def kinds_on(self, plane: str) -> list[str]:
        """Conductor kinds on ``plane``."""
        return list(self.data["planes"][plane])

    @functools.cached_property
    def plane_of(self) -> dict[str, str]:
        """Conductor kind → its plane."""
        return {k: p for p, kinds in self.data["planes"].items() for k in kinds}

    @functools.cached_property
    def level(self) -> dict[str, int]:
        """Plane → its position in the stack (0 = lowest)."""
        return {p: i for i, p in enumerate(self.planes)}

    def row(self, kind: str) -> str:
        """The coefficient row a kind uses (``nsd`` → ``diff``)."""
        return self.data.get("alias", {}).get(kind, kind)

    def planes_between(self, a: str, b: str) -> list[str]:
        """Planes strictly between the planes of kinds ``a`` and ``b`` (their shields)."""
        i, j = sorted((self.level[self.plane_of[a]], self.level[self.plane_of[b]]))
        return self.planes[i + 1:j]

    def is_below(self, a: str, b: str) -> bool:
        """Whether kind ``a`` lies on a lower plane than kind ``b``."""
        return self.level[self.plane_of[a]] < self.level[self.plane_of[b]]

    # --- wires' own capacitance ----------------------------------------------------------------
    @property
    def wires(self) -> list[str]:
        """Kinds with capacitance of their own (a row in ``substrate``), from the bottom up."""
        sub = self.data["substrate"]
        return [k for p in self.planes for k in self.kinds_on(p) if self.row(k) in sub]

    def area_cap(self, kind: str) -> float:
        """Area capacitance of ``kind`` to the substrate, aF/µm²."""
        return float(self.data["substrate"].get(self.row(kind), {}).get("area", 0.0))

    def perimeter_cap(self, kind: str) -> float:
        """Fringe capacitance of an edge of ``kind`` to the substrate, aF/µm."""
        return float(self.data["substrate"].get(self.row(kind), {}).get("fringe", 0.0))

    def sidewall(self, kind: str) -> tuple[float, float]:
        """Same-layer coupling law of ``kind``: (c aF/µm, offset µm); (0, 0) if none."""
        sw = self.data["sidewall"].get(self.row(kind))
        return (0.0, 0.0) if sw is None else (float(sw["c"]), float(sw["offset"]))

    # --- between kinds -------------------------------------------------------------------------
    def overlap(self, upper: str, lower: str) -> float | None:
        """Area coupling of ``upper`` over ``lower``, aF/µm²; None if ``lower`` is transparent."""
        v = self.data["overlap"].get(self.row(upper), {}).get(self.row(lower))
        return None if v is None else float(v)

    def sideoverlap(self, edge: str, target: str) -> float:
        """Fringe from an edge of ``edge`` onto ``target`` on another plane, aF/µm (0: none)."""
        return float(self.data["sideoverlap"].get(self.row(edge), {}).get(self.row(target), 0.0))

    def fringe_mult(self, edge: str, target: str) -> float:
        """Halo multiplier (1/µm) of the fringe from an edge of ``edge`` onto ``target``.

        ``mult_per_aF`` × the pair's area coupling (whichever of the two is the upper one);
        a pair without one takes the edge kind's substrate area value, as magic does for the
        substrate types.
        """
        upper, lower = (target, edge) if self.is_below(edge, target) else (edge, target)
        ov = self.overlap(upper, lower)
        return self.mult_per_aF * (ov if ov is not None else self.area_cap(edge))

    def substrate_mult(self, kind: str) -> float:
        """Halo multiplier (1/µm) of the fringe from an edge of ``kind`` to the substrate."""
        return self.mult_per_aF * self.area_cap(kind)

    @property
    def halo_um(self) -> float:
        return float(self.data["fringe"]["halo_um"])

    @property
    def mult_per_aF(self) -> float:
        return float(self.data["fringe"]["mult_per_aF"])

    @property
    def atan_scale(self) -> float:
        return float(self.data["fringe"]["atan_scale"])

    def sheet_resistance(self, kind: str) -> float:
        """Sheet resistance of ``kind``, Ω/□ (0: not estimated)."""
        return float(self.data.get("sheet_resistance", {}).get(self.row(kind), 0.0))

    # --- validation ----------------------------------------------------------------------------
    def check(self) -> None:
        """Raise :class:`PDKError` if the tables name a kind the plane stack does not have."""
        known = set(self.plane_of) | {self.row(k) for k in self.plane_of}
        tables = {t: self.data.get(t, {}) for t in ("substrate", "overlap", "sideoverlap",
                                                    "sidewall", "sheet_resistance")}
        for name, table in tables.items():
            for k, row in table.items():
                if k not in known:
                    raise PDKError(f"parasitics.yaml: {name} names unknown kind {k!r}")
                if isinstance(row, dict) and name in ("overlap", "sideoverlap"):
                    bad = set(row) - known
                    if bad:
                        raise PDKError(f"parasitics.yaml: {name}.{k} names unknown kind(s) "
                                       f"{sorted(bad)}")
