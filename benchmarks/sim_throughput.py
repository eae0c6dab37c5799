"""Simulation throughput on the demo network (5-5-3): shared vs subprocess engine, 1 and 2 workers.

Prints, per (engine, workers): engine start-up (shared: child + model load, once per worker),
per-pattern wall time, ngspice's own transient-analysis time (``rusage trantime``) per pattern,
their ratio, and steady-state throughput (patterns/s with the engines already warm; for the
subprocess engine every run loads the models, so that is part of its per-pattern cost).

Targets (issue 2): shared per-pattern wall ≤ 1.3× analysis time; 2 workers ≥ 1.7× the throughput
of one. A figure, never an assert: the host may be shared.

    python benchmarks/sim_throughput.py [--patterns 4] [--engines shared,subprocess]
                                        [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import queue
import threading
import time

import numpy as np

from imcflow.netlist import build_transient, stimuli
from imcflow.sim.characterize import random_patterns
from imcflow.sim.engines import make_engine
from imcflow.spec import default_spec


def bench(engine: str, workers: int, patterns: np.ndarray) -> dict[str, float]:
    spec = default_spec()
    tb = build_transient(spec, patterns[0])
    engines = [make_engine(engine, tb.text, tb.vectors, num_threads=1) for _ in range(workers)]
    t0 = time.perf_counter()
    if engine == "shared":
        starters = [threading.Thread(target=e.start) for e in engines]
        for t in starters:
            t.start()
        for t in starters:
            t.join()
    startup = time.perf_counter() - t0
    todo: queue.Queue[np.ndarray | None] = queue.Queue()
    for p in patterns:
        todo.put(p)
    walls: list[float] = []
    analyses: list[float] = []
    lock = threading.Lock()

    def drive(e: object) -> None:
        while True:
            try:
                p = todo.get_nowait()
            except queue.Empty:
                return
            r = e.run(stimuli(spec, p))  # type: ignore[attr-defined]
            with lock:
                walls.append(r.wall_s)
                analyses.append(r.analysis_s if r.analysis_s is not None else np.nan)

    t1 = time.perf_counter()
    threads = [threading.Thread(target=drive, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t1
    for e in engines:
        e.close()
    wall, ana = float(np.mean(walls)), float(np.nanmean(analyses))
    return {"startup": startup, "wall": wall, "analysis": ana, "ratio": wall / ana,
            "throughput": len(patterns) / elapsed, "n": len(patterns)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patterns", type=int, default=4, help="patterns per configuration")
    ap.add_argument("--engines", default="shared,subprocess")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    spec = default_spec()
    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    print(f"demo network {'-'.join(map(str, spec.shape))}, T = {spec.T:g} s, "
          f"{cores} cores, load average {load:.2f} at start; num_threads=1 per ngspice")
    rows = []
    for engine in args.engines.split(","):
        for w in (int(x) for x in args.workers.split(",")):
            n = max(args.patterns, 1) * w  # the same rounds for every worker count
            pats = random_patterns(spec.n_inputs, n, seed=args.seed)
            r = bench(engine, w, pats)
            rows.append((engine, w, r))
            print(f"  done {engine} × {w}", flush=True)
    base = {e: r["throughput"] for e, w, r in rows if w == 1}
    print()
    print("| engine | workers | patterns | start-up s | wall/pattern s | analysis/pattern s "
          "| wall ÷ analysis | patterns/s | speed-up vs 1 worker |")
    print("|---|---|---|---|---|---|---|---|---|")
    for engine, w, r in rows:
        speed = r["throughput"] / base[engine] if engine in base else float("nan")
        print(f"| {engine} | {w} | {r['n']} | {r['startup']:.2f} | {r['wall']:.3f} | "
              f"{r['analysis']:.3f} | {r['ratio']:.2f} | {r['throughput']:.3f} | {speed:.2f} |")
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
