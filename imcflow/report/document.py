"""A small document model written both as Markdown (figures as PNG files beside it) and as one
self-contained HTML file (figures embedded as base64 PNG; no external resources)."""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from imcflow import atomicio


@dataclass
class Table:
    """A table: header row and rows of cells (already formatted strings or numbers)."""

    header: list[str]
    rows: list[list[object]]
    caption: str = ""


@dataclass
class Figure:
    """A matplotlib figure rendered to PNG bytes once, with a file stem and caption."""

    stem: str
    png: bytes
    caption: str = ""

    @classmethod
    def from_matplotlib(cls, fig, stem: str, caption: str = "", dpi: int = 110) -> Figure:
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        # Fixed metadata keeps the PNG bytes deterministic.
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight",
                    metadata={"Software": None})
        plt.close(fig)
        return cls(stem=stem, png=buf.getvalue(), caption=caption)


@dataclass
class Document:
    """Title, then a list of (heading, blocks) sections; blocks are str (a paragraph), Table or
    Figure."""

    title: str
    sections: list[tuple[str, list[object]]] = field(default_factory=list)

    def section(self, heading: str, *blocks: object) -> None:
        self.sections.append((heading, list(blocks)))

    # ------------------------------------------------------------------ Markdown
    def markdown(self, figure_dir: str = "figures") -> str:
        out = [f"# {self.title}", ""]
        for heading, blocks in self.sections:
            out += [f"## {heading}", ""]
            for b in blocks:
                if isinstance(b, Table):
                    out.append("| " + " | ".join(b.header) + " |")
                    out.append("|" + "---|" * len(b.header))
                    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in b.rows]
                    if b.caption:
                        out += ["", f"*{b.caption}*"]
                elif isinstance(b, Figure):
                    out.append(f"![{b.caption}]({figure_dir}/{b.stem}.png)")
                    if b.caption:
                        out += ["", f"*{b.caption}*"]
                else:
                    out.append(str(b))
                out.append("")
        return "\n".join(out)

    # ------------------------------------------------------------------ HTML
    def html(self) -> str:
        esc = html.escape
        out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
               f"<title>{esc(self.title)}</title>",
               "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;"
               "line-height:1.4}table{border-collapse:collapse;margin:1em 0}"
               "td,th{border:1px solid #999;padding:3px 8px;text-align:right}"
               "th{background:#eee}img{max-width:100%}figcaption{font-style:italic}</style>",
               "</head><body>", f"<h1>{esc(self.title)}</h1>"]
        for heading, blocks in self.sections:
            out.append(f"<h2>{esc(heading)}</h2>")
            for b in blocks:
                if isinstance(b, Table):
                    out.append("<table>")
                    if b.caption:
                        out.append(f"<caption>{esc(b.caption)}</caption>")
                    out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in b.header) + "</tr>")
                    for row in b.rows:
                        out.append("<tr>" + "".join(f"<td>{esc(_cell(c))}</td>" for c in row)
                                   + "</tr>")
                    out.append("</table>")
                elif isinstance(b, Figure):
                    data = base64.b64encode(b.png).decode("ascii")
                    out.append(f'<figure><img alt="{esc(b.caption)}" '
                               f'src="data:image/png;base64,{data}">'
                               f"<figcaption>{esc(b.caption)}</figcaption></figure>")
                else:
                    out.append(f"<p>{esc(str(b))}</p>")
        out.append("</body></html>")
        return "\n".join(out) + "\n"

    def write(self, out_dir: str | os.PathLike[str], stem: str = "report") -> tuple[Path, Path]:
        """Write ``<stem>.md`` with ``figures/*.png`` and ``<stem>.html``; atomic; returns paths."""
        out = Path(out_dir)
        for _, blocks in self.sections:
            for b in blocks:
                if isinstance(b, Figure):
                    atomicio.write_bytes(out / "figures" / f"{b.stem}.png", b.png)
        md, ht = out / f"{stem}.md", out / f"{stem}.html"
        atomicio.write_text(md, self.markdown())
        atomicio.write_text(ht, self.html())
        return md, ht


def _cell(c: object) -> str:
    if isinstance(c, float):
        return f"{c:.4g}"
    return str(c)
