"""GDP reaches a lower MVM error than program-and-verify at the same pulse budget."""

from __future__ import annotations

import pytest
import torch

from imcflow.crosspoint.program import ProgramConfig, program_gdp, program_iterative
from imcflow.errors import ImcflowError


@pytest.mark.parametrize("bits", [5, 10])
def test_gdp_beats_iterative_at_same_budget(bits: int) -> None:
    torch.set_num_threads(1)
    cfg = ProgramConfig(rows=32, cols=32, adc_bits=bits, pulses=400, seed=1)
    it = program_iterative(cfg)
    gd = program_gdp(cfg)
    assert gd.pulses_per_cell <= cfg.pulses + 1e-6
    assert it.pulses_per_cell <= cfg.pulses + 1e-6
    assert gd.mvm_error < it.mvm_error
    assert gd.mvm_error < 0.05


def test_gdp_needs_no_high_resolution_adc() -> None:
    torch.set_num_threads(1)
    lo = program_gdp(ProgramConfig(rows=32, cols=32, adc_bits=5, pulses=400, seed=2))
    hi = program_gdp(ProgramConfig(rows=32, cols=32, adc_bits=12, pulses=400, seed=2))
    it_lo = program_iterative(ProgramConfig(rows=32, cols=32, adc_bits=5, pulses=400, seed=2))
    assert lo.mvm_error < 2.5 * hi.mvm_error
    assert it_lo.mvm_error > 3 * lo.mvm_error


def test_bad_programming_config_raises() -> None:
    with pytest.raises(ImcflowError):
        ProgramConfig(adc_bits=0)
    with pytest.raises(ImcflowError):
        ProgramConfig(pulses=0)
