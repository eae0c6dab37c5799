"""Design-rule check of a GDS against the sky130 rule subset in ``imcflow/pdk/data/drc_rules.yaml``.

Each rule is run with ``klayout.db.Region`` checks on the flattened top cell: width, space,
separation and enclosure checks use projection metrics (the rule decks' convention); sizes and
areas use polygon filters. Values are in µm (µm² for area); locations in the report are µm.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Any

import klayout.db as kdb
import yaml

from imcflow import pdk
from imcflow.errors import PDKError
from imcflow.extract.gds import Design, load

#: How many violation locations a report keeps per rule.
MAX_LOCATIONS = 10


@functools.cache
def rules() -> list[dict[str, Any]]:
    """The rules of ``imcflow/pdk/data/drc_rules.yaml``."""
    path = pdk.PDK_DIR / "drc_rules.yaml"
    try:
        with open(path, encoding="utf-8") as fh:
            return list(yaml.safe_load(fh)["rules"])
    except FileNotFoundError:
        raise PDKError(f"DRC rules not found: {path}") from None


@dataclass
class Violation:
    """All violations of one rule."""

    rule: str
    doc: str
    value: float
    count: int
    locations: list[tuple[float, float]]

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "doc": self.doc, "value_um": self.value,
                "count": self.count,
                "locations_um": [[round(x, 4), round(y, 4)] for x, y in self.locations]}


@dataclass
class DrcReport:
    """Result of :func:`drc`."""

    gds: str
    top: str
    rules_checked: int
    violations: list[Violation] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.violations

    @property
    def total(self) -> int:
        return sum(v.count for v in self.violations)

    def to_dict(self) -> dict[str, Any]:
        return {"gds": self.gds, "top": self.top, "rules_checked": self.rules_checked,
                "clean": self.clean, "total": self.total,
                "violations": [v.to_dict() for v in self.violations]}

    def text(self) -> str:
        """Readable report: one line per violated rule with its first locations."""
        head = (f"DRC {self.gds} (cell {self.top}): {self.rules_checked} rules, "
                f"{self.total} violation(s)")
        lines = [head]
        for v in self.violations:
            where = " ".join(f"({x:.3f},{y:.3f})" for x, y in v.locations[:3])
            lines.append(f"  {v.rule:<11} {v.count:>5} × {v.doc} ({v.value:g} µm) at {where}")
        if self.clean:
            lines.append("  clean")
        return "\n".join(lines) + "\n"


def _layers(d: Design) -> dict[str, kdb.Region]:
    names = ("nwell", "diff", "tap", "poly", "licon", "li1", "mcon", "met1", "via", "met2",
             "via2", "met3", "via3", "met4", "via4", "met5", "capm", "nsdm", "psdm",
             "lvtn", "hvtp")
    r = {n: d.region(n) for n in names}
    r["gate"] = r["diff"] & r["poly"]
    r["poly_field"] = r["poly"] - r["diff"]
    r["licon_diff"] = r["licon"] & r["diff"]
    r["licon_poly"] = (r["licon"] & r["poly"]) - r["diff"]
    r["pdiff"] = r["diff"].interacting(r["psdm"])
    r["ndiff"] = r["diff"].interacting(r["nsdm"])
    r["via3_m3"] = r["via3"] - r["capm"]
    r["via3_capm"] = r["via3"] & r["capm"]
    return r


def _edge_pair_locs(ep: kdb.EdgePairs, dbu: float) -> list[tuple[float, float]]:
    out = []
    for e in ep.each():
        b = e.bbox()
        out.append((b.center().x * dbu, b.center().y * dbu))
    return out


def _check(rule: dict[str, Any], r: dict[str, kdb.Region], dbu: float
           ) -> list[tuple[float, float]]:
    """Locations (µm) where ``rule`` is violated."""
    kind = rule["kind"]
    d = int(round(float(rule["value"]) / dbu))
    proj = kdb.Metrics.Projection
    if kind == "width":
        return _edge_pair_locs(r[rule["layer"]].width_check(d, False, proj), dbu)
    if kind == "space":
        return _edge_pair_locs(r[rule["layer"]].space_check(d, False, proj), dbu)
    if kind == "separation":
        # shapes that touch (a gate endcap and its diff) are not a spacing violation
        ep = r[rule["a"]].separation_check(
            r[rule["b"]], d, False, proj, None, None, None, True, kdb.Region.NoOppositeFilter,
            kdb.Region.NoRectFilter, False, kdb.Region.IgnoreProperties,
            kdb.Region.NeverIncludeZeroDistance)
        return _edge_pair_locs(ep, dbu)
    if kind == "enclosure":
        outer, inner = r[rule["outer"]], r[rule["inner"]]
        locs = [(p.bbox().center().x * dbu, p.bbox().center().y * dbu)
                for p in (inner - outer).each()]
        if d > 0:
            locs += _edge_pair_locs(outer.enclosing_check(inner, d, False, proj), dbu)
        return locs
    if kind == "area":
        a = float(rule["value"]) / (dbu * dbu)
        return [(p.bbox().center().x * dbu, p.bbox().center().y * dbu)
                for p in r[rule["layer"]].with_area(0, int(a), False).each()]
    if kind == "size":
        reg = r[rule["layer"]]
        bad = reg.non_rectangles() + reg.rectangles().with_bbox_width(d, d + 1, True) \
            + reg.rectangles().with_bbox_height(d, d + 1, True)
        bad.merge()
        return [(p.bbox().center().x * dbu, p.bbox().center().y * dbu) for p in bad.each()]
    if kind == "extension":
        gate, over = r[rule["layer"]], r[rule["over"]]
        poly = r["poly"]
        if rule["over"] == "poly":      # endcap: gate edges on the diff boundary
            edges = gate.edges() - poly.edges()
        else:                           # s/d: gate edges along the poly boundary
            edges = gate.edges() & poly.edges()
        ep = edges.enclosed_check(over.edges(), d, False, proj)
        return _edge_pair_locs(ep, dbu)
    if kind == "edge_length":
        edges = (r[rule["layer"]].edges() & r["poly"].edges()).with_length(0, d, False)
        return [(e.bbox().center().x * dbu, e.bbox().center().y * dbu) for e in edges.each()]
    raise PDKError(f"DRC rule {rule['name']}: unknown kind {kind!r}")


def drc_design(design: Design) -> DrcReport:
    """Run every rule on an already loaded design."""
    r = _layers(design)
    report = DrcReport(gds=str(design.path), top=design.top_name, rules_checked=len(rules()))
    for rule in rules():
        locs = _check(rule, r, design.dbu)
        if locs:
            locs.sort()
            report.violations.append(Violation(
                rule=rule["name"], doc=rule.get("doc", ""), value=float(rule["value"]),
                count=len(locs), locations=locs[:MAX_LOCATIONS]))
    return report


def drc(gds: str | os.PathLike[str], top: str | None = None) -> DrcReport:
    """Check ``gds`` (top cell ``top`` or its single top cell) against the rule subset."""
    return drc_design(load(gds, top))
