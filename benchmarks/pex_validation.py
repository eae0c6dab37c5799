"""imcflow's own validation set for the parasitic extractor, with magic's values as reference.

Generates small seeded-random sky130 test structures (one GDS each, every net labelled once on
the label purpose of its conductor, …/5 for poly, li1 and the metals), then — if magic and the
sky130A tech file are given — extracts each with magic and writes ``bench.json`` in the format
of the shared pex_bench (see ``imcflow/extract/parasitics/reference.py``). Structures:

* ``lshape``: an L-shaped wire, a T-shaped wire and a straight neighbour on one layer;
* ``partial``: a wire and a plate on two layers (some skipping one) partly over a lower plate;
* ``cross3``: wires on three layers crossing each other;
* ``far``: parallel wires 2–8 µm apart, offset along their length;
* ``notch``: a wire notched on one or both edges between neighbours, a wire above;
* ``well``: an n-well tied through an n-tap, p-diffusion in it, wires over and across it;
* ``diff``: n-diffusion, a p-tap, field poly and wires over them;
* ``gate``: n- and p-MOSFETs (imcflow's test drawing) with wires over gates and diffusion;
* ``mim``: a MIM capacitor with wires beside and over it;
* ``random``: random wires on three or four layers.

Run: ``.venv/bin/python benchmarks/pex_validation.py OUTDIR [--seed N] [--magic MAGIC --tech
sky130A.tech]``. The committed set is ``tests/data/pex_validation`` (seed 2026).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path

import yaml

from imcflow import pdk
from imcflow.atomicio import write_text, write_with
from imcflow.extract import synth
from imcflow.extract.parasitics.tech import Tech

sys.path.insert(0, str(Path(__file__).resolve().parent))
from magic_oracle import magic_version, run_magic, tech_md5  # noqa: E402

GRID = 0.005
WIRES = ("poly", "li1", "met1", "met2", "met3", "met4", "met5")
#: magic's extraction recipe, as recorded in bench.json
EXTRACTION = ("gds read (default rescale); flatten; extract do local/capacitance/coupling/"
              "adjust; extract all; ext2spice cthresh 0, rthresh 0, format ngspice, scale off "
              "(benchmarks/magic_oracle.py)")


def rules() -> dict[str, tuple[float, float]]:
    """Layer → (min width, min spacing), µm, from imcflow/pdk/data/drc_rules.yaml."""
    with open(pdk.PDK_DIR / "drc_rules.yaml", encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    found: dict[str, dict[str, float]] = {}
    for r in data["rules"]:
        if r["kind"] in ("width", "space") and r.get("layer") in WIRES:
            found.setdefault(r["layer"], {})[r["kind"]] = float(r["value"])
    return {k: (v["width"], v["space"]) for k, v in found.items()}


def g(x: float) -> float:
    """Snap to the 5 nm grid."""
    return round(round(x / GRID) * GRID, 3)


class Builder:
    """A structure under construction: a canvas, its labelled nets and a description."""

    def __init__(self, name: str, kind: str, description: str) -> None:
        self.c = synth.Canvas(name)
        self.name, self.kind, self.description = name, kind, description
        self.nets: list[str] = []
        self.meta: dict[str, float] = {}

    def wire(self, layer: str, x0: float, y0: float, x1: float, y1: float,
             net: str | None = None) -> None:
        """A rectangle; with ``net``, labelled at its centre on ``layer``'s label purpose."""
        x0, y0, x1, y1 = g(min(x0, x1)), g(min(y0, y1)), g(max(x0, x1)), g(max(y0, y1))
        self.c.box(layer, x0, y0, x1, y1)
        if net is not None:
            self.label(layer, net, (x0 + x1) / 2, (y0 + y1) / 2)

    def label(self, layer: str, net: str, x: float, y: float) -> None:
        self.c.label(layer, net, g(x), g(y))
        if net not in self.nets:
            self.nets.append(net)

    def li_tie(self, x: float, y: float, net: str, out: float = 1.5) -> None:
        """licon at (x, y) with an li1 strip up to a label ``out`` µm above it."""
        self.c.contact("licon", g(x), g(y), 0.17)
        self.wire("li1", x - 0.085, y - 0.165, x + 0.085, y + out)
        self.label("li1", net, x, y + out - 0.1)


