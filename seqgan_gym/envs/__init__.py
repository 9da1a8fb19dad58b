"""SeqGAN environments: token generation scored by a discriminator."""

from seqgan_gym.envs.oracle_benchmark import OracleBenchmark
from seqgan_gym.envs.token_generation import TokenGenerationEnv
from seqgan_gym.envs.token_generation_vector import TokenGenerationVectorEnv

__all__ = ["OracleBenchmark", "TokenGenerationEnv", "TokenGenerationVectorEnv"]
