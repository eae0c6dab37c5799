"""Reading a GDS for verification: layer map, top cell, flattening, label texts.

Everything downstream (DRC, device extraction, parasitics, LVS) works on the GDS alone: this
module loads it with ``klayout.db``, checks that every layer is one imcflow knows (the PDK
object's layer map, ``imcflow/pdk/data/layers.yaml``), picks the top cell and returns a flattened
copy. Coordinates are in the layout's database units; helpers convert to µm.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import klayout.db as kdb

from imcflow import pdk
from imcflow.errors import DataError

#: Cells that gdsfactory adds for its own bookkeeping; never a design top cell.
_META_CELLS = ("$$$CONTEXT_INFO$$$",)


def layer_map() -> dict[str, dict[str, tuple[int, int]]]:
    """The PDK's layer map as ``{"drawing": {name: (layer, datatype)}, "label": {...}}``."""
    p = pdk.get()
    return {"drawing": p.layers, "label": p.label_layers}


def known_layers() -> set[tuple[int, int]]:
    """Every (layer, datatype) pair the layer map names (drawing and label purposes)."""
    m = layer_map()
    return set(m["drawing"].values()) | set(m["label"].values())


@dataclass
class Design:
    """A flattened top cell ready for verification.

    ``layout`` holds one cell, ``top`` (flattened). ``dbu`` is µm per database unit.
    """

    path: Path
    layout: kdb.Layout
    top: kdb.Cell
    top_name: str

    @property
    def dbu(self) -> float:
        return self.layout.dbu

    def region(self, name: str) -> kdb.Region:
        """Merged drawing shapes of layer ``name`` (a key of the layer map's ``drawing``)."""
        ln, dt = layer_map()["drawing"][name]
        idx = self.layout.find_layer(ln, dt)
        if idx is None:
            return kdb.Region()
        reg = kdb.Region(self.top.begin_shapes_rec(idx))
        reg.merge()
        return reg

    def layer_index(self, ln: int, dt: int) -> int | None:
        return self.layout.find_layer(ln, dt)

    def labels(self) -> list[tuple[str, str, float, float]]:
        """(conductor layer name, text, x µm, y µm) of every label in the top cell."""
        out = []
        for cond, (ln, dt) in layer_map()["label"].items():
            idx = self.layout.find_layer(ln, dt)
            if idx is None:
                continue
            for sh in self.top.shapes(idx).each():
                if sh.is_text():
                    t = sh.text
                    out.append((cond, t.string, t.x * self.dbu, t.y * self.dbu))
        return out


def _pick_top(layout: kdb.Layout, top: str | None, path: Path) -> kdb.Cell:
    if top is not None:
        cell = layout.cell(top)
        if cell is None:
            names = ", ".join(sorted(c.name for c in layout.each_cell())) or "none"
            raise DataError(f"{path}: no cell named {top!r} (cells: {names})")
        return cell
    tops = [c for c in layout.top_cells() if c.name not in _META_CELLS]
    if not tops:
        raise DataError(f"{path}: the GDS has no top cell")
    if len(tops) > 1:
        names = ", ".join(sorted(c.name for c in tops))
        raise DataError(f"{path}: several top cells ({names}); choose one with --top")
    return tops[0]


def load(path: str | os.PathLike[str], top: str | None = None, *,
         allow_unknown_layers: bool = False) -> Design:
    """Read ``path``, pick the top cell (``top`` or the single top cell) and flatten it.

    Raises :class:`DataError` for an unreadable file, a missing top cell or shapes on layers
    the layer map does not name (unless ``allow_unknown_layers``).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"GDS file not found: {p}")
    layout = kdb.Layout()
    try:
        layout.read(str(p))
    except RuntimeError as exc:
        msg = str(exc).splitlines()[0] if str(exc) else "unreadable"
        raise DataError(f"{p}: cannot read GDS ({msg})") from None
    cell = _pick_top(layout, top, p)
    if not allow_unknown_layers:
        known = known_layers()
        unknown = []
        for idx in layout.layer_indexes():
            info = layout.get_info(idx)
            if (info.layer, info.datatype) in known:
                continue
            if not cell.begin_shapes_rec(idx).at_end():
                unknown.append(f"{info.layer}/{info.datatype}")
        if unknown:
            raise DataError(f"{p}: shapes on layers not in imcflow/pdk/data/layers.yaml: "
                            + ", ".join(sorted(unknown)))
    name = cell.name
    # Work on a copy holding only the chosen top cell, flattened.
    flat = kdb.Layout()
    flat.dbu = layout.dbu
    new_top = flat.create_cell(name)
    new_top.copy_tree(cell)
    new_top.flatten(-1, True)
    for c in [c for c in flat.each_cell() if c.cell_index() != new_top.cell_index()]:
        flat.delete_cell(c.cell_index())
    return Design(path=p, layout=flat, top=new_top, top_name=name)


def from_layout(layout: kdb.Layout, top: str | None = None,
                path: str = "<memory>") -> Design:
    """Like :func:`load` for a layout already in memory (tests, benchmarks)."""
    cell = _pick_top(layout, top, Path(path))
    flat = kdb.Layout()
    flat.dbu = layout.dbu
    new_top = flat.create_cell(cell.name)
    new_top.copy_tree(cell)
    new_top.flatten(-1, True)
    for c in [c for c in flat.each_cell() if c.cell_index() != new_top.cell_index()]:
        flat.delete_cell(c.cell_index())
    return Design(path=Path(path), layout=flat, top=new_top, top_name=cell.name)
