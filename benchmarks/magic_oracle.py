"""Run magic's parasitic extraction on a GDS and read back its capacitances (a reference).

Needs a magic build (≥ 8.3.411) and the sky130A tech file; neither is part of imcflow. The
recipe is the one the shared pex_bench documents: read the GDS (default rescaling), flatten,
extract with coupling capacitance (magic's default options), write a flat ngspice netlist
(``ext2spice cthresh 0``). The capacitances are read from magic's flat ``.ext`` file — the same
values as the netlist's, at full precision (the netlist prints capacitors below about 1 aF as
0) — and summed per net (to the substrate) and per pair of nets. Capacitances in fF.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

#: magic's names of the substrate node in a flat ngspice netlist
SUBSTRATE_NODES = ("SUB", "VSUBS", "0")
_UNITS = {"a": 1e-3, "f": 1.0, "p": 1e3, "n": 1e6, "u": 1e9, "m": 1e12}

_SCRIPT = """\
gds readonly true
gds read {gds}
load {top}
select top cell
flatten {top}_flat
load {top}_flat
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
ext2spice -o {top}_flat.spice
puts "ORACLE_DONE"
quit -noprompt
"""


@dataclass
class MagicCaps:
    """Capacitances magic extracted from one cell, fF."""

    to_substrate: dict[str, float] = field(default_factory=dict)
    coupling: dict[tuple[str, str], float] = field(default_factory=dict)
    devices: list[str] = field(default_factory=list)

    def total(self, net: str) -> float:
        return self.to_substrate.get(net, 0.0) + sum(
            v for k, v in self.coupling.items() if net in k)


def magic_version(magic: str) -> str:
    out = subprocess.run([magic, "--version"], capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


def tech_md5(tech: str | os.PathLike[str]) -> str:
    return hashlib.md5(Path(tech).read_bytes()).hexdigest()


def run_magic(gds: str | os.PathLike[str], top: str, *, magic: str, tech: str) -> MagicCaps:
    """Extract cell ``top`` of ``gds`` with magic and return its capacitances."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", top):
        raise ValueError(f"cell name {top!r} is not a plain identifier")
    with tempfile.TemporaryDirectory(prefix="magic_oracle_") as work:
        script = Path(work) / "run.tcl"
        script.write_text(_SCRIPT.format(gds=Path(gds).resolve(), top=top))
        proc = subprocess.run([magic, "-dnull", "-noconsole", "-T", str(Path(tech).resolve()),
                               str(script)], cwd=work, capture_output=True, text=True,
                              timeout=600, stdin=subprocess.DEVNULL)
        netlist = Path(work) / f"{top}_flat.spice"
        ext = Path(work) / f"{top}_flat.ext"
        if "ORACLE_DONE" not in proc.stdout or not netlist.is_file() or not ext.is_file():
            raise RuntimeError(f"magic failed on {gds}:\n{(proc.stdout + proc.stderr)[-2000:]}")
        caps = parse_ext(ext.read_text())
        caps.devices = parse_netlist(netlist.read_text()).devices
        return caps


def parse_ext(text: str) -> MagicCaps:
    """Capacitances of a flat magic ``.ext`` file (fF): ``node`` records carry each node's
    capacitance to the substrate (aF × the ``scale`` line's cscale), ``cap`` records the
    coupling between two nodes, ``equiv`` records name aliases. Where p-taps tie the substrate
    to a labelled net, magic names the ``substrate`` record after it; capacitance to it then
    counts as coupling to that net, as in magic's netlist."""
    caps = MagicCaps()
    cscale, alias, sub = 1.0, {}, None
    records = [shlex.split(line) for line in text.splitlines() if line.strip()]
    for r in records:
        if r[0] == "scale":
            cscale = float(r[2])
        elif r[0] == "equiv":
            alias[r[2]] = r[1]
        elif r[0] == "substrate" and r[1] not in SUBSTRATE_NODES:
            sub = r[1]
    for r in records:
        if r[0] == "node":
            c = float(r[3]) * cscale * 1e-3
            if sub is None:
                caps.to_substrate[r[1]] = caps.to_substrate.get(r[1], 0.0) + c
            else:
                key = (min(r[1], sub), max(r[1], sub))
                caps.coupling[key] = caps.coupling.get(key, 0.0) + c
        elif r[0] == "cap":
            a, b = alias.get(r[1], r[1]), alias.get(r[2], r[2])
            if a == b:
                continue
            c = float(r[3]) * cscale * 1e-3
            if a in SUBSTRATE_NODES or b in SUBSTRATE_NODES:
                net = b if a in SUBSTRATE_NODES else a
                caps.to_substrate[net] = caps.to_substrate.get(net, 0.0) + c
            else:
                key = (min(a, b), max(a, b))
                caps.coupling[key] = caps.coupling.get(key, 0.0) + c
    return caps


def _value_ff(token: str) -> float:
    m = re.fullmatch(r"([-+0-9.eE]+)([a-zA-Z]*)", token)
    if m is None:
        raise ValueError(f"not a capacitance: {token!r}")
    unit = m.group(2).lower()[:1]
    return float(m.group(1)) * (_UNITS[unit] if unit else 1e15)


def parse_netlist(text: str) -> MagicCaps:
    """Sum the capacitors of a flat ngspice netlist per net and per pair (fF)."""
    caps = MagicCaps()
    lines: list[str] = []
    for raw in text.splitlines():
        raw = raw.split(";", 1)[0].rstrip()
        if raw.startswith("+") and lines:
            lines[-1] += " " + raw[1:]
        elif raw:
            lines.append(raw)
    for line in lines:
        tok = line.split()
        if tok[0][0] in "Xx":
            caps.devices.append(line)
        if tok[0][0] not in "Cc" or len(tok) < 4:
            continue
        a, b, c = tok[1], tok[2], _value_ff(tok[3])
        if a in SUBSTRATE_NODES and b in SUBSTRATE_NODES or a == b:
            continue
        if b in SUBSTRATE_NODES or a in SUBSTRATE_NODES:
            net = a if b in SUBSTRATE_NODES else b
            caps.to_substrate[net] = caps.to_substrate.get(net, 0.0) + c
        else:
            key = (min(a, b), max(a, b))
            caps.coupling[key] = caps.coupling.get(key, 0.0) + c
    return caps
