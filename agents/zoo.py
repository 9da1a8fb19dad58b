"""RL Baselines3 Zoo on seqgan-gym: our hyper-parameter files, REINFORCE, and what ``--optimize`` needs.

The Zoo as it is trains PPO, A2C and TRPO on ``SeqGAN-Oracle-v0`` from the yaml files shipped in
``agents/hyperparams/`` (the Monte Carlo wrapper, pretraining, D training, β ← θ and NLL-oracle all
come from the yaml's own ``env_wrapper`` and ``callback`` keys)::

    python -m rl_zoo3.train --algo ppo --env SeqGAN-Oracle-v0 --gym-packages seqgan_gym \\
        --conf-file agents/hyperparams/ppo.yml

``python -m agents.zoo`` takes the same arguments and runs the same Zoo (``rl_zoo3.train.train``)
after registering, in its registries and for this process only, what the Zoo cannot read from a
yaml file:

* ``--algo reinforce``: :class:`agents.REINFORCE` in ``rl_zoo3.utils.ALGOS`` (the Zoo's list of
  algorithms; ``rl_zoo3.train`` builds its ``--algo`` choices from it before it imports anything
  else, so ``--gym-packages`` comes too late);
* samplers for ``--optimize`` (``HYPERPARAMS_SAMPLER``) over what matters for a pretrained generator
  (learning rate, epochs per batch, clip range or KL, entropy, gradient clip, advantage
  normalisation). The Zoo's own samplers also draw γ near 1, ``n_steps`` up to 4096 and an MLP
  actor (``net_arch``), which would undo the Monte Carlo returns and replace G_θ.

Both commands evaluate on the oracle: :func:`evaluate_on_the_oracle`, run when ``agents`` is
imported in a Zoo process (the shipped yaml's callbacks import it before the Zoo builds any env),
gives the Zoo's evaluation env of ``SeqGAN-Oracle-v0`` ``terminal_reward="oracle_log_likelihood"``
unless ``--eval-env-kwargs`` is given. Its mean episode return (what ``--optimize`` maximises, and
what picks ``best_model.zip``) is then minus NLL-oracle; the Monte Carlo wrapper passes such an
env's rewards through. Built like the training env, the evaluation env would be scored by a D of its
own that never trains: a return that says nothing of the generator. Set ``--eval-episodes`` to a few
hundred (one sampled sequence each: the yaml's ``deterministic_decoding: sample``).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

HYPERPARAMS_DIR = Path(__file__).with_name("hyperparams")
ALGORITHMS = ("ppo", "a2c", "trpo", "reinforce")
#: The env ids whose RL Zoo evaluation env :func:`evaluate_on_the_oracle` scores by the oracle.
ORACLE_ENV_IDS = ("SeqGAN-Oracle-v0",)


def hyperparams_file(algo: str) -> Path:
    """The shipped RL Zoo yaml of ``algo`` (``ppo``, ``a2c``, ``trpo``, ``reinforce``)."""
    if algo not in ALGORITHMS:
        raise ValueError(f"algo must be one of {list(ALGORITHMS)}, got {algo!r}")
    return HYPERPARAMS_DIR / f"{algo}.yml"


#: Keys of a Zoo yaml entry that the Zoo reads itself; the rest are the algorithm's arguments.
ZOO_KEYS = ("n_envs", "n_timesteps", "policy", "env_wrapper", "vec_env_wrapper", "callback", "normalize", "frame_stack")


def algorithm_kwargs(algo: str, env_id: str = "SeqGAN-Oracle-v0") -> dict[str, Any]:
    """The constructor arguments of ``algo`` in its shipped yaml (the Zoo's own keys removed)."""
    import yaml

    hyper = yaml.safe_load(hyperparams_file(algo).read_text(encoding="utf-8"))[env_id]
    return {key: value for key, value in hyper.items() if key not in ZOO_KEYS}


def _common(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-2, log=True),
        "max_grad_norm": trial.suggest_categorical("max_grad_norm", [0.5, 1.0, 5.0, 50.0]),
    }


def sample_ppo(trial: Any, n_actions: int, n_envs: int, additional_args: dict) -> dict[str, Any]:
    return {
        **_common(trial),
        "n_epochs": trial.suggest_categorical("n_epochs", [1, 2, 4, 10]),
        "batch_size": trial.suggest_categorical("batch_size", [128, 320, 1280]),
        "clip_range": trial.suggest_categorical("clip_range", [0.05, 0.1, 0.2, 0.4]),
        "ent_coef": trial.suggest_categorical("ent_coef", [0.0, 1e-3, 1e-2]),
        "normalize_advantage": trial.suggest_categorical("normalize_advantage", [True, False]),
        "vf_coef": trial.suggest_categorical("vf_coef", [0.0, 0.25, 0.5, 1.0]),  # 0: the critic never moves
    }


