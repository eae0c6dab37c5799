"""Data loading, spike coding and losses of the training stage (no PNN layers needed)."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest
import torch

from imcflow.errors import DataError
from imcflow.train.coding import encode, n_inputs
from imcflow.train.data import (
    FMNIST_FILES,
    load_dataset,
    load_digits,
    load_fmnist,
    load_iris,
    read_idx,
    write_idx,
)
from imcflow.train.loss import firing_penalty, spike_time_loss, weight_l2


def _fake_fmnist(d, n_train=12, n_test=5, seed=0):
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True, exist_ok=True)
    imgs = {"train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)}
    labels = {"train": rng.integers(0, 10, n_train).astype(np.uint8),
              "test": rng.integers(0, 10, n_test).astype(np.uint8)}
    for part in ("train", "test"):
        write_idx(d / FMNIST_FILES[f"{part}_images"], imgs[part])
        write_idx(d / FMNIST_FILES[f"{part}_labels"], labels[part])
    return imgs, labels


def test_idx_roundtrip_and_fmnist_loader(tmp_path):
    imgs, labels = _fake_fmnist(tmp_path)
    arr = read_idx(tmp_path / FMNIST_FILES["train_images"], expect_ndim=3)
    assert arr.shape == (12, 28, 28) and np.array_equal(arr, imgs["train"])
    train, test = load_fmnist(tmp_path)
    assert train.x.shape == (12, 1, 28, 28) and test.x.shape == (5, 1, 28, 28)
    assert train.x.dtype == torch.float32
    assert torch.allclose(train.x[3, 0], torch.from_numpy(imgs["train"][3]).float() / 255)
    assert train.y.tolist() == labels["train"].tolist()
    # other dtypes round-trip too
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    write_idx(tmp_path / "f.idx", arr)
    assert np.array_equal(read_idx(tmp_path / "f.idx"), arr)


def test_fmnist_dataset_with_holdout(tmp_path):
    _fake_fmnist(tmp_path, n_train=20)
    ds = load_dataset("fmnist", data_dir=tmp_path, val_size=4, limit_train=10)
    assert len(ds.val) == 4 and len(ds.train) == 10 and ds.n_classes == 10
    again = load_dataset("fmnist", data_dir=tmp_path, val_size=4, limit_train=10)
    assert torch.equal(ds.val.x, again.val.x)


@pytest.mark.parametrize("damage", ["truncate", "magic", "notgzip", "dims", "missing"])
def test_corrupt_or_missing_idx_gives_clear_error(tmp_path, damage):
    _fake_fmnist(tmp_path)
    target = tmp_path / FMNIST_FILES["train_images"]
    raw = gzip.decompress(target.read_bytes())
    if damage == "truncate":
        target.write_bytes(gzip.compress(raw[:-100]))
    elif damage == "magic":
        target.write_bytes(gzip.compress(b"\x01\x02" + raw[2:]))
    elif damage == "notgzip":
        target.write_bytes(b"this is not gzip at all")
    elif damage == "dims":
        write_idx(target, np.zeros((3, 28, 27), dtype=np.uint8))
    else:
        target.unlink()
    with pytest.raises(DataError) as err:
        load_fmnist(tmp_path)
    msg = str(err.value)
    assert "\n" not in msg
    assert ("train-images" in msg) and (("corrupt" in msg) or ("missing" in msg))


def test_label_count_mismatch(tmp_path):
    _fake_fmnist(tmp_path)
    write_idx(tmp_path / FMNIST_FILES["train_labels"], np.zeros(3, dtype=np.uint8))
    with pytest.raises(DataError, match="labels"):
        load_fmnist(tmp_path)


def test_missing_directory(tmp_path):
    with pytest.raises(DataError, match="dataset-fashion-mnist"):
        load_fmnist(tmp_path / "nope")


def test_iris_and_digits_deterministic():
    tr, te = load_iris()
    assert len(tr) == 100 and len(te) == 50
    assert tr.x.min() == 0 and tr.x.max() == 1 and 0 <= te.x.min() and te.x.max() <= 1
    assert sorted(torch.bincount(te.y).tolist()) == [16, 17, 17]
    tr2, te2 = load_iris()
    assert torch.equal(te.x, te2.x) and torch.equal(tr.y, tr2.y)
    dtr, dte = load_digits()
    assert dtr.x.shape[1:] == (1, 8, 8) and len(dtr) + len(dte) == 1797
    assert float(dtr.x.max()) == 1.0


def test_coding():
    x = torch.tensor([[0.0, 0.25, 1.0]])
    assert torch.equal(encode(x, "image"), torch.tensor([[1.0, 0.75, 0.0]]))
    t = encode(x, "direct", bias_spike=True)
    assert torch.equal(t, torch.tensor([[0.0, 0.25, 1.0, 0.0]]))
    img = torch.rand(2, 1, 4, 4)
    assert encode(img, "image", flatten=False).shape == (2, 1, 4, 4)
    assert encode(img, "image").shape == (2, 16)
    assert n_inputs((4,), True) == 5 and n_inputs((1, 28, 28), False) == 784
    with pytest.raises(ValueError):
        encode(x, "bogus")


def test_losses():
    t = torch.tensor([[0.2, 0.9, 0.9], [0.9, 0.9, 0.3]])
    y = torch.tensor([0, 2])
    loss, ce = spike_time_loss(t, y, tau_soft=0.07, gamma1=0.0)
    assert float(ce) < 1e-3  # earliest spike is the label by a wide margin
    loss2, _ = spike_time_loss(t, y, tau_soft=0.07, gamma1=1.0, t_ref=0.9)
    assert math.isclose(float(loss2 - loss), (0.7**2 + 0.6**2) / 2, rel_tol=1e-5)
    # a silent TTFS neuron (inf) is clipped, the loss stays finite
    t_inf = torch.tensor([[0.5, math.inf]])
    l_inf, _ = spike_time_loss(t_inf, torch.tensor([1]), t_clip=2.0)
    assert math.isfinite(float(l_inf))
    w = [torch.tensor([[0.2, 0.3], [1.0, 0.5]])]
    assert math.isclose(float(firing_penalty(w, v_th=1.0)), 0.5, rel_tol=1e-6)
    assert math.isclose(float(weight_l2(w)), 0.04 + 0.09 + 1 + 0.25, rel_tol=1e-6)