def lshape(rng: random.Random, k: int, rl: dict) -> Builder:
    layer = rng.choice(["li1", "met1", "met2", "met3", "met4"])
    w, s = rl[layer]
    wa, wb, wn = (g(w * rng.uniform(1, 3)) for _ in range(3))
    la, lb = g(rng.uniform(8, 25)), g(rng.uniform(5, 15))
    gap = g(s * rng.uniform(1, 6))
    b = Builder(f"lshape{k}_{layer}", "lshape",
                f"{layer}: L wire (arms {la}x{wa}, {lb}x{wb} um), straight neighbour {wn} um "
                f"wide at {gap} um along the long arm, T wire beyond the short arm")
    b.wire(layer, 0, 0, la, wa, "ell")
    b.wire(layer, 0, wa, wb, wa + lb)
    b.wire(layer, -2, -gap - wn, la + rng.uniform(-3, 3), -gap, "nb")
    tx = wb + g(s * rng.uniform(1, 8))
    stem = g(w * rng.uniform(1, 2))
    top = wa + lb + g(s * rng.uniform(1, 4))
    b.wire(layer, tx, wa + gap, tx + stem, top, "tee")
    b.wire(layer, tx - 3, top, tx + stem + 3, top + stem)
    return b


def partial(rng: random.Random, k: int, rl: dict) -> Builder:
    lo = rng.choice(["poly", "li1", "met1", "met2", "met3"])
    ups = [x for x in WIRES[WIRES.index(lo) + 1:] if x != "met5"]
    up = rng.choice(ups[:2] if len(ups) > 1 else ups)
    up2 = rng.choice(ups)
    pw, ph = g(rng.uniform(6, 14)), g(rng.uniform(5, 12))
    b = Builder(f"partial{k}_{up}_{lo}", "partial",
                f"{lo} plate {pw}x{ph} um; {up} plate and {up2} wire partly over it, "
                f"overhanging its edges")
    b.wire(lo, 0, 0, pw, ph, "plate")
    ox, oy = g(rng.uniform(-3, pw - 3)), g(rng.uniform(-3, ph - 3))
    uw, uh = g(rng.uniform(3, 8)), g(rng.uniform(3, 8))
    b.wire(up, ox, oy, ox + uw, oy + uh, "upper")
    w2 = g(rl[up2][0] * rng.uniform(1, 3))
    y2 = g(rng.uniform(0.5, ph - 0.5))
    if up2 == up:
        y2 = g(oy + uh + rl[up][1] + rng.uniform(0.5, 2))
    b.wire(up2, pw - g(rng.uniform(2, 5)), y2, pw + g(rng.uniform(2, 8)), y2 + w2, "wire")
    return b


def cross3(rng: random.Random, k: int, rl: dict) -> Builder:
    layers = sorted(rng.sample(["poly", "li1", "met1", "met2", "met3", "met4"], 3),
                    key=WIRES.index)
    a, m, t = layers
    wa, wm, wt = (g(rl[x][0] * rng.uniform(1, 4)) for x in layers)
    half = g(rng.uniform(5, 12))
    off = g(rng.uniform(-2, 2))
    b = Builder(f"cross3{k}_{a}_{m}_{t}", "cross3",
                f"{a} wire along x, {m} wire along y, {t} wire along x offset {off} um; "
                f"widths {wa}, {wm}, {wt} um")
    b.wire(a, -half, -wa / 2, half, wa / 2, "bottom")
    b.wire(m, -wm / 2, -half, wm / 2, half, "middle")
    b.wire(t, -half * 0.8, off - wt / 2, half * 0.8, off + wt / 2, "top")
    return b


def far(rng: random.Random, k: int, rl: dict) -> Builder:
    layer = rng.choice(["poly", "li1", "met1", "met2", "met3", "met4", "met5"])
    w = rl[layer][0]
    b = Builder(f"far{k}_{layer}", "far", "")
    y, gaps = 0.0, []
    for i in range(4):
        width = g(w * rng.uniform(1, 2.5))
        x0 = g(rng.uniform(-4, 4))
        b.wire(layer, x0, y, x0 + g(rng.uniform(10, 25)), y + width, f"w{i}")
        gap = g(rng.uniform(2, 8))
        gaps.append(gap)
        y = g(y + width + gap)
    b.description = f"four {layer} wires, offset along x, gaps {gaps[:3]} um"
    return b


