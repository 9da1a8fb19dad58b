"""The reward seam: a reward function from the completions' scores to Q_t, and any trainable scorer in D's place."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import tiny_config
from test_wrappers import SMALL_T, SMALL_V, FirstLastDiscriminator, _exact_q

from agents.experiment.config import METHOD_PHASES
from agents.pretraining import discriminator_optimizer, train_discriminator
from seqgan_gym import MonteCarloRewardWrapper, TokenGenerationEnv, TokenGenerationVectorEnv
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.rewards import REWARDS, Reward, TrainableScorer, get_reward, mean_reward
from seqgan_gym.rollout import MonteCarloQEstimator

V, T = 12, 6  # conftest's tiny sizes


def test_the_default_is_the_papers_mean_and_a_reward_replaces_it() -> None:
    """Q_t is ``reward`` of the [B, N] completion scores: the mean converges to E[D]; max of N to ≥ it."""
    scores = torch.tensor([[0.2, 0.4], [1.0, 0.0]])
    assert torch.equal(mean_reward(scores), torch.tensor([0.3, 0.5]))
    seen: list[tuple[int, ...]] = []

    def spy_max(values: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(values.shape))
        return values.max(dim=1).values

    disc = FirstLastDiscriminator()
    small_policy = LSTMGenerator(
        SMALL_V, SMALL_T, emb_dim=4, hidden_dim=4, init_std=1.5, generator=torch.Generator().manual_seed(2)
    )
    mean_q = MonteCarloQEstimator(small_policy, disc, n_rollouts=2048)
    max_q = MonteCarloQEstimator(small_policy, disc, n_rollouts=2048, reward=spy_max)
    for estimator in (mean_q, max_q):
        estimator.reset(3)
    tokens = torch.tensor([0, 1, 2])
    gen_a, gen_b = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    q_mean, q_max = mean_q.advance(tokens, gen_a), max_q.advance(tokens, gen_b)
    assert seen == [(3, 2048)]
    for b, token in enumerate(tokens.tolist()):
        exact, _ = _exact_q(small_policy, [token])
        assert float(q_mean[b]) == pytest.approx(exact, abs=0.02)
        # max over 2048 completions: the largest D any completion of this first token reaches
        assert float(q_max[b]) == pytest.approx(max(disc.scale[token] * disc.values).item(), abs=1e-6)
    assert torch.equal(max_q.terminal_q(torch.tensor([0.1, 0.7])), torch.tensor([0.1, 0.7]))
    with pytest.raises(TypeError, match="reward must be a callable"):
        MonteCarloQEstimator(small_policy, disc, reward="mean")  # type: ignore[arg-type]


def test_the_terminal_step_gets_the_whole_batch(tiny_env_kwargs: dict, tiny_generator) -> None:
    """A reward normalised over the batch: at t = T it sees every sub-env's D(Y) at once (vector env)."""

    def centred(scores: torch.Tensor) -> torch.Tensor:  # minus the batch mean of the completions' means
        q = scores.mean(dim=1)
        return q - q.mean()

    env = MonteCarloRewardWrapper(
        TokenGenerationVectorEnv(num_envs=4, **tiny_env_kwargs), tiny_generator, 3, reward=centred
    )
    env.reset(seed=1)
    actions = np.random.default_rng(2).integers(0, V, size=(T, 4))
    for a in actions:
        _, rewards, terminated, _, _ = env.step(a)
        assert abs(float(rewards.sum())) < 1e-6  # every step's Q_t is centred over the 4 sequences
    assert terminated.all()
    d = tiny_env_kwargs["discriminator"].prob_real(torch.from_numpy(actions.T.copy())).double().numpy()
    np.testing.assert_allclose(rewards, d - d.mean(), atol=1e-7)
    single = MonteCarloRewardWrapper(TokenGenerationEnv(**tiny_env_kwargs), tiny_generator, 3, reward=centred)
    single.reset(seed=1)
    assert all(single.step(int(a))[1] == 0.0 for a in actions[:, 0])  # a batch of one is its own mean


class LinearScorer(torch.nn.Module):
    """A trainable scorer that is not the paper's CNN: sigmoid of a per-token sum of weights."""

    def __init__(self) -> None:
        super().__init__()
        self.vocab_size, self.seq_len = V, T
        self.weight = torch.nn.Parameter(torch.zeros(V))

    @property
    def device(self) -> torch.device:
        return self.weight.device

    def logits(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.weight[tokens].sum(dim=1)

    def prob_real(self, tokens: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.sigmoid(self.logits(tokens))

    def prob_real_completions(self, prefix: torch.Tensor, suffix: torch.Tensor) -> torch.Tensor:
        n = suffix.shape[0] // prefix.shape[0]
        return self.prob_real(torch.cat([prefix.repeat_interleave(n, 0), suffix], 1))

    def loss(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.binary_cross_entropy_with_logits(self.logits(tokens), labels.float())


def test_any_trainable_scorer_trains_in_ds_place() -> None:
    scorer = LinearScorer()
    assert isinstance(scorer, TrainableScorer)
    real = torch.zeros(64, T, dtype=torch.long)  # real sequences are all token 0, generated ones token 5
    fake = torch.full((64, T), 5, dtype=torch.long)
    train_discriminator(scorer, real, fake, discriminator_optimizer(scorer, lr=0.1), epochs=5, batch_size=16)  # type: ignore[arg-type]
    assert scorer.prob_real(real[:1]) > 0.9 and scorer.prob_real(fake[:1]) < 0.1
    with pytest.raises(TypeError, match="trainable scorer"):
        train_discriminator(object(), real, fake, None, 1)  # type: ignore[arg-type]


def test_the_registry_names_every_adversarial_method() -> None:
    assert next(iter(REWARDS)) == "seqgan" and all(METHOD_PHASES[name] == "adversarial" for name in REWARDS)
    assert get_reward("seqgan") == Reward("SeqGAN")
    with pytest.raises(ValueError, match="reward must be one of"):
        get_reward("wgan")
    assert tiny_config(method="seqgan").is_adversarial and not tiny_config(method="pg_bleu").is_adversarial
