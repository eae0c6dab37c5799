"""CLI: help, one-line errors with non-zero exit, atomic JSON outputs, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imcflow.cli import main


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crosspoint", "--help"]) == 0
    out = capsys.readouterr().out
    for cmd in ("train", "program", "study", "devices"):
        assert cmd in out


@pytest.mark.parametrize("args", [
    ["crosspoint", "train", "--device", "nope", "--out", "x"],
    ["crosspoint", "train", "--asymmetry", "-1", "--out", "x"],
    ["crosspoint", "train", "--algorithm", "adam", "--out", "x"],
    ["crosspoint", "program", "--adc-bits", "0", "--out", "x.json"],
    ["crosspoint", "program", "--method", "magic", "--out", "x.json"],
])
def test_bad_input_gives_one_line_error(args: list[str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err


def test_out_paths_of_the_wrong_kind_are_rejected(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["crosspoint", "train", "--epochs", "1", "--out", str(f)]) != 0
    assert main(["crosspoint", "program", "--out", str(tmp_path)]) != 0
    assert capsys.readouterr().err.count("error:") == 2


def test_train_and_program_are_deterministic(tmp_path: Path) -> None:
    outs = []
    for k in range(2):
        d = tmp_path / f"run{k}"
        assert main(["crosspoint", "train", "--algorithm", "shd", "--epochs", "1",
                     "--batch-size", "256", "--hidden", "8", "--seed", "3",
                     "--out", str(d)]) == 0
        outs.append((d / "train.json").read_text())
    assert outs[0] == outs[1]
    data = json.loads(outs[0])
    assert 0 <= data["test_accuracy"] <= 100 and "fp_test_accuracy" in data
    progs = []
    for k in range(2):
        p = tmp_path / f"p{k}.json"
        assert main(["crosspoint", "program", "--method", "iterative", "--rows", "8",
                     "--cols", "8", "--pulses", "100", "--out", str(p)]) == 0
        progs.append(p.read_text())
    assert progs[0] == progs[1]
    assert json.loads(progs[0])["method"] == "iterative"
