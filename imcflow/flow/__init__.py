"""The main job, end to end: spec → netlist + layout → DRC/LVS → extraction → characterization →
fit → training → write-back → calibration → verification in post-layout SPICE → report.

* :mod:`.experiment` — the paper's Iris experiment (bottom-up vs top-down);
* :mod:`.run` — the cached, stage-by-stage runner behind ``imcflow flow`` / ``make flow``.
"""

#: The main job's stages, in the order they run.
STAGES = ("spec", "dc", "placeholders", "layout", "characterize", "fit", "train", "writeback",
          "calibrate", "verify", "report")
