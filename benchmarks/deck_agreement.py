"""imcflow's DRC against the official sky130 MPW-precheck KLayout deck, rule by rule.

Draws the negative-test cells of ``tests/drc_cases.py`` (every implemented rule: a cell that
breaks it and its corrected twin, each on its own tile), runs ``imcflow drc`` and the deck on
both layouts, and prints per rule: does imcflow flag the bad cell under that rule and pass the
twin; does the deck (where it implements the rule) flag the bad cell under the same rule and
pass the twin. The deck is not part of imcflow: give its path.

    python benchmarks/deck_agreement.py --deck sky130A_mr.drc [--klayout klayout] [-o out.md]

Needs KLayout's application (``klayout -b``; the pip module has no DRC engine).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import drc_cases as D  # noqa: E402

from imcflow.extract.drc import rules  # noqa: E402

#: The deck's report names → imcflow rule names, where the deck checks the same rule (the
#: deck names some checks differently: nsdm.1 is the spacing rule the table calls nsd.2, its
#: "non-rectangular cut" checks are the table's licon.3/ct.3/via*.3). Its huge-metal checks
#: (m1.3ab, ...) measure from the huge part only, the table's 3b rules; MR_lvtn.OVL.2 is the
#: straddling part of lvtn.10.
DECK_NAMES: dict[str, tuple[str, ...]] = {
    "difftap.1": ("difftap.1",), "difftap.1_a": ("difftap.1",), "difftap.1_b": ("difftap.1",),
    "difftap.1_c": ("difftap.1",), "difftap.3": ("difftap.3",),
    "nwell.1": ("nwell.1",), "nwell.2a": ("nwell.2a",),
    "hvtp.1": ("hvtp.1",), "hvtp.2": ("hvtp.2",), "lvtn.1a": ("lvtn.1a",), "lvtn.2": ("lvtn.2",),
    "MR_lvtn.OVL.2": ("lvtn.10",), "poly.1a": ("poly.1a",), "poly.2": ("poly.2",),
    "npc.1": ("npc.1",), "npc.2": ("npc.2",),
    "nsdm.1": ("nsd.2",), "nsdm.2": ("nsd.1",), "psdm.1": ("psd.2",), "psdm.2": ("psd.1",),
    "nsdm_psdm_overlap": ("n/psd.8",),
    "licon.1": ("licon.1",), "licon.1_c": ("licon.3",), "MR_licon.SP.1": ("licon.2",),
    "licon.13": ("licon.13",), "licon.13_a": ("licon.13",), "licon.17": ("licon.17",),
    "capm.1": ("capm.1",), "capm.2a": ("capm.2a",), "capm.2b": ("capm.2b",),
    "capm.2b_a": ("capm.2b",), "capm.3": ("capm.3",), "capm.4": ("capm.4",),
    "capm.5": ("capm.5",), "capm.11": ("capm.11",),
    "li.1": ("li.1",), "li.3": ("li.3",), "li.5": ("li.5",), "li.6": ("li.6",),
    "ct.1": ("ct.3",), "ct.1_a": ("ct.1",), "ct.1_b": ("ct.1",), "ct.2": ("ct.2",),
    "ct.4": ("ct.4",),
    "m1.1": ("m1.1",), "m1.2": ("m1.2",), "m1.3ab": ("m1.3b",), "791_m1.4": ("m1.4",),
    "m1.4": ("m1.4",), "m1.5": ("m1.5",), "m1.6": ("m1.6",), "m1.7": ("m1.7",),
    "via.1a": ("via.3",), "via.1a_a": ("via.1a",), "via.1a_b": ("via.1a",), "via.2": ("via.2",),
    "via.4a": ("via.4a",), "via.4a_a": ("via.4a",), "via.5a": ("via.5a",),
    "m2.1": ("m2.1",), "m2.2": ("m2.2",), "m2.3ab": ("m2.3b",), "m2.4": ("m2.4",),
    "m2.4_a": ("m2.4",), "m2.5": ("m2.5",), "m2.6": ("m2.6",), "m2.7": ("m2.7",),
    "via2.1a": ("via2.3",), "via2.1a_a": ("via2.1a",), "via2.1a_b": ("via2.1a",),
    "via2.2": ("via2.2",), "via2.4": ("via2.4",), "via2.4_a": ("via2.4",), "via2.5": ("via2.5",),
    "m3.1": ("m3.1",), "m3.2": ("m3.2",), "m3.3cd": ("m3.3d",), "m3.4": ("m3.4",),
    "m3.4_a": ("m3.4",), "m3.6": ("m3.6",), "m3.7": ("m3.7",),
    "via3.1": ("via3.3",), "via3.1_a": ("via3.1",), "via3.1_b": ("via3.1",),
    "via3.2": ("via3.2",), "via3.4": ("via3.4",), "via3.4_a": ("via3.4",), "via3.5": ("via3.5",),
    "m4.1": ("m4.1",), "m4.2": ("m4.2",), "m4.3": ("m4.3",), "m4.3_a": ("m4.3",),
    "m4.4a": ("m4.4a",), "m4.5ab": ("m4.5b",), "m4.7": ("m4.7",),
    "via4.1": ("via4.3",), "via4.1_a": ("via4.1",), "via4.1_b": ("via4.1",),
    "via4.2": ("via4.2",), "via4.4": ("via4.4",), "via4.4_a": ("via4.4",),
    "m5.1": ("m5.1",), "m5.2": ("m5.2",), "m5.3": ("m5.3",), "m5.3_a": ("m5.3",),
    "m5.4": ("m5.4",),
}
#: Angle checks: layers the table's x.2 covers (n × 90°); the deck's other angle checks are x.3a.
X2_LAYERS = ("diff", "tap", "poly", "licon", "ct", "via", "via2", "via3", "via4")


def deck_rule(category: str) -> tuple[str, ...]:
    """imcflow names of a deck report category (empty: a check imcflow names differently)."""
    if category in DECK_NAMES:
        return DECK_NAMES[category]
    if category.endswith("_OFFGRID"):
        return ("x.1b",)
    if category.endswith("_angle"):
        return ("x.2",) if category[:-6] in X2_LAYERS else ("x.3a",)
    return ()


def run_deck(deck: Path, klayout: str, gds_path: Path, report: Path) -> list[tuple[str, float,
                                                                                  float]]:
    """(category, x µm, y µm) of every item the deck reports on ``gds_path``."""
    subprocess.run([klayout, "-b", "-r", str(deck), "-rd", f"input={gds_path}",
                    "-rd", f"report={report}", "-rd", "feol=true", "-rd", "beol=true",
                    "-rd", "offgrid=true"], check=True, capture_output=True)
    out = []
    for item in ET.parse(report).getroot().iter("item"):
        cat = (item.findtext("category") or "").strip("'")
        text = item.findtext("values/value") or ""
        nums = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text.split(":", 1)[-1])]
        xs, ys = nums[0::2], nums[1::2]
        if xs:
            out.append((cat, (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deck", type=Path, required=True, help="path of sky130A_mr.drc")
    ap.add_argument("--klayout", default="klayout", help="KLayout application")
    ap.add_argument("-o", "--out", type=Path, default=None, help="write the table here too")
    args = ap.parse_args()
    res: dict[bool, tuple[dict[int, set[str]], dict[int, set[str]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for bad in (False, True):
            c, index = D.build(bad)
            path = Path(tmp) / f"cases_{int(bad)}.gds"
            c.write(str(path))
            deck_hits: dict[int, set[str]] = defaultdict(set)
            for cat, x, y in run_deck(args.deck, args.klayout, path,
                                      Path(tmp) / f"cases_{int(bad)}.lyrdb"):
                deck_hits[D.tile_of(x, y)].update(deck_rule(cat) or (f"[{cat}]",))
            ours_hits = D.tile_hits(c.layout)
            # x.1a on its own layout (finer database unit), reported on an unused tile
            ly = D.offgrid_1nm(bad)
            p1 = Path(tmp) / f"x1a_{int(bad)}.gds"
            ly.write(str(p1))
            k = -1
            deck_hits[k] = {n for cat, *_ in run_deck(args.deck, args.klayout, p1,
                                                         Path(tmp) / "x1a.lyrdb")
                            for n in deck_rule(cat) or (f"[{cat}]",)}
            ours_hits[k] = {n for hits in D.tile_hits(ly).values() for n in hits}
            res[bad] = (ours_hits, deck_hits)
        index = dict(index, **{"x.1a": -1})
    deck_rules = {n for names in DECK_NAMES.values() for n in names} | {"x.1b", "x.2", "x.3a"}
    lines = ["| rule | imcflow: bad caught / twin clean | deck: bad caught / twin clean |",
             "|---|---|---|"]
    n_ok = n_deck = n_agree = 0
    for r in rules():
        k = index[r.name]
        exempt = D.TWIN_EXEMPT.get(r.name, set())
        ob = r.name in res[True][0].get(k, set())
        og = not (res[False][0].get(k, set()) - exempt)
        ours_s = f"{'yes' if ob else 'NO'} / {'yes' if og else 'NO'}"
        n_ok += ob and og
        if r.name in deck_rules:
            n_deck += 1
            db = r.name in res[True][1].get(k, set())
            dg_set = res[False][1].get(k, set()) - exempt
            twin = "yes" if not dg_set else f"no {sorted(dg_set)}"
            deck_s = f"{'yes' if db else 'no'} / {twin}"
            n_agree += db and not dg_set
        else:
            extra = sorted(res[True][1].get(k, set()))
            deck_s = "— (not in the deck)" + (f"; flags {', '.join(extra)}" if extra else "")
        lines.append(f"| {r.name} | {ours_s} | {deck_s} |")
    lines.append("")
    lines.append(f"{len(rules())} rules: imcflow catches the bad cell and passes the twin for "
                 f"{n_ok}; the deck implements {n_deck} of them and agrees on {n_agree}.")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
