"""A fitted layer of round numbers (5-5-3-demo-like physics) for training tests."""

from __future__ import annotations

import numpy as np

from imcflow.fit.transient import FittedLayer, LayerPhysics


def toy_layer(n_in: int, n_out: int) -> tuple[LayerPhysics, FittedLayer]:
    """Physics and fit of an ``n_in`` → ``n_out`` layer: 100 nA synapses, 1 pF membranes."""
    phys = LayerPhysics(sign=np.ones((n_out, n_in)), current_A=np.full((n_out, n_in), 1e-7),
                        c_F=np.full(n_out, 1e-12), v0_V=1.3, v_th_V=0.82, T_s=1e-6, E_pos=3.0,
                        E_neg=-2.0, i_dis_A=8.2e-7, beta_d=0.2)
    return phys, FittedLayer(c_eff_F=(1e-12,) * n_out, v_th=1.0, beta_d=0.2, delay_in=0.0,
                             delay_out=0.0, E_pos=3.0, E_neg=-2.0)
