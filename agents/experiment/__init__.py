"""The experiment runner: Algorithm 1 or a baseline end to end, as a resumable list of units.

:mod:`~agents.experiment.seqgan` (``SeqGANTrainer``: what each unit does) with its parts: the
configuration and presets (:mod:`~agents.experiment.config`), the machinery that runs, times and
checkpoints the units (:mod:`~agents.experiment.schedule`), the random streams
(:mod:`~agents.experiment.streams`), the checkpoint (:mod:`~agents.experiment.checkpoint`), the run
folder and its lock (:mod:`~agents.experiment.run_folder`), the records (:mod:`~agents.experiment.records`),
Figure 2 (:mod:`~agents.experiment.figure2`), the benchmark a run trains on
(:mod:`~agents.experiment.run_benchmark`, :mod:`~agents.experiment.text_runs`) and samples from a
finished run's folder (:mod:`~agents.experiment.generate`).
"""
