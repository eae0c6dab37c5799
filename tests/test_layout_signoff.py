"""Generated layouts are DRC clean and LVS match."""

from __future__ import annotations

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
    validate(spec)
    return [default_spec(), spec]


@pytest.mark.parametrize("idx", [0, 1])
def test_drc_clean_and_lvs_match(idx: int, tmp_path: Path) -> None:
    spec = _specs()[idx]
    gds = L.write_gds(L.build(spec), tmp_path / f"{spec.name}.gds")
    drc = run_drc(gds)
    assert drc.clean, drc.text()
    lvs = run_lvs(gds, spec)
    assert lvs.match, lvs.text()
