"""``imcflow train`` and ``imcflow eval``: thin click wrappers around :mod:`imcflow.train`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from imcflow import jsonio
from imcflow.atomicio import write_json
from imcflow.errors import DataError

from .config import TrainConfig, TrainConfigError
from .data import DATASETS
from .models import MODELS, NEURONS, SOLVERS


def _floats(text: str | None, what: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise click.BadParameter(f"{what}: expected comma-separated numbers, got {text!r}"
                                 ) from None


def _read_params_file(path: str) -> dict[str, Any]:
    data = jsonio.load(path, "PNN parameter file")
    if isinstance(data, dict) and isinstance(data.get("params"), dict):
        data = data["params"]
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object of PNN parameters")
    return data


def _set_threads(threads: int | None) -> int:
    import torch

    n = threads or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n


# Map click parameter names -> TrainConfig fields (same name unless listed).
_RENAME = {"noise": "noise_std", "e": "E", "e_pos": "E_pos", "e_neg": "E_neg", "m": "M",
           "m_test": "M_test"}
_NOT_CONFIG = {"out", "resume", "study_e", "params_file", "hidden", "random_offset", "quiet",
               "n_select"}


@click.command("train")
@click.option("--dataset", type=click.Choice(DATASETS), default="fmnist", show_default=True)
@click.option("--model", type=click.Choice(MODELS), default="mlp", show_default=True)
@click.option("--neuron", type=click.Choice(NEURONS), default="rc", show_default=True,
              help="RC-Spike (the circuit) or event-driven TTFS neurons.")
@click.option("--hidden", default="400,400", show_default=True,
              help="MLP hidden layer sizes, comma-separated (e.g. 5 for Iris 5-5-3).")
@click.option("--E", "e", type=float, default=None,
              help="Symmetric reversal potentials: E+ = E, E- = -E (default: ideal, |E| = inf).")
@click.option("--E-pos", "e_pos", type=float, default=None, help="E+ (> 0); overrides --E.")
@click.option("--E-neg", "e_neg", type=float, default=None, help="E- (< 0); overrides --E.")
@click.option("--params", "params_file", type=click.Path(dir_okay=False), default=None,
              help="JSON file of fitted PNN parameters (PNNParams fields); --E* override it.")
@click.option("--solver", type=click.Choice(SOLVERS), default="dstd", show_default=True)
@click.option("--M", "m", type=int, default=None, help="DSTD steps in training (rc 10, ttfs 20).")
@click.option("--M-test", "m_test", type=int, default=None,
              help="DSTD steps at test time (rc 30, ttfs 60).")
@click.option("--random-offset/--fixed-offset", default=True, show_default=True,
              help="DSTD grid offset drawn per mini-batch and layer, or fixed at 0.")
@click.option("--epochs", type=int, default=10, show_default=True)
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--eval-batch-size", type=int, default=None,
              help="Evaluation batch (default 500 for a DSTD MLP, 50 for a CNN or exact).")
@click.option("--lr", type=float, default=1e-4, show_default=True, help="Adam learning rate.")
@click.option("--lr-schedule", type=click.Choice(["none", "cosine"]), default="none",
              show_default=True)
@click.option("--tau-soft", type=float, default=0.07, show_default=True)
@click.option("--gamma1", type=float, default=None,
              help="Temporal penalty weight (rc 2.6, ttfs 0.02).")
@click.option("--t-ref", type=float, default=None,
              help="Temporal penalty target (rc 0.9, ttfs 3.2).")
@click.option("--gamma2", type=float, default=None, help="Firing term Q weight (ttfs 8e-6).")
@click.option("--weight-l2", type=float, default=0.0, show_default=True,
              help="Weight 2-norm penalty.")
@click.option("--noise", type=float, default=0.01, show_default=True,
              help="Gaussian spike-time noise sigma (training and test).")
@click.option("--init-gain", type=float, default=None,
              help="He-normal weight init with this gain (default: the layers' own init).")
@click.option("--readout-ste/--no-readout-ste", default=True, show_default=True,
              help="Straight-through gradient at the RC output layer's [0, 1] clip (without "
                   "it, output neurons pinned at t = 1 stop learning).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Folder of the Fashion-MNIST IDX .gz files "
                   "(default /usr/share/datasets/fashion-mnist).")
@click.option("--val-size", type=int, default=0, show_default=True,
              help="Training samples held out for model selection (scaled-ANN search).")
@click.option("--limit-train", type=int, default=None,
              help="Use only the first N training samples.")
@click.option("--limit-test", type=int, default=None, help="Use only the first N test samples.")
@click.option("--time-limit", type=float, default=None,
              help="Seconds; stop after the last epoch that fits (checkpoint kept, resumable).")
@click.option("--threads", type=int, default=None, help="torch threads (default: all cores).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda[:N] or auto.")
@click.option("--out", type=click.Path(file_okay=False), required=True,
              help="Run folder (e.g. runs/NAME): checkpoint, metrics, model.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint.")
@click.option("--study-E", "study_e", default=None,
              help="Run the |E| study instead: comma-separated |E| values (e.g. "
                   "1,1.5,2.8,5,10,30,100); one sub-run per value plus ANN baselines.")
@click.option("--n-select", type=int, default=5000, show_default=True,
              help="Study: samples for the scaled-ANN grid search (validation split if any, "
                   "else the first training samples).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def train(ctx: click.Context, **opts: Any) -> None:
    """Train a physical neural network (RC-Spike or TTFS) on spike-time coded data."""
    from .baselines import format_study, run_study
    from .loop import CONFIG, train_model

    out = Path(opts["out"])
    fields: dict[str, Any] = {}
    for name, value in opts.items():
        if name in _NOT_CONFIG:
            continue
        fields[_RENAME.get(name, name)] = value
    hidden = _floats(opts["hidden"], "--hidden") or []
    fields["hidden"] = tuple(int(h) for h in hidden)
    fields["random_offset"] = opts["random_offset"]
    if opts["params_file"]:
        fields["params"] = _read_params_file(opts["params_file"])
    fields["threads"] = _set_threads(opts["threads"])

    if opts["resume"] and (out / CONFIG).is_file():
        # Continue with the stored options; only options given on this command line change.
        saved = jsonio.load(out / CONFIG, "run configuration")
        explicit = {p.name for p in ctx.command.params
                    if ctx.get_parameter_source(p.name) == click.core.ParameterSource.COMMANDLINE}
        for name in list(fields):
            click_name = next((k for k, v in _RENAME.items() if v == name), name)
            if click_name in explicit or name in ("threads",):
                saved[name] = fields[name]
        fields = saved
    config = TrainConfig.from_dict(fields).validate()

    if opts["study_e"] is not None:
        values = _floats(opts["study_e"], "--study-E")
        if not values or any(v <= 0 for v in values):
            raise TrainConfigError("--study-E needs positive |E| values")
        table = run_study(config, out, E_values=values, n_select=opts["n_select"],
                          show_progress=not opts["quiet"])
        click.echo(format_study(table), nl=False)
        click.echo(f"study written to {out}/study.md")
        return

    result = train_model(config, out=out, resume=opts["resume"], show_progress=not opts["quiet"])
    s = result.summary
    click.echo(f"{config.dataset} {config.model} {config.neuron}: {result.epochs_done} epochs, "
               f"test accuracy {100 * result.test_acc:.2f} % "
               f"(best {100 * s.get('best_test_acc', result.test_acc):.2f} %), "
               f"mean epoch {s.get('mean_epoch_time_s', float('nan')):.1f} s"
               + (" [stopped by --time-limit; --resume continues]" if result.stopped_early
                  else ""))
    click.echo(f"run written to {out}")


@click.command("eval")
@click.argument("run", type=click.Path())
@click.option("--solver", type=click.Choice(SOLVERS), default=None,
              help="Solver at test time (default: the run's).")
@click.option("--M-test", "m_test", type=int, default=None, help="DSTD steps at test time.")
@click.option("--E", "e", type=float, default=None, help="Test at symmetric |E| (ANN transfer).")
@click.option("--E-pos", "e_pos", type=float, default=None)
@click.option("--E-neg", "e_neg", type=float, default=None)
@click.option("--scaled", is_flag=True,
              help="Also grid-search positive/negative weight scales (scaled-ANN baseline).")
@click.option("--n-select", type=int, default=5000, show_default=True)
@click.option("--noise", type=float, default=None, help="Spike-time noise (default: the run's).")
@click.option("--limit-test", type=int, default=None)
@click.option("--batch-size", type=int, default=None, help="Evaluation batch size.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None)
@click.option("--threads", type=int, default=None)
@click.option("--device", default="cpu", show_default=True)
def eval_(run: str, solver: str | None, m_test: int | None, e: float | None,
          e_pos: float | None, e_neg: float | None, scaled: bool, n_select: int,
          noise: float | None, limit_test: int | None, batch_size: int | None,
          data_dir: str | None, threads: int | None, device: str) -> None:
    """Evaluate a trained run folder on the test split (exact solver or DSTD at M_test)."""
    import dataclasses

    from .baselines import scaled_search, selection_split
    from .loop import evaluate, get_dataset, load_run

    _set_threads(threads)
    config, model = load_run(run, device=device)
    changes: dict[str, Any] = {"device": device}
    if data_dir is not None:
        changes["data_dir"] = data_dir
    if limit_test is not None:
        changes["limit_test"] = limit_test
    if noise is not None:
        changes["noise_std"] = noise
    config = config.replace(**changes)
    params = config.pnn_params()
    if e is not None:
        if e <= 0:
            raise TrainConfigError("--E must be > 0")
        params = dataclasses.replace(params, E_pos=e, E_neg=-e)
    try:
        if e_pos is not None:
            params = dataclasses.replace(params, E_pos=e_pos)
        if e_neg is not None:
            params = dataclasses.replace(params, E_neg=e_neg)
    except ValueError as exc:
        raise TrainConfigError(str(exc)) from exc
    data = get_dataset(config)
    used_solver = solver or config.solver
    # the run's eval batch was sized for its training device: default afresh here
    bs = batch_size or config.replace(eval_batch_size=None).eval_batch(used_solver)
    from imcflow.progress import progress

    def run_test(label: str) -> dict[str, float]:
        with progress() as bar:
            task = bar.add_task(label, total=len(data.test), status="")
            return evaluate(model, data.test, config, batch_size=bs,
                            on_batch=lambda k: bar.advance(task, k))

    with model.swapped(params=params, solver=used_solver, M_test=m_test,
                       noise_std=config.noise_std):
        res = run_test(f"test ({used_solver})")
    m_used = model.spiking_layers()[0].M_test if m_test is None else m_test
    record: dict[str, Any] = {"run": str(run), "solver": used_solver,
                              "M_test": m_used if used_solver == "dstd" else None,
                              "params": params.to_dict(), "noise_std": config.noise_std,
                              "n": res["n"], "acc": res["acc"], "loss": res["loss"]}
    click.echo(f"{used_solver}" + (f" M_test={m_used}" if used_solver == "dstd" else "")
               + f" E+={params.E_pos:g} E-={params.E_neg:g}: test accuracy "
               f"{100 * res['acc']:.2f} % on {res['n']} samples (loss {res['loss']:.4f})")
    if scaled:
        with model.swapped(solver=used_solver, M_test=m_test, noise_std=config.noise_std):
            found = scaled_search(model, config, selection_split(data, n_select), params=params)
            with model.swapped(params=params, scales=(found["scale_pos"], found["scale_neg"])):
                sres = run_test("test (scaled)")
        record["scaled"] = {**found, "acc": sres["acc"]}
        click.echo(f"scaled (a+={found['scale_pos']:.3g}, a-={found['scale_neg']:.3g}): "
                   f"test accuracy {100 * sres['acc']:.2f} %")
    tag = used_solver + (f"-M{m_used}" if used_solver == "dstd" else "")
    if e is not None or e_pos is not None or e_neg is not None:
        tag += f"-E{params.E_pos:g}_{params.E_neg:g}"
    path = Path(run) / f"eval-{tag}.json"
    write_json(path, record)
    click.echo(f"written to {path}")


COMMANDS = [train, eval_]


@click.group()
def _main() -> None:
    """Training stage alone (``python -m imcflow.train.cli``), without the other stages."""


_main.add_command(train)
_main.add_command(eval_)

if __name__ == "__main__":
    import sys

    from imcflow.errors import ImcflowError

    try:
        _main.main(standalone_mode=False)
    except ImcflowError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
