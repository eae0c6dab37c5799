"""Extraction time vs array size: DRC, devices + nets, parasitics, SPICE for N×N crossbars.

If the layout generator (``imcflow.layout``) can build a layer, a future version can time it;
this benchmark draws its own synthetic crossbar so the figures do not depend on it: N×N nfet
cells (W = 0.84 µm, L = 0.15 µm), gates on horizontal met1 row lines ``in<r>``, sources on
met1 rails ``vss`` (tapped), drains through vias to vertical met2 bit lines ``bl<c>``.
Prints seconds per stage and µs per device. Run: ``.venv/bin/python benchmarks/extract_scaling.py``.
"""

from __future__ import annotations

import sys
import time

from imcflow.extract import gds, synth
from imcflow.extract.devices import extract_netlist
from imcflow.extract.drc import drc_design
from imcflow.extract.parasitics import extract_parasitics
from imcflow.extract.postlayout import _add_parasitics
from imcflow.extract.spice import attach_ports, write_spice

PX, PY = 2.0, 3.64   # cell pitch, µm
WF = 0.84


def crossbar(n: int) -> synth.Canvas:
    """N×N synthetic crossbar (see the module docstring)."""
    c = synth.Canvas(f"xbar{n}")
    pins = {}
    for r in range(n):
        for k in range(n):
            pins[r, k] = synth.mosfet(c, k * PX, r * PY, w_finger=WF, l=0.15, tap=True)
    for r in range(n):
        gx, gy = pins[r, 0]["g"]
        c.box("met1", gx - 0.145, gy - 0.145, pins[r, n - 1]["g"][0] + 0.145, gy + 0.145)
        c.label("met1", f"in{r}", gx, gy)
        sx, sy = pins[r, 0]["s"]
        c.box("met1", sx - 0.145, sy - 0.145, pins[r, n - 1]["s"][0] + 0.145, sy + 0.145)
        c.label("met1", "vss", sx, sy)
    for k in range(n):
        dx = pins[0, k]["d"][0]
        for r in range(n):
            c.via12(*pins[r, k]["d"])
        c.box("met2", dx - 0.145, pins[0, k]["d"][1] - 0.145, dx + 0.145,
              pins[n - 1, k]["d"][1] + 0.145)
        c.label("met2", f"bl{k}", *pins[0, k]["d"])
    return c


def run(n: int, check_drc: bool) -> dict[str, float]:
    c = crossbar(n)
    t0 = time.perf_counter()
    design = gds.from_layout(c.layout)
    t1 = time.perf_counter()
    n_drc = -1
    if check_drc:
        n_drc = drc_design(design).total
    t2 = time.perf_counter()
    ext = extract_netlist(design)
    t3 = time.perf_counter()
    ports = [f"in{r}" for r in range(n)] + [f"bl{k}" for k in range(n)] + ["vss"]
    attach_ports(ext, ports)
    par = extract_parasitics(ext)
    _add_parasitics(ext, par, False)
    t4 = time.perf_counter()
    text = write_spice(ext, f"xbar{n}")
    t5 = time.perf_counter()
    n_dev = sum(1 for line in text.splitlines() if line.startswith("XM"))
    return {"n": n, "devices": n_dev, "drc_violations": n_drc, "load": t1 - t0,
            "drc": t2 - t1, "devices_nets": t3 - t2, "parasitics": t4 - t3, "spice": t5 - t4,
            "lines": len(text.splitlines())}


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]] or [16, 64]
    print(f"{'N×N':>7} {'devices':>8} {'DRC viol':>8} {'load s':>7} {'DRC s':>7} "
          f"{'dev+nets s':>10} {'parasitics s':>12} {'spice s':>8} {'µs/device (ext)':>15}")
    for n in sizes:
        r = run(n, check_drc=True)
        ext_time = r["devices_nets"] + r["parasitics"] + r["spice"]
        print(f"{n:>3}×{n:<3} {r['devices']:>8} {r['drc_violations']:>8} {r['load']:>7.2f} "
              f"{r['drc']:>7.2f} {r['devices_nets']:>10.2f} {r['parasitics']:>12.2f} "
              f"{r['spice']:>8.2f} {1e6 * ext_time / r['devices']:>15.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
