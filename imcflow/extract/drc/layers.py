"""Drawing and derived layers the rule checks run on.

A :class:`Layers` object hands out merged ``klayout.db.Region`` objects of a flattened design by
name: the drawing layers of ``imcflow/pdk/data/layers.yaml`` and the derived layers below, each
computed once on first use. Derived layers follow the SkyWater layer definitions (table C3 of
the rule documentation) where it defines them; "selection" below means whole polygons of the
first layer are kept, "∩ / −" are boolean operations.
"""

from __future__ import annotations

from collections.abc import Callable

import klayout.db as kdb

from imcflow.extract.gds import Design, layer_map

Region = kdb.Region


def _union(*regions: Region) -> Region:
    out = Region()
    for r in regions:
        out += r
    return out.merged()


#: Derived layers: name → (doc, function of the Layers object).
DERIVED: dict[str, tuple[str, Callable[[Layers], Region]]] = {
    "difftap": ("diff ∪ tap", lambda L: _union(L["diff"], L["tap"])),
    "gate": ("diff ∩ poly (C3 gate)", lambda L: L["diff"] & L["poly"]),
    "pfet": ("gate ∩ nwell (C3 pfet)", lambda L: L["gate"] & L["nwell"]),
    "lvtn_gate": ("gates overlapping lvtn (C3 LVTN_Gate)",
                  lambda L: L["gate"].overlapping(L["lvtn"])),
    "gate_out_lvtn": ("gates not overlapping lvtn",
                      lambda L: L["gate"].not_overlapping(L["lvtn"])),
    "pfet_lvtn": ("pfets overlapping lvtn", lambda L: L["pfet"].overlapping(L["lvtn"])),
    "pfet_out_lvtn": ("pfets not overlapping lvtn",
                      lambda L: L["pfet"].not_overlapping(L["lvtn"])),
    "pfet_hvtp": ("pfets overlapping hvtp", lambda L: L["pfet"].overlapping(L["hvtp"])),
    "pfet_out_hvtp": ("pfets not overlapping hvtp",
                      lambda L: L["pfet"].not_overlapping(L["hvtp"])),
    "lvtn_on_nwell": ("lvtn polygons overlapping nwell",
                      lambda L: L["lvtn"].overlapping(L["nwell"])),
    "pdiff": ("diff ∩ nwell (C3 P+_diff)", lambda L: L["diff"] & L["nwell"]),
    "ndiff": ("diff − nwell (C3 N+_diff)", lambda L: L["diff"] - L["nwell"]),
    "ntap": ("tap ∩ nwell (C3 N+_tap)", lambda L: L["tap"] & L["nwell"]),
    "ptap": ("tap − nwell (C3 P+_tap)", lambda L: L["tap"] - L["nwell"]),
    "poly_field": ("poly − (diff ∪ tap)", lambda L: L["poly"] - L["difftap"]),
    "tap_butting": ("taps touching diff", lambda L: L["tap"].interacting(L["diff"])),
    "tap_isolated": ("taps not touching diff (C3 isolated_tap)",
                     lambda L: L["tap"].not_interacting(L["diff"])),
    "source_diff": ("(diff − poly) pieces touching a tap (C3 source_diffusion)",
                    lambda L: (L["diff"] - L["poly"]).interacting(L["tap"])),
    "licon_difftap": ("licons overlapping (diff ∪ tap) − poly",
                      lambda L: L["licon"].overlapping(L["difftap"] - L["poly"])),
    "licon_diff": ("licons overlapping diff − poly",
                   lambda L: L["licon"].overlapping(L["diff"] - L["poly"])),
    "licon_isotap": ("licons overlapping an isolated tap",
                     lambda L: L["licon"].overlapping(L["tap_isolated"])),
    "licon_ntap": ("licons overlapping n+ tap", lambda L: L["licon"].overlapping(L["ntap"])),
    "poly_licon": ("licons not overlapping (diff ∪ tap) − poly (C3 poly_licon1)",
                   lambda L: L["licon"].not_overlapping(L["difftap"] - L["poly"])),
    "poly_licon_no_npc": ("poly licon − npc", lambda L: L["poly_licon"] - L["npc"]),
    "licon_unlanded": ("licons missing li1, or missing poly/diff/tap",
                       lambda L: _union(L["licon"].not_overlapping(L["li1"]),
                                        L["licon"].not_overlapping(
                                            _union(L["poly"], L["difftap"])))),
    "licon_poly_difftap": ("licons overlapping both poly and diff/tap",
                           lambda L: L["licon"].overlapping(L["poly"])
                           .overlapping(L["difftap"])),
    "poly_on_ptap": ("(poly − nwell) ∩ tap", lambda L: (L["poly"] - L["nwell"]) & L["tap"]),
    "difftap_n": ("(diff ∪ tap) ∩ nsdm", lambda L: L["difftap"] & L["nsdm"]),
    "difftap_p": ("(diff ∪ tap) ∩ psdm", lambda L: L["difftap"] & L["psdm"]),
    "difftap_np": ("(diff ∪ tap) ∩ nsdm ∩ psdm", lambda L: L["difftap_n"] & L["psdm"]),
    "difftap_no_implant": ("(diff ∪ tap) − nsdm − psdm",
                           lambda L: L["difftap"] - L["nsdm"] - L["psdm"]),
    "via3_capm": ("via3 overlapping capm (the capacitor's top-plate contacts)",
                  lambda L: L["via3"].overlapping(L["capm"])),
    "via3_off_capm": ("via3 not overlapping capm",
                      lambda L: L["via3"].not_overlapping(L["capm"])),
    "met3_off_capm": ("met3 polygons not touching capm",
                      lambda L: L["met3"].not_interacting(L["capm"])),
}


class Layers:
    """Merged regions of a design by layer name (drawing or derived), computed lazily."""

    def __init__(self, design: Design) -> None:
        self.design = design
        self.dbu = design.dbu
        self._cache: dict[str, Region] = {}
        self.drawing = tuple(layer_map()["drawing"])

    def __getitem__(self, name: str) -> Region:
        if name not in self._cache:
            if name in DERIVED:
                self._cache[name] = DERIVED[name][1](self)
            elif name in self.drawing:
                self._cache[name] = self.design.region(name)
            else:
                raise KeyError(f"unknown DRC layer {name!r}")
        return self._cache[name]

    @staticmethod
    def known(name: str) -> bool:
        return name in DERIVED or name in layer_map()["drawing"]
