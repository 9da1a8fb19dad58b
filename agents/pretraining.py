"""Maximum-likelihood pretraining of G and supervised training of D, as in the paper's reference code.

* :func:`mle_epoch` / :func:`mle_pretrain`: teacher-forced MLE on the real set, loss averaged
  over tokens, Adam lr 0.01, global grad-norm clip 5.0, batch 64, batches in data order (the
  reference code neither shuffles nor keeps a final partial batch).
* :func:`train_discriminator` / :func:`pretrain_discriminator`: ``epochs`` passes over real +
  generated sequences (shuffled), the paper's D loss (cross-entropy + output-layer L2), Adam 1e-4,
  dropout on; pretraining repeats this ``rounds`` times with fresh negatives (paper: 50 x 3).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from seqgan_gym._checks import check_float, check_int, check_tokens, fault_context
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import TokenLSTM
from seqgan_gym.rewards import TrainableScorer


def mle_optimizer(generator: TokenLSTM, lr: float = 0.01) -> torch.optim.Adam:
    """The reference code's generator optimiser: Adam, lr 0.01 (torch's fused implementation: one kernel per step)."""
    return torch.optim.Adam(generator.parameters(), lr=check_float("lr", lr, 0, low_open=True), fused=True)


def mle_epoch(
    generator: TokenLSTM,
    real_data: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    batch_size: int = 64,
    max_grad_norm: float = 5.0,
) -> float:
    """One epoch of teacher-forced maximum likelihood on ``real_data``.

    :param generator: G_θ (any ``TokenLSTM``), trained in place.
    :param real_data: ``LongTensor[n, T]``, ``n >= batch_size`` (the last partial batch is dropped).
    :param optimizer: an optimiser over ``generator``'s parameters (see :func:`mle_optimizer`).
    :param batch_size: sequences per update (paper: 64).
    :param max_grad_norm: global gradient-norm clip (paper: 5.0).
    :return: the mean of the batch losses (mean per-token NLL, nats).
    """
    return supervised_epoch(
        generator,
        real_data,
        optimizer,
        # the mean NLL; the weights are made where the batch is, so a GPU run copies nothing per batch
        lambda batch: generator.weighted_nll(batch, torch.full(batch.shape, 1.0 / batch.numel(), device=batch.device)),
        batch_size,
        max_grad_norm,
    )


def supervised_epoch(
    generator: TokenLSTM,
    real_data: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    batch_loss: Callable[[torch.Tensor], torch.Tensor],
    batch_size: int = 64,
    max_grad_norm: float = 5.0,
) -> float:
    """One pass over ``real_data`` in batches (data order, last partial batch dropped), minimising ``batch_loss``.

    The loop of MLE and of Scheduled Sampling: each batch's loss, backward, global grad-norm clip, step.

    :param batch_loss: maps a ``LongTensor[batch_size, T]`` batch to a scalar loss.
    :return: the mean of the batch losses.
    """
    if not isinstance(generator, TokenLSTM):
        raise TypeError(f"generator must be a TokenLSTM (e.g. LSTMGenerator), got {type(generator).__name__}")
    real_data = check_tokens(
        "real_data", real_data, generator.vocab_size, exact_len=generator.seq_len, device=generator.device
    )
    batch_size = check_int("batch_size", batch_size, minimum=1)
    max_grad_norm = check_float("max_grad_norm", max_grad_norm, 0, low_open=True)
    n_batches = real_data.shape[0] // batch_size
    if n_batches == 0:
        raise ValueError(f"real_data must hold at least batch_size={batch_size} sequences, got {real_data.shape[0]}")
    generator.train()
    total = 0.0
    for b in range(n_batches):
        loss = batch_loss(real_data[b * batch_size : (b + 1) * batch_size])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(generator.parameters(), max_grad_norm)
        # One host sync for both checks (the loss is read each batch anyway), before the step touches θ.
        loss_value, norm_value = torch.stack([loss.detach().float(), grad_norm.float()]).tolist()
        for quantity, value in (("generator loss", loss_value), ("generator gradient norm", norm_value)):
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"non-finite {quantity} at batch {b + 1} of {n_batches}: {value!r}; the generator was not updated"
                )
        optimizer.step()
        total += loss_value
    return total / n_batches


def mle_pretrain(
    generator: TokenLSTM,
    real_data: torch.Tensor,
    epochs: int = 120,
    batch_size: int = 64,
    lr: float = 0.01,
    max_grad_norm: float = 5.0,
    on_epoch_end: Callable[[int, float], None] | None = None,
) -> list[float]:
    """MLE pretraining of G_θ (paper: 120 epochs). ``on_epoch_end(epoch, mean_loss)`` follows each epoch.

    :return: the mean loss of every epoch.
    """
    epochs = check_int("epochs", epochs, minimum=0)
    optimizer = mle_optimizer(generator, lr)
    losses = []
    for epoch in range(epochs):
        with fault_context(f"MLE epoch {epoch + 1} of {epochs}"):
            losses.append(mle_epoch(generator, real_data, optimizer, batch_size, max_grad_norm))
        if on_epoch_end is not None:
            on_epoch_end(epoch, losses[-1])
    return losses


def discriminator_optimizer(discriminator: Discriminator, lr: float = 1e-4) -> torch.optim.Adam:
    """The reference code's discriminator optimiser: Adam, lr 1e-4 (torch's fused implementation: one kernel per step).

    D has 7 M parameters: the fused step makes one pass over them where the unfused one makes several.
    """
    return torch.optim.Adam(discriminator.parameters(), lr=check_float("lr", lr, 0, low_open=True), fused=True)


def train_discriminator(
    discriminator: Discriminator,
    real: torch.Tensor,
    fake: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    epochs: int = 3,
    batch_size: int = 64,
    generator: torch.Generator | None = None,
) -> float:
    """``epochs`` passes of the paper's D loss over ``real`` (label 1) and ``fake`` (label 0), shuffled.

    :param discriminator: D, trained in place with dropout on; left in eval mode afterwards.
    :param real: ``LongTensor[n_real, T]``. :param fake: ``LongTensor[n_fake, T]``.
    :param optimizer: an optimiser over D's parameters (see :func:`discriminator_optimizer`).
    :param epochs: passes over the data (paper: 3). :param batch_size: paper: 64.
    :param generator: random stream of the shuffling (on the CPU). Dropout draws from torch's
        global stream: seed it with ``torch.manual_seed`` for a reproducible run.
    :return: the mean batch loss of the last epoch.
    """
    if not isinstance(discriminator, TrainableScorer):
        raise TypeError(
            "discriminator must be a trainable scorer (seqgan_gym.rewards.TrainableScorer, e.g. the paper's "
            f"Discriminator), got {type(discriminator).__name__}"
        )
    v, t, device = discriminator.vocab_size, discriminator.seq_len, discriminator.device
    real = check_tokens("real", real, v, exact_len=t, device=device)
    fake = check_tokens("fake", fake, v, exact_len=t, device=device)
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    tokens = torch.cat([real, fake])
    labels = torch.cat([torch.ones(len(real), dtype=torch.long), torch.zeros(len(fake), dtype=torch.long)]).to(device)
    if len(tokens) == 0:
        raise ValueError("real and fake must not both be empty")
    discriminator.train()
    n_batches = -(-len(tokens) // batch_size)
    try:
        for epoch in range(epochs):
            order = torch.randperm(len(tokens), generator=generator).to(device)
            total = 0.0
            for b, start in enumerate(range(0, len(tokens), batch_size)):
                rows = order[start : start + batch_size]
                loss = discriminator.loss(tokens[rows], labels[rows])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                value = float(loss.detach())  # read each batch anyway: checked before the step touches D
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"non-finite discriminator loss at epoch {epoch + 1} of {epochs}, batch {b + 1} of "
                        f"{n_batches}: {value!r}; D was not updated"
                    )
                optimizer.step()
                total += value
            # A non-finite gradient with a finite loss shows in the parameters: one check per epoch,
            # not one gradient norm per batch (D has millions of parameters and no clipping).
            if not bool(torch.stack([torch.isfinite(p).all() for p in discriminator.parameters()]).all()):
                raise FloatingPointError(
                    f"non-finite discriminator parameters after epoch {epoch + 1} of {epochs} "
                    "(a non-finite gradient reached the optimiser)"
                )
    finally:
        discriminator.eval()
    return total / n_batches


def real_subset(real_data: torch.Tensor, n: int | None, generator: torch.Generator | None = None) -> torch.Tensor:
    """The positives of one discriminator round: ``n`` real sequences drawn without replacement.

    ``n=None`` or ``n >= len(real_data)``: the whole real set (the paper's rounds: as many
    negatives as real sequences). A smaller ``n`` keeps a round with ``n`` negatives balanced.
    """
    if n is None or n >= len(real_data):
        return real_data
    rows = torch.randperm(len(real_data), generator=generator)[: check_int("n", n, minimum=1)]
    return real_data[rows.to(real_data.device)]


def pretrain_discriminator(
    discriminator: Discriminator,
    generator: TokenLSTM,
    real_data: torch.Tensor,
    rounds: int = 50,
    epochs: int = 3,
    batch_size: int = 64,
    lr: float = 1e-4,
    sample_generator: torch.Generator | None = None,
    on_round_end: Callable[[int, float], None] | None = None,
    n_negatives: int | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> list[float]:
    """Discriminator pretraining (paper: 50 rounds x 3 epochs), fresh negatives from G each round.

    Each round draws ``n_negatives`` sequences from ``generator`` (``None``: ``len(real_data)``,
    the paper's) and runs :func:`train_discriminator` on them and as many real sequences (see
    :func:`real_subset`). ``sample_generator`` (CPU ``torch.Generator``) drives the negatives,
    the real subset and the shuffling; with ``torch.manual_seed`` for dropout, a run is reproducible.

    :param optimizer: D's optimiser to continue; ``None``: a new Adam with ``lr``.
    :return: the last-epoch mean loss of every round.
    """
    rounds = check_int("rounds", rounds, minimum=0)
    if not isinstance(generator, TokenLSTM):
        raise TypeError(f"generator must be a TokenLSTM (e.g. LSTMGenerator), got {type(generator).__name__}")
    n_fake = len(real_data) if n_negatives is None else check_int("n_negatives", n_negatives, minimum=1)
    if optimizer is None:
        optimizer = discriminator_optimizer(discriminator, lr)
    losses = []
    for r in range(rounds):
        fake = generator.sample(n_fake, generator=sample_generator)
        real = real_subset(real_data, n_fake, sample_generator)
        with fault_context(f"discriminator pretraining round {r + 1} of {rounds}"):
            losses.append(
                train_discriminator(discriminator, real, fake, optimizer, epochs, batch_size, sample_generator)
            )
        if on_round_end is not None:
            on_round_end(r, losses[-1])
    return losses


def discriminator_accuracy(discriminator: Discriminator, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
    """D's accuracy at threshold 0.5: ``d_acc_real`` on ``real`` ``[n, T]``, ``d_acc_fake`` on ``fake`` ``[m, T]``."""
    return {
        "d_acc_real": (discriminator.prob_real(real) > 0.5).float().mean().item(),
        "d_acc_fake": (discriminator.prob_real(fake) <= 0.5).float().mean().item(),
    }
