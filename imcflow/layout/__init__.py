"""Layout generator: sky130 GDS of an RC-Spike network from its design spec.

* :func:`build` — the network as a ``klayout.db.Layout`` (top cell ``imc_net_<name>``); the same
  spec always gives the same geometry, cell names and cell order;
* :func:`write_gds` — byte-identical GDS for the same spec (no timestamps, fixed library name, no
  context cell), written atomically;
* :func:`write` — GDS + PNG render into a folder, returns :class:`LayoutFiles` (paths, area µm²);
* :func:`area_um2` — bounding-box area of the top cell in µm².

Geometry, metal assignment and label conventions are documented in :mod:`imcflow.layout.cells`;
:mod:`imcflow.layout.components` offers the same cells as gdsfactory Components with typed ports.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import klayout.db as kdb

from imcflow import atomicio
from imcflow.errors import ImcflowError, SpecError
from imcflow.layout.cells import draw_network
from imcflow.layout.rules import DBU_UM
from imcflow.spec import DesignSpec, validate

__all__ = ["LayoutFiles", "area_um2", "build", "top_cell", "write", "write_gds"]

#: GDS library name written into every file (fixed for byte-identical output).
LIBNAME = "IMCFLOW"


class LayoutFiles(NamedTuple):
    """What :func:`write` produced: GDS and PNG paths and the layout area in µm²."""

    gds: Path
    png: Path
    area_um2: float


def build(spec: DesignSpec) -> kdb.Layout:
    """Draw ``spec`` (validated first) and return the layout; its only top cell is
    ``imc_net_<spec.name>``. Units: dbu = 0.001 µm."""
    if not isinstance(spec, DesignSpec):
        raise SpecError(f"expected a DesignSpec, got {type(spec).__name__}")
    validate(spec)
    layout = kdb.Layout()
    layout.dbu = DBU_UM
    draw_network(layout, spec)
    return layout


def top_cell(layout: kdb.Layout) -> kdb.Cell:
    """The single top cell of ``layout``."""
    tops = layout.top_cells()
    if len(tops) != 1:
        raise ImcflowError(f"layout has {len(tops)} top cells, expected 1")
    return tops[0]


def area_um2(layout: kdb.Layout) -> float:
    """Bounding-box area of the top cell in µm²."""
    box = top_cell(layout).bbox()
    return box.width() * DBU_UM * box.height() * DBU_UM


def save_options() -> kdb.SaveLayoutOptions:
    """GDS writer options without anything time- or tool-dependent."""
    opt = kdb.SaveLayoutOptions()
    opt.format = "GDS2"
    opt.gds2_write_timestamps = False
    opt.gds2_libname = LIBNAME
    opt.gds2_write_cell_properties = False
    opt.gds2_write_file_properties = False
    opt.write_context_info = False
    opt.gds2_max_cellname_length = 32000
    return opt


def write_gds(layout: kdb.Layout, path: str | os.PathLike[str]) -> Path:
    """Write ``layout`` as GDS atomically; the bytes depend only on the geometry."""
    out = Path(path)
    atomicio.write_with(out, lambda tmp: layout.write(str(tmp), save_options()))
    return out


def write(spec: DesignSpec, out_dir: str | os.PathLike[str],
          name: str | None = None) -> LayoutFiles:
    """Build ``spec`` and write ``<out_dir>/<name>.gds`` and ``<name>.png`` (name defaults to
    the spec name)."""
    from imcflow.layout.render import render_png

    layout = build(spec)
    folder = Path(out_dir)
    stem = name or spec.name
    gds = write_gds(layout, folder / f"{stem}.gds")
    area = area_um2(layout)
    png = render_png(top_cell(layout), folder / f"{stem}.png",
                     title=f"{spec.name}: {'-'.join(map(str, spec.shape))}, "
                           f"{area:,.0f} µm²")
    return LayoutFiles(gds=gds, png=png, area_um2=area)
