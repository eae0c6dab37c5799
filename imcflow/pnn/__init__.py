"""The physical neural network (PNN): RC-Spike and TTFS neurons with reversal potentials and a
non-ideal fire ramp; exact event solver and the DSTD solver; Linear and Conv2d layers.

Time is normalised to the phase length (window [0, 1]); ``+inf`` = never spikes. See
:mod:`imcflow.pnn.params` for the model equations.
"""

from .conv import rc_spike_conv2d_exact, ttfs_conv2d_exact
from .dstd import (
    bin_edges,
    occupancy,
    rc_spike_conv2d_dstd,
    rc_spike_dstd,
    ttfs_conv2d_dstd,
    ttfs_dstd,
)
from .exact import (
    rc_spike_exact,
    rc_spike_membrane_exact,
    rc_spike_membrane_range,
    rc_spike_v_exact,
    ttfs_exact,
)
from .layers import (
    RCSpikeConv2d,
    RCSpikeLinear,
    SpikeMinPool2d,
    TTFSConv2d,
    TTFSLinear,
    init_spike_weights,
)
from .params import PNNParams

__all__ = [
    "PNNParams",
    "rc_spike_exact",
    "rc_spike_v_exact",
    "rc_spike_membrane_exact",
    "rc_spike_membrane_range",
    "ttfs_exact",
    "rc_spike_dstd",
    "ttfs_dstd",
    "rc_spike_conv2d_exact",
    "ttfs_conv2d_exact",
    "rc_spike_conv2d_dstd",
    "ttfs_conv2d_dstd",
    "bin_edges",
    "occupancy",
    "RCSpikeLinear",
    "TTFSLinear",
    "RCSpikeConv2d",
    "TTFSConv2d",
    "SpikeMinPool2d",
    "init_spike_weights",
]
