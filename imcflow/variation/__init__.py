"""Process corners, temperature and device mismatch.

* :mod:`.dcmc` — Monte-Carlo DC sweeps: σ of synapse and discharger currents per width;
* :mod:`.pelgrom` — Pelgrom's law σ = A/√(W·L): fit, residuals, σ intervals;
* :mod:`.sweep` — the same network at many (corner, temperature, mismatch seed) points:
  parallel, cached by content, resumable, one dataset per point and a summary;
* :mod:`.report` — Markdown + HTML reports of both;
* :mod:`.tasks` — independent SPICE jobs on a local pool or Dask;
* :mod:`.cli` — ``imcflow mismatch``, ``imcflow pvt``, ``imcflow mc``.

How a seeded mismatch instance is written into a deck is :mod:`imcflow.netlist.models`
(``mc_seed`` of :func:`imcflow.netlist.build_transient`, :func:`imcflow.netlist.dc.build_dc`,
:func:`imcflow.sim.characterize.characterize` and :func:`imcflow.sim.dc.dc_characterize`); the
model library's side of it is documented in ``imcflow/pdk/data/mismatch.yaml``.
"""
