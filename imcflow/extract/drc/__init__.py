"""Design-rule check of a GDS against the sky130 periphery rules of
``imcflow/pdk/data/drc_rules.yaml``.

* :func:`drc` / :func:`drc_design` — run every implemented rule on the flattened top cell and
  return a :class:`DrcReport` (violation markers in µm, by rule name);
* :func:`coverage_text` — the table's coverage: each rule with its value and whether it is
  implemented or excluded (and why).

The check kinds live in :mod:`imcflow.extract.drc.checks`, the derived layers (gate, pfet,
poly_licon, ...) in :mod:`imcflow.extract.drc.layers`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from imcflow.errors import PDKError
from imcflow.extract.drc.checks import KINDS, run
from imcflow.extract.drc.layers import Layers
from imcflow.extract.gds import Design, load
from imcflow.pdk import rules as rule_table
from imcflow.pdk.rules import Rule

__all__ = ["DrcReport", "Violation", "coverage_text", "drc", "drc_design", "rules"]

#: How many violation locations a report keeps per rule.
MAX_LOCATIONS = 10


def rules() -> list[Rule]:
    """The implemented rules, in table order (each checked, the check kind known)."""
    out = rule_table.table().implemented
    for r in out:
        assert r.check is not None
        if r.check["kind"] not in KINDS:
            raise PDKError(f"DRC rule {r.name}: unknown check kind {r.check['kind']!r}")
    return out


@dataclass
class Violation:
    """All violations of one rule."""

    rule: str
    doc: str
    value: float | None
    unit: str | None
    count: int
    locations: list[tuple[float, float]]

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "doc": self.doc, "value": self.value, "unit": self.unit,
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
            val = "" if v.value is None else f" ({v.value:g}{_unit(v.unit)})"
            lines.append(f"  {v.rule:<11} {v.count:>5} × {v.doc}{val} at {where}")
        if self.clean:
            lines.append("  clean")
        return "\n".join(lines) + "\n"


def _unit(unit: str | None) -> str:
    return {"um": " µm", "um2": " µm²", "deg": "°"}.get(unit or "", unit or "")


def drc_design(design: Design, only: list[str] | None = None) -> DrcReport:
    """Run every implemented rule (or the rules named in ``only``) on a loaded design."""
    todo = rules() if only is None else [rule_table.rule(n) for n in only]
    L = Layers(design)
    report = DrcReport(gds=str(design.path), top=design.top_name, rules_checked=len(todo))
    dbu = design.dbu
    for r in todo:
        boxes = run(L, r)
        if boxes:
            locs = sorted({(b.center().x * dbu, b.center().y * dbu) for b in boxes})
            report.violations.append(Violation(
                rule=r.name, doc=r.doc, value=r.value, unit=r.unit, count=len(locs),
                locations=locs[:MAX_LOCATIONS]))
    return report


def drc(gds: str | os.PathLike[str], top: str | None = None) -> DrcReport:
    """Check ``gds`` (top cell ``top`` or its single top cell) against the rule table."""
    return drc_design(load(gds, top))


def coverage_text() -> str:
    """The rule table as a coverage report: rule, value, implemented (check kind) or excluded
    (reason), then the coverage of the rules that apply to an imcflow block."""
    t = rule_table.table()
    lines = [f"{'rule':<16} {'value':>12}  status"]
    for r in t.rules:
        val = "" if r.value is None else f"{r.value:g}{_unit(r.unit)}"
        if r.implemented:
            assert r.check is not None
            status = f"implemented ({r.check['kind']}) [{'+'.join(r.src)}] — {r.doc}"
        else:
            reason = t.reasons[str(r.excluded)]
            what = f"{r.doc}: " if r.doc else ""
            status = f"excluded [{reason.name}] {what}{reason.text}"
        lines.append(f"{r.name:<16} {val:>12}  {status}")
    n, n_app, n_impl = t.coverage()
    lines.append(f"{n} rules in the table, {n_app} apply to an imcflow block, {n_impl} "
                 f"implemented ({100.0 * n_impl / n_app:.1f} % of the applicable)")
    return "\n".join(lines) + "\n"
