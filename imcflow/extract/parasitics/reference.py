"""Comparison with magic's extracted capacitances on sets of test structures.

A reference set is a folder with GDS files and a ``bench.json`` in the format of the shared
``pex_bench`` (see its README): per structure the file, the top cell, per labelled net its
total wiring capacitance (``total_fF``) and the couplings between nets. The MIM structure's
``magic_artifact`` (met4-over-met3 area inside the MIM, which imcflow shields by capm on
purpose) is taken off magic's coupling and both nets' totals before comparing.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from imcflow.errors import DataError
from imcflow.extract.devices import extract_netlist
from imcflow.extract.gds import load
from imcflow.extract.parasitics import extract_parasitics
from imcflow.extract.parasitics.conductors import substrate_net

FF = 1e-15
#: Couplings smaller than this (fF) are not compared one by one (they are in the totals).
MIN_COUPLING_FF = 0.5


@dataclass
class Row:
    """One compared quantity: a net total or a coupling, in fF."""

    structure: str
    what: str          # "total" or "coupling"
    name: str          # net name, or "a–b" for a coupling
    magic: float
    ours: float

    @property
    def error(self) -> float:
        """Relative error (ours − magic) / magic."""
        return (self.ours - self.magic) / self.magic if self.magic else math.inf


@dataclass
class Comparison:
    """All compared rows of a reference set."""

    rows: list[Row] = field(default_factory=list)

    @property
    def totals(self) -> list[Row]:
        return [r for r in self.rows if r.what == "total"]

    @property
    def couplings(self) -> list[Row]:
        return [r for r in self.rows if r.what == "coupling"]

    def stats(self) -> dict[str, float]:
        """median |error| (all rows), the share of totals within ±5 %, the worst coupling."""
        errs = [abs(r.error) for r in self.rows]
        tot = [abs(r.error) for r in self.totals]
        cpl = [abs(r.error) for r in self.couplings]
        return {
            "rows": len(self.rows),
            "median_abs_error": statistics.median(errs) if errs else math.nan,
            "mean_abs_error": sum(errs) / len(errs) if errs else math.nan,
            "totals_within_5pct": sum(e <= 0.05 for e in tot) / len(tot) if tot else math.nan,
            "totals_within_10pct": sum(e <= 0.10 for e in tot) / len(tot) if tot else math.nan,
            "worst_total": max(tot, default=math.nan),
            "worst_coupling": max(cpl, default=math.nan),
            "couplings_within_10pct": (sum(e <= 0.10 for e in cpl) / len(cpl)
                                       if cpl else math.nan),
        }


def find_set(env: str, relative: str, fallback: str | os.PathLike[str] | None = None) -> Path:
    """A reference folder: ``$env`` if set, else ``relative`` (e.g. ``shared/pex_bench``) beside
    the repository root or beside one of its parent folders (the first that exists), else
    ``fallback`` (a copy kept with the tests, so that a lone clone still has its reference).

    Raises :class:`DataError` naming what was tried if there is no ``bench.json`` there.
    """
    if os.environ.get(env):
        tried = [Path(os.environ[env])]
    else:
        root = Path(__file__).resolve().parents[3]
        tried = [parent / relative for parent in root.parents]
        if fallback is not None:
            tried.append(Path(fallback))
    for path in tried:
        if (path / "bench.json").is_file():
            return path
    raise DataError(f"reference set not found: no bench.json in {tried[0]}"
                    + (f" or {len(tried) - 1} folders above" if len(tried) > 1 else "")
                    + f" (set {env} to the folder that holds bench.json and the GDS files)")


def compare_set(folder: str | os.PathLike[str]) -> Comparison:
    """Extract every structure of the set in ``folder`` and compare with magic's values."""
    folder = Path(folder)
    with open(folder / "bench.json", encoding="utf-8") as fh:
        bench = json.load(fh)
    out = Comparison()
    for st in bench["structures"]:
        out.rows.extend(compare_structure(folder, st))
    return out


def compare_structure(folder: Path, st: dict) -> list[Row]:
    """Rows of one structure of a reference set (see :func:`compare_set`)."""
    ext = extract_netlist(load(folder / st["file"], st["name"]))
    par = extract_parasitics(ext)
    ids = {name: k for k, name in par.names.items()}
    # a net tied to the substrate (through p-taps) is the substrate node here, but a node of its
    # own in magic (its p-well): neither its total nor its couplings can be compared
    sub = substrate_net(ext)
    tied = {sub.name} if sub is not None and sub.name else set()
    art = st.get("magic_artifact") or {}
    art_pair = tuple(sorted(art.get("nets", ())))
    art_ff = float(art.get("fF", 0.0))
    rows = []
    for net, ref in st["nets"].items():
        if net in tied:
            continue
        if net not in ids:
            raise DataError(f"{st['name']}: net {net!r} not found in the extraction")
        magic = ref["total_fF"] - (art_ff if net in art_pair else 0.0)
        rows.append(Row(st["name"], "total", net, magic, par.total(ids[net]) / FF))
    for c in st["couplings"]:
        a, b = sorted(c["nets"])
        magic = c["fF"] - (art_ff if (a, b) == art_pair else 0.0)
        if magic < MIN_COUPLING_FF or tied & {a, b}:
            continue
        ia, ib = ids[a], ids[b]
        ours = par.coupling.get((min(ia, ib), max(ia, ib)), 0.0) / FF
        rows.append(Row(st["name"], "coupling", f"{a}–{b}", magic, ours))
    return rows
