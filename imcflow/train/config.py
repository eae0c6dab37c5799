"""Training configuration: one flat, JSON-serialisable dataclass with the paper's defaults."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from imcflow.errors import ImcflowError

from .data import DATASETS
from .models import MODELS, NEURONS, SOLVERS

LR_SCHEDULES = ("none", "cosine")


class TrainConfigError(ImcflowError, ValueError):
    """A training option is out of range or inconsistent (the message names it)."""


@dataclass
class TrainConfig:
    """Everything a training run depends on. ``None`` fields take the neuron's paper default.

    Physics: ``params`` is a full :class:`imcflow.pnn.PNNParams` dict (e.g. fitted to SPICE by the
    fit stage); ``E_pos``/``E_neg`` override its reversal potentials (``E`` sets both to ±E).
    With neither, the ideal model (|E| = ∞) is used.
    """

    # data
    dataset: str = "fmnist"
    data_dir: str | None = None
    val_size: int = 0
    limit_train: int | None = None
    limit_test: int | None = None
    split_seed: int = 0
    bias_spike: bool | None = None  # None: True for iris (the paper), False otherwise
    # network
    model: str = "mlp"
    neuron: str = "rc"
    hidden: tuple[int, ...] = (400, 400)
    params: dict[str, Any] | None = None
    E: float | None = None
    E_pos: float | None = None
    E_neg: float | None = None
    solver: str = "dstd"
    M: int | None = None
    M_test: int | None = None
    random_offset: bool = True
    init_gain: float | None = None
    readout_ste: bool = True  # straight-through gradient at the RC output layer's clip
    # loss
    tau_soft: float = 0.07
    gamma1: float | None = None  # temporal penalty; rc 2.6, ttfs 0.02
    t_ref: float | None = None  # rc 0.9, ttfs 3.2
    gamma2: float | None = None  # firing term Q; rc 0, ttfs 8e-6
    weight_l2: float = 0.0
    t_clip: float | None = None  # inf (no spike) clipped to this in the loss; rc 1, ttfs 2·t_ref
    noise_std: float = 0.01  # Gaussian spike-time noise (train and test)
    # optimiser / loop
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-4
    lr_schedule: str = "none"
    seed: int = 0
    eval_batch_size: int | None = None  # None: 500 (MLP, DSTD), 50 (CNN or exact solver)
    eval_seed: int = 1234
    time_limit: float | None = None  # seconds; stop after the epoch that would overrun it
    threads: int | None = None
    device: str = "cpu"
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes carried to metrics

    # -------------------------------------------------------------------------------- defaults
    @property
    def gamma1_(self) -> float:
        return self.gamma1 if self.gamma1 is not None else (2.6 if self.neuron == "rc" else 0.02)

    @property
    def t_ref_(self) -> float:
        return self.t_ref if self.t_ref is not None else (0.9 if self.neuron == "rc" else 3.2)

    @property
    def gamma2_(self) -> float:
        return self.gamma2 if self.gamma2 is not None else (0.0 if self.neuron == "rc" else 8e-6)

    @property
    def t_clip_(self) -> float:
        return self.t_clip if self.t_clip is not None else (1.0 if self.neuron == "rc"
                                                            else 2.0 * self.t_ref_)

    def eval_batch(self, solver: str | None = None) -> int:
        """Evaluation batch size: the configured one, else 500 for a DSTD MLP and 50 for a CNN
        or the exact solver (their per-sample memory is ~M_test·C·H·W resp. N_in·N_out)."""
        if self.eval_batch_size is not None:
            return self.eval_batch_size
        small = self.model == "cnn" or (solver or self.solver) == "exact"
        return 50 if small else 500

    @property
    def bias_spike_(self) -> bool:
        return self.bias_spike if self.bias_spike is not None else self.dataset == "iris"

    # ------------------------------------------------------------------------------- physics
    def pnn_params(self):
        """The :class:`imcflow.pnn.PNNParams` of this run (``params`` with E± overrides)."""
        from imcflow.pnn import PNNParams

        try:
            base = (PNNParams.from_dict(self.params) if self.params is not None
                    else PNNParams.ideal())
        except ValueError as exc:
            raise TrainConfigError(f"bad PNN parameters: {exc}") from exc
        e_pos, e_neg = self.E_pos, self.E_neg
        if self.E is not None:
            e_pos = abs(self.E) if e_pos is None else e_pos
            e_neg = -abs(self.E) if e_neg is None else e_neg
        changes = {}
        if e_pos is not None:
            changes["E_pos"] = float(e_pos)
        if e_neg is not None:
            changes["E_neg"] = float(e_neg)
        try:
            return dataclasses.replace(base, **changes) if changes else base
        except ValueError as exc:
            raise TrainConfigError(f"bad PNN parameters: {exc}") from exc

    # --------------------------------------------------------------------------- validation
    def validate(self) -> TrainConfig:
        def bad(msg: str) -> TrainConfigError:
            return TrainConfigError(msg)

        if self.dataset not in DATASETS:
            raise bad(f"dataset must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        if self.model not in MODELS:
            raise bad(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.neuron not in NEURONS:
            raise bad(f"neuron must be one of {', '.join(NEURONS)}, got {self.neuron!r}")
        if self.solver not in SOLVERS:
            raise bad(f"solver must be one of {', '.join(SOLVERS)}, got {self.solver!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise bad(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}")
        if self.model == "cnn" and self.dataset == "iris":
            raise bad("the CNN needs image data (fmnist or digits), not iris")
        if self.model == "cnn" and self.bias_spike:
            raise bad("bias_spike is only supported for the MLP")
        if any(int(h) < 1 for h in self.hidden):
            raise bad(f"hidden sizes must be positive, got {list(self.hidden)}")
        if self.E is not None and not (self.E > 0):
            raise bad(f"E must be > 0 (it sets E+ = E, E- = -E), got {self.E}")
        if self.E_pos is not None and not (self.E_pos > 0):
            raise bad(f"E_pos must be > 0, got {self.E_pos}")
        if self.E_neg is not None and not (self.E_neg < 0):
            raise bad(f"E_neg must be < 0, got {self.E_neg}")
        for name in ("M", "M_test"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise bad(f"{name} must be >= 1, got {v}")
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise bad(f"{name} must be >= 1, got {getattr(self, name)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise bad(f"lr must be > 0, got {self.lr}")
        if not self.tau_soft > 0:
            raise bad(f"tau_soft must be > 0, got {self.tau_soft}")
        if self.noise_std < 0 or self.weight_l2 < 0:
            raise bad("noise_std and weight_l2 must be >= 0")
        if self.val_size < 0:
            raise bad(f"val_size must be >= 0, got {self.val_size}")
        if self.threads is not None and self.threads < 1:
            raise bad(f"threads must be >= 1, got {self.threads}")
        if self.device not in ("cpu", "cuda", "auto") and not self.device.startswith("cuda:"):
            raise bad(f"device must be cpu, cuda[:N] or auto, got {self.device!r}")
        return self

    # ---------------------------------------------------------------------------- (de)serialise
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise TrainConfigError(f"unknown training option(s): {', '.join(unknown)}")
        d = dict(d)
        if "hidden" in d and d["hidden"] is not None:
            d["hidden"] = tuple(int(h) for h in d["hidden"])
        return cls(**d)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


# Fields that may differ between an interrupted run and its resumption without changing results.
RESUMABLE_CHANGES = frozenset({"epochs", "time_limit", "threads", "eval_batch_size", "extra",
                               "data_dir"})