def notch(rng: random.Random, k: int, rl: dict) -> Builder:
    layer = rng.choice(["li1", "met1", "met2", "met3"])
    w, s = rl[layer]
    wm = g(w * rng.uniform(2.5, 4))
    depth = g(rng.uniform(0.3, 0.45) * wm)
    length, n = g(rng.uniform(15, 25)), rng.randint(3, 7)
    both = rng.random() < 0.5
    gap = g(s * rng.uniform(1, 3))
    above = WIRES[WIRES.index(layer) + 1]
    b = Builder(f"notch{k}_{layer}", "notch",
                f"{layer} wire {wm} um wide with {n} notches {depth} um deep on "
                f"{'both edges' if both else 'one edge'}, neighbours at {gap} um, {above} "
                f"wire across")
    b.label(layer, "mid", 1.0, wm / 2)
    pitch = length / n
    cuts = [g(i * pitch + pitch * 0.3) for i in range(n)]
    nl = g(pitch * rng.uniform(0.2, 0.5))
    # draw the notched wire as the strips between notches
    xs = [0.0] + [v for c0 in cuts for v in (c0, c0 + nl)] + [length]
    for i in range(0, len(xs) - 1):
        notched = i % 2 == 1
        y0 = depth if notched and both else 0.0
        y1 = wm - depth if notched else wm
        b.wire(layer, xs[i], y0, xs[i + 1], y1)
    wn = g(w * rng.uniform(1, 2))
    b.wire(layer, -1, -gap - wn, length + 1, -gap, "lower")
    b.wire(layer, -1, wm + gap, length + 1, wm + gap + wn, "upper")
    wa = g(rl[above][0] * rng.uniform(1, 3))
    xa = g(rng.uniform(3, length - 3))
    b.wire(above, xa, -gap - wn - 3, xa + wa, wm + gap + wn + 3, "over")
    return b


def well(rng: random.Random, k: int, rl: dict) -> Builder:
    ww, wh = g(rng.uniform(10, 16)), g(rng.uniform(8, 14))
    b = Builder(f"well{k}", "well", "")
    b.c.box("nwell", 0, 0, ww, wh)
    # n-tap tie in the top right corner, its li1 strip leaving the well upwards
    tx, ty = g(ww - 1.5), g(wh - 1.5)
    b.c.box("tap", tx, ty, tx + 0.41, ty + 0.41)
    b.c.box("nsdm", tx - 0.125, ty - 0.125, tx + 0.535, ty + 0.535)
    b.li_tie(tx + 0.205, ty + 0.205, "well", out=2.5)
    # p-diffusion with its own tie (an li1 strip upwards)
    dx0, dy0 = g(rng.uniform(2, ww - 6)), g(rng.uniform(4, wh - 5))
    dw, dh = g(rng.uniform(1, 3)), g(rng.uniform(0.6, 2))
    b.c.box("diff", dx0, dy0, dx0 + dw, dy0 + dh)
    b.c.box("psdm", dx0 - 0.125, dy0 - 0.125, dx0 + dw + 0.125, dy0 + dh + 0.125)
    b.c.contact("licon", g(dx0 + 0.3), g(dy0 + 0.3), 0.17)
    b.wire("li1", dx0 + 0.215, dy0 + 0.135, dx0 + 0.385, wh + 1.0)
    b.label("li1", "pd", dx0 + 0.3, wh + 0.8)
    layers = rng.sample(["poly", "li1", "met1", "met2", "met3"], 3)
    descr = []
    for i, layer in enumerate(layers):
        wd = g(rl[layer][0] * rng.uniform(1, 3))
        x0, x1 = g(rng.uniform(-6, 2)), g(rng.uniform(ww - 4, ww + 6))
        if layer == "poly":      # field poly stays off the diffusion
            y = g(dy0 - 1.0 - wd)
        elif layer == "li1":     # below the diffusion: clear of both li1 ties
            y = g(dy0 - 2.2 - wd)
        else:
            y = g(dy0 + dh / 2 + (i - 1) * rng.uniform(1.2, 2.5))
        b.wire(layer, x0, y, x1, y + wd, f"w_{layer}")
        descr.append(f"{layer} {x0}..{x1}")
    b.description = (f"n-well {ww}x{wh} um tied by an n-tap (net well), p-diffusion "
                     f"{dw}x{dh} um (net pd), wires across the well edge: {', '.join(descr)}")
    return b


