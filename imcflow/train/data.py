"""Data sets for training: Fashion-MNIST from IDX ``.gz`` files, Iris and digits from scikit-learn.

Nothing is downloaded. Fashion-MNIST is read from the Debian package ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``) or from ``data_dir``; Iris and digits ship inside
scikit-learn. Every split is deterministic (fixed seed, stratified).

Features are returned as float32 in [0, 1] (``x``); spike-time coding is :mod:`.coding`'s job.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from imcflow.errors import DataError

DEFAULT_FMNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
DATASETS = ("fmnist", "iris", "digits")
# per data set: feature shape of one sample (before coding) and number of classes
DATASET_INFO: dict[str, tuple[tuple[int, ...], int]] = {
    "fmnist": ((1, 28, 28), 10),
    "iris": ((4,), 3),
    "digits": ((1, 8, 8), 10),
}

FMNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

# IDX type codes (third byte of the magic number) -> numpy dtype (big-endian).
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


@dataclass
class Split:
    """One split: features ``x`` (float32, [n, ...] in [0, 1]) and integer labels ``y`` [n]."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def subset(self, n: int | None) -> Split:
        """The first ``n`` samples (all if ``n`` is None or larger than the split)."""
        if n is None or n >= len(self):
            return self
        return Split(self.x[:n], self.y[:n])


@dataclass
class Dataset:
    """Train/validation/test splits of one data set plus what a model needs to know about it."""

    name: str
    train: Split
    val: Split | None
    test: Split
    n_classes: int
    input_shape: tuple[int, ...]  # per sample, before spike coding (e.g. (1, 28, 28) or (4,))


