"""The paper's Algorithm 1 as one function, to read beside the paper (Yu et al. 2017, Algorithm 1).

:class:`~agents.experiment.seqgan.SeqGANTrainer` runs the same steps as a resumable list of units,
with evaluations, checkpoints and the MLE control around them; :func:`seqgan` is those steps alone,
top to bottom, each under the line of Algorithm 1 it implements. It starts every unit's random
streams from ``(seed, unit)`` as the trainer does, so it ends with the trainer's G_θ and D_φ, bit for
bit on the CPU (a test checks it). The line numbers are the paper's.
"""

from __future__ import annotations

import torch

from agents.experiment.config import SeqGANConfig
from agents.experiment.seqgan import SeqGANTrainer
from agents.experiment.streams import unit_seed
from agents.pretraining import mle_epoch, real_subset, train_discriminator
from seqgan_gym.generator import LSTMGenerator


def seqgan(config: SeqGANConfig) -> tuple[LSTMGenerator, torch.nn.Module]:
    """Algorithm 1 for ``config`` (an adversarial method, without the MLE control): the trained G_θ and D_φ.

    :param config: a run whose ``method`` is adversarial (``"seqgan"``, or a successor of
        ``seqgan_gym.rewards.REWARDS``) and ``mle_continuation_epochs=0``.
    """
    if not config.is_adversarial or config.continuation_epochs:
        raise ValueError("Algorithm 1 runs an adversarial method with mle_continuation_epochs=0")
    # Line 1: initialise G_θ, D_φ with random weights, and the real set S (the oracle's samples). The
    # trainer's constructor builds them, with the env whose reward wrapper is the Monte Carlo search.
    run = SeqGANTrainer(config)
    generator, discriminator, real = run.generator, run.discriminator, run.real_data
    units = iter(range(len(config.units())))

    def next_unit() -> int:  # every unit seeds its random streams from (seed, unit)
        seed = unit_seed(config.seed, next(units))
        torch.manual_seed(seed)
        return seed

    # Line 2: pre-train G_θ using MLE on S.
    for _ in range(config.mle_epochs):
        next_unit()
        mle_epoch(generator, real, run.mle_optimizer, config.batch_size, config.max_grad_norm)
    # Line 3: β ← θ.
    run.rollout_policy.load_state_dict(generator.state_dict())
    # Lines 4-5: generate negative examples using G_θ for training D_φ; pre-train D_φ by minimising the
    # cross entropy (Eq. 5).
    n_fake = config.n_real if config.n_negatives is None else config.n_negatives
    for _ in range(config.d_pretrain_rounds):
        next_unit()
        fake, positives = generator.sample(n_fake), real_subset(real, n_fake)
        train_discriminator(
            discriminator, positives, fake, run.discriminator_optimizer, config.d_pretrain_epochs, config.d_batch_size
        )
    # Lines 6-17: repeat until SeqGAN converges (here: adversarial_epochs times).
    for _ in range(config.adversarial_epochs):
        seed = next_unit()
        # Lines 7-11, one g-step: generate a batch of sequences Y_{1:T} ~ G_θ; for t in 1:T compute
        # Q(a = y_t; s = Y_{1:t-1}) by Eq. 4 (the env's Monte Carlo reward wrapper, rolling out with G_β);
        # update the generator's parameters by policy gradient, Eq. 8 (REINFORCE, γ = 0).
        run.env.seed(seed)
        run.model._last_obs = run.env.reset()  # type: ignore[assignment]
        run.model.policy.forget()
        run.model.learn(config.batch_size * config.seq_len, reset_num_timesteps=False)
        # Lines 12-15, d-steps: use the current G_θ to generate negative examples and combine them with
        # positive examples from S; train D_φ for k epochs by Eq. 5.
        for _ in range(config.d_steps):
            fake, positives = generator.sample(n_fake), real_subset(real, n_fake)
            train_discriminator(
                discriminator, positives, fake, run.discriminator_optimizer, config.k_epochs, config.d_batch_size
            )
        # Line 16: β ← θ.
        run.rollout_policy.load_state_dict(generator.state_dict())
    return generator, discriminator
