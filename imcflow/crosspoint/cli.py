"""``imcflow crosspoint``: train on asymmetric crosspoint arrays, program arrays, run the study."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click
import torch

from imcflow.atomicio import write_json
from imcflow.crosspoint.algorithms import ALGORITHMS
from imcflow.crosspoint.device import PRESETS, get_preset
from imcflow.errors import ImcflowError
from imcflow.progress import progress


def _out_dir(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise ImcflowError(f"--out {path} exists and is not a directory")
    path.mkdir(parents=True, exist_ok=True)
    return path


@click.group("crosspoint")
def crosspoint() -> None:
    """Resistive crosspoint arrays: asymmetric devices, SGD / Tiki-Taka / SHD, GDP."""


@crosspoint.command("devices")
def devices() -> None:
    """List the device presets and their parameters."""
    for cfg in PRESETS.values():
        click.echo(json.dumps(cfg.to_dict(), sort_keys=True))


@crosspoint.command("train")
@click.option("--algorithm", type=click.Choice(ALGORITHMS), default="sgd", show_default=True,
              help="Analog training algorithm.")
@click.option("--device", type=click.Choice(sorted(PRESETS)), default="reram-mild",
              show_default=True, help="Device preset.")
@click.option("--asymmetry", type=click.FloatRange(min=0.0, max=20.0), default=None,
              help="Asymmetry A (0 symmetric, 1 soft bounds at the hard bounds); "
                   "default: the preset's.")
@click.option("--epochs", type=click.IntRange(min=1, max=1000), default=12, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1, max=1024), default=8, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0.0, min_open=True, max=10.0), default=0.05,
              show_default=True, help="Per-sample learning rate (first epoch).")
@click.option("--hidden", type=click.IntRange(min=1, max=4096), default=32, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Output directory (train.json is written atomically).")
def train(algorithm: str, device: str, asymmetry: float | None, epochs: int, batch_size: int,
          lr: float, hidden: int, seed: int, out: Path) -> None:
    """Train the 2-layer digits MLP on analog tiles; also reports the float-SGD baseline."""
    from imcflow.crosspoint.mlp import TrainConfig, train_mlp

    torch.manual_seed(seed)
    out = _out_dir(out)
    dev = get_preset(device, asymmetry)
    cfg = TrainConfig(algorithm=algorithm, epochs=epochs, batch_size=batch_size, lr=lr,
                      hidden=hidden, seed=seed)
    with progress() as bar:
        task = bar.add_task(f"{algorithm} on {dev.name} A={dev.asymmetry:g}", total=epochs,
                            status="")
        result = train_mlp(cfg, dev, on_epoch=lambda e, acc: bar.update(
            task, advance=1, status=f"test {acc:.1f}%"))
    fp = train_mlp(dataclasses.replace(cfg, algorithm="fp"))
    payload = result.to_dict()
    payload["fp_test_accuracy"] = fp.test_accuracy
    payload["fp_history"] = fp.history
    write_json(out / "train.json", payload)
    click.echo(f"{algorithm} on {dev.name} (A={dev.asymmetry:g}): test accuracy "
               f"{result.test_accuracy:.1f}% (float SGD {fp.test_accuracy:.1f}%) -> "
               f"{out / 'train.json'}")


@crosspoint.command("program")
@click.option("--method", type=click.Choice(["gdp", "iterative"]), default="gdp",
              show_default=True, help="Gradient-descent programming or program-and-verify.")
@click.option("--device", type=click.Choice(sorted(PRESETS)), default="reram-mild",
              show_default=True)
@click.option("--asymmetry", type=click.FloatRange(min=0.0, max=20.0), default=None)
@click.option("--adc-bits", type=click.IntRange(min=1, max=24), default=8, show_default=True)
@click.option("--pulses", type=click.IntRange(min=1, max=10**6), default=1000,
              show_default=True, help="Pulse budget per cell.")
@click.option("--rows", type=click.IntRange(min=1, max=4096), default=64, show_default=True)
@click.option("--cols", type=click.IntRange(min=1, max=4096), default=64, show_default=True)
@click.option("--read-noise", type=click.FloatRange(min=0.0, max=1.0), default=0.01,
              show_default=True, help="Std of one cell read [normalised weight units].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Output JSON file (written atomically).")
def program_cmd(method: str, device: str, asymmetry: float | None, adc_bits: int, pulses: int,
                rows: int, cols: int, read_noise: float, seed: int, out: Path) -> None:
    """Program random target weights into an array; report the normalised MVM error."""
    from imcflow.crosspoint.program import ProgramConfig, program_gdp, program_iterative

    if out.exists() and out.is_dir():
        raise ImcflowError(f"--out {out} is a directory; give a file name")
    cfg = ProgramConfig(rows=rows, cols=cols, device=device, asymmetry=asymmetry,
                        read_noise=read_noise, adc_bits=adc_bits, pulses=pulses, seed=seed)
    with progress(transient=True) as bar:
        task = bar.add_task(f"{method} {rows}x{cols}", total=pulses, status="")

        def tick(p: float, err: float) -> None:
            bar.update(task, completed=p, status=f"error {err:.4f}")

        if method == "gdp":
            res = program_gdp(cfg, on_step=tick)
        else:
            res = program_iterative(cfg, on_round=tick)
    write_json(out, res.to_dict())
    click.echo(f"{method}: normalised MVM error {res.mvm_error:.4f} with "
               f"{res.pulses_per_cell:.0f} pulses/cell, {adc_bits}-bit ADC -> {out}")


@crosspoint.command("study")
@click.option("--part", type=click.Choice(["all", "accuracy", "toy", "programming"]),
              default="all", show_default=True)
@click.option("--epochs", type=click.IntRange(min=1, max=200), default=12, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Optional JSON file with all numbers (written atomically).")
def study(part: str, epochs: int, seed: int, out: Path | None) -> None:
    """Print the measured tables: fixed-point toy, GDP vs iterative, accuracy vs asymmetry."""
    from imcflow.crosspoint import study as st

    torch.set_num_threads(1)
    results: dict[str, object] = {}
    if part in ("all", "toy"):
        results["toy"] = st.toy_table(seed=seed)
        click.echo(st.format_toy(results["toy"]))  # type: ignore[arg-type]
    if part in ("all", "programming"):
        results["programming"] = st.programming_table(seed=seed)
        click.echo(st.format_programming(results["programming"]))  # type: ignore[arg-type]
    if part in ("all", "accuracy"):
        n = len(st.DEFAULT_ASYMMETRIES) * len(ALGORITHMS)
        with progress(transient=True) as bar:
            task = bar.add_task("accuracy vs asymmetry", total=n, status="")
            results["accuracy"] = st.accuracy_table(
                epochs=epochs, seed=seed,
                tick=lambda s: bar.update(task, advance=1, status=s))
        click.echo(st.format_accuracy(results["accuracy"]))  # type: ignore[arg-type]
    if out is not None:
        write_json(out, results)


COMMANDS = [crosspoint]
