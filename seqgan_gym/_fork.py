"""Torch in a forked worker: one thread, so that a fork after the parent's OpenMP pool started cannot hang."""

from __future__ import annotations

import os

#: The process that imported seqgan-gym (``import seqgan_gym`` imports this module, torch or not).
_importing_pid = os.getpid()


def single_thread_if_forked() -> None:
    """Run torch on one thread in a process forked from the one that imported seqgan-gym.

    GNU OpenMP's thread pool does not survive ``fork``: once the parent has run a parallel region,
    the child's first one waits for ever (at 0% CPU). That is every ``SubprocVecEnv(start_method="fork")``
    and Gymnasium ``AsyncVectorEnv`` (fork is their default on Linux) whose parent already used torch.
    One thread per worker is also what a process per sub-env wants. Processes started with
    ``spawn`` or ``forkserver`` import seqgan-gym themselves and are left alone. Called by the envs'
    constructors, before their first tensor operation.
    """
    global _importing_pid
    pid = os.getpid()
    if pid != _importing_pid:
        import torch  # loaded already: the env that calls this is built on it

        torch.set_num_threads(1)
        _importing_pid = pid  # once per process: a worker may raise it again on purpose
