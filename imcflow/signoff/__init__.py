"""External sign-off with the PDK's official decks (``imcflow signoff``), when installed.

* :mod:`.install` — the sky130A folder of a PDK root and its DRC deck, magic tech, netgen setup;
* :mod:`.tools` — the ``klayout``, ``magic`` (≥ 8.3.411) and ``netgen`` programs and versions;
* :mod:`.klayout_drc`, :mod:`.magic_pex`, :mod:`.netgen_lvs` — one check each;
* :mod:`.run` — :func:`signoff`: all available checks and the provenance record.

imcflow's own DRC, extraction and LVS (:mod:`imcflow.extract`) need none of these tools; this is
the independent second opinion a tape-out wants.
"""

from imcflow.signoff.run import Check, SignoffReport, signoff

__all__ = ["Check", "SignoffReport", "signoff"]
