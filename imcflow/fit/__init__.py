"""Parameter extraction: the physical neural network's parameters from SPICE waveforms.

* :mod:`.dc` — from DC sweeps of single devices: unit currents, λ and the reversal potentials
  E± = 1/β±, the discharger's ramp non-linearity β_d and rate, and the membrane range over which
  each device's linear model holds;
* :mod:`.physics` — from a spec and its DC fits to what the transient fit and the write-back
  start from;
* :mod:`.transient` — from transient characterization on random patterns: the layer's scale on
  the measured membrane capacitances, threshold, ramp and delays, by gradient descent through
  the differentiable PNN on spike times and membrane traces (bounded parameters, per-neuron
  diagnostics);
* :mod:`.pipeline` — a whole network, saved as one fit file.
"""
