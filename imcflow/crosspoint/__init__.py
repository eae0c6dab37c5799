"""Resistive crosspoint arrays: asymmetric devices, pulsed training, gradient-descent programming.

Modules: :mod:`~imcflow.crosspoint.device` (device model and presets),
:mod:`~imcflow.crosspoint.pulse` (stochastic pulsed rank-one update),
:mod:`~imcflow.crosspoint.tile` (analog tile), :mod:`~imcflow.crosspoint.algorithms` (analog SGD,
Tiki-Taka, Stochastic Hamiltonian Descent), :mod:`~imcflow.crosspoint.mlp` (digits MLP),
:mod:`~imcflow.crosspoint.toy` (linear-regression fixed point), :mod:`~imcflow.crosspoint.program`
(GDP vs iterative programming), :mod:`~imcflow.crosspoint.study`, :mod:`~imcflow.crosspoint.cli`.
See PAPERS.md §2 and §3.
"""
