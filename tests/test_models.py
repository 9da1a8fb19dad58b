"""The paper's networks: the CNN discriminator and the LSTM generator."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from seqgan_gym._kernels.generator import OutputLogProb, WeightedNLL
from seqgan_gym.discriminator import PAPER_FILTER_SIZES, PAPER_NUM_FILTERS, Discriminator
from seqgan_gym.generator import LSTMGenerator

V, T = 12, 6


def _tokens(n: int, seed: int, vocab: int = V, length: int = T) -> torch.Tensor:
    return torch.randint(0, vocab, (n, length), generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- Discriminator


def test_paper_discriminator_size_and_filters() -> None:
    torch.manual_seed(0)
    disc = Discriminator()  # V=5000, T=20
    assert disc.filter_sizes == PAPER_FILTER_SIZES == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
    assert disc.num_filters == PAPER_NUM_FILTERS == (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)
    assert [c.kernel_size[0] for c in disc.convs] == list(PAPER_FILTER_SIZES)
    assert [c.out_channels for c in disc.convs] == list(PAPER_NUM_FILTERS)
    assert all(c.in_channels == 64 for c in disc.convs)
    n_features = sum(PAPER_NUM_FILTERS)
    assert n_features == 1720
    embedding = 5000 * 64
    convs = sum(nf * (64 * w + 1) for w, nf in zip(PAPER_FILTER_SIZES, PAPER_NUM_FILTERS, strict=True))
    highway = 2 * (n_features * n_features + n_features)
    output = n_features * 2 + 2
    assert (embedding, convs, highway, output) == (320_000, 801_720, 5_920_240, 3_442)
    assert sum(p.numel() for p in disc.parameters()) == 7_045_402 == embedding + convs + highway + output
    assert disc.dropout_keep_prob == 0.75
    assert disc.l2_reg_lambda == 0.2
    # Scores a batch of the paper's shape.
    probs = disc.prob_real(_tokens(3, 0, vocab=5000, length=20))
    assert probs.shape == (3,)


def test_short_sequences_drop_filters_wider_than_seq_len() -> None:
    disc = Discriminator(vocab_size=10, seq_len=7, emb_dim=4)
    assert disc.filter_sizes == (1, 2, 3, 4, 5, 6, 7)
    assert disc.num_filters == (100, 200, 200, 200, 200, 100, 100)
    assert [c.kernel_size[0] for c in disc.convs] == [1, 2, 3, 4, 5, 6, 7]
    assert disc.prob_real(_tokens(2, 1, vocab=10, length=7)).shape == (2,)
    # Widths 10, 15 are dropped at T=12; 15 and 20 are kept at T=20 (tested above).
    assert Discriminator(vocab_size=10, seq_len=12, emb_dim=4).filter_sizes == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)


def test_filter_wider_than_seq_len_is_refused() -> None:
    with pytest.raises(ValueError, match="filter_sizes"):
        Discriminator(V, T, emb_dim=4, filter_sizes=(2, T + 1), num_filters=(3, 3))


def test_prob_real_range_shape_and_ignores_dropout(tiny_discriminator: Discriminator) -> None:
    tokens = _tokens(32, 1)
    tiny_discriminator.train()
    p_train = tiny_discriminator.prob_real(tokens)
    p_train_again = tiny_discriminator.prob_real(tokens)
    assert tiny_discriminator.training  # prob_real does not switch the mode
    tiny_discriminator.eval()
    p_eval = tiny_discriminator.prob_real(tokens)
    assert p_train.shape == (32,)
    assert bool(((p_train >= 0) & (p_train <= 1)).all())
    assert torch.equal(p_train, p_train_again)
    torch.testing.assert_close(p_train, p_eval, rtol=0, atol=1e-6)
    expected = torch.softmax(tiny_discriminator(tokens), dim=-1)[:, 1]
    torch.testing.assert_close(p_eval, expected.detach(), rtol=0, atol=1e-6)
    # Chunking does not change the scores.
    torch.testing.assert_close(tiny_discriminator.prob_real(tokens, batch_size=5), p_eval, rtol=0, atol=1e-6)
    assert tiny_discriminator.prob_real(tokens[:0]).shape == (0,)


def test_prob_real_rejects_wrong_length(tiny_discriminator: Discriminator) -> None:
    with pytest.raises(ValueError, match="tokens"):
        tiny_discriminator.prob_real(_tokens(2, 0, length=T - 1))


def test_forward_train_mode_is_stochastic_and_eval_is_not(tiny_discriminator: Discriminator) -> None:
    tokens = _tokens(16, 2)
    tiny_discriminator.train()
    a, b = tiny_discriminator(tokens), tiny_discriminator(tokens)
    assert a.shape == (16, 2)
    assert not torch.allclose(a, b)
    tiny_discriminator.eval()
    assert torch.equal(tiny_discriminator(tokens), tiny_discriminator(tokens))


def test_dropout_keeps_three_quarters_of_features() -> None:
    torch.manual_seed(0)
    disc = Discriminator(V, T, emb_dim=8, filter_sizes=(1, 2, 3), num_filters=(40, 40, 40))
    captured: list[torch.Tensor] = []
    disc.output.register_forward_pre_hook(lambda _module, args: captured.append(args[0].detach()))
    tokens = _tokens(200, 3)
    disc.eval()
    disc(tokens)
    disc.train()
    disc(tokens)
    clean, dropped = captured
    live = clean != 0
    kept = dropped[live] != 0
    n = int(live.sum())
    assert n > 10_000
    # Binomial(n, 0.75): 5 standard errors is well under 0.02.
    assert abs(float(kept.double().mean()) - 0.75) < 5 * (0.75 * 0.25 / n) ** 0.5
    # Inverted dropout: kept features are scaled by 1 / keep_prob.
    torch.testing.assert_close(dropped[live][kept], clean[live][kept] / 0.75, rtol=1e-5, atol=1e-6)


def test_keep_prob_one_means_no_dropout() -> None:
    torch.manual_seed(0)
    disc = Discriminator(V, T, emb_dim=8, filter_sizes=(1, 2), num_filters=(5, 5), dropout_keep_prob=1.0)
    tokens = _tokens(8, 4)
    disc.train()
    a = disc(tokens)
    disc.eval()
    assert torch.equal(a, disc(tokens))


def test_loss_is_cross_entropy_plus_output_l2(tiny_discriminator: Discriminator) -> None:
    tokens = _tokens(10, 5)
    labels = torch.tensor([0, 1] * 5)
    tiny_discriminator.eval()
    w, b = tiny_discriminator.output.weight, tiny_discriminator.output.bias
    expected = F.cross_entropy(tiny_discriminator(tokens), labels) + 0.2 * (w.square().sum() + b.square().sum()) / 2
    loss = tiny_discriminator.loss(tokens, labels)
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-6)
    loss.backward()
    assert w.grad is not None and float(w.grad.abs().sum()) > 0
    # The L2 term's own gradient: lambda * W on the output layer, nothing anywhere else.
    tiny_discriminator.zero_grad()
    tiny_discriminator.l2_penalty().backward()
    torch.testing.assert_close(w.grad, 0.2 * w.detach())
    torch.testing.assert_close(b.grad, 0.2 * b.detach())
    assert tiny_discriminator.highway_lin.weight.grad is None or not tiny_discriminator.highway_lin.weight.grad.any()


def test_discriminator_initialisation_follows_reference_code() -> None:
    torch.manual_seed(0)
    disc = Discriminator(V, T, emb_dim=8, filter_sizes=(1, 2, 3), num_filters=(40, 40, 40))
    emb = disc.embedding.weight.detach()
    assert float(emb.min()) >= -1.0 and float(emb.max()) <= 1.0
    for conv in disc.convs:
        assert float(conv.weight.detach().abs().max()) <= 0.2
        assert torch.all(conv.bias == 0.1)
    assert torch.all(disc.output.bias == 0.1)


# --------------------------------------------------------------------------- LSTMGenerator


def test_generator_initial_std_is_about_0_1() -> None:
    gen = LSTMGenerator(generator=torch.Generator().manual_seed(0))  # paper size, ~330k parameters
    flat = torch.cat([p.detach().flatten() for p in gen.parameters()]).double()
    assert flat.numel() > 300_000
    assert abs(float(flat.mean())) < 0.002
    assert abs(float(flat.std()) - 0.1) < 0.002
    assert all(p.requires_grad for p in gen.parameters())
    custom = LSTMGenerator(V, T, emb_dim=8, hidden_dim=8, init_std=0.5, generator=torch.Generator().manual_seed(0))
    assert 0.4 < float(torch.cat([p.detach().flatten() for p in custom.parameters()]).std()) < 0.6


@pytest.mark.parametrize("bad", [0.0, -0.1, float("nan"), float("inf"), "0.1"])
def test_generator_rejects_bad_init_std(bad: object) -> None:
    with pytest.raises(ValueError, match="init_std"):
        LSTMGenerator(V, T, init_std=bad)  # type: ignore[arg-type]


def test_generator_seeded_init_is_reproducible() -> None:
    def make(seed: int) -> LSTMGenerator:
        return LSTMGenerator(V, T, emb_dim=8, hidden_dim=8, generator=torch.Generator().manual_seed(seed))

    a, b, c = make(1).state_dict(), make(1).state_dict(), make(2).state_dict()
    for key in a:
        assert torch.equal(a[key], b[key]), key
        assert not torch.equal(a[key], c[key]), key


def test_incremental_decoding_matches_teacher_forcing(tiny_generator: LSTMGenerator) -> None:
    tokens = _tokens(7, 6)
    teacher = tiny_generator.log_prob(tokens)
    assert teacher.shape == (7, T)
    state = tiny_generator.initial_state(7)
    assert all(torch.equal(s, torch.zeros(7, tiny_generator.hidden_dim)) for s in state)
    prev = tiny_generator.start_tokens(7)
    assert torch.equal(prev, torch.zeros(7, dtype=torch.long))
    steps = []
    with torch.no_grad():
        for t in range(T):
            logits, state = tiny_generator.step(prev, state)
            assert logits.shape == (7, V)
            steps.append(torch.log_softmax(logits, dim=-1).gather(1, tokens[:, t : t + 1]).squeeze(1))
            prev = tokens[:, t]
    torch.testing.assert_close(torch.stack(steps, dim=1), teacher.detach(), rtol=0, atol=1e-5)
    torch.testing.assert_close(tiny_generator.nll(tokens), -teacher.detach().mean(dim=1), rtol=0, atol=1e-6)


def test_log_prob_is_differentiable(tiny_generator: LSTMGenerator) -> None:
    tokens = _tokens(5, 7)
    logp = tiny_generator.log_prob(tokens)
    assert logp.requires_grad
    assert bool((logp <= 0).all())
    (-logp.sum()).backward()
    for name, p in tiny_generator.named_parameters():
        assert p.grad is not None, name
        assert float(p.grad.abs().sum()) > 0, name
        assert bool(torch.isfinite(p.grad).all()), name


@pytest.mark.parametrize("n_rows", [1, 127, 128, 300])  # blocks of 128 rows: below, at and across the edge
def test_output_log_prob_matches_log_softmax_and_its_gradient(n_rows: int) -> None:
    gen = torch.Generator().manual_seed(n_rows)
    hidden = torch.randn(n_rows, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    w_out = torch.randn(5, 11, dtype=torch.float64, generator=gen, requires_grad=True)
    b_out = torch.randn(11, dtype=torch.float64, generator=gen, requires_grad=True)
    targets = torch.randint(0, 11, (n_rows,), generator=gen)
    fused = OutputLogProb.apply(hidden, w_out, b_out, targets)
    plain = torch.log_softmax(hidden @ w_out + b_out, dim=1).gather(1, targets[:, None]).squeeze(1)
    torch.testing.assert_close(fused, plain, rtol=0, atol=1e-12)
    weights = torch.randn(n_rows, dtype=torch.float64, generator=gen)  # e.g. REINFORCE's -Q_t
    grads = torch.autograd.grad((fused * weights).sum(), (hidden, w_out, b_out))
    expected = torch.autograd.grad((plain * weights).sum(), (hidden, w_out, b_out))
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    first = hidden.detach()[:1].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda h, w, b: OutputLogProb.apply(h, w, b, targets[:1]), (first, w_out, b_out))


@pytest.mark.parametrize("n_rows", [1, 511, 512, 1300])  # blocks of 512 rows: below, at and across the edge
@pytest.mark.parametrize("scale", [1.0, 40.0])  # small logits skip the max-shift; large ones (|z| > 100) need it
def test_weighted_nll_matches_log_softmax_and_its_gradient(n_rows: int, scale: float) -> None:
    gen = torch.Generator().manual_seed(n_rows)
    hidden = torch.randn(n_rows, 5, dtype=torch.float64, generator=gen).tanh().requires_grad_()
    w_out = (scale * torch.randn(5, 11, dtype=torch.float64, generator=gen)).requires_grad_()
    b_out = torch.randn(11, dtype=torch.float64, generator=gen, requires_grad=True)
    targets = torch.randint(0, 11, (n_rows,), generator=gen)
    weights = torch.randn(n_rows, dtype=torch.float64, generator=gen)  # e.g. REINFORCE's Q_t
    fused = WeightedNLL.apply(hidden, w_out, b_out, targets, weights)
    log_probs = torch.log_softmax(hidden @ w_out + b_out, dim=1).gather(1, targets[:, None]).squeeze(1)
    plain = -(log_probs * weights).sum()
    torch.testing.assert_close(fused, plain, rtol=1e-12, atol=1e-10)
    grads = torch.autograd.grad(2.5 * fused, (hidden, w_out, b_out))  # backward scales by the incoming gradient
    expected = torch.autograd.grad(2.5 * plain, (hidden, w_out, b_out))
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def test_weighted_nll_equals_log_prob_loss_and_rejects_bad_weights(tiny_generator: LSTMGenerator) -> None:
    tokens = tiny_generator.sample(6, generator=torch.Generator().manual_seed(3))
    weights = torch.rand(tokens.shape, generator=torch.Generator().manual_seed(4))
    fused = tiny_generator.weighted_nll(tokens, weights)
    fused_grads = torch.autograd.grad(fused, list(tiny_generator.parameters()))
    plain = -(tiny_generator.log_prob(tokens) * weights).sum()
    plain_grads = torch.autograd.grad(plain, list(tiny_generator.parameters()))
    torch.testing.assert_close(fused, plain, rtol=1e-5, atol=1e-5)
    for got, want in zip(fused_grads, plain_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="weights must have the shape of tokens"):
        tiny_generator.weighted_nll(tokens, weights[:, :-1])
    with pytest.raises(TypeError, match="weights must be a floating-point tensor"):
        tiny_generator.weighted_nll(tokens, torch.ones(tokens.shape, dtype=torch.long))


def test_complete_shape_range_and_reproducibility(tiny_generator: LSTMGenerator) -> None:
    with torch.no_grad():
        logits, state = tiny_generator.step(tiny_generator.start_tokens(9), tiny_generator.initial_state(9))

    def run(seed: int, n_tokens: int = 4) -> torch.Tensor:
        # complete() may use the logits as scratch space: hand it a copy each time.
        return tiny_generator.complete(logits.clone(), state, n_tokens, generator=torch.Generator().manual_seed(seed))

    out = run(0)
    assert out.shape == (9, 4) and out.dtype == torch.long
    assert int(out.min()) >= 0 and int(out.max()) < V
    assert torch.equal(out, run(0))
    assert not torch.equal(out, run(1))
    assert run(0, n_tokens=0).shape == (9, 0)
    # complete() does not touch the caller's state.
    assert torch.equal(
        state[0], tiny_generator.step(tiny_generator.start_tokens(9), tiny_generator.initial_state(9))[1][0]
    )


def test_complete_from_start_equals_sample(tiny_generator: LSTMGenerator) -> None:
    """Rolling out T tokens from the start state draws the same sequences as ``sample`` (same stream)."""
    with torch.no_grad():
        logits, state = tiny_generator.step(tiny_generator.start_tokens(20), tiny_generator.initial_state(20))
    rolled = tiny_generator.complete(logits, state, T, generator=torch.Generator().manual_seed(3))
    sampled = tiny_generator.sample(20, generator=torch.Generator().manual_seed(3))
    assert torch.equal(rolled, sampled)


def test_completions_per_row_equal_completing_repeated_rows(tiny_generator: LSTMGenerator) -> None:
    """N completions of each row draw the tokens that completing each row repeated N times would."""
    with torch.no_grad():
        logits, state = tiny_generator.step(torch.tensor([0, 3, V - 1]), tiny_generator.initial_state(3))
    repeated_state = (state[0].repeat_interleave(5, 0), state[1].repeat_interleave(5, 0))
    for seed in range(3):
        shared = tiny_generator.complete(logits.clone(), state, 4, torch.Generator().manual_seed(seed), 5)
        repeated = tiny_generator.complete(
            logits.repeat_interleave(5, 0), repeated_state, 4, torch.Generator().manual_seed(seed)
        )
        assert shared.shape == (15, 4)
        assert torch.equal(shared, repeated)
    assert not torch.equal(shared[0::5], shared[1::5])  # the N completions of a row are not copies


def test_complete_leaves_its_inputs_unchanged_and_consuming_draws_the_same(tiny_generator: LSTMGenerator) -> None:
    """``complete`` has no side effects; the Monte Carlo search's ``complete(consume_logits=True)``
    overwrites the logits it is given and draws the same tokens."""
    with torch.no_grad():
        logits, state = tiny_generator.step(torch.tensor([0, 3, V - 1]), tiny_generator.initial_state(3))
    kept_logits, kept_state = logits.clone(), (state[0].clone(), state[1].clone())
    for repeats in (1, 4):
        public = tiny_generator.complete(logits, state, 5, torch.Generator().manual_seed(7), repeats)
        assert torch.equal(logits, kept_logits)
        assert all(torch.equal(s, kept) for s, kept in zip(state, kept_state, strict=True))
        scratch = logits.clone()
        consumed = tiny_generator.complete(
            scratch, state, 5, torch.Generator().manual_seed(7), repeats, consume_logits=True
        )
        assert torch.equal(consumed, public)
        assert not torch.equal(scratch, kept_logits)  # used as scratch space
        assert all(torch.equal(s, kept) for s, kept in zip(state, kept_state, strict=True))


def test_complete_first_token_comes_from_the_given_logits(tiny_generator: LSTMGenerator) -> None:
    with torch.no_grad():
        _, state = tiny_generator.step(tiny_generator.start_tokens(4), tiny_generator.initial_state(4))
    forced = torch.full((4, V), float("-inf"))
    forced[torch.arange(4), torch.tensor([0, 3, 7, V - 1])] = 0.0
    out = tiny_generator.complete(forced, state, 3, generator=torch.Generator().manual_seed(0))
    assert out[:, 0].tolist() == [0, 3, 7, V - 1]


def test_step_logits_are_the_output_layer_of_the_new_state(tiny_generator: LSTMGenerator) -> None:
    """The logits ``step`` returns are ``h W_out + b_out`` of the state it returns, written anywhere."""
    tokens = torch.tensor([0, 3, V - 1])
    state = (torch.randn(3, 8), torch.randn(3, 8))
    with torch.no_grad():
        fresh, (h1, c1) = tiny_generator.step(tokens, state)
        buffer = torch.full((3, V), float("nan"))
        _, (h2, c2) = tiny_generator.step(tokens, state)
        into = torch.addmm(tiny_generator.b_out, h2, tiny_generator.w_out, out=buffer)
    torch.testing.assert_close(into, fresh, rtol=0, atol=1e-6)
    torch.testing.assert_close(buffer, fresh, rtol=0, atol=1e-6)
    assert torch.equal(h1, h2) and torch.equal(c1, c2)


def test_nll_is_independent_of_batch_size(tiny_generator: LSTMGenerator) -> None:
    tokens = _tokens(11, 8)
    full = tiny_generator.nll(tokens)
    assert full.shape == (11,)
    torch.testing.assert_close(tiny_generator.nll(tokens, batch_size=3), full, rtol=0, atol=1e-6)
    torch.testing.assert_close(full, -tiny_generator.log_prob(tokens).detach().mean(dim=1), rtol=0, atol=1e-5)
    assert tiny_generator.nll(tokens[:0]).shape == (0,)


# --------------------------------------------------------------------------------------------
# Discriminator.prob_real_completions: the Monte Carlo search's scoring with shared prefixes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3, 8])
def test_prob_real_completions_equals_scoring_the_complete_sequences(n: int) -> None:
    torch.manual_seed(0)
    seq_len = 6
    # widths below, equal to and above each prefix length, and one as long as the sequence
    disc = Discriminator(12, seq_len, emb_dim=8, filter_sizes=(1, 2, 3, 5, 6), num_filters=(4, 3, 5, 2, 3))
    gen = torch.Generator().manual_seed(1)
    for t in range(1, seq_len):
        prefix = torch.randint(0, 12, (5, t), generator=gen)
        suffix = torch.randint(0, 12, (5 * n, seq_len - t), generator=gen)
        complete = torch.cat([prefix.repeat_interleave(n, dim=0), suffix], dim=1)
        expected = disc.prob_real(complete)
        for batch_size in (1, 7, 512):  # chunking by whole prefixes must not change anything
            got = disc.prob_real_completions(prefix, suffix, batch_size=batch_size)
            assert got.shape == (5 * n,)
            torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


def test_prob_real_completions_rejects_mismatched_shapes() -> None:
    disc = Discriminator(12, 6, emb_dim=8, filter_sizes=(1, 2), num_filters=(2, 2))
    prefix = torch.zeros(4, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="suffix"):
        disc.prob_real_completions(prefix, torch.zeros(6, 4, dtype=torch.long))  # 6 rows for 4 prefixes
    with pytest.raises(ValueError, match="suffix"):
        disc.prob_real_completions(prefix, torch.zeros(8, 3, dtype=torch.long))  # 2 + 3 != 6 tokens
    with pytest.raises(ValueError, match="prefix"):
        disc.prob_real_completions(torch.zeros(4, 6, dtype=torch.long), torch.zeros(4, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="suffix"):
        disc.prob_real_completions(prefix, torch.full((8, 4), 12))  # token id out of range


# --------------------------------------------------------------------------------------------
# Scoring from lookup tables, and bfloat16
# --------------------------------------------------------------------------------------------


def _scores_by_matmul(disc: Discriminator, tokens: torch.Tensor) -> torch.Tensor:
    """D(Y) the way training computes it: convolutions as matmuls of the embedded windows, float32."""
    with torch.no_grad():
        return torch.softmax(disc.output(disc.features(tokens)), dim=-1)[:, 1]


@pytest.mark.parametrize("fused", [False, True])
def test_lookup_scoring_equals_the_convolutions_and_follows_every_update(fused: bool) -> None:
    torch.manual_seed(0)
    disc = Discriminator(12, 6, emb_dim=8, filter_sizes=(1, 2, 3, 6), num_filters=(4, 3, 5, 2), precision="float32")
    tokens = _tokens(40, 3)
    labels = torch.randint(0, 2, (40,), generator=torch.Generator().manual_seed(4))
    before = disc.prob_real(tokens)
    torch.testing.assert_close(before, _scores_by_matmul(disc, tokens), rtol=0, atol=1e-6)
    # An optimiser step changes the parameters in place: the tables must follow it.
    optimizer = torch.optim.Adam(disc.parameters(), lr=0.05, fused=fused)
    disc.train()
    optimizer.zero_grad()
    disc.loss(tokens, labels).backward()
    optimizer.step()
    disc.eval()
    after = disc.prob_real(tokens)
    assert (after - before).abs().max() > 1e-3  # the step did move D
    torch.testing.assert_close(after, _scores_by_matmul(disc, tokens), rtol=0, atol=1e-6)
    # So must load_state_dict (an in-place copy) and a copy of the module.
    other = Discriminator(12, 6, emb_dim=8, filter_sizes=(1, 2, 3, 6), num_filters=(4, 3, 5, 2), precision="float32")
    other.prob_real(tokens)  # builds its own tables first
    other.load_state_dict(disc.state_dict())
    torch.testing.assert_close(other.prob_real(tokens), after, rtol=0, atol=1e-6)
    clone = copy.deepcopy(disc)
    assert clone._tables == []  # the cache is not copied
    torch.testing.assert_close(clone.prob_real(tokens), after, rtol=0, atol=1e-6)


def test_lookup_tables_are_built_once_per_parameter_change(monkeypatch: pytest.MonkeyPatch) -> None:
    disc = Discriminator(12, 6, emb_dim=8, filter_sizes=(1, 2), num_filters=(3, 3), precision="float32")
    tokens = _tokens(10, 5)
    disc.prob_real(tokens)
    tables = disc._tables
    disc.prob_real(tokens)
    disc.prob_real_completions(tokens[:2, :3], tokens[:4, 3:])
    assert disc._tables is tables and all(t1 is t2 for t1, t2 in zip(disc._tables, tables, strict=True))
    with torch.no_grad():
        disc.convs[1].bias.add_(1.0)
    disc.prob_real(tokens)
    assert torch.equal(disc._tables_source[-1], disc.convs[1].bias)
    assert all(t1 is t2 for t1, t2 in zip(disc._tables, tables, strict=True))  # rebuilt in place
    torch.testing.assert_close(disc.prob_real(tokens), _scores_by_matmul(disc, tokens), rtol=0, atol=1e-6)


def test_bfloat16_scores_within_1e_2_of_float32_at_the_papers_size() -> None:
    torch.manual_seed(0)
    disc = Discriminator(precision="float32")  # V=5000, T=20
    tokens = _tokens(512, 6, vocab=5000, length=20)
    exact = disc.prob_real(tokens)
    disc.precision = "bfloat16"
    assert disc.uses_bfloat16
    fast = disc.prob_real(tokens)
    assert fast.dtype == torch.float32
    assert (fast - exact).abs().max() <= 1e-2
    assert (fast - exact).abs().max() > 0  # bfloat16 did run
    prefix, suffix = tokens[:32, :7], _tokens(32 * 4, 7, vocab=5000, length=13)
    disc.precision = "float32"
    exact = disc.prob_real_completions(prefix, suffix)
    disc.precision = "bfloat16"
    assert (disc.prob_real_completions(prefix, suffix) - exact).abs().max() <= 1e-2


def test_bfloat16_training_pass_keeps_float32_weights_and_gradients() -> None:
    torch.manual_seed(0)
    disc = Discriminator(12, 6, emb_dim=8, filter_sizes=(1, 2, 3), num_filters=(4, 4, 4), precision="bfloat16")
    tokens = _tokens(16, 8)
    logits = disc(tokens)
    assert logits.dtype == torch.float32
    disc.loss(tokens, torch.ones(16, dtype=torch.long)).backward()
    assert all(p.dtype == torch.float32 and p.grad is not None for p in disc.parameters())
    assert all(p.grad.dtype == torch.float32 for p in disc.parameters())


@pytest.mark.parametrize("bad", ["fp16", "bf16", None, 32])
def test_precision_is_checked(bad: object) -> None:
    with pytest.raises(ValueError, match="precision must be one of 'auto', 'float32', 'bfloat16'"):
        Discriminator(12, 6, precision=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("float32_seconds", "bfloat16_seconds", "chosen"),
    [
        (2.6e-3, 1.4e-3, True),  # fast bfloat16 (AMX, or AVX512-BF16 on AMD Zen 4): bfloat16
        (1.3e-3, 2.1e-3, False),  # AVX512-BF16 without AMX: bfloat16 is slower, float32
        (1.0e-3, 0.9e-3, False),  # a near tie: float32, so timing noise cannot flip D's numbers
    ],
)
def test_auto_precision_follows_the_measured_products(
    monkeypatch: pytest.MonkeyPatch, float32_seconds: float, bfloat16_seconds: float, chosen: bool
) -> None:
    from seqgan_gym._kernels import discriminator as d_kernels

    timed: list[tuple[str, int, torch.dtype]] = []

    def fake_seconds(device: torch.device, n_features: int, dtype: torch.dtype, repeats: int = 5) -> float:
        timed.append((device.type, n_features, dtype))
        return float32_seconds if dtype == torch.float32 else bfloat16_seconds

    monkeypatch.setattr(d_kernels, "product_seconds", fake_seconds)
    d_kernels.clear_precision_cache()
    try:
        disc = Discriminator(12, 6, emb_dim=8, filter_sizes=(1, 2), num_filters=(2, 3))
        assert disc.precision == "auto"
        assert disc.uses_bfloat16 is chosen
        # D's own width (5 features) was timed in both formats, once: the choice is cached.
        assert sorted(timed, key=str) == sorted([("cpu", 5, torch.float32), ("cpu", 5, torch.bfloat16)], key=str)
        assert Discriminator(12, 6, emb_dim=8, filter_sizes=(1, 2), num_filters=(2, 3)).uses_bfloat16 is chosen
        assert len(timed) == 2
        # An explicit format is never measured.
        forced = Discriminator(12, 6, emb_dim=8, filter_sizes=(1,), num_filters=(4,), precision="float32")
        assert not forced.uses_bfloat16 and len(timed) == 2
        assert Discriminator(12, 6, emb_dim=8, filter_sizes=(1,), num_filters=(4,), precision="bfloat16").uses_bfloat16
    finally:
        d_kernels.clear_precision_cache()


def test_auto_precision_measures_real_products_on_this_machine() -> None:
    from seqgan_gym._kernels import discriminator as d_kernels

    float32 = d_kernels.product_seconds(torch.device("cpu"), 64, torch.float32, repeats=2)
    bfloat16 = d_kernels.product_seconds(torch.device("cpu"), 64, torch.bfloat16, repeats=2)
    assert 0 < float32 < 1 and 0 < bfloat16 < 1
    assert d_kernels.choose_bfloat16(float32, bfloat16) == (bfloat16 * d_kernels.BFLOAT16_MARGIN <= float32)


def test_complete_rejects_bad_arguments() -> None:
    gen = LSTMGenerator(12, 6, emb_dim=4, hidden_dim=4, generator=torch.Generator().manual_seed(0))
    logits, state = gen.step(gen.start_tokens(3), gen.initial_state(3))
    with pytest.raises(ValueError, match="n_tokens"):
        gen.complete(logits.clone(), state, -1)
    with pytest.raises(TypeError, match="n_tokens"):
        gen.complete(logits.clone(), state, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="logits"):
        gen.complete(logits[:, :5].clone(), state, 2)
    with pytest.raises(ValueError, match="completions_per_row"):
        gen.complete(logits.clone(), state, 2, completions_per_row=0)


def test_training_gradients_are_the_same_every_time() -> None:
    """Run-to-run reproducibility: no backward pass accumulates in a thread-dependent order.

    (Indexing a parameter, ``embedding[tokens]``, has such a backward on the CPU with several
    threads; ``F.embedding`` does not.)
    """
    from agents.scheduled_sampling import scheduled_sampling_loss

    generator = LSTMGenerator(2000, 20, generator=torch.Generator().manual_seed(0))
    tokens = torch.randint(0, 2000, (64, 20), generator=torch.Generator().manual_seed(1))
    weights = torch.rand(64, 20, generator=torch.Generator().manual_seed(2))

    def gradients(loss_fn) -> list[torch.Tensor]:
        generator.zero_grad(set_to_none=True)
        loss_fn().backward()
        return [p.grad.clone() for p in generator.parameters()]

    for loss_fn in (
        lambda: generator.weighted_nll(tokens, weights),
        lambda: scheduled_sampling_loss(generator, tokens, 0.5, torch.Generator().manual_seed(3)),
    ):
        first = gradients(loss_fn)
        for _ in range(20):
            assert all(torch.equal(a, b) for a, b in zip(first, gradients(loss_fn), strict=True))


def test_the_package_exports_the_networks_from_their_own_modules() -> None:
    """No shim: the networks are imported from ``generator`` and ``discriminator``, and the package re-exports them."""
    import importlib.util

    import seqgan_gym
    from seqgan_gym import discriminator, generator

    assert importlib.util.find_spec("seqgan_gym.models") is None
    assert seqgan_gym.Discriminator is discriminator.Discriminator and seqgan_gym.TokenLSTM is generator.TokenLSTM


def test_step_takes_no_output_buffer(tiny_generator: LSTMGenerator) -> None:
    import inspect

    assert list(inspect.signature(tiny_generator.step).parameters) == ["tokens", "state"]
