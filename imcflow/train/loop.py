"""The training loop: Adam over spike-time losses, a checkpoint every epoch, exact resumption.

Run folder (``config.out``)::

    config.json       the TrainConfig (written once, checked on --resume)
    checkpoint.pt     model + optimiser + scheduler + RNG states + history (after every epoch)
    model.pt          final weights + config + PNN parameters (what ``imcflow eval`` loads)
    metrics.csv       one row per epoch
    metrics.json      history + summary (best/final test accuracy, epoch time)

Determinism: the data order of epoch e comes from a generator seeded with (seed, e); the DSTD
random offsets and spike-time noise draw from torch's global RNG, whose state (CPU and CUDA) is
saved in every checkpoint; evaluation runs under ``fork_rng`` with its own seed, so it never
perturbs training. Resuming therefore reproduces an uninterrupted run bit for bit (same device
and thread count).
"""

from __future__ import annotations

import csv
import io
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from imcflow.atomicio import atomic_path, write_json, write_text
from imcflow.errors import DataError

from .coding import default_scheme, encode, n_inputs
from .config import RESUMABLE_CHANGES, TrainConfig, TrainConfigError
from .data import DATASET_INFO, Dataset, Split, load_dataset
from .loss import accuracy_counts, firing_penalty, spike_time_loss, weight_l2
from .models import PNNNet, build_model

CHECKPOINT = "checkpoint.pt"
MODEL = "model.pt"
CONFIG = "config.json"
METRICS_CSV = "metrics.csv"
METRICS_JSON = "metrics.json"
METRIC_FIELDS = ("epoch", "train_loss", "train_ce", "train_acc", "test_loss", "test_acc",
                 "lr", "epoch_time_s", "eval_time_s")


@dataclass
class TrainResult:
    """What :func:`train_model` returns."""

    config: TrainConfig
    model: PNNNet
    history: list[dict[str, float]]
    test_acc: float
    test_loss: float
    epochs_done: int
    stopped_early: bool = False  # the time limit ended training before config.epochs
    out: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------- helpers
def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise TrainConfigError("device cuda requested but torch sees no CUDA device")
    return dev


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def get_dataset(config: TrainConfig) -> Dataset:
    return load_dataset(config.dataset, data_dir=config.data_dir, val_size=config.val_size,
                        limit_train=config.limit_train, limit_test=config.limit_test,
                        split_seed=config.split_seed)


def make_model(config: TrainConfig) -> PNNNet:
    """The untrained network of ``config`` (weights from torch's current RNG state)."""
    input_shape, n_classes = DATASET_INFO[config.dataset]
    if config.model == "mlp":
        n_in: int | tuple[int, ...] = n_inputs(input_shape, config.bias_spike_)
    else:
        n_in = input_shape
    return build_model(model=config.model, neuron=config.neuron, n_in=n_in,
                       n_classes=n_classes, hidden=config.hidden,
                       params=config.pnn_params(), solver=config.solver, M=config.M,
                       M_test=config.M_test, random_offset=config.random_offset,
                       noise_std=config.noise_std, init_gain=config.init_gain,
                       readout_ste=config.readout_ste)


def encode_batch(config: TrainConfig, x: torch.Tensor) -> torch.Tensor:
    return encode(x, default_scheme(config.dataset), bias_spike=config.bias_spike_,
                  flatten=config.model == "mlp")


def _rng_state(device: torch.device) -> dict[str, Any]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    # plain types and tensors only, so a checkpoint loads with torch.load(weights_only=True)
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate(),
                             "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                                       int(pos), int(has_gauss), float(cached)]}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _epoch_order(config: TrainConfig, epoch: int, n: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)


def _make_scheduler(config: TrainConfig, opt: torch.optim.Optimizer, steps_per_epoch: int):
    if config.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=max(1, config.epochs * steps_per_epoch), eta_min=config.lr * 0.01)
    return None


# ------------------------------------------------------------------------------------ evaluate
@torch.no_grad()
def evaluate(model: PNNNet, split: Split, config: TrainConfig, *,
             device: torch.device | None = None, batch_size: int | None = None,
             seed: int | None = None, noise_std: float | None = None,
             on_batch: Callable[[int], None] | None = None) -> dict[str, float]:
    """Accuracy and loss of ``model`` (in eval mode: M_test / the model's solver) on ``split``.

    Spike-time noise (``noise_std``, default the config's) is drawn from a private RNG stream
    (``seed``, default ``config.eval_seed``), so repeated evaluations agree and training RNG is
    untouched. ``on_batch(k)`` is called after each batch of k samples (progress bars).
    """
    device = device or next(model.parameters()).device
    bs = batch_size or config.eval_batch(model.spiking_layers()[0].solver)
    was_training = model.training
    model.eval()
    devices = [device] if device.type == "cuda" else []
    correct, loss_sum, n = 0, 0.0, len(split)
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(config.eval_seed if seed is None else seed)
            ctx = model.swapped(noise_std=noise_std) if noise_std is not None else _null()
            with ctx:
                for i in range(0, n, bs):
                    x = split.x[i:i + bs].to(device)
                    y = split.y[i:i + bs].to(device)
                    t = model(encode_batch(config, x))
                    loss, _ = spike_time_loss(t, y, tau_soft=config.tau_soft,
                                              gamma1=config.gamma1_, t_ref=config.t_ref_,
                                              t_clip=config.t_clip_)
                    loss_sum += float(loss) * len(y)
                    correct += accuracy_counts(t, y)
                    if on_batch is not None:
                        on_batch(len(y))
    finally:
        model.train(was_training)
    return {"acc": correct / max(n, 1), "loss": loss_sum / max(n, 1), "n": n}


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


