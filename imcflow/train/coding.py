"""Spike-time coding of input features (PAPERS.md §1.3, §1.4).

Times are normalised to the phase length T: 0 is the start of the accumulate phase, 1 its end, and
``inf`` means "no spike". Images use t = 1 − x (bright pixel ⇒ early spike; a black pixel spikes
at t = 1 and so contributes nothing in an RC-Spike layer); Iris uses t = x per min-max-scaled
feature plus one bias spike at t = 0 (as the paper's 5-input circuit).
"""

from __future__ import annotations

import torch

SCHEMES = ("image", "direct")


def default_scheme(dataset: str) -> str:
    """The paper's coding: ``direct`` (t = x) for Iris, ``image`` (t = 1 − x) otherwise."""
    return "direct" if dataset == "iris" else "image"


def encode(x: torch.Tensor, scheme: str = "image", *, bias_spike: bool = False,
           flatten: bool = True) -> torch.Tensor:
    """Features ``x`` in [0, 1] ([B, ...]) → input spike times.

    ``flatten`` gives [B, N] (for an MLP), otherwise the feature shape is kept ([B, C, H, W] for a
    CNN). ``bias_spike`` appends one extra input spiking at t = 0 (flattened inputs only).
    """
    if scheme == "image":
        t = 1.0 - x.clamp(0.0, 1.0)
    elif scheme == "direct":
        t = x.clamp(0.0, 1.0)
    else:
        raise ValueError(f"unknown coding scheme {scheme!r}; choose one of {SCHEMES}")
    if flatten:
        t = t.reshape(t.shape[0], -1)
        if bias_spike:
            t = torch.cat([t, torch.zeros(t.shape[0], 1, dtype=t.dtype, device=t.device)], dim=1)
    elif bias_spike:
        raise ValueError("a bias spike needs flattened inputs (an MLP)")
    return t


def n_inputs(input_shape: tuple[int, ...], bias_spike: bool) -> int:
    """Number of input spike lines of an MLP for features of ``input_shape``."""
    n = 1
    for s in input_shape:
        n *= s
    return n + int(bias_spike)
