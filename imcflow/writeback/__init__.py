"""Write-back: trained PNN weights → device sizes (current-source widths, fingers, MIM sizes).

The mapping (DESIGN.md, PAPERS.md §1.4) is I_ij = C_i · V_th · w_ij / T: a normalised weight is a
current in units of C·V_th/T, and a current is a width at the layer's fixed gate bias.
"""

from imcflow.writeback.sizing import (
    DeviceModel,
    beta_for,
    quantize_weights,
    switching_for,
    weights_to_widths,
    widths_to_weights,
    writeback_spec,
)

__all__ = ["DeviceModel", "beta_for", "quantize_weights", "switching_for", "weights_to_widths",
           "widths_to_weights", "writeback_spec"]
