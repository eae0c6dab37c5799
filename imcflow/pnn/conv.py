"""Exact solvers for 2-D convolution layers (im2col onto the fully connected exact solvers).

Every output pixel is an independent neuron whose inputs are its receptive field; padding is
"never spikes" (+inf), not time 0. The DSTD convolutions live in :mod:`imcflow.pnn.dstd`
(per-bin coefficients by ``conv2d``).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ._common import check_inputs
from .exact import rc_spike_exact, ttfs_exact
from .params import PNNParams

__all__ = ["rc_spike_conv2d_exact", "ttfs_conv2d_exact", "im2col_times"]


def _pair(x: int | tuple[int, int]) -> tuple[int, int]:
    return (x, x) if isinstance(x, int) else (int(x[0]), int(x[1]))


def im2col_times(
    t_in: Tensor, kernel: tuple[int, int], stride=1, padding=0
) -> tuple[Tensor, int, int]:
    """Receptive fields of every output pixel: [B·H'·W', C·kh·kw] times (padding = +inf)."""
    ph, pw = _pair(padding)
    if ph or pw:
        t_in = F.pad(t_in, (pw, pw, ph, ph), value=float("inf"))
    B, C, H, W = t_in.shape
    kh, kw = kernel
    sh, sw = _pair(stride)
    h_out = (H - kh) // sh + 1
    w_out = (W - kw) // sw + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"kernel {kernel} larger than the padded input {(H, W)}")
    cols = F.unfold(t_in, kernel, stride=(sh, sw))  # [B, C·kh·kw, L]
    cols = cols.transpose(1, 2).reshape(B * h_out * w_out, C * kh * kw)
    return cols, h_out, w_out


def _conv_exact(fn, t_in, weight, params, stride, padding, **kw):
    check_inputs(t_in, weight, params, conv=True)
    B = t_in.shape[0]
    c_out = weight.shape[0]
    cols, h_out, w_out = im2col_times(t_in, tuple(weight.shape[2:]), stride, padding)
    out = fn(cols, weight.reshape(c_out, -1), params, **kw)
    return out.reshape(B, h_out, w_out, c_out).permute(0, 3, 1, 2)


def rc_spike_conv2d_exact(
    t_in: Tensor,
    weight: Tensor,
    params: PNNParams,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> Tensor:
    """Exact RC-Spike conv: t_in [B, C_in, H, W], weight [C_out, C_in, kh, kw] →
    [B, C_out, H', W']."""
    return _conv_exact(rc_spike_exact, t_in, weight, params, stride, padding)


def ttfs_conv2d_exact(
    t_in: Tensor,
    weight: Tensor,
    params: PNNParams,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> Tensor:
    """Exact TTFS conv: t_in [B, C_in, H, W], weight [C_out, C_in, kh, kw] → [B, C_out, H', W']."""
    return _conv_exact(ttfs_exact, t_in, weight, params, stride, padding)
