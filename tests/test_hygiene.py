"""Output hygiene: files honour the umask, deep JSON is a one-line error, no machine paths."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imcflow import atomicio, cli, jsonio
from imcflow.errors import DataError, SpecError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    old = os.umask(0o022)
    os.umask(old)

    def set_(mask: int) -> None:
        os.umask(mask)

    yield set_
    os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.mark.parametrize("mask, want", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_new_files_honour_the_umask(tmp_path, umask, mask, want) -> None:
    umask(mask)
    atomicio.write_text(tmp_path / "a.txt", "x\n")
    atomicio.write_json(tmp_path / "b.json", {"a": 1})
    with atomicio.atomic_path(tmp_path / "c.npz") as tmp:
        np.savez(tmp, x=np.arange(3))
    for name in ("a.txt", "b.json", "c.npz"):
        assert _mode(tmp_path / name) == want, name


def test_a_replaced_file_keeps_its_mode(tmp_path, umask) -> None:
    umask(0o022)
    p = tmp_path / "keep.txt"
    p.write_text("old")
    p.chmod(0o600)
    atomicio.write_text(p, "new")
    assert p.read_text() == "new" and _mode(p) == 0o600


def test_cli_outputs_are_readable_by_others(tmp_path, umask) -> None:
    umask(0o022)
    spec = tmp_path / "spec.json"
    assert cli.main(["spec", "init", "-o", str(spec)]) == 0
    assert cli.main(["netlist", str(spec), "-o", str(tmp_path / "net")]) == 0
    files = [spec, *sorted((tmp_path / "net").iterdir())]
    assert len(files) >= 2
    for f in files:
        assert _mode(f) == 0o644, f


@pytest.mark.parametrize("depth", [50_000, 1_000_000])
def test_deeply_nested_json_is_a_one_line_error(tmp_path, capsys, depth) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * depth + "]" * depth)
    assert cli.main(["spec", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nested too deeply" in err and "Traceback" not in err


def test_deep_json_as_a_subprocess_has_no_traceback(tmp_path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"a": ' * 100_000 + "1" + "}" * 100_000)
    r = subprocess.run([sys.executable, "-m", "imcflow.cli", "spec", "validate", str(path)],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr, r.stderr


def test_jsonio_errors_name_the_source(tmp_path) -> None:
    with pytest.raises(DataError, match=r"x\.json: malformed JSON: nested too deeply"):
        jsonio.loads("[" * 100_000, "x.json")
    with pytest.raises(SpecError, match="malformed JSON: Expecting value at line 1 column 1"):
        jsonio.loads("", error=SpecError)
    with pytest.raises(DataError, match="fit file not found"):
        jsonio.load(tmp_path / "none.json", "fit file")


def test_no_machine_paths_in_committed_files() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    pattern = re.compile(r"/work/|/tmp/|/home/\w")  # allow-machine-path
    bad = []
    for name in tracked:
        p = ROOT / name
        if p.suffix in {".gds", ".png", ".npz", ".pt"} or not p.is_file():
            continue
        text = p.read_text(encoding="utf-8", errors="replace")
        bad += [f"{name}:{i}" for i, line in enumerate(text.splitlines(), 1)
                if pattern.search(line) and "allow-machine-path" not in line]
    assert not bad, bad
