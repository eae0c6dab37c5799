"""ngspice simulation: engines, characterization, DC sweeps, executors.

* :mod:`.engines` — ``SharedEngine`` (long-lived PySpice shared ngspice, ``alter`` per pattern)
  and ``SubprocessEngine`` (``ngspice -b`` per run);
* :mod:`.characterize` — seeded random patterns → one cached, resumable ``.npz`` dataset
  (:func:`~imcflow.sim.characterize.characterize`, :func:`~imcflow.sim.characterize.load_dataset`);
* :mod:`.dc` — I_D(V_mem) sweeps of synapse and discharger devices
  (:func:`~imcflow.sim.dc.load_dc`);
* :mod:`.executors` — local engine pool and Dask;
* :mod:`.extract` — spike times, membrane traces, supply charge from waveforms;
* :mod:`.rawfile` — ngspice raw-file reader.
"""
