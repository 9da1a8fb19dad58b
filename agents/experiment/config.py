"""What defines a run of the trainer: :class:`SeqGANConfig`, its schedule of units, and the presets.

A run is a fixed list of units ``(phase, index)``: MLE epochs (Algorithm 1, line 2), the MLE-only
control of Figure 2, discriminator pretraining rounds (lines 4-5), then the epochs of the method
(lines 6-13 for SeqGAN, or a baseline of Table 1). :meth:`SeqGANConfig.units` lists them in order.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from agents.sampling_schedule import PAPER_RATE, SamplingSchedule
from seqgan_gym._bleu import SMOOTHINGS
from seqgan_gym._checks import D_PRECISIONS, DEFAULT_ORACLE_SEED, MAX_N_SEQUENCES, check_filters, check_float, check_int
from seqgan_gym.rewards import REWARDS

#: The phases of a run, in the order their units run.
PHASES: tuple[str, ...] = ("mle", "mle_continuation", "d_pretrain", "adversarial", "pg_bleu", "scheduled_sampling")
#: The largest seed: numpy's generators take seeds below 2**32.
MAX_SEED = 2**32 - 1
#: The generators a run folder holds: G_θ (trained by the run's method) and the MLE-only control.
GENERATORS: tuple[str, ...] = ("method", "mle")
#: Fields added to :class:`SeqGANConfig` after checkpoints of format 1 were first written, with the value a
#: config without them meant: such a checkpoint resumes as the run it was.
LATER_FIELDS: dict[str, Any] = {"corpus": None, "test_corpus": None, "tokenizer": "word"}
#: What trains G_θ after pretraining, and the phase of its units: every adversarial method of
#: :data:`seqgan_gym.rewards.REWARDS` (SeqGAN first) runs Algorithm 1's adversarial units with its reward.
METHOD_PHASES: dict[str, str] = {
    **dict.fromkeys(REWARDS, "adversarial"),
    "pg_bleu": "pg_bleu",
    "scheduled_sampling": "scheduled_sampling",
}


@dataclasses.dataclass(frozen=True)
class SeqGANConfig:
    """Everything that defines a run. The defaults are the paper's (docs/design.md §1).

    Benchmark: ``vocab_size``, ``seq_len``, ``emb_dim`` and ``hidden_dim`` (oracle and generator
    share the shape), ``oracle_seed`` or ``oracle_file`` (the paper's published oracle), ``n_real``
    real sequences; or, in place of the oracle, a text ``corpus`` (``"coco"``, ``"poems"`` or a
    training file, with its ``test_corpus``) split by ``tokenizer`` (``"word"``, ``"char"`` or the
    path of a HuggingFace ``tokenizer.json``), whose V, T and number of training sentences must be
    ``vocab_size``, ``seq_len`` and ``n_real`` (:func:`agents.experiment.text_runs.text_config` fills them in);
    the discriminator's ``discriminator_emb_dim`` / ``discriminator_filter_sizes``
    / ``discriminator_num_filters`` (``None``: the paper's) and ``discriminator_precision``
    (``Discriminator(precision=...)``: ``"auto"`` runs its matmuls in bfloat16 where D's products
    are measured to run faster in it, ``"float32"`` everywhere).

    Schedule: ``mle_epochs`` (120), ``d_pretrain_rounds`` x ``d_pretrain_epochs`` (50 x 3),
    ``adversarial_epochs`` (200), ``mle_continuation_epochs`` (``None``: as many as the
    adversarial epochs; 0 skips the control).

    Method: ``method`` is ``"seqgan"`` (the paper's Algorithm 1), another adversarial method of
    :data:`seqgan_gym.rewards.REWARDS` (Algorithm 1 with that method's scorer and reward), or a baseline of the paper's
    Table 1 trained for ``adversarial_epochs`` after the same pretraining: ``"pg_bleu"`` (the
    policy gradient with BLEU-``bleu_max_n`` as the reward, smoothed by ``bleu_smoothing``, against a
    seeded ``bleu_reference_fraction`` of the real set; by default BLEU-3 without smoothing against
    40% of it, as the authors' ``pg_bleu`` code, for the paper states none of them; no D) or
    ``"scheduled_sampling"`` (Bengio et al. 2015, ε_i from ``SamplingSchedule(sampling_schedule,
    sampling_k)``; by default the SeqGAN paper's curriculum, ε lowered by 0.002 every epoch).

    Generator: ``batch_size`` sequences per update (64), ``generator_lr`` (Adam 0.01, MLE and
    policy gradient alike), ``max_grad_norm`` (5.0), ``n_rollouts`` N (16),
    ``rollout_update_rate`` (0: β ← θ after every update, as in Algorithm 1; r > 0 is the delayed
    copy β ← r·β + (1 - r)·θ, see :class:`~agents.callbacks.RolloutPolicySync`).

    Discriminator: ``d_steps`` (5) rounds of fresh negatives per generator update, ``k_epochs``
    (3) each, ``d_batch_size`` (64), ``discriminator_lr`` (Adam 1e-4), ``n_negatives`` per round
    (``None``: the size of the real set; a smaller number also subsamples the real set).

    Evaluation: NLL-oracle of ``n_eval`` samples (10,000) and NLL-test on ``n_eval`` held-out
    oracle samples, every ``eval_every`` epochs; on a corpus, NLL-test on (at most ``n_eval``)
    test sentences that fit in T and the vocabulary (there is no oracle to score samples).
    ``seed``: the run's seed (0 to :data:`MAX_SEED`, as ``oracle_seed``).
    """

    vocab_size: int = 5000
    seq_len: int = 20
    emb_dim: int = 32
    hidden_dim: int = 32
    oracle_seed: int = DEFAULT_ORACLE_SEED
    oracle_file: str | None = None
    corpus: str | None = None
    test_corpus: str | None = None
    tokenizer: str = "word"
    n_real: int = 10_000
    discriminator_emb_dim: int = 64
    discriminator_filter_sizes: tuple[int, ...] | None = None
    discriminator_num_filters: tuple[int, ...] | None = None
    discriminator_precision: str = "auto"
    mle_epochs: int = 120
    d_pretrain_rounds: int = 50
    d_pretrain_epochs: int = 3
    adversarial_epochs: int = 200
    mle_continuation_epochs: int | None = None
    batch_size: int = 64
    generator_lr: float = 0.01
    max_grad_norm: float = 5.0
    n_rollouts: int = 16
    rollout_update_rate: float = 0.0
    d_steps: int = 5
    k_epochs: int = 3
    d_batch_size: int = 64
    discriminator_lr: float = 1e-4
    n_negatives: int | None = None
    n_eval: int = 10_000
    eval_every: int = 1
    seed: int = 0
    method: str = "seqgan"
    bleu_max_n: int = 3
    bleu_smoothing: str = "none"
    bleu_reference_fraction: float = 0.4
    sampling_schedule: str = "seqgan_paper"
    sampling_k: float = PAPER_RATE

    _MINIMUM: ClassVar[dict[str, int]] = {
        "vocab_size": 2,
        "seq_len": 1,
        "emb_dim": 1,
        "hidden_dim": 1,
        "oracle_seed": 0,
        "n_real": 1,
        "discriminator_emb_dim": 1,
        "mle_epochs": 0,
        "d_pretrain_rounds": 0,
        "d_pretrain_epochs": 1,
        "adversarial_epochs": 0,
        "mle_continuation_epochs": 0,
        "batch_size": 1,
        "n_rollouts": 1,
        "d_steps": 1,
        "k_epochs": 1,
        "d_batch_size": 1,
        "n_negatives": 1,
        "n_eval": 1,
        "eval_every": 1,
        "seed": 0,
        "bleu_max_n": 1,
    }
    # Seeds reach numpy (the env) and torch: bounded here, not deep inside them.
    _MAXIMUM: ClassVar[dict[str, int]] = {
        "seed": MAX_SEED,
        "oracle_seed": MAX_SEED,
        # Sizes a run samples or holds: bounded, so that a typo is an error and not a run that never ends.
        "n_eval": MAX_N_SEQUENCES,
        "n_real": MAX_N_SEQUENCES,
        "n_negatives": MAX_N_SEQUENCES,
    }

    def __post_init__(self) -> None:
        for name, minimum in self._MINIMUM.items():
            value = getattr(self, name)
            if value is not None or name not in ("mle_continuation_epochs", "n_negatives"):
                check_int(name, value, minimum=minimum, maximum=self._MAXIMUM.get(name))
        for name in ("generator_lr", "max_grad_norm", "discriminator_lr"):
            check_float(name, getattr(self, name), 0, low_open=True)
        if self.method not in METHOD_PHASES:
            raise ValueError(f"method must be one of {list(METHOD_PHASES)}, got {self.method!r}")
        try:
            self.schedule()
        except ValueError as err:
            raise ValueError(f"sampling_schedule / sampling_k: {err}") from None
        check_float("rollout_update_rate", self.rollout_update_rate, 0, 1, high_open=True)
        if self.bleu_smoothing not in SMOOTHINGS:
            raise ValueError(f"bleu_smoothing must be one of {list(SMOOTHINGS)}, got {self.bleu_smoothing!r}")
        check_float("bleu_reference_fraction", self.bleu_reference_fraction, 0, 1, low_open=True)
        if self.oracle_file is not None and not isinstance(self.oracle_file, str):
            raise TypeError(f"oracle_file must be a path (str) or None, got {type(self.oracle_file).__name__}")
        self._check_corpus()
        if self.discriminator_precision not in D_PRECISIONS:
            raise ValueError(
                f"discriminator_precision must be one of {list(D_PRECISIONS)}, got {self.discriminator_precision!r}"
            )
        sizes, counts = self.discriminator_filter_sizes, self.discriminator_num_filters
        if (sizes is None) != (counts is None):
            raise ValueError("discriminator_filter_sizes and discriminator_num_filters must be given together")
        if sizes is not None and counts is not None:  # tuples, so the config stays hashable and comparable
            sizes, counts = check_filters(sizes, counts, self.seq_len, prefix="discriminator_")
            object.__setattr__(self, "discriminator_filter_sizes", sizes)
            object.__setattr__(self, "discriminator_num_filters", counts)

    def _check_corpus(self) -> None:
        for name in ("corpus", "test_corpus"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a corpus name or path (str) or None, got {getattr(self, name)!r}")
        if not isinstance(self.tokenizer, str):
            raise TypeError(f"tokenizer must be 'word', 'char' or the path of a tokenizer.json, got {self.tokenizer!r}")
        if self.corpus is None:
            if self.test_corpus is not None or self.tokenizer != "word":
                raise ValueError("test_corpus and tokenizer apply to a text run: set corpus too")
        elif self.oracle_file is not None:
            raise ValueError("corpus and oracle_file exclude each other: a run is on a text corpus or on an oracle")

    @property
    def is_text(self) -> bool:
        """Whether the run is on a text corpus (``corpus``), not on an oracle."""
        return self.corpus is not None

    @property
    def metric(self) -> str:
        """The curve of Figure 2: ``"nll_oracle"``, or ``"nll_test"`` on a corpus (which has no oracle)."""
        return "nll_test" if self.is_text else "nll_oracle"

    @property
    def continuation_epochs(self) -> int:
        """Epochs of the MLE-only control (``mle_continuation_epochs``, else ``adversarial_epochs``)."""
        return self.adversarial_epochs if self.mle_continuation_epochs is None else self.mle_continuation_epochs

    @property
    def is_adversarial(self) -> bool:
        """Whether the method trains a scorer against G_θ (SeqGAN and its successors: ``REWARDS``)."""
        return self.method in REWARDS

    @property
    def method_phase(self) -> str:
        """The phase of the units after pretraining: ``"adversarial"`` for SeqGAN, else the baseline's name."""
        return METHOD_PHASES[self.method]

    def schedule(self) -> SamplingSchedule:
        """Scheduled Sampling's ε_i (used when ``method == "scheduled_sampling"``)."""
        return SamplingSchedule(self.sampling_schedule, self.sampling_k)

    def units(self) -> list[tuple[str, int]]:
        """The run's schedule: ``(phase, index)`` for every unit of work, in order."""
        counts = dict.fromkeys(PHASES, 0)
        counts["mle"] = self.mle_epochs
        counts["mle_continuation"] = self.continuation_epochs
        if self.is_adversarial:
            counts["d_pretrain"] = self.d_pretrain_rounds
        counts[self.method_phase] = self.adversarial_epochs
        return [(phase, i) for phase in PHASES for i in range(counts[phase])]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeqGANConfig:
        """The inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown SeqGANConfig fields {unknown}; allowed: {sorted(names)}")
        return cls(**data)


#: ``paper``: Algorithm 1 with the paper's numbers. ``quick``: the same algorithm on a short schedule
#: with small discriminator rounds and evaluations, to see it run end to end. ``fast``: a shortened
#: schedule that aims for the paper's quality at a small part of its cost: 50 adversarial epochs and
#: fewer, smaller D rounds (1,000 fresh negatives each: with more, D wins sooner and the generator
#: learns no better). What each preset gives: docs/results/README.md.
PRESETS: dict[str, SeqGANConfig] = {
    "paper": SeqGANConfig(),
    "quick": SeqGANConfig(
        mle_epochs=10,
        d_pretrain_rounds=5,
        d_pretrain_epochs=1,
        adversarial_epochs=12,
        d_steps=1,
        k_epochs=1,
        n_negatives=1000,
        n_eval=2000,
    ),
    "fast": SeqGANConfig(
        mle_epochs=50,
        d_pretrain_rounds=25,
        d_pretrain_epochs=2,
        adversarial_epochs=50,
        d_steps=1,
        k_epochs=1,
        n_negatives=1000,
        eval_every=2,
    ),
}
