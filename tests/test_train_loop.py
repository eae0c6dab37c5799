"""Training loop: a tiny task learns, resumption is bit-exact, the baselines run."""

from __future__ import annotations

import json

import pytest
import torch

from imcflow.errors import DataError
from imcflow.train import TrainConfig, TrainConfigError, load_run, train_model
from imcflow.train.baselines import scaled_search, transfer_eval
from imcflow.train.data import Dataset, Split


def _toy(n_train=192, n_test=96, n_in=8, seed=0) -> Dataset:
    """Two classes: class c spikes early on its half of the inputs, late on the other half
    (direct coding t = x, so a small feature is an early spike)."""
    g = torch.Generator().manual_seed(seed)

    def make(n):
        y = torch.randint(0, 2, (n,), generator=g)
        x = 0.7 + 0.3 * torch.rand(n, n_in, generator=g)
        half = n_in // 2
        for c in (0, 1):
            rows = y == c
            x[rows, c * half:(c + 1) * half] -= 0.6
        return Split(x.clamp(0, 1), y)

    return Dataset(name="iris", train=make(n_train), val=None, test=make(n_test), n_classes=2,
                   input_shape=(n_in,))


def _cfg(**kw) -> TrainConfig:
    base = dict(dataset="iris", hidden=(12,), bias_spike=True, E=3.0, lr=3e-3, batch_size=16,
                epochs=4, noise_std=0.01, gamma1=0.1, threads=1, eval_batch_size=64)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(autouse=True)
def _toy_shape(monkeypatch):
    """The toy has 8 features (+ bias spike): tell the model builder through the iris entry."""
    from imcflow.train import data as data_mod

    monkeypatch.setitem(data_mod.DATASET_INFO, "iris", ((8,), 2))


def test_tiny_task_learns():
    from imcflow.train import evaluate
    from imcflow.train.loop import make_model, seed_everything

    data = _toy()
    cfg = _cfg(epochs=12)
    seed_everything(cfg.seed)
    before = evaluate(make_model(cfg), data.train, cfg)
    res = train_model(cfg, dataset=data, show_progress=False)
    after = evaluate(res.model, data.train, cfg)
    assert after["loss"] < 0.5 * before["loss"]
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]
    assert res.history[-1]["train_acc"] > 0.9
    assert res.test_acc > 0.85  # chance is 0.5


@pytest.mark.parametrize("schedule", ["none", "cosine"])
def test_resume_is_bitwise_identical(tmp_path, schedule):
    data = _toy()
    cfg = _cfg(epochs=3, lr_schedule=schedule)
    full = train_model(cfg, out=tmp_path / "full", dataset=data, show_progress=False)
    # interrupted: the time limit stops it after the first epoch
    part = train_model(cfg.replace(time_limit=1e-9), out=tmp_path / "part", dataset=data,
                       show_progress=False)
    assert part.stopped_early and part.epochs_done == 1
    resumed = train_model(cfg, out=tmp_path / "part", dataset=data, resume=True,
                          show_progress=False)
    assert resumed.epochs_done == 3
    for k, v in full.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    strip = ("epoch_time_s", "eval_time_s")
    assert ([{k: v for k, v in r.items() if k not in strip} for r in full.history]
            == [{k: v for k, v in r.items() if k not in strip} for r in resumed.history])
    assert full.test_acc == resumed.test_acc
    # files: metrics CSV/JSON and the final model
    metrics = json.loads((tmp_path / "part" / "metrics.json").read_text())
    assert len(metrics["history"]) == 3 and metrics["summary"]["done"]
    assert (tmp_path / "part" / "metrics.csv").read_text().count("\n") == 4
    cfg2, model = load_run(tmp_path / "part")
    assert cfg2 == cfg and torch.equal(model.weights()[0], resumed.model.weights()[0])


def test_resume_refuses_changed_options_and_overwrite(tmp_path):
    data = _toy()
    cfg = _cfg(epochs=1)
    train_model(cfg, out=tmp_path / "r", dataset=data, show_progress=False)
    with pytest.raises(TrainConfigError, match="already holds a run"):
        train_model(cfg, out=tmp_path / "r", dataset=data, show_progress=False)
    with pytest.raises(TrainConfigError, match="lr"):
        train_model(cfg.replace(lr=0.5, epochs=2), out=tmp_path / "r", dataset=data,
                    resume=True, show_progress=False)
    (tmp_path / "r" / "checkpoint.pt").write_bytes(b"garbage")
    with pytest.raises(DataError, match="corrupt checkpoint"):
        train_model(cfg.replace(epochs=2), out=tmp_path / "r", dataset=data, resume=True,
                    show_progress=False)


def test_exact_and_dstd_eval_agree_and_baselines_run():
    data = _toy()
    res = train_model(_cfg(epochs=6, E=100.0), dataset=data, show_progress=False)
    model, cfg = res.model, res.config
    from imcflow.train import evaluate

    with model.swapped(solver="exact"):
        acc_exact = evaluate(model, data.test, cfg)["acc"]
    assert abs(acc_exact - res.test_acc) <= 0.05
    row = transfer_eval(model, cfg, data, 1.0, n_select=64)
    assert 0 <= row["ann_acc"] <= 1 and 0 <= row["scaled_ann_acc"] <= 1
    assert row["scale_pos"] > 0 and row["scale_neg"] > 0
    # the weights are restored after the search
    w0 = model.weights()[0].detach().clone()
    found = scaled_search(model, cfg, data.train.subset(32), coarse=[0.5, 1.0, 2.0],
                          fine_steps=2)
    assert found["grid_points"] >= 9 and torch.equal(w0, model.weights()[0])


def test_bad_config_is_rejected():
    with pytest.raises(TrainConfigError, match="E_neg"):
        _cfg(E=None, E_neg=1.0).validate()
    with pytest.raises(TrainConfigError, match="dataset"):
        _cfg(dataset="cifar").validate()
    with pytest.raises(TrainConfigError, match="CNN"):
        _cfg(model="cnn", bias_spike=False).validate()
    with pytest.raises(TrainConfigError, match="unknown training option"):
        TrainConfig.from_dict({"bogus": 1})


@pytest.mark.parametrize("model,neuron", [("cnn", "rc"), ("mlp", "ttfs"), ("cnn", "ttfs")])
def test_other_models_train_on_digits(model, neuron):
    """The CNN and the TTFS neuron run end to end on a few digits (finite loss)."""
    cfg = TrainConfig(dataset="digits", model=model, neuron=neuron, hidden=(16,), epochs=1,
                      batch_size=16, lr=2e-3, limit_train=48, limit_test=16, threads=1,
                      M=4, M_test=6)
    res = train_model(cfg, show_progress=False)
    assert all(torch.isfinite(torch.tensor(r["train_loss"])) for r in res.history)
    assert 0.0 <= res.test_acc <= 1.0
