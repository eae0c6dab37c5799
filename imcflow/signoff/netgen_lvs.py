"""LVS by netgen with the PDK's setup: the layout netlist against imcflow's circuit.

``netgen -batch lvs "<layout.spice> <cell>" "<schematic.spice> <cell>" <sky130A_setup.tcl>
<report>``. The layout netlist is magic's (``ext2spice lvs``) when magic ran, else imcflow's own
device extraction; the schematic is the spec's circuit flattened with numeric sizes
(:func:`imcflow.netlist.cells.render_flat`: netgen does not evaluate subcircuit parameters).
netgen's verdict is its ``Circuits match`` / ``Netlists match`` (uniquely, or with symmetries) or
``do not match`` line; matching topology with "Property errors were found" is a mismatch.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from imcflow import atomicio
from imcflow.signoff.tools import ToolFailed

_MATCH = re.compile(r"(Circuits|Netlists) match(?: uniquely| with \d+ symmetr\w*)?", re.I)
_NO_MATCH = re.compile(r"(Circuits|Netlists) do not match|Netlist mismatch", re.I)


@dataclass
class NetgenResult:
    """netgen's verdict and where its files are."""

    match: bool
    verdict: str
    layout_source: str
    report: str
    log: str
    seconds: float

    def line(self) -> str:
        word = "MATCH" if self.match else "MISMATCH"
        return (f"{word}: {self.verdict} (layout netlist from {self.layout_source}, "
                f"{self.seconds:.1f} s)")


def verdict(text: str) -> tuple[bool, str] | None:
    """(match, the verdict line) from netgen's output, or None if it gave none. Matching
    topology with property (size) errors is a mismatch."""
    lines = text.splitlines()
    if re.search(r"Property errors were found", text):
        cells = [ln for ln in lines if "had property errors" in ln]
        return False, "topology matches, but property (size) errors were found" + (
            f" in {cells[-1].split(':', 1)[-1].strip()}" if cells else "")
    final = [ln for ln in lines if "Final result" in ln]
    for ln in reversed(final or lines):
        if _NO_MATCH.search(ln):
            return False, ln.strip()
        if _MATCH.search(ln):
            return True, ln.strip()
    return None


def run_netgen(netgen: str, setup: Path, layout: Path, layout_cell: str, schematic: Path,
               schematic_cell: str, layout_source: str, out_dir: Path,
               timeout_s: float) -> NetgenResult:
    """Compare ``layout_cell`` of ``layout`` with ``schematic_cell`` of ``schematic``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report, log = out_dir / "lvs.report", out_dir / "netgen.log"
    argv = [netgen, "-batch", "lvs", f"{layout.resolve()} {layout_cell}",
            f"{schematic.resolve()} {schematic_cell}", str(setup.resolve()), str(report)]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                           cwd=out_dir, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ToolFailed(f"netgen ran past {timeout_s:g} s") from None
    dt = time.perf_counter() - t0
    atomicio.write_text(log, f"$ {' '.join(argv)}\n{r.stdout}{r.stderr}")
    text = r.stdout + "\n" + (report.read_text(errors="replace") if report.is_file() else "")
    v = verdict(text)
    if v is None:
        raise ToolFailed(f"netgen gave no verdict (exit {r.returncode}); see {log}")
    return NetgenResult(match=v[0], verdict=v[1], layout_source=layout_source,
                        report=str(report), log=str(log), seconds=dt)
