"""PNG render of a layout with matplotlib (headless, Agg): one colour per layer, merged
polygons, labels optional. Written atomically and without timestamps in the PNG metadata."""

from __future__ import annotations

import os
from pathlib import Path

import klayout.db as kdb

from imcflow import atomicio
from imcflow.layout.rules import DBU_UM, layers

#: Layers drawn, bottom to top, with colour and opacity.
STYLE: tuple[tuple[str, str, float], ...] = (
    ("nwell", "#c8c8a0", 0.35), ("diff", "#2e9e3e", 0.6), ("tap", "#7bd17f", 0.6),
    ("poly", "#d62728", 0.7), ("li1", "#9467bd", 0.45), ("met1", "#1f77b4", 0.4),
    ("met2", "#e377c2", 0.4), ("met3", "#17becf", 0.35), ("capm", "#8c564b", 0.5),
    ("met4", "#ff7f0e", 0.3),
)


def render_png(cell: kdb.Cell, path: str | os.PathLike[str], max_px: int = 2400,
               title: str | None = None) -> Path:
    """Render ``cell`` (flattened view) to a PNG at ``path``; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    layout = cell.layout()
    bbox = cell.bbox()
    w_um, h_um = bbox.width() * DBU_UM, bbox.height() * DBU_UM
    aspect = h_um / max(w_um, 1e-9)
    fig_w = 12.0 if aspect <= 1 else max(3.0, 12.0 / aspect)
    fig_h = max(2.0, min(fig_w * aspect, 24.0))
    dpi = max(50, int(max_px / max(fig_w, fig_h)))
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), dpi=dpi)
    lmap = layers()
    for name, color, alpha in STYLE:
        li = layout.find_layer(*lmap[name])
        if li is None:
            continue
        region = kdb.Region(cell.begin_shapes_rec(li)).merged()
        polys = []
        for poly in region.each():
            pts = [(p.x * DBU_UM, p.y * DBU_UM) for p in poly.each_point_hull()]
            polys.append(pts)
        if polys:
            ax.add_collection(PolyCollection(polys, facecolors=color, edgecolors="none",
                                             alpha=alpha, label=name))
    ax.set_xlim(bbox.left * DBU_UM, bbox.right * DBU_UM)
    ax.set_ylim(bbox.bottom * DBU_UM, bbox.top * DBU_UM)
    ax.set_aspect("equal")
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.set_title(title or cell.name)
    ax.legend(loc="upper right", fontsize=6, ncol=2)
    fig.tight_layout()
    out = Path(path)
    atomicio.write_with(out, lambda tmp: fig.savefig(tmp, format="png",
                                                     metadata={"Software": None}))
    plt.close(fig)
    return out