# --------------------------------------------------------------------------------------- train
def _check_resume_config(saved: dict[str, Any], config: TrainConfig) -> None:
    now = config.to_dict()
    diffs = sorted(k for k in set(saved) | set(now)
                   if k not in RESUMABLE_CHANGES and saved.get(k) != now.get(k))
    if diffs:
        raise TrainConfigError("cannot resume: options differ from the interrupted run: "
                               + ", ".join(f"{k} ({saved.get(k)!r} -> {now.get(k)!r})"
                                           for k in diffs))
    if config.lr_schedule == "cosine" and saved.get("epochs") != config.epochs:
        raise TrainConfigError("cannot resume a cosine-schedule run with a different --epochs")


def _write_metrics(out: Path, history: list[dict[str, float]], summary: dict[str, Any]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(METRIC_FIELDS), lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: row.get(k) for k in METRIC_FIELDS})
    write_text(out / METRICS_CSV, buf.getvalue())
    write_json(out / METRICS_JSON, {"history": history, "summary": summary})


def _save_torch(path: Path, obj: Any) -> None:
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(obj, tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"checkpoint not found: {p}")
    try:
        # weights_only: a checkpoint is data; loading must not run code from the file
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: the user's problem, not a bug
        raise DataError(f"corrupt checkpoint {p}: {exc}") from exc


