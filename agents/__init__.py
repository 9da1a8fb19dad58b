"""Agents for seqgan-gym environments (REINFORCE, generator policies, SeqGAN training callbacks)."""
