"""A 2-layer MLP on scikit-learn's digits trained on analog crosspoint tiles (or in float).

Network: 64 inputs (8x8 pixels / 16, in [0, 1]) + bias input -> ``hidden`` tanh units + bias
input -> 10 softmax outputs; cross-entropy loss. Both layers are analog tiles (the bias is an
extra always-1 input column, as on a crossbar). Forward and backward passes are analog MVMs with
read noise; updates are pulsed rank-one updates of each sample (summed over the mini-batch), with
``lr`` the per-sample learning rate. ``fp`` is the same network, initialisation, data order and
learning rate with float32 SGD. Test accuracy is measured on the noise-free effective weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from imcflow.crosspoint.algorithms import ALGORITHMS, AlgoConfig, make_algorithm
from imcflow.crosspoint.device import DeviceConfig
from imcflow.errors import ImcflowError


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters.

    ``lr`` is the per-sample learning rate of the first epoch; it decays linearly to
    ``lr * lr_final`` in the last epoch (same schedule for every algorithm). ``epochs`` count
    passes over the 1347-sample train split.
    """

    algorithm: str = "sgd"
    epochs: int = 15
    batch_size: int = 8
    lr: float = 0.05
    hidden: int = 32
    lr_final: float = 0.1
    seed: int = 0
    algo: AlgoConfig = field(default_factory=AlgoConfig)

    def __post_init__(self) -> None:
        if self.algorithm not in (*ALGORITHMS, "fp"):
            raise ImcflowError(f"unknown algorithm {self.algorithm!r} "
                               f"(choose from {', '.join((*ALGORITHMS, 'fp'))})")
        if (self.epochs < 1 or self.batch_size < 1 or self.hidden < 1 or not self.lr > 0
                or not 0 < self.lr_final <= 1):
            raise ImcflowError("epochs, batch size and hidden size must be >= 1, lr > 0 and "
                               "0 < lr_final <= 1")


def load_digits_split(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                               torch.Tensor]:
    """Digits as float32 tensors ``(x_train, y_train, x_test, y_test)``; fixed 75/25 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
    return (torch.from_numpy(xtr), torch.from_numpy(ytr), torch.from_numpy(xte),
            torch.from_numpy(yte))


class _FloatLinear:
    """Float32 weight with the analog-weight interface (the floating-point SGD baseline)."""

    def __init__(self, out_f: int, in_f: int) -> None:
        self.w = torch.zeros(out_f, in_f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.w.T

    def backward(self, d: torch.Tensor) -> torch.Tensor:
        return d @ self.w

    def update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        self.w -= lr * d.T @ x

    def weight(self) -> torch.Tensor:
        return self.w

    def set_weight(self, w: torch.Tensor) -> None:
        self.w = w.clone()

    def pulses(self) -> float:
        return 0.0


def _ones(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x, torch.ones(x.shape[0], 1)], dim=1)


@dataclass
class TrainResult:
    """Accuracy history (per epoch, in %), final test accuracy and pulse count."""

    test_accuracy: float
    train_accuracy: float
    history: list[float]
    pulses: float
    config: dict[str, object]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def train_mlp(cfg: TrainConfig, device: DeviceConfig | None = None,
              on_epoch: Callable[[int, float], None] | None = None) -> TrainResult:
    """Train the 2-layer MLP; ``device`` is required unless ``cfg.algorithm == 'fp'``."""
    xtr, ytr, xte, yte = load_digits_split()
    n_in, n_out = xtr.shape[1], 10
    init_gen = torch.Generator().manual_seed(cfg.seed)
    w1 = (torch.rand(cfg.hidden, n_in + 1, generator=init_gen) * 2 - 1) / np.sqrt(n_in + 1)
    w2 = (torch.rand(n_out, cfg.hidden + 1, generator=init_gen) * 2 - 1) / np.sqrt(cfg.hidden + 1)
    if cfg.algorithm == "fp":
        l1: object = _FloatLinear(cfg.hidden, n_in + 1)
        l2: object = _FloatLinear(n_out, cfg.hidden + 1)
    else:
        if device is None:
            raise ImcflowError("an analog algorithm needs a device")
        gen = torch.Generator().manual_seed(cfg.seed + 1)
        l1 = make_algorithm(cfg.algorithm, device, cfg.hidden, n_in + 1, gen, cfg.algo)
        l2 = make_algorithm(cfg.algorithm, device, n_out, cfg.hidden + 1, gen, cfg.algo)
    l1.set_weight(w1)  # type: ignore[attr-defined]
    l2.set_weight(w2)  # type: ignore[attr-defined]

    def accuracy(x: torch.Tensor, y: torch.Tensor) -> float:
        h = torch.tanh(_ones(x) @ l1.weight().T)  # type: ignore[attr-defined]
        logits = _ones(h) @ l2.weight().T  # type: ignore[attr-defined]
        return 100.0 * float((logits.argmax(1) == y).float().mean())

    order_gen = torch.Generator().manual_seed(cfg.seed + 2)
    history: list[float] = []
    eye = torch.eye(n_out)
    for epoch in range(cfg.epochs):
        frac = epoch / max(1, cfg.epochs - 1)
        lr = cfg.lr * (1 - (1 - cfg.lr_final) * frac)
        for layer in (l1, l2):
            if hasattr(layer, "anneal"):
                layer.anneal(lr / cfg.lr)
        perm = torch.randperm(xtr.shape[0], generator=order_gen)
        for start in range(0, xtr.shape[0], cfg.batch_size):
            idx = perm[start:start + cfg.batch_size]
            x1 = _ones(xtr[idx])
            h = torch.tanh(l1.forward(x1))  # type: ignore[attr-defined]
            x2 = _ones(h)
            logits = l2.forward(x2)  # type: ignore[attr-defined]
            d2 = torch.softmax(logits, dim=1) - eye[ytr[idx]]
            d1 = l2.backward(d2)[:, :cfg.hidden] * (1 - h * h)  # type: ignore[attr-defined]
            l2.update(x2, d2, lr)  # type: ignore[attr-defined]
            l1.update(x1, d1, lr)  # type: ignore[attr-defined]
        acc = accuracy(xte, yte)
        history.append(acc)
        if on_epoch is not None:
            on_epoch(epoch, acc)
    conf = asdict(cfg)
    if device is not None:
        conf["device"] = device.to_dict()
    return TrainResult(test_accuracy=history[-1], train_accuracy=accuracy(xtr, ytr),
                       history=history,
                       pulses=float(l1.pulses() + l2.pulses()),  # type: ignore[attr-defined]
                       config=conf)
