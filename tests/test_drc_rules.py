"""The rule table and the DRC: every implemented rule catches a cell that breaks it (under its
own name) and passes the corrected twin; the table covers the applicable periphery rules."""

from __future__ import annotations

import drc_cases as D
import pytest

from imcflow.cli import main
from imcflow.errors import PDKError
from imcflow.extract import gds, synth
from imcflow.extract.drc import coverage_text, drc_design, rules
from imcflow.layout import rules as layout_rules
from imcflow.pdk import rules as rule_table

IMPLEMENTED = [r.name for r in rules()]


@pytest.fixture(scope="module")
def hits() -> dict[bool, tuple[dict[int, set[str]], dict[str, int]]]:
    out = {}
    for bad in (False, True):
        c, index = D.build(bad)
        out[bad] = (D.tile_hits(c.layout), index)
    return out


def test_every_implemented_rule_has_a_case() -> None:
    assert sorted(set(IMPLEMENTED) - set(D.CASES) - {"x.1a"}) == []
    assert sorted(set(D.CASES) - set(IMPLEMENTED)) == []


@pytest.mark.parametrize("name", [n for n in IMPLEMENTED if n != "x.1a"])
def test_rule_catches_its_cell_and_passes_the_twin(name: str, hits) -> None:
    bad_hits, index = hits[True]
    good_hits, _ = hits[False]
    k = index[name]
    assert name in bad_hits.get(k, set()), f"{name} not caught: {bad_hits.get(k)}"
    assert not good_hits.get(k, set()) - D.TWIN_EXEMPT.get(name, set())


def test_offgrid_1nm_needs_a_finer_database_unit() -> None:
    bad = {n for h in D.tile_hits(D.offgrid_1nm(True)).values() for n in h}
    good = {n for h in D.tile_hits(D.offgrid_1nm(False)).values() for n in h}
    assert {"x.1a", "x.1b"} <= bad
    assert not good


def test_notches_are_spacing_errors() -> None:
    """x.6: a notch narrower than m1.2 inside one met1 shape is an m1.2 violation."""
    c = synth.Canvas("notch")
    c.box("met1", 0, 0, 1.0, 0.3)
    c.box("met1", 0, 0, 0.3, 1.0)
    c.box("met1", 0.435, 0, 1.0, 1.0)        # 0.135 µm notch between the two arms
    c.label("met1", "a", 0.5, 0.15)
    assert [v.rule for v in drc_design(gds.from_layout(c.layout)).violations] == ["m1.2"]


def test_table_coverage_and_sources() -> None:
    t = rule_table.table()
    n, n_app, n_impl = t.coverage()
    assert n > 550 and n_impl == len(IMPLEMENTED) > 150
    assert n_impl / n_app >= 0.95
    for r in t.implemented:
        assert r.src, r.name
    # excluded rules say why, with a known reason
    assert all(r.excluded in t.reasons for r in t.rules if not r.implemented)


def test_layout_reads_the_same_table() -> None:
    assert layout_rules.rule("m1.2") == round(rule_table.value("m1.2") * 1000)
    assert layout_rules.rule_um("capm.11") == rule_table.value("capm.11")
    with pytest.raises(PDKError, match="not in"):
        rule_table.value("m9.9")
    with pytest.raises(PDKError, match="no value"):
        rule_table.value("x.22")


def test_rules_cli_prints_coverage(capsys) -> None:
    assert main(["drc", "--rules"]) == 0
    out = capsys.readouterr().out
    assert out == coverage_text()
    assert "capm.11" in out and "implemented (separation)" in out
    assert "m1.pd.1" in out and "excluded [density]" in out
    assert "% of the applicable" in out.splitlines()[-1]


def test_drc_cli_needs_a_gds(capsys) -> None:
    assert main(["drc"]) != 0
    assert "GDS" in capsys.readouterr().err
