"""Reports: metrics, and an HTML document that parses and embeds its figures."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from imcflow.report import Document, Figure, Table, spike_time_errors  # noqa: E402


def test_spike_time_errors_in_ns_and_percent():
    t_spice = np.array([0.5, 0.6, 0.7, np.inf])
    t_model = t_spice + np.array([0.002, -0.002, 0.002, 0.0])
    m = spike_time_errors(t_model, t_spice, T_s=1e-6)
    assert m["n"] == 3
    assert m["rms_ns"] == pytest.approx(2.0)
    assert m["rms_pct_T"] == pytest.approx(0.2)
    assert m["p95_ns"] == pytest.approx(2.0)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(dict(attrs)["src"])


def test_html_is_self_contained_and_markdown_links_figures(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    doc = Document("Test <report>")
    doc.section("Numbers", "a paragraph & more", Table(["a", "b"], [[1, 2.5]], "cap"),
                Figure.from_matplotlib(fig, "line", "a line"))
    md, ht = doc.write(tmp_path)
    p = _Collect()
    p.feed(ht.read_text())
    assert p.imgs and all(s.startswith("data:image/png;base64,") for s in p.imgs)
    png = base64.b64decode(p.imgs[0].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "table" in p.tags and "Test &lt;report&gt;" in ht.read_text()
    assert "![a line](figures/line.png)" in md.read_text()
    assert (tmp_path / "figures" / "line.png").read_bytes() == png
