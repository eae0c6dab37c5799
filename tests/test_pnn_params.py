"""PNNParams: validation, presets, JSON round trip."""

from __future__ import annotations

import json
import math

import pytest

from imcflow.pnn import PNNParams


def test_presets() -> None:
    ideal = PNNParams.ideal()
    assert ideal.beta_pos == 0 and ideal.beta_neg == 0 and ideal.alpha_d_eff == 1.0
    assert ideal.is_ideal
    p = PNNParams.paper()
    assert p.E_pos == 2.80 and p.E_neg == -1.53 and p.beta_d == pytest.approx(1 / 6.44)
    assert p.beta_pos == pytest.approx(1 / 2.8) and p.beta_neg == pytest.approx(-1 / 1.53)
    # derived ramp rate: v = 0 reaches 1 at s = 1
    a, b = p.alpha_d_eff, p.beta_d
    assert (1 - math.exp(-a * b)) / b == pytest.approx(1.0)
    s = PNNParams.symmetric(-3.0)
    assert s.E_pos == 3.0 and s.E_neg == -3.0 and s.beta_d == 0.0
    assert PNNParams.paper(alpha=0.1).alpha == 0.1


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"E_pos": -1.0}, "E_pos"),
        ({"E_pos": 0.0}, "E_pos"),
        ({"E_neg": 2.0}, "E_neg"),
        ({"alpha": -0.1}, "alpha"),
        ({"beta_d": 1.0}, "beta_d"),
        ({"alpha_d": 0.0}, "alpha_d"),
        ({"v_th": 0.0}, "v_th"),
        ({"beta_d": 0.5, "v_th": 2.5}, "v_th"),
        ({"delay_out": math.nan}, "delay_out"),
        ({"delay_in": math.inf}, "delay_in"),
        ({"E_pos": "3"}, "E_pos"),
    ],
)
def test_validation_names_the_field(kwargs, field) -> None:
    with pytest.raises(ValueError, match=field):
        PNNParams(**kwargs)


def test_json_round_trip() -> None:
    for p in (PNNParams.ideal(), PNNParams.paper(delay_out=0.01), PNNParams(alpha_d=1.2)):
        text = json.dumps(p.to_dict(), allow_nan=False)
        assert PNNParams.from_dict(json.loads(text)) == p
    with pytest.raises(ValueError, match="unknown"):
        PNNParams.from_dict({"E_plus": 1.0})


def test_frozen() -> None:
    p = PNNParams.paper()
    with pytest.raises(AttributeError):
        p.E_pos = 3.0  # type: ignore[misc]
    assert p.replace(E_pos=3.0).E_pos == 3.0
