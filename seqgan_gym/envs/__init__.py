"""SeqGAN environments: token generation scored by a discriminator, on the oracle benchmark or on real text."""

from seqgan_gym.envs.oracle_benchmark import OracleBenchmark
from seqgan_gym.envs.text_benchmark import TextBenchmark
from seqgan_gym.envs.text_generation import TextGenerationEnv
from seqgan_gym.envs.text_generation_vector import TextGenerationVectorEnv
from seqgan_gym.envs.token_generation import TokenGenerationEnv
from seqgan_gym.envs.token_generation_vector import TokenGenerationVectorEnv

__all__ = [
    "OracleBenchmark",
    "TextBenchmark",
    "TextGenerationEnv",
    "TextGenerationVectorEnv",
    "TokenGenerationEnv",
    "TokenGenerationVectorEnv",
]
