"""Net capacitances extracted by magic with the PDK's tech file, next to imcflow's own.

magic runs in batch (``magic -dnull -noconsole -T <sky130A.tech> <script>``) on a flattened copy
of the top cell: ``extract`` with capacitance and coupling, then ``ext2spice cthresh 0`` (every
capacitor, ``pex.spice``) and ``ext2spice lvs`` (devices only, ``lvs.spice``, the layout netlist
netgen compares). A net's total is its capacitance to the substrate plus all its couplings, in
fF, from the labelled nets of ``pex.spice``. imcflow's totals come from its own extractor
(:func:`imcflow.extract.postlayout.extract_design`) on the same GDS.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from imcflow import atomicio
from imcflow.signoff.tools import ToolFailed

#: Node names magic gives the substrate.
SUBSTRATE = {"VSUBS", "SUB", "0", "GND!"}

_SCRIPT = """\
# imcflow sign-off: magic extraction of one GDS (env IMCFLOW_GDS, IMCFLOW_TOP)
set gds $env(IMCFLOW_GDS)
set top $env(IMCFLOW_TOP)
gds readonly true
gds read $gds
load $top
select top cell
flatten ${top}_flat
load ${top}_flat
select top cell
extract do local
extract do capacitance
extract do coupling
extract do adjust
extract all
ext2spice cthresh 0
ext2spice rthresh 0
ext2spice format ngspice
ext2spice scale off
ext2spice subcircuit top on
ext2spice -o pex.spice
ext2spice lvs
ext2spice -o lvs.spice
puts "IMCFLOW_MAGIC_DONE"
quit -noprompt
"""

_SCALE = {"a": 1e-3, "f": 1.0, "p": 1e3, "n": 1e6, "u": 1e9, "m": 1e12, "": 1e15}


def to_fF(token: str) -> float:
    """A SPICE capacitance (``1.5f``, ``2e-15``, ``0.3p``) in fF."""
    m = re.fullmatch(r"([-+]?[0-9.]+(?:[eE][-+]?\d+)?)([a-zA-Z]*)", token)
    if not m:
        raise ValueError(f"not a capacitance: {token!r}")
    unit = m.group(2).lower()
    if unit.startswith("meg"):
        return float(m.group(1)) * 1e21
    if unit[:1] not in _SCALE:
        raise ValueError(f"not a capacitance: {token!r}")
    return float(m.group(1)) * _SCALE[unit[:1]]


def net_totals(spice_text: str) -> dict[str, float]:
    """Total capacitance per node (fF) from the ``C`` elements of a SPICE netlist: to the
    substrate plus every coupling; nodes magic named itself (``a_…#``, containing ``#``) and
    the substrate are left out."""
    lines: list[str] = []
    for raw in spice_text.splitlines():
        raw = raw.split(";")[0].rstrip()
        if raw.startswith("+") and lines:
            lines[-1] += " " + raw[1:]
        else:
            lines.append(raw)
    total: dict[str, float] = defaultdict(float)
    for ln in lines:
        t = ln.split()
        if len(t) < 4 or t[0][0] not in "Cc":
            continue
        a, b, c = t[1], t[2], to_fF(t[3])
        if a == b:
            continue
        for n in (a, b):
            if n not in SUBSTRATE:
                total[n] += c
    return {n: v for n, v in total.items() if "#" not in n and "/" not in n}


@dataclass
class PexResult:
    """magic's and imcflow's total capacitance per labelled net (fF)."""

    spice: str
    lvs_spice: str
    log: str
    seconds: float
    magic_fF: dict[str, float]
    imcflow_fF: dict[str, float] = field(default_factory=dict)

    def rows(self) -> list[dict[str, float | str | None]]:
        """One row per net labelled in both: magic, imcflow, imcflow/magic."""
        out = []
        for net in sorted(set(self.magic_fF) & set(self.imcflow_fF)):
            m, i = self.magic_fF[net], self.imcflow_fF[net]
            out.append({"net": net, "magic_fF": round(m, 4), "imcflow_fF": round(i, 4),
                        "ratio": round(i / m, 4) if m > 0 else None})
        return out

    def line(self) -> str:
        rows = [r for r in self.rows() if r["ratio"] is not None]
        if not rows:
            return (f"{len(self.magic_fF)} nets extracted, none labelled in both "
                    f"({self.seconds:.1f} s)")
        errs = sorted(abs(float(r["ratio"]) - 1.0) for r in rows)
        med = errs[len(errs) // 2]
        within = sum(e <= 0.1 for e in errs)
        return (f"{len(rows)} labelled nets: imcflow/magic median |error| {100 * med:.1f} %, "
                f"{within} within ±10 %, worst {100 * errs[-1]:.1f} % ({self.seconds:.1f} s)")


def run_magic(magic: str, tech: Path, gds: Path, top: str, out_dir: Path,
              timeout_s: float) -> PexResult:
    """Extract ``top`` of ``gds`` with magic; files go to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    script = out_dir / "extract.tcl"
    atomicio.write_text(script, _SCRIPT)
    log = out_dir / "magic.log"
    spice, lvs_spice = out_dir / "pex.spice", out_dir / "lvs.spice"
    for p in (spice, lvs_spice):
        p.unlink(missing_ok=True)
    env = {**os.environ, "IMCFLOW_GDS": str(gds.resolve()), "IMCFLOW_TOP": top}
    argv = [magic, "-dnull", "-noconsole", "-T", str(tech.resolve()), str(script.resolve())]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, env=env,
                           cwd=out_dir, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ToolFailed(f"magic ran past {timeout_s:g} s on {gds}") from None
    dt = time.perf_counter() - t0
    atomicio.write_text(log, f"$ {' '.join(argv)}\n{r.stdout}{r.stderr}")
    if "IMCFLOW_MAGIC_DONE" not in r.stdout or not spice.is_file():
        raise ToolFailed(f"magic extraction failed (exit {r.returncode}); see {log}")
    try:
        caps = net_totals(spice.read_text(encoding="utf-8", errors="replace"))
    except ValueError as exc:
        raise ToolFailed(f"cannot read magic's netlist {spice}: {exc}") from None
    return PexResult(spice=str(spice), lvs_spice=str(lvs_spice) if lvs_spice.is_file() else "",
                     log=str(log), seconds=dt, magic_fF=caps)