def train_model(config: TrainConfig | dict[str, Any], *, out: str | Path | None = None,
                resume: bool = False, dataset: Dataset | None = None,
                show_progress: bool = True) -> TrainResult:
    """Train a PNN as ``config`` says; the Python API behind ``imcflow train``.

    ``out`` (a run folder) enables checkpoints and metrics files; ``resume`` continues from its
    checkpoint (an error if the options differ, except epochs/time limit/threads). ``dataset``
    overrides loading (e.g. a custom split). Returns the trained model (on the configured
    device) and its history; the test accuracy uses DSTD at M_test (or the exact solver if
    ``config.solver == "exact"``) with the configured spike-time noise (seeded, reproducible).
    """
    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    config.validate()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    out_dir = Path(out) if out is not None else None
    data = dataset if dataset is not None else get_dataset(config)
    if len(data.train) == 0 or len(data.test) == 0:
        raise DataError(f"dataset {config.dataset}: empty train or test split")

    seed_everything(config.seed)
    model = make_model(config).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    n_train = len(data.train)
    steps = math.ceil(n_train / config.batch_size)
    sched = _make_scheduler(config, opt, steps)
    history: list[dict[str, float]] = []
    start_epoch = 0

    if out_dir is not None:
        ckpt_path = out_dir / CHECKPOINT
        if resume and ckpt_path.is_file():
            ckpt = load_checkpoint(ckpt_path)
            _check_resume_config(ckpt["config"], config)
            model.load_state_dict(ckpt["model"])
            opt.load_state_dict(ckpt["optimizer"])
            if sched is not None and ckpt.get("scheduler") is not None:
                sched.load_state_dict(ckpt["scheduler"])
            history = list(ckpt["history"])
            start_epoch = int(ckpt["epoch"])
            _set_rng_state(ckpt["rng"], device)
        elif not resume and ckpt_path.is_file():
            raise TrainConfigError(f"{out_dir} already holds a run; pass --resume to continue "
                                   "it or choose another --out")
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json(out_dir / CONFIG, config.to_dict())

    weights = model.weights()
    x_all, y_all = data.train.x, data.train.y
    t_start = time.monotonic()
    stopped_early = False
    last_eval: dict[str, float] = {}

    from imcflow.progress import progress as make_progress

    bar = make_progress() if show_progress else None
    if bar is not None:
        bar.start()
    try:
        epoch = start_epoch
        for epoch in range(start_epoch, config.epochs):
            model.train()
            order = _epoch_order(config, epoch, n_train)
            t0 = time.monotonic()
            loss_sum = ce_sum = 0.0
            correct = seen = 0
            task = None
            if bar is not None:
                task = bar.add_task(f"epoch {epoch + 1}/{config.epochs}", total=steps, status="")
            for step in range(steps):
                idx = order[step * config.batch_size:(step + 1) * config.batch_size]
                x = x_all[idx].to(device, non_blocking=True)
                y = y_all[idx].to(device, non_blocking=True)
                t = model(encode_batch(config, x))
                loss, ce = spike_time_loss(t, y, tau_soft=config.tau_soft,
                                           gamma1=config.gamma1_, t_ref=config.t_ref_,
                                           t_clip=config.t_clip_)
                if config.gamma2_:
                    loss = loss + config.gamma2_ * firing_penalty(weights).to(loss.device)
                if config.weight_l2:
                    loss = loss + config.weight_l2 * weight_l2(weights)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                b = len(y)
                loss_sum += float(loss.detach()) * b
                ce_sum += float(ce.detach()) * b
                correct += accuracy_counts(t.detach(), y)
                seen += b
                if bar is not None and (step % 20 == 0 or step == steps - 1):
                    bar.update(task, completed=step + 1,
                               status=f"loss {loss_sum / seen:.4f} acc {correct / seen:.4f}")
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            epoch_time = time.monotonic() - t0
            t1 = time.monotonic()
            last_eval = evaluate(model, data.test, config, device=device)
            eval_time = time.monotonic() - t1
            row = {"epoch": epoch + 1, "train_loss": loss_sum / seen, "train_ce": ce_sum / seen,
                   "train_acc": correct / seen, "test_loss": last_eval["loss"],
                   "test_acc": last_eval["acc"], "lr": opt.param_groups[0]["lr"],
                   "epoch_time_s": epoch_time, "eval_time_s": eval_time}
            history.append(row)
            if bar is not None:
                bar.update(task, status=f"loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}"
                                        f" test {row['test_acc']:.4f}")
            if out_dir is not None:
                _save_torch(out_dir / CHECKPOINT, {
                    "config": config.to_dict(), "epoch": epoch + 1, "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict() if sched is not None else None,
                    "rng": _rng_state(device), "history": history})
                _write_metrics(out_dir, history, _summary(config, history, done=False))
            if config.time_limit is not None and epoch + 1 < config.epochs:
                elapsed = time.monotonic() - t_start
                per_epoch = elapsed / (epoch + 1 - start_epoch)
                if elapsed + per_epoch > config.time_limit:
                    stopped_early = True
                    break
    finally:
        if bar is not None:
            bar.stop()

    epochs_done = len(history)
    if not history or start_epoch == config.epochs:  # nothing new was trained: evaluate once
        last_eval = evaluate(model, data.test, config, device=device)
    test_acc = last_eval["acc"]
    test_loss = last_eval["loss"]
    summary = _summary(config, history, done=not stopped_early)
    summary.update({"final_test_acc": test_acc, "final_test_loss": test_loss,
                    "stopped_early": stopped_early})
    if out_dir is not None:
        _save_torch(out_dir / MODEL, {"config": config.to_dict(), "model": model.state_dict(),
                                      "params": config.pnn_params().to_dict(),
                                      "epochs": epochs_done})
        _write_metrics(out_dir, history, summary)
    return TrainResult(config=config, model=model, history=history, test_acc=test_acc,
                       test_loss=test_loss, epochs_done=epochs_done, stopped_early=stopped_early,
                       out=out_dir, summary=summary)


def _summary(config: TrainConfig, history: list[dict[str, float]], *, done: bool
             ) -> dict[str, Any]:
    if not history:
        return {"epochs_done": 0, "done": done}
    accs = [r["test_acc"] for r in history]
    best = int(np.argmax(accs))
    times = [r["epoch_time_s"] for r in history]
    return {"epochs_done": len(history), "done": done, "final_test_acc": accs[-1],
            "best_test_acc": accs[best], "best_epoch": history[best]["epoch"],
            "mean_epoch_time_s": float(np.mean(times)), "params": config.pnn_params().to_dict()}


def load_run(run: str | Path, *, device: str = "cpu") -> tuple[TrainConfig, PNNNet]:
    """Load a run folder's config and trained model (``model.pt``, else the last checkpoint)."""
    run = Path(run)
    if not run.is_dir():
        raise DataError(f"run folder not found: {run}")
    src = run / MODEL if (run / MODEL).is_file() else run / CHECKPOINT
    if not src.is_file():
        raise DataError(f"{run} holds no {MODEL} or {CHECKPOINT}: not a training run")
    ckpt = load_checkpoint(src)
    try:
        config = TrainConfig.from_dict(ckpt["config"])
        model = make_model(config)
        model.load_state_dict(ckpt["model"])
    except (KeyError, RuntimeError, TypeError) as exc:
        raise DataError(f"{src} does not match its config: {exc}") from exc
    return config, model.to(resolve_device(device))
