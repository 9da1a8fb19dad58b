"""Many runs at once: a sweep's grid (:mod:`~agents.sweeps.sweep`), its trials on Ray Tune
(:mod:`~agents.sweeps.ray_sweep`), Table 1's row folders of each trial (:mod:`~agents.sweeps.table1_runs`),
the table across seeds (:mod:`~agents.sweeps.seed_table`) and sweeps run in parts merged into one
(:mod:`~agents.sweeps.sweep_merge`).
"""
