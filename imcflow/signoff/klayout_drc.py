"""The official KLayout DRC deck of the PDK, run by the KLayout application in batch mode.

``klayout -b -r DECK -rd input=GDS -rd report=OUT.lyrdb -rd topcell=TOP -rd <group>=true …``:
the sky130 MPW-precheck deck (``sky130A_mr.drc``) reads its input, report file and switches as
script variables and leaves every rule group off unless enabled; imcflow turns all of them on
(:data:`GROUPS`). The report is KLayout's marker database (``.lyrdb``, XML): one category per rule,
one item per violation (``multiplicity`` counts merged markers).
"""

from __future__ import annotations

import os
import subprocess
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from imcflow import atomicio
from imcflow.signoff.tools import ToolFailed

#: The deck's rule groups: front end, back end, off-grid/angle, seal ring, floating metal.
GROUPS = ("feol", "beol", "offgrid", "seal", "floating_met")


@dataclass
class DeckResult:
    """Violations per rule of one deck run, and where its files are."""

    deck: str
    report: str
    log: str
    seconds: float
    rules: int
    violations: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.violations.values())

    @property
    def clean(self) -> bool:
        return self.total == 0

    def line(self) -> str:
        if self.clean:
            return f"clean ({self.rules} rule categories, {self.seconds:.1f} s)"
        worst = ", ".join(f"{k} {v}" for k, v in sorted(self.violations.items(),
                                                      key=lambda kv: (-kv[1], kv[0])))
        return (f"{self.total} violation(s) of {len(self.violations)} rule(s): {worst} "
                f"({self.seconds:.1f} s)")


def parse_lyrdb(path: Path) -> tuple[int, dict[str, int]]:
    """(number of rule categories, violations per category) of a KLayout marker database."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ToolFailed(f"cannot read the DRC report {path}: {exc}") from None
    cats = root.find("categories")
    n_rules = 0 if cats is None else sum(1 for _ in cats.iter("category"))
    counts: Counter[str] = Counter()
    items = root.find("items")
    for item in ([] if items is None else items.iter("item")):
        name = (item.findtext("category") or "?").strip().strip("'")
        counts[name] += int(item.findtext("multiplicity") or 1)
    return n_rules, dict(counts)


def run_deck(klayout: str, deck: Path, gds: Path, top: str, out_dir: Path,
             timeout_s: float, threads: int | None = None) -> DeckResult:
    """Run ``deck`` on cell ``top`` of ``gds`` with every rule group on; files go to
    ``out_dir`` (``drc.lyrdb``, ``drc.log``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = (out_dir / "drc.lyrdb").resolve()
    log = out_dir / "drc.log"
    report.unlink(missing_ok=True)
    argv = [klayout, "-b", "-r", str(deck.resolve()), "-rd", f"input={gds.resolve()}",
            "-rd", f"report={report}", "-rd", f"topcell={top}", "-rd", f"top_cell={top}",
            "-rd", f"thr={threads or os.cpu_count() or 1}"]
    for g in GROUPS:
        argv += ["-rd", f"{g}=true"]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                           stdin=subprocess.DEVNULL, cwd=out_dir)
    except subprocess.TimeoutExpired:
        raise ToolFailed(f"klayout DRC ran past {timeout_s:g} s on {gds}") from None
    dt = time.perf_counter() - t0
    atomicio.write_text(log, f"$ {' '.join(argv)}\n{r.stdout}{r.stderr}")
    if r.returncode != 0 or not report.is_file():
        last = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ToolFailed(f"klayout DRC failed (exit {r.returncode}): {last[0][:200]}; see {log}")
    n_rules, counts = parse_lyrdb(report)
    return DeckResult(deck=str(deck), report=str(report), log=str(log), seconds=dt,
                      rules=n_rules, violations=counts)
