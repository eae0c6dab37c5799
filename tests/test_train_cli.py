"""``imcflow train`` / ``imcflow eval``: a quick Iris run end to end, resume, and error paths."""

from __future__ import annotations

import json

import numpy as np

from imcflow.cli import main
from imcflow.train.data import FMNIST_FILES, write_idx

IRIS = ["train", "--dataset", "iris", "--hidden", "5", "--lr", "1e-2", "--batch-size", "50",
        "--threads", "1", "--quiet"]


def _run(capsys, argv):
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_train_eval_resume_iris(tmp_path, capsys):
    out = tmp_path / "iris"
    rc, text, err = _run(capsys, IRIS + ["--E-pos", "2.8", "--E-neg", "-1.53", "--epochs", "3",
                                         "--out", str(out)])
    assert rc == 0, err
    assert "test accuracy" in text
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["E_pos"] == 2.8 and cfg["E_neg"] == -1.53 and cfg["hidden"] == [5]
    # continue to 5 epochs with only --epochs changed
    rc, text, err = _run(capsys, ["train", "--resume", "--epochs", "5", "--quiet",
                                  "--out", str(out)])
    assert rc == 0, err
    assert len(json.loads((out / "metrics.json").read_text())["history"]) == 5
    rc, text, err = _run(capsys, ["eval", str(out), "--solver", "exact", "--threads", "1"])
    assert rc == 0, err
    assert "exact" in text and (out / "eval-exact.json").is_file()
    n_test = json.loads((out / "eval-exact.json").read_text())["n"]
    assert f"{n_test}/{n_test}" in err  # the progress bar counted every test sample
    rc, text, err = _run(capsys, ["eval", str(out), "--E", "1.5", "--scaled", "--n-select", "30",
                                  "--threads", "1"])
    assert rc == 0, err
    assert "scaled" in text


def test_cli_error_paths(tmp_path, capsys):
    # missing Fashion-MNIST folder: one clear line, non-zero exit
    rc, _, err = _run(capsys, ["train", "--dataset", "fmnist", "--data-dir",
                               str(tmp_path / "none"), "--out", str(tmp_path / "r"),
                               "--threads", "1"])
    assert rc != 0 and err.startswith("error:") and "dataset-fashion-mnist" in err
    assert err.count("\n") == 1
    # corrupt IDX file
    d = tmp_path / "fm"
    d.mkdir()
    for key, name in FMNIST_FILES.items():
        shape = (4, 28, 28) if "images" in key else (4,)
        write_idx(d / name, np.zeros(shape, dtype=np.uint8))
    (d / FMNIST_FILES["test_labels"]).write_bytes(b"\x1f\x8b garbage")
    rc, _, err = _run(capsys, ["train", "--dataset", "fmnist", "--data-dir", str(d),
                               "--out", str(tmp_path / "r2"), "--threads", "1"])
    assert rc != 0 and "corrupt" in err and "t10k-labels" in err
    # bad physics
    rc, _, err = _run(capsys, IRIS + ["--E-neg", "1.5", "--out", str(tmp_path / "r3")])
    assert rc != 0 and "E_neg" in err
    # bad choice (click)
    rc, _, err = _run(capsys, ["train", "--dataset", "cifar", "--out", str(tmp_path / "r4")])
    assert rc != 0 and "cifar" in err
    # eval of a folder that is not a run, and of a missing one
    rc, _, err = _run(capsys, ["eval", str(tmp_path)])
    assert rc != 0 and "not a training run" in err
    rc, _, err = _run(capsys, ["eval", str(tmp_path / "nope")])
    assert rc != 0 and "not found" in err
    # an existing run without --resume; a resume that changes a training option
    out = tmp_path / "iris"
    assert _run(capsys, IRIS + ["--epochs", "1", "--out", str(out)])[0] == 0
    rc, _, err = _run(capsys, IRIS + ["--epochs", "1", "--out", str(out)])
    assert rc != 0 and "--resume" in err
    rc, _, err = _run(capsys, ["train", "--resume", "--epochs", "2", "--lr", "0.5",
                               "--out", str(out), "--quiet"])
    assert rc != 0 and "lr" in err
    # a bad --params file
    bad = tmp_path / "p.json"
    bad.write_text('{"E_pos": -3}')
    rc, _, err = _run(capsys, IRIS + ["--params", str(bad), "--out", str(tmp_path / "r5")])
    assert rc != 0 and "E_pos" in err