def diff(rng: random.Random, k: int, rl: dict) -> Builder:
    b = Builder(f"diff{k}", "diff", "")
    dw, dh = g(rng.uniform(2, 5)), g(rng.uniform(1, 3))
    b.c.box("diff", 0, 0, dw, dh)
    b.c.box("nsdm", -0.125, -0.125, dw + 0.125, dh + 0.125)
    b.c.contact("licon", 0.3, 0.3, 0.17)
    b.wire("li1", 0.215, 0.135, 0.385, dh + 2.5)
    b.label("li1", "nd", 0.3, dh + 2.3)
    # p-tap beside it, tied to its own net
    tx = g(dw + rng.uniform(1.0, 2.5))
    b.c.box("tap", tx, 0, tx + 0.41, 0.41)
    b.c.box("psdm", tx - 0.125, -0.125, tx + 0.535, 0.535)
    b.li_tie(tx + 0.205, 0.205, "tie", out=3.0)
    # field poly beside the diffusion
    pw = g(rl["poly"][0] * rng.uniform(1, 3))
    py = g(-0.3 - pw - rng.uniform(0, 1))
    b.wire("poly", -2, py, dw + 4, py + pw, "fp")
    layers = rng.sample(["li1", "met1", "met2", "met3", "met4"], 2)
    for i, layer in enumerate(layers):
        wd = g(rl[layer][0] * rng.uniform(1, 3))
        x = g(0.8 + i * rng.uniform(0.8, 1.6))
        b.wire(layer, x, -4, x + wd, dh + 4, f"w_{layer}")
    b.description = (f"n-diffusion {dw}x{dh} um (net nd), p-tap (net tie), field poly "
                     f"(net fp), {layers[0]} and {layers[1]} wires across")
    return b


def gate(rng: random.Random, k: int, rl: dict) -> Builder:
    pol = "n" if k % 2 == 0 else "p"
    wf, ln, nf = g(rng.uniform(0.6, 2.5)), g(rng.choice([0.15, 0.25, 0.5, 1.0])), rng.randint(1, 3)
    b = Builder(f"gate{k}_{pol}", "gate",
                f"{pol}MOS W={wf} um x {nf} fingers, L={ln} um (imcflow's test drawing) with "
                f"met2 and met3 wires over it")
    synth.mosfet(b.c, 0, 0, w_finger=wf, l=ln, nf=nf, polarity=pol, tap=True,
                 nets=("d", "g", "s"))
    b.nets += ["d", "g", "s"]
    length = (nf + 1) * synth.SD + nf * ln
    y2 = g(rng.uniform(0, wf))
    b.wire("met2", -2, y2, length + 2, y2 + g(rng.uniform(0.14, 0.6)), "m2")
    x3 = g(rng.uniform(0, length))
    b.wire("met3", x3, -3, x3 + g(rng.uniform(0.3, 1.0)), wf + 3, "m3")
    return b


def mim(rng: random.Random, k: int, rl: dict) -> Builder:
    w, h = g(rng.uniform(4, 10)), g(rng.uniform(4, 10))
    b = Builder(f"mim{k}", "mim",
                f"MIM {w}x{h} um (imcflow's drawing: met3 bottom, capm, met4 top plate), met3 "
                f"and met4 wires beside it, a met5 wire over it")
    synth.mim(b.c, 0, 0, w, h, nets=("top", "bot"))
    b.nets += ["top", "bot"]
    b.meta["mim_top_plate_um"] = [round(w - 0.2, 6), round(h - 0.2, 6)]
    b.meta["mim_capm_margin_um"] = 0.1
    b.wire("met3", -0.14 - 1.2 - 0.5, -1, -0.14 - 1.2, h + 1, "n3")
    b.wire("met4", -2, h + g(rng.uniform(0.5, 2)), w + 2, h + 2.5, "n4")
    x5 = g(rng.uniform(0, w - 1.6))
    b.wire("met5", x5, -2, x5 + 1.6, h + 3, "n5")
    return b


def randomwires(rng: random.Random, k: int, rl: dict) -> Builder:
    start = rng.randint(0, 3)
    layers = list(WIRES[start:start + rng.randint(3, 4)])
    b = Builder(f"random{k}", "random", f"random wires on {', '.join(layers)} in 30x30 um")
    for layer in layers:
        w, s = rl[layer]
        placed: list[tuple[float, float, float, float]] = []
        for i in range(rng.randint(3, 6)):
            for _ in range(50):
                wd = g(w * rng.uniform(1, 3))
                ln = g(rng.uniform(3, 25))
                x, y = g(rng.uniform(0, 30 - ln)), g(rng.uniform(0, 30 - wd))
                box = (x, y, x + ln, y + wd) if rng.random() < 0.5 else (y, x, y + wd, x + ln)
                if all(box[0] >= q[2] + s or q[0] >= box[2] + s or box[1] >= q[3] + s
                       or q[1] >= box[3] + s for q in placed):
                    placed.append(box)
                    b.wire(layer, *box, f"{layer}_{i}")
                    break
    return b


