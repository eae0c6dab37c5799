"""What the extractor produces: capacitance per net to the substrate and between nets."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

AF = 1e-18  # F per aF
SUBSTRATE = -1  # key of the substrate "net" when no net of the layout is the substrate


@dataclass
class Parasitics:
    """Extracted parasitics in F (resistance in Ω). Keys are net cluster ids.

    ``ground[n]`` is net n's capacitance to the substrate (and to the net the substrate is tied
    to, if any); ``coupling[(a, b)]`` (a < b) the capacitance between nets a and b.
    """

    ground: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    coupling: dict[tuple[int, int], float] = field(default_factory=lambda: defaultdict(float))
    resistance: dict[int, float] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    def total(self, net: int) -> float:
        """Total wiring capacitance of ``net`` (to substrate plus every coupling), F."""
        c = self.ground.get(net, 0.0)
        for (a, b), v in self.coupling.items():
            if net in (a, b):
                c += v
        return c

    def by_name(self) -> dict[str, float]:
        """Total wiring capacitance per named net, F."""
        tot: dict[int, float] = defaultdict(float)
        for n, c in self.ground.items():
            tot[n] += c
        for (a, b), c in self.coupling.items():
            tot[a] += c
            tot[b] += c
        return {self.names.get(n, f"_n{n}"): c for n, c in tot.items() if n != SUBSTRATE}

    def couplings_of(self, name: str) -> dict[str, float]:
        """Every named net's coupling capacitance to net ``name`` (F); empty if unknown."""
        ids = [n for n, v in self.names.items() if v == name]
        if not ids:
            return {}
        (me,) = ids[:1]
        out: dict[str, float] = defaultdict(float)
        for (a, b), c in self.coupling.items():
            if me in (a, b):
                other = self.names.get(b if a == me else a)
                if other:
                    out[other] += c
        return dict(out)


class Ledger:
    """Accumulates capacitance (aF) between nets; the substrate and the net tied to it (if the
    layout ties one, through p-taps) are one node, so anything to either is to ground."""

    def __init__(self, substrate_net: int | None) -> None:
        self.sub = substrate_net if substrate_net is not None else SUBSTRATE
        self.ground: dict[int, float] = defaultdict(float)
        self.coupling: dict[tuple[int, int], float] = defaultdict(float)

    def to_substrate(self, net: int, c_af: float) -> None:
        """Add ``c_af`` (may be negative: a share moved elsewhere) between ``net`` and ground."""
        if net != self.sub and net != SUBSTRATE:
            self.ground[net] += c_af

    def between(self, a: int, b: int, c_af: float) -> None:
        """Add ``c_af`` between nets ``a`` and ``b`` (to ground if either is the substrate)."""
        if a == b:
            return
        if b in (self.sub, SUBSTRATE):
            self.to_substrate(a, c_af)
        elif a in (self.sub, SUBSTRATE):
            self.to_substrate(b, c_af)
        else:
            self.coupling[(min(a, b), max(a, b))] += c_af

    def result(self, names: dict[int, str]) -> Parasitics:
        """The totals in F. Round-off below 1e-6 aF is dropped, and a net's ground capacitance
        never goes below zero (a share can only be moved from the substrate once)."""
        par = Parasitics(names=dict(names))
        for n, c in self.ground.items():
            if c > 1e-6:
                par.ground[n] = c * AF
        for k, c in self.coupling.items():
            if c > 1e-6:
                par.coupling[k] = c * AF
        return par
