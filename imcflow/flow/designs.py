"""Design points: the demo changed one or two things at a time, as a designer would try it.

Each point is a full spec for :func:`imcflow.flow.run.run_flow` (widths are seeded placeholders;
training replaces them). :data:`SUITE` spans hidden width (3–16), phase length T (0.5–2 µs),
synapse channel length, MIM size and biases, process corner and temperature; ``smoke`` is the
small point CI runs end to end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from imcflow.errors import SpecError
from imcflow.spec import (
    MIM_SIDE_UM,
    DesignSpec,
    NeuronDesign,
    SynapseDesign,
    default_spec,
    make_layer,
    random_widths,
    validate,
)


@dataclass(frozen=True)
class DesignPoint:
    """A named variation of the demo: what changes, and the spec it gives."""

    name: str
    change: str
    build: Callable[[], DesignSpec]

    def spec(self) -> DesignSpec:
        spec = dataclasses.replace(self.build(), name=f"pt_{self.name}")
        validate(spec)
        return spec


def network(hidden: int, *, n_in: int = 5, n_out: int = 3, seed: int = 0,
            mim_um: float = MIM_SIDE_UM, synapse: SynapseDesign | None = None,
            neuron: NeuronDesign | None = None, **top: object) -> DesignSpec:
    """An ``n_in``-``hidden``-``n_out`` RC-Spike network with seeded placeholder widths and the
    demo's devices unless ``synapse``/``neuron`` say otherwise; ``top``: spec fields (corner,
    temperature, T, vdd)."""
    rng = np.random.default_rng(seed)
    layers = (make_layer("l1", random_widths(rng, hidden, n_in), mim_um, synapse=synapse,
                         neuron=neuron),
              make_layer("l2", random_widths(rng, n_out, hidden), mim_um, synapse=synapse,
                         neuron=neuron))
    return dataclasses.replace(default_spec(), layers=layers, **top)


SUITE: tuple[DesignPoint, ...] = (
    DesignPoint("demo", "the embedded demo (5-5-3, tt, 27 °C, T = 1 µs)", default_spec),
    DesignPoint("h3_ss85", "hidden layer of 3, slow corner at 85 °C",
                lambda: network(3, corner="ss", temperature=85.0)),
    DesignPoint("h8", "hidden layer of 8 (5-8-3)", lambda: network(8)),
    DesignPoint("h16_ff_m40", "hidden layer of 16, fast corner at −40 °C",
                lambda: network(16, corner="ff", temperature=-40.0)),
    DesignPoint("T05_L05", "T = 0.5 µs with 0.5 µm synapse current sources",
                lambda: network(5, T=0.5e-6, synapse=SynapseDesign(l_um=0.5))),
    DesignPoint("T2_mim16", "T = 2 µs, 16 µm MIMs, source biases 0.55 / 1.05 V",
                lambda: network(5, T=2e-6, mim_um=16.0,
                                synapse=SynapseDesign(vb_n=0.55, vb_p=1.05))),
    DesignPoint("h5_sf0", "skewed corner sf at 0 °C, 1 µm synapse current sources",
                lambda: network(5, corner="sf", temperature=0.0,
                                synapse=SynapseDesign(l_um=1.0))),
)

#: The small point CI runs end to end (a 5-3-3 network at the slow/hot corner, T = 0.5 µs).
SMOKE = DesignPoint("smoke", "5-3-3, ss, 85 °C, T = 0.5 µs (CI)",
                    lambda: network(3, corner="ss", temperature=85.0, T=0.5e-6))


def point(name: str) -> DesignPoint:
    """The suite point (or ``smoke``) called ``name``."""
    for p in (*SUITE, SMOKE):
        if p.name == name:
            return p
    raise SpecError(f"unknown design point {name!r}; known: "
                    f"{', '.join(p.name for p in (*SUITE, SMOKE))}")
