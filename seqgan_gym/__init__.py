"""seqgan-gym: SeqGAN (Yu et al., AAAI 2017) as a Gymnasium reinforcement-learning problem.

Importing the package registers ``SeqGAN-Oracle-v0`` (the paper's synthetic oracle benchmark)
and ``SeqGAN-Text-v0`` (COCO captions, Chinese poems or a text file) for ``gymnasium.make`` and
``gymnasium.make_vec``. It changes nothing else in the process: a program that wants freed memory
kept for reuse (faster Monte Carlo rollouts on the CPU) calls
``seqgan_gym._malloc.keep_freed_memory()`` itself, as the command lines and a sweep's trials do
(a library object never changes the process's allocator).
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

# Read the package's environment switches (a bad value fails the import, by name) and note this
# process's id (a forked worker then knows it is one); neither imports torch or changes anything.
from seqgan_gym import _env, _fork  # noqa: F401
from seqgan_gym._lazy import lazy_names

#: Each public name and the module that defines it, imported on first use (PEP 562) so that
#: ``import seqgan_gym`` (the env registration, ``seqgan-gym --help``) does not import torch.
_PUBLIC: dict[str, str] = {
    "BLEUScorer": "seqgan_gym.metrics",
    "Discriminator": "seqgan_gym.discriminator",
    "LSTMGenerator": "seqgan_gym.generator",
    "MonteCarloQEstimator": "seqgan_gym.rollout",
    "MonteCarloRewardVectorWrapper": "seqgan_gym.wrappers",
    "MonteCarloRewardWrapper": "seqgan_gym.wrappers",
    "OracleLSTM": "seqgan_gym.oracle",
    "TextCorpus": "seqgan_gym.text",
    "TextGenerationEnv": "seqgan_gym.envs",
    "TextGenerationVectorEnv": "seqgan_gym.envs",
    "TokenGenerationEnv": "seqgan_gym.envs",
    "TokenGenerationVectorEnv": "seqgan_gym.envs",
    "TokenLSTM": "seqgan_gym.generator",
    "Vocabulary": "seqgan_gym.text",
    "bleu": "seqgan_gym.metrics",
    "nll_oracle": "seqgan_gym.metrics",
    "nll_test": "seqgan_gym.metrics",
    "self_bleu": "seqgan_gym.metrics",
}

__version__ = "0.1.0"

if "SeqGAN-Oracle-v0" not in registry:
    register(
        id="SeqGAN-Oracle-v0",
        entry_point="seqgan_gym.envs:TokenGenerationEnv",
        vector_entry_point="seqgan_gym.envs:TokenGenerationVectorEnv",
    )
if "SeqGAN-Text-v0" not in registry:
    register(
        id="SeqGAN-Text-v0",
        entry_point="seqgan_gym.envs:TextGenerationEnv",
        vector_entry_point="seqgan_gym.envs:TextGenerationVectorEnv",
    )

__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)
