"""The sky130 design-rule table (``imcflow/pdk/data/drc_rules.yaml``): one source for both the
DRC (:mod:`imcflow.extract.drc`) and the layout generator (:mod:`imcflow.layout.rules`).

* :func:`table` — every rule of the SkyWater periphery table: implemented (with its check) or
  excluded (with a reason), plus whole sections excluded for layers imcflow never draws;
* :func:`value` — a rule's value in µm (µm² for areas), looked up by its sky130 name.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from imcflow import pdk
from imcflow.errors import PDKError

FILE = "drc_rules.yaml"
#: Sources a rule may cite (keys of the YAML header).
SOURCES = ("T", "C3", "D", "M")


@dataclass(frozen=True)
class Rule:
    """One rule of the table. ``value`` in ``unit`` (um, um2, deg) or None for a rule without a
    number; ``check`` is the check's parameters (``kind`` plus layers) when implemented,
    ``excluded`` the exclusion reason otherwise."""

    name: str
    doc: str
    value: float | None = None
    unit: str | None = None
    src: tuple[str, ...] = ()
    check: dict[str, Any] | None = None
    excluded: str | None = None
    section: str | None = None       # for rules listed under excluded_sections

    @property
    def implemented(self) -> bool:
        return self.check is not None


@dataclass(frozen=True)
class Reason:
    """An exclusion reason: whether a rule excluded for it still counts as applicable to an
    imcflow block (then it counts against coverage) and what it means."""

    name: str
    applicable: bool
    text: str


@dataclass(frozen=True)
class RuleTable:
    rules: tuple[Rule, ...]
    reasons: dict[str, Reason]
    by_name: dict[str, Rule] = field(repr=False, default_factory=dict)

    @property
    def implemented(self) -> list[Rule]:
        return [r for r in self.rules if r.implemented]

    def applicable(self, rule: Rule) -> bool:
        """Whether ``rule`` applies to an imcflow block (implemented, or excluded for a reason
        that does not take it out of scope)."""
        return rule.implemented or self.reasons[str(rule.excluded)].applicable

    def coverage(self) -> tuple[int, int, int]:
        """(rules in the table, applicable rules, implemented rules)."""
        n_app = sum(1 for r in self.rules if self.applicable(r))
        return len(self.rules), n_app, len(self.implemented)


def _rule(raw: dict[str, Any], reasons: dict[str, Reason], where: str) -> Rule:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise PDKError(f"{where}: a rule without a name")
    check, excluded = raw.get("check"), raw.get("excluded")
    if (check is None) == (excluded is None):
        raise PDKError(f"{where}: rule {name} needs exactly one of check / excluded")
    if excluded is not None and excluded not in reasons:
        raise PDKError(f"{where}: rule {name}: unknown exclusion reason {excluded!r}")
    src = raw.get("src", ())
    src = (src,) if isinstance(src, str) else tuple(src)
    if check is not None:
        if not isinstance(check, dict) or "kind" not in check:
            raise PDKError(f"{where}: rule {name}: check needs a kind")
        if not src or any(s not in SOURCES for s in src):
            raise PDKError(f"{where}: rule {name}: source must be one of {SOURCES}")
    value = raw.get("value")
    if value is not None and not isinstance(value, int | float):
        raise PDKError(f"{where}: rule {name}: value {value!r} is not a number")
    return Rule(name=name, doc=str(raw.get("doc", "")),
                value=None if value is None else float(value), unit=raw.get("unit"),
                src=src, check=check, excluded=excluded)


@functools.cache
def table() -> RuleTable:
    """The parsed, validated rule table."""
    path = pdk.get().path(FILE)
    raw = pdk.get().rule_table
    try:
        reasons = {k: Reason(k, bool(v[0]), str(v[1]))
                   for k, v in raw["exclusion_reasons"].items()}
        rules = [_rule(r, reasons, str(path)) for r in raw["rules"]]
        for sec in raw.get("excluded_sections", ()):
            if sec["reason"] not in reasons:
                raise PDKError(f"{path}: section {sec['section']}: unknown reason")
            rules += [Rule(name=str(n), doc=str(sec["what"]), excluded=sec["reason"],
                           section=str(sec["section"])) for n in sec["rules"]]
    except (KeyError, TypeError, IndexError) as exc:
        raise PDKError(f"rule table {path} is malformed ({exc})") from None
    by_name: dict[str, Rule] = {}
    for r in rules:
        if r.name in by_name:
            raise PDKError(f"{path}: rule {r.name} is listed twice")
        by_name[r.name] = r
    return RuleTable(rules=tuple(rules), reasons=reasons, by_name=by_name)


def rule(name: str) -> Rule:
    """Rule ``name`` of the table."""
    t = table()
    if name not in t.by_name:
        raise PDKError(f"rule {name!r} is not in imcflow/pdk/data/{FILE}")
    return t.by_name[name]


def value(name: str) -> float:
    """Value of rule ``name`` in its unit (µm, µm² for areas)."""
    r = rule(name)
    if r.value is None:
        raise PDKError(f"rule {name!r} has no value in imcflow/pdk/data/{FILE}")
    return r.value