KINDS = [(lshape, 4), (partial, 4), (cross3, 3), (far, 3), (notch, 3), (well, 3), (diff, 2),
         (gate, 2), (mim, 1), (randomwires, 4)]


def generate(out: Path, seed: int) -> list[Builder]:
    """Write every structure's GDS and structures.json into ``out``."""
    rng = random.Random(seed)
    rl = rules()
    out.mkdir(parents=True, exist_ok=True)
    built = []
    for fn, count in KINDS:
        for k in range(count):
            b = fn(rng, k, rl)
            write_with(out / f"{b.name}.gds", lambda tmp, c=b.c: c.write(str(tmp)))
            built.append(b)
    manifest = {"set": "imcflow-validation", "seed": seed, "structures": [
        {"name": b.name, "file": f"{b.name}.gds", "kind": b.kind,
         "description": b.description, "nets": b.nets, "meta": b.meta} for b in built]}
    write_text(out / "structures.json", json.dumps(manifest, indent=1) + "\n")
    return built


def mim_artifact(w: float, h: float, margin: float) -> dict:
    """magic's met4-to-met3 capacitance inside a MIM (top plate w × h µm, ``margin`` µm inside
    capm all round), which capm shields: the plate's area coupling and the fringe of its edges
    over the capm margin, by magic's laws (``defaultoverlap`` / ``defaultsideoverlap allm4 …
    allm3``, arctangent share), fF."""
    t = Tech.load()
    area = w * h * t.overlap("met4", "met3")
    share = t.atan_scale * math.atan(t.fringe_mult("met4", "met3") * margin)
    fringe = 2 * (w + h) * t.sideoverlap("met4", "met3") * share
    return {"nets": ["bot", "top"], "fF": round((area + fringe) * 1e-3, 6),
            "what": f"met4-over-met3 capacitance inside the MIM that magic reports as wiring "
                    f"coupling and capm shields: area {w}x{h} um x 84.03 aF/um2 plus the "
                    f"fringe of the top plate's edges over the {margin} um capm margin "
                    f"(70.52 aF/um x 0.6366 atan(1.6806 x {margin}))"}


def reference(out: Path, magic: str, tech: str) -> None:
    """Extract every structure of ``out`` with magic and write ``out/bench.json``."""
    with open(out / "structures.json", encoding="utf-8") as fh:
        manifest = json.load(fh)
    md5 = tech_md5(tech)
    result = {"set": manifest["set"], "seed": manifest["seed"], "units": "fF",
              "source": "magic's extraction of each GDS (benchmarks/magic_oracle.py): values "
                        "read from magic's flat .ext file at full precision",
              "magic": {"version": magic_version(magic), "tech_md5": md5,
                        "tech": "sky130A 1.0.603 (open_pdks)", "extraction": EXTRACTION},
              "structures": []}
    for st in manifest["structures"]:
        caps = run_magic(out / st["file"], st["name"], magic=magic, tech=tech)
        nets = {n: {"to_substrate_fF": round(caps.to_substrate.get(n, 0.0), 6),
                    "total_fF": round(caps.total(n), 6)} for n in st["nets"]}
        missing = [n for n in st["nets"] if n not in caps.to_substrate
                   and not any(n in k for k in caps.coupling)]
        if missing:
            raise RuntimeError(f"{st['name']}: magic reports no capacitance for {missing}")
        entry = {"name": st["name"], "file": st["file"], "kind": st["kind"],
                 "description": st["description"], "nets": nets,
                 "couplings": [{"nets": list(k), "fF": round(v, 6)}
                               for k, v in sorted(caps.coupling.items())
                               if k[0] in st["nets"] and k[1] in st["nets"]],
                 "other_nodes": sorted({x for k in caps.coupling for x in k}
                                       - set(st["nets"]))}
        plate = st.get("meta", {}).get("mim_top_plate_um")
        if plate:
            entry["magic_artifact"] = mim_artifact(*plate, st["meta"]["mim_capm_margin_um"])
        result["structures"].append(entry)
        print(f"{st['name']:24s} " + " ".join(f"{n}={v['total_fF']:.3f}"
                                               for n, v in nets.items()), flush=True)
    write_text(out / "bench.json", json.dumps(result, indent=1) + "\n")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--magic", help="magic executable (runs the reference extraction)")
    ap.add_argument("--tech", help="sky130A.tech for magic")
    args = ap.parse_args(argv)
    built = generate(args.out, args.seed)
    print(f"wrote {len(built)} structures to {args.out}")
    if args.magic:
        if not args.tech:
            ap.error("--magic needs --tech")
        reference(args.out, args.magic, args.tech)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
