"""Parameter extraction: the physical neural network's parameters from SPICE waveforms.

* :mod:`.dc` — from DC sweeps of single devices: unit currents, λ and the reversal potentials
  E± = 1/β±, the discharger's ramp non-linearity β_d and rate;
* :mod:`.transient` — from transient characterization on random patterns: effective membrane
  capacitance per neuron, threshold, ramp and delays, by gradient descent through the
  differentiable PNN on spike times and membrane traces.
"""
