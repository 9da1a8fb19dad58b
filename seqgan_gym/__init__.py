"""seqgan-gym: SeqGAN (Yu et al., AAAI 2017) as a Gymnasium reinforcement-learning problem.

Importing the package registers ``SeqGAN-Oracle-v0`` (the paper's synthetic oracle benchmark)
and ``SeqGAN-Text-v0`` (COCO captions, Chinese poems or a text file) for ``gymnasium.make`` and
``gymnasium.make_vec``. It changes nothing else in the process: a program that wants freed memory
kept for reuse (faster Monte Carlo rollouts on the CPU) calls
``seqgan_gym._malloc.keep_freed_memory()`` itself, as the command lines and a sweep's trials do
(a library object never changes the process's allocator).
"""

from gymnasium.envs.registration import register, registry

from seqgan_gym import _malloc  # noqa: F401  (reads SEQGAN_GYM_KEEP_FREED_MEMORY; changes nothing)
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.envs import TextGenerationEnv, TextGenerationVectorEnv, TokenGenerationEnv, TokenGenerationVectorEnv
from seqgan_gym.generator import LSTMGenerator, TokenLSTM
from seqgan_gym.metrics import BLEUScorer, bleu, nll_oracle, nll_test, self_bleu
from seqgan_gym.oracle import OracleLSTM
from seqgan_gym.rollout import MonteCarloQEstimator
from seqgan_gym.text import TextCorpus, Vocabulary
from seqgan_gym.wrappers import MonteCarloRewardVectorWrapper, MonteCarloRewardWrapper

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

__all__ = [
    "BLEUScorer",
    "Discriminator",
    "LSTMGenerator",
    "MonteCarloQEstimator",
    "MonteCarloRewardVectorWrapper",
    "MonteCarloRewardWrapper",
    "OracleLSTM",
    "TextCorpus",
    "TextGenerationEnv",
    "TextGenerationVectorEnv",
    "TokenGenerationEnv",
    "TokenGenerationVectorEnv",
    "TokenLSTM",
    "Vocabulary",
    "bleu",
    "nll_oracle",
    "nll_test",
    "self_bleu",
]
