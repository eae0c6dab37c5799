"""Generated layouts are DRC clean and LVS match: the demo, mixed fingers and MIM sizes, 5-8-3,
a 16-input layer, many fingers and rectangular MIMs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from imcflow import layout as L
from imcflow.extract.drc import drc as run_drc
from imcflow.extract.lvs import lvs as run_lvs
from imcflow.spec import DesignSpec, default_spec, make_layer, random_widths, validate


def _specs() -> list[DesignSpec]:
    rng = np.random.default_rng(7)
    w = random_widths(rng, 6, 4, 1.0, 3.0)
    w = np.round(w / 0.01) * 0.01
    wide = make_layer("w", w, fingers=np.full((6, 4), 2), mim_um=np.linspace(2.0, 12.0, 6))
    spec = DesignSpec(name="mixed", layers=(wide,))
    rng = np.random.default_rng(3)
    n583 = DesignSpec(name="n583", layers=(make_layer("h", random_widths(rng, 8, 5)),
                                           make_layer("o", random_widths(rng, 3, 8))))
    rng = np.random.default_rng(4)
    in16 = DesignSpec(name="in16", layers=(make_layer("x", random_widths(rng, 4, 16, 0.42, 2.0)),))
    # many fingers, a 20 µm finger, rectangular MIMs from 2 × 30 to 30 × 2 µm
    nf = np.array([[8, 4, 1, 2], [3, 5, 6, 7], [1, 1, 8, 4]])
    per = np.array([[0.5, -0.6, 0.42, 1.0], [0.7, -0.45, 0.42, 0.5], [20.0, -1.2, 0.55, -2.5]])
    lay = make_layer("f", per * nf, fingers=nf, mim_um=np.array([2.0, 30.0, 13.35]))
    lay = dataclasses.replace(lay, mim_w_um=(2.0, 30.0, 13.35), mim_l_um=(30.0, 2.0, 7.05))
    fingers = DesignSpec(name="fingers", layers=(lay,))
    out = [default_spec(), spec, n583, in16, fingers]
    for sp in out:
        validate(sp)
    return out


@pytest.mark.parametrize("idx", range(5))
def test_drc_clean_and_lvs_match(idx: int, tmp_path: Path) -> None:
    spec = _specs()[idx]
    gds = L.write_gds(L.build(spec), tmp_path / f"{spec.name}.gds")
    drc = run_drc(gds)
    assert drc.clean, drc.text()
    lvs = run_lvs(gds, spec)
    assert lvs.match, lvs.text()
