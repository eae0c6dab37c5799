"""Design spec: round trip, strict validation with field-naming errors, CLI error paths."""

from __future__ import annotations

import json

import numpy as np
import pytest

from imcflow import cli
from imcflow import spec as S
from imcflow.errors import SpecError


def _demo_dict() -> dict:
    return json.loads(S.default_spec().to_json())


def test_round_trip_is_identical(tmp_path):
    spec = S.default_spec()
    path = tmp_path / "s.json"
    S.save(spec, path)
    assert S.load(path) == spec
    assert path.read_text() == spec.to_json()


def test_default_is_iris_sized():
    spec = S.default_spec()
    assert spec.shape == (5, 5, 3)
    assert spec.T == pytest.approx(1e-6)
    # Mixed signs and widths inside the device limits.
    w = np.concatenate([layer.widths().ravel() for layer in spec.layers])
    assert (w > 0).any() and (w < 0).any()
    assert np.all((w == 0) | (np.abs(w) >= 0.42))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(bogus=1), "unknown field bogus"),
    (lambda d: d["layers"][0]["synapse"].update(vb_n=3.0), "layers[0].synapse.vb_n"),
    (lambda d: d["layers"][0]["neuron"].update(colour=1), "unknown field layers[0].neuron.colour"),
    (lambda d: d.update(name="x; .control"), "not an identifier"),
    (lambda d: d["layers"][1].update(name="l 2"), "layers[1].name"),
    (lambda d: d["layers"][0]["width_um"][0].__setitem__(0, 0.2), "width_um[0][0]"),
    (lambda d: d["layers"][0]["width_um"][0].__setitem__(0, 1.0001), "off the 0.005"),
    (lambda d: d["layers"][0]["mim_w_um"].__setitem__(0, 100.0), "mim_w_um[0]"),
    (lambda d: d.update(T="1us"), "T: expected a number"),
    (lambda d: d.update(corner="xx"), "corner"),
    (lambda d: d["layers"][1]["width_um"].__setitem__(1, [1.0] * 4), "row 1"),
    (lambda d: d.pop("layers"), "missing field layers"),
])
def test_validation_names_the_field(mutate, message):
    data = _demo_dict()
    mutate(data)
    with pytest.raises(SpecError) as err:
        S.from_dict(data)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_range_message_gives_the_allowed_range():
    data = _demo_dict()
    data["vdd"] = 2.5
    with pytest.raises(SpecError, match=r"vdd = 2.5 V is out of range \[1.6, 1.95\] V"):
        S.from_dict(data)


def test_layer_chain_mismatch():
    data = _demo_dict()
    for row in data["layers"][1]["width_um"]:
        row.append(0.0)
    for row in data["layers"][1]["fingers"]:
        row.append(1)
    with pytest.raises(SpecError, match="layers\\[1\\].width_um has 6 inputs"):
        S.from_dict(data)


@pytest.mark.parametrize("content, fragment", [
    ("{not json", "malformed JSON"),
    ('{"name": "a", "layers": [], "zzz": 1}', "unknown field zzz"),
    ('{"name": "a", "layers": []}', "at least one layer"),
])
def test_cli_validate_errors_are_one_line(tmp_path, capsys, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(content)
    rc = cli.main(["spec", "validate", str(path)])
    err = capsys.readouterr().err
    assert rc != 0
    assert fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_cli_init_refuses_to_overwrite(tmp_path, capsys):
    path = tmp_path / "s.json"
    assert cli.main(["spec", "init", "-o", str(path)]) == 0
    before = path.read_text()
    assert cli.main(["spec", "init", "-o", str(path)]) != 0
    assert path.read_text() == before
    assert "exists" in capsys.readouterr().err


def test_cli_missing_file(tmp_path, capsys):
    assert cli.main(["spec", "validate", str(tmp_path / "nope.json")]) != 0
    assert "not found" in capsys.readouterr().err


def test_with_mims_sizes_square_mims_and_refuses_or_clips_the_impossible():
    from imcflow import pdk
    layer = S.default_spec().layers[0]
    target = layer.membrane_capacitance() * np.linspace(0.5, 1.5, layer.n_out)
    sized = layer.with_mims(target)
    assert sized.mim_w_um == sized.mim_l_um
    # on the 5 nm grid: within one grid step's capacitance of the target
    assert np.allclose(sized.membrane_capacitance(), target, rtol=2e-3)
    lim = pdk.pdk_data()["mim"]
    huge = np.full(layer.n_out, 2 * pdk.mim_capacitance(lim["w_max_um"], lim["w_max_um"]))
    with pytest.raises(SpecError, match="needs a MIM"):
        layer.with_mims(huge)
    assert layer.with_mims(huge, clip=True).mim_w_um == (float(lim["w_max_um"]),) * layer.n_out
    assert layer.with_mims(np.zeros(layer.n_out), clip=True).mim_w_um == (
        float(lim["w_min_um"]),) * layer.n_out
