"""imcflow's parasitic extraction against magic on the demo layout (the default spec).

Builds the demo layout, extracts it with magic (needs magic and the sky130A tech file: not part
of imcflow) and with imcflow, and prints every named net's total wiring capacitance: magic's,
imcflow's and imcflow's with magic's MIM treatment (capm not a shield), with errors. The last
column isolates the deliberate difference: magic reports the met4-over-met3 capacitance inside
each MIM as wiring coupling between the plates (here: the membrane and its MIM's other plate).

Run: ``.venv/bin/python benchmarks/pex_demo.py --magic MAGIC --tech sky130A.tech [--gds OUT]``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
from pathlib import Path

from imcflow import layout
from imcflow.extract.devices import extract_netlist
from imcflow.extract.gds import load
from imcflow.extract.parasitics import Tech, extract_parasitics
from imcflow.extract.parasitics.conductors import substrate_net
from imcflow.spec import default_spec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from magic_oracle import run_magic  # noqa: E402


def without_capm(tech: Tech) -> Tech:
    """The tables with capm taken out of the plane stack (magic's treatment of the MIM)."""
    data = copy.deepcopy(tech.data)
    del data["planes"]["capm"]
    for table in ("overlap", "sideoverlap"):
        data[table].pop("capm", None)
        for row in data[table].values():
            row.pop("capm", None)
    return Tech(data)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--magic", required=True)
    ap.add_argument("--tech", required=True)
    ap.add_argument("--gds", type=Path, help="also keep the demo GDS here")
    args = ap.parse_args(argv)
    spec = default_spec()
    with tempfile.TemporaryDirectory() as tmp:
        gds = args.gds or Path(tmp) / "demo.gds"
        layout.write_gds(layout.build(spec), gds)
        design = load(gds)
        magic = run_magic(gds, design.top_name, magic=args.magic, tech=args.tech)
    ext = extract_netlist(design)
    ours = extract_parasitics(ext)
    magic_mim = extract_parasitics(ext, tech=without_capm(Tech.load()))
    sub = substrate_net(ext)
    ids = {n: k for k, n in ours.names.items()}
    rows = []
    for name in sorted(ids):
        if name.startswith("_n") or (sub is not None and name == sub.name):
            continue
        m = magic.total(name)
        if m == 0.0:
            continue
        a, b = ours.total(ids[name]) * 1e15, magic_mim.total(ids[name]) * 1e15
        rows.append((name, m, a, (a - m) / m, b, (b - m) / m))
    print(f"{'net':14} {'magic fF':>10} {'imcflow fF':>11} {'error':>8} "
          f"{'no-capm fF':>11} {'error':>8}")
    for name, m, a, ea, b, eb in rows:
        print(f"{name:14} {m:10.3f} {a:11.3f} {100 * ea:+7.2f}% {b:11.3f} {100 * eb:+7.2f}%")
    ea = [abs(r[3]) for r in rows]
    eb = [abs(r[5]) for r in rows]
    print(f"-- {len(rows)} named nets (substrate-tied {sub.name if sub else '-'} left out): "
          f"imcflow median |error| {100 * statistics.median(ea):.3f} %, worst "
          f"{100 * max(ea):.2f} %; with magic's MIM treatment median "
          f"{100 * statistics.median(eb):.3f} %, worst {100 * max(eb):.3f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