def sample_a2c(trial: Any, n_actions: int, n_envs: int, additional_args: dict) -> dict[str, Any]:
    use_rms_prop = trial.suggest_categorical("use_rms_prop", [True, False])  # False: Adam, the paper's
    # One step per update on a loss averaged over every token of the batch: its gradients are small
    # enough for the optimiser's eps to shrink the step (docs/algorithms.md).
    eps = trial.suggest_categorical("optimizer_eps", [1e-8, 1e-5])
    optimizer = {"rms_prop_eps": eps} if use_rms_prop else {"policy_kwargs": _policy_kwargs(eps)}
    return {
        **_common(trial),
        "ent_coef": trial.suggest_categorical("ent_coef", [0.0, 1e-3, 1e-2]),
        "normalize_advantage": trial.suggest_categorical("normalize_advantage", [True, False]),
        "vf_coef": trial.suggest_categorical("vf_coef", [0.0, 0.25, 0.5, 1.0]),
        "use_rms_prop": use_rms_prop,
        **optimizer,
    }


def _policy_kwargs(adam_eps: float) -> dict[str, Any]:
    """``policy_kwargs`` of a trial (the Zoo replaces the yaml's by it): Adam's eps, sampled decoding."""
    return {"optimizer_kwargs": {"eps": adam_eps}, "deterministic_decoding": "sample"}


def sample_trpo(trial: Any, n_actions: int, n_envs: int, additional_args: dict) -> dict[str, Any]:
    return {
        # The critic's: always trained (no vf_coef); at 1e-7 it stays where it started, so the advantage
        # is the raw Q_t less a constant, as REINFORCE's.
        "learning_rate": trial.suggest_float("learning_rate", 1e-7, 3e-2, log=True),
        "target_kl": trial.suggest_float("target_kl", 1e-3, 0.3, log=True),  # the policy's step
        "batch_size": trial.suggest_categorical("batch_size", [128, 320, 1280]),
        "normalize_advantage": trial.suggest_categorical("normalize_advantage", [True, False]),
        "n_critic_updates": trial.suggest_categorical("n_critic_updates", [5, 10, 20]),
        # The conjugate gradient's damping, not target_kl, sets how far a step goes against the flat
        # Fisher of a large softmax (docs/algorithms.md).
        "cg_damping": trial.suggest_categorical("cg_damping", [0.1, 0.01, 0.001]),
    }


def sample_reinforce(trial: Any, n_actions: int, n_envs: int, additional_args: dict) -> dict[str, Any]:
    return {**_common(trial), "baseline": trial.suggest_categorical("baseline", [None, "batch_mean"])}


SAMPLERS = {"ppo": sample_ppo, "a2c": sample_a2c, "trpo": sample_trpo, "reinforce": sample_reinforce}


def register() -> None:
    """REINFORCE and the samplers above in the Zoo's registries (this process only)."""
    from rl_zoo3.hyperparams_opt import HYPERPARAMS_SAMPLER
    from rl_zoo3.utils import ALGOS

    from agents.policies import register_policy_aliases
    from agents.reinforce import REINFORCE

    register_policy_aliases()  # the yaml's "GeneratorPolicy"

    ALGOS["reinforce"] = REINFORCE
    HYPERPARAMS_SAMPLER.update(SAMPLERS)


def evaluate_on_the_oracle() -> None:
    """RL Zoo's evaluation env of ``SeqGAN-Oracle-v0`` with the oracle's log-likelihood as its reward.

    Wraps ``rl_zoo3.exp_manager.ExperimentManager.create_envs`` (once, this process only): an
    evaluation env gets ``terminal_reward="oracle_log_likelihood"`` on top of the training env's
    arguments, unless the command line gave ``--eval-env-kwargs`` (then those, as the Zoo does).
    """
    from rl_zoo3.exp_manager import ExperimentManager

    create_envs = ExperimentManager.create_envs
    if getattr(create_envs, "evaluates_on_the_oracle", False):
        return

    @functools.wraps(create_envs)
    def _create_envs(self: Any, n_envs: int, eval_env: bool = False, no_log: bool = False) -> Any:
        chosen = getattr(self, "_eval_env_kwargs_args", None) is not None  # --eval-env-kwargs given
        if eval_env and not chosen and self.env_name.gym_id in ORACLE_ENV_IDS:
            self.eval_env_kwargs = {**self.eval_env_kwargs, "terminal_reward": "oracle_log_likelihood"}
        return create_envs(self, n_envs, eval_env=eval_env, no_log=no_log)

    _create_envs.evaluates_on_the_oracle = True  # type: ignore[attr-defined]
    ExperimentManager.create_envs = _create_envs  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    """Run ``rl_zoo3.train`` with ``argv`` (default: this command's arguments) after :func:`register`."""
    try:
        from rl_zoo3.train import train
    except ImportError:
        raise SystemExit('RL Zoo is not installed: pip install -e ".[zoo]"') from None
    args = list(sys.argv[1:] if argv is None else argv)
    if "--gym-packages" not in args:
        args += ["--gym-packages", "seqgan_gym"]
    register()
    evaluate_on_the_oracle()
    sys.argv = ["python -m agents.zoo", *args]  # the Zoo's train() parses sys.argv
    train()


if __name__ == "__main__":
    main()