# --------------------------------------------------------------------------------------------- IDX
def read_idx(path: str | os.PathLike[str], *, expect_ndim: int | None = None,
             expect_shape: tuple[int | None, ...] | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed if the name ends in ``.gz``) into a numpy array.

    Validates the magic number (two zero bytes, a known type code, the number of dimensions), that
    the payload length matches the dimensions exactly, and optionally the number of dimensions and
    the sizes of given axes (``None`` = any). Raises :class:`DataError` naming the file otherwise.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"data file not found: {p}")
    try:
        if p.suffix == ".gz":
            with gzip.open(p, "rb") as fh:
                raw = fh.read()
        else:
            raw = p.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"corrupt data file {p}: {exc}") from exc
    if len(raw) < 4:
        raise DataError(f"corrupt IDX file {p}: {len(raw)} bytes, too short for a header")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise DataError(f"corrupt IDX file {p}: bad magic number 0x{raw[:4].hex()}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"corrupt IDX file {p}: truncated header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"corrupt IDX file {p}: payload is {len(raw) - header} bytes, "
                        f"dimensions {list(dims)} need {expected}")
    if expect_ndim is not None and ndim != expect_ndim:
        raise DataError(f"corrupt IDX file {p}: {ndim} dimensions, expected {expect_ndim}")
    if expect_shape is not None:
        for axis, size in enumerate(expect_shape):
            if size is not None and dims[axis] != size:
                raise DataError(f"corrupt IDX file {p}: shape {list(dims)}, "
                                f"expected {[s if s is not None else '*' for s in expect_shape]}")
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip if the name ends in ``.gz``). Used by tests."""
    arr = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_DTYPES.items()}
    native = arr.dtype.newbyteorder("=")
    if native not in codes:
        raise ValueError(f"dtype {arr.dtype} has no IDX code")
    code = codes[native]
    header = struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload = arr.astype(_IDX_DTYPES[code], copy=False).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(header + payload)


def load_fmnist(data_dir: str | os.PathLike[str] | None = None) -> tuple[Split, Split]:
    """Fashion-MNIST train (60 000) and test (10 000) splits; images scaled to [0, 1]."""
    d = Path(data_dir) if data_dir is not None else DEFAULT_FMNIST_DIR
    if not d.is_dir():
        raise DataError(f"Fashion-MNIST directory not found: {d} (install the Debian package "
                        "dataset-fashion-mnist, or pass --data-dir)")
    missing = [name for name in FMNIST_FILES.values() if not (d / name).is_file()]
    if missing:
        raise DataError(f"Fashion-MNIST files missing in {d}: {', '.join(missing)}")
    splits = []
    for part in ("train", "test"):
        images = read_idx(d / FMNIST_FILES[f"{part}_images"], expect_ndim=3,
                          expect_shape=(None, 28, 28))
        labels = read_idx(d / FMNIST_FILES[f"{part}_labels"], expect_ndim=1)
        if images.dtype != np.uint8 or labels.dtype != np.uint8:
            raise DataError(f"corrupt Fashion-MNIST {part} files in {d}: expected uint8 data")
        if images.shape[0] != labels.shape[0]:
            raise DataError(f"Fashion-MNIST {part}: {images.shape[0]} images but "
                            f"{labels.shape[0]} labels in {d}")
        if labels.size and int(labels.max()) > 9:
            raise DataError(f"Fashion-MNIST {part}: label {int(labels.max())} out of range 0..9")
        x = torch.from_numpy(images).float().div_(255.0).unsqueeze(1)  # [n, 1, 28, 28]
        y = torch.from_numpy(labels.astype(np.int64))
        splits.append(Split(x, y))
    return splits[0], splits[1]


# ------------------------------------------------------------------------------------ scikit-learn
def _sklearn_split(x: np.ndarray, y: np.ndarray, test_size: float | int,
                   seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)


def load_iris(split_seed: int = 0) -> tuple[Split, Split]:
    """Iris: 100 train / 50 test (stratified, fixed seed); features min-max scaled on train.

    Test features use the training min/max and are clipped to [0, 1].
    """
    from sklearn.datasets import load_iris as _load

    bunch = _load()
    xtr, xte, ytr, yte = _sklearn_split(bunch.data, bunch.target, 50, split_seed)
    lo, hi = xtr.min(axis=0), xtr.max(axis=0)
    scale = np.where(hi > lo, hi - lo, 1.0)
    xtr = (xtr - lo) / scale
    xte = np.clip((xte - lo) / scale, 0.0, 1.0)
    return (Split(torch.tensor(xtr, dtype=torch.float32), torch.tensor(ytr, dtype=torch.int64)),
            Split(torch.tensor(xte, dtype=torch.float32), torch.tensor(yte, dtype=torch.int64)))


def load_digits(split_seed: int = 0) -> tuple[Split, Split]:
    """scikit-learn digits (8x8, 1797 samples): 80/20 stratified split; pixels / 16 in [0, 1]."""
    from sklearn.datasets import load_digits as _load

    bunch = _load()
    x = bunch.images.astype(np.float32) / 16.0
    xtr, xte, ytr, yte = _sklearn_split(x, bunch.target, 0.2, split_seed)
    return (Split(torch.tensor(xtr).unsqueeze(1), torch.tensor(ytr, dtype=torch.int64)),
            Split(torch.tensor(xte).unsqueeze(1), torch.tensor(yte, dtype=torch.int64)))


def load_dataset(name: str, *, data_dir: str | os.PathLike[str] | None = None,
                 val_size: int = 0, limit_train: int | None = None,
                 limit_test: int | None = None, split_seed: int = 0) -> Dataset:
    """Load data set ``name`` (``fmnist``, ``iris``, ``digits``).

    ``val_size`` samples are held out of the training split (a fixed, seeded choice) for model
    selection such as the scaled-ANN grid search; ``limit_train``/``limit_test`` keep only the
    first samples (after the hold-out), for quick runs and tests.
    """
    if name == "fmnist":
        train, test = load_fmnist(data_dir)
        n_classes, shape = 10, (1, 28, 28)
    elif name == "iris":
        train, test = load_iris(split_seed)
        n_classes, shape = 3, (4,)
    elif name == "digits":
        train, test = load_digits(split_seed)
        n_classes, shape = 10, (1, 8, 8)
    else:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    val = None
    if val_size:
        if not 0 < val_size < len(train):
            raise DataError(f"val_size {val_size} must be between 1 and {len(train) - 1}")
        g = torch.Generator().manual_seed(10_007 + split_seed)
        perm = torch.randperm(len(train), generator=g)
        vi, ti = perm[:val_size].sort().values, perm[val_size:].sort().values
        val = Split(train.x[vi], train.y[vi])
        train = Split(train.x[ti], train.y[ti])
    return Dataset(name=name, train=train.subset(limit_train), val=val,
                   test=test.subset(limit_test), n_classes=n_classes, input_shape=shape)
