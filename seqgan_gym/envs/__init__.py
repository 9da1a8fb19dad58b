"""SeqGAN environments: token generation scored by a discriminator, on the oracle benchmark or on real text.

One MDP, :class:`SequenceGenerationEnv` (and its batched :class:`SequenceGenerationVectorEnv`), runs
over a :class:`Benchmark`; the registered envs build it from their arguments:

* ``SeqGAN-Oracle-v0``: :class:`TokenGenerationEnv`, :class:`TokenGenerationVectorEnv` (:class:`OracleBenchmark`);
* ``SeqGAN-Text-v0``: :class:`TextGenerationEnv`, :class:`TextGenerationVectorEnv` (:class:`TextBenchmark`).
"""

from seqgan_gym.envs.benchmark import Benchmark
from seqgan_gym.envs.oracle_benchmark import OracleBenchmark
from seqgan_gym.envs.sequence_generation import SequenceGenerationEnv
from seqgan_gym.envs.sequence_generation_vector import SequenceGenerationVectorEnv
from seqgan_gym.envs.text_benchmark import TextBenchmark
from seqgan_gym.envs.text_generation import TextGenerationEnv, TextGenerationVectorEnv
from seqgan_gym.envs.token_generation import TokenGenerationEnv, TokenGenerationVectorEnv

__all__ = [
    "Benchmark",
    "OracleBenchmark",
    "SequenceGenerationEnv",
    "SequenceGenerationVectorEnv",
    "TextBenchmark",
    "TextGenerationEnv",
    "TextGenerationVectorEnv",
    "TokenGenerationEnv",
    "TokenGenerationVectorEnv",
]
