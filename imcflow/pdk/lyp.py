"""The KLayout layer-properties file (``.lyp``) for the layers imcflow draws.

``imcflow/pdk/data/imcflow.lyp`` is generated from the PDK's layer map (the GDS numbers) and the
display styles below (colour and stipple per layer, imcflow's own choice): open a GDS with it as
``klayout -l imcflow.lyp design.gds`` and every layer carries its sky130 name. Regenerate the
shipped file after a layer change with ``python -m imcflow.pdk.lyp``; tests/test_pdk.py checks
that it is current.
"""

from __future__ import annotations

import sys
from xml.sax.saxutils import escape

from imcflow import atomicio
from imcflow.pdk import Pdk, get

#: Display style per drawing layer: (colour, KLayout dither pattern index, visible). Patterns:
#: I0 solid, I1 hollow, I2–I5 dots, I9/I10 diagonal hatches, I11/I12 cross-hatches.
STYLES: dict[str, tuple[str, int, bool]] = {
    "nwell": ("#7a9ec7", 1, True),
    "dnwell": ("#4c6e96", 1, True),
    "pwell_marker": ("#a88a5c", 1, False),
    "diff": ("#3fbf3f", 4, True),
    "tap": ("#2e9e6e", 4, True),
    "poly": ("#e03c31", 9, True),
    "licon": ("#4d2600", 0, True),
    "li1": ("#b37ad6", 10, True),
    "mcon": ("#30104a", 0, True),
    "met1": ("#3a7bd5", 9, True),
    "via": ("#0b2a57", 0, True),
    "met2": ("#e0a020", 10, True),
    "via2": ("#5c3d00", 0, True),
    "met3": ("#2bb5b5", 11, True),
    "via3": ("#0d4747", 0, True),
    "met4": ("#c84fa0", 12, True),
    "via4": ("#4a1238", 0, True),
    "met5": ("#8c8c8c", 5, True),
    "capm": ("#f2e94e", 3, True),
    "nsdm": ("#9fd39f", 1, False),
    "psdm": ("#e6b3b3", 1, False),
    "lvtn": ("#ffd24d", 1, False),
    "hvtp": ("#ff9a4d", 1, False),
    "npc": ("#b0b0ff", 1, False),
    "areaid_core": ("#bbbbbb", 1, False),
}


def _entry(name: str, layer: tuple[int, int], colour: str, dither: int, visible: bool) -> str:
    ln, dt = layer
    return "\n".join([
        " <properties>",
        f"  <frame-color>{colour}</frame-color>",
        f"  <fill-color>{colour}</fill-color>",
        "  <frame-brightness>0</frame-brightness>",
        "  <fill-brightness>0</fill-brightness>",
        f"  <dither-pattern>I{dither}</dither-pattern>",
        "  <valid>true</valid>",
        f"  <visible>{'true' if visible else 'false'}</visible>",
        "  <transparent>false</transparent>",
        "  <width>1</width>",
        "  <marked>false</marked>",
        "  <animation>0</animation>",
        f"  <name>{escape(name)} {ln}/{dt}</name>",
        f"  <source>{ln}/{dt}@1</source>",
        " </properties>",
    ])


def lyp_text(pdk: Pdk | None = None) -> str:
    """The ``.lyp`` XML: every drawing layer (styled as :data:`STYLES`), then every label purpose
    (the conductor's colour, text only)."""
    p = pdk or get()
    missing = sorted(set(p.layers) - set(STYLES))
    if missing:
        raise KeyError(f"no display style for layer(s) {', '.join(missing)}")
    parts = ['<?xml version="1.0" encoding="utf-8"?>', "<layer-properties>"]
    for name, layer in p.layers.items():
        colour, dither, visible = STYLES[name]
        parts.append(_entry(name, layer, colour, dither, visible))
    for cond, layer in p.label_layers.items():
        colour = STYLES[cond][0]
        parts.append(_entry(f"{cond}.label", layer, colour, 1, True))
    parts.append("</layer-properties>")
    return "\n".join(parts) + "\n"


def main() -> int:
    """Regenerate the shipped ``imcflow.lyp`` (or write to the path given as argument)."""
    p = get()
    out = sys.argv[1] if len(sys.argv) > 1 else p.data_dir / "imcflow.lyp"
    atomicio.write_text(out, lyp_text(p))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
