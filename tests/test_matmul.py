"""The float32 products of ``seqgan_gym._matmul``: equal to torch's, and torch's wherever oneDNN must not run."""

from __future__ import annotations

import pytest
import torch

from seqgan_gym import _matmul
from seqgan_gym._matmul import mm, onednn_available
from seqgan_gym.generator import LSTMGenerator


@pytest.fixture
def onednn_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_matmul, "ENABLED", False)


@pytest.mark.parametrize("shape", [(1, 33, 5000), (256, 33, 5000), (256, 5000, 32), (33, 256, 5000), (7, 3, 2)])
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("with_bias", [False, True])
def test_mm_equals_torch_mm(shape: tuple[int, int, int], transposed: bool, with_bias: bool) -> None:
    m, k, n = shape
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=gen)
    b = torch.randn(n, k, generator=gen).t() if transposed else torch.randn(k, n, generator=gen)
    bias = torch.randn(n, generator=gen) if with_bias else None
    expected = (a.double() @ b.double()) + (0 if bias is None else bias.double())
    got = mm(a, b, bias)
    assert got.shape == (m, n) and got.dtype == torch.float32
    # float32 sums of k products: the error grows like sqrt(k) eps |a||b|.
    scale = (a.abs().double() @ b.abs().double()).max()
    assert (got.double() - expected).abs().max() <= 1e-6 * scale
    plain = a @ b if bias is None else torch.addmm(bias, a, b)
    assert (got.double() - plain.double()).abs().max() <= 2e-6 * scale


def test_mm_keeps_autograd_and_other_dtypes() -> None:
    a = torch.randn(4, 3, requires_grad=True)
    b = torch.randn(3, 5)
    out = mm(a, b)
    assert out.grad_fn is not None  # torch's own product: gradients flow
    out.sum().backward()
    torch.testing.assert_close(a.grad, b.sum(dim=1).expand(4, 3))
    with torch.no_grad():
        assert mm(a, b).grad_fn is None
    assert torch.equal(mm(a.detach().double(), b.double()), a.detach().double() @ b.double())
    assert mm(torch.zeros(0, 3), b).shape == (0, 5)


def test_switched_off_it_is_torch_mm_bit_for_bit(onednn_off: None) -> None:
    a, b, bias = torch.randn(64, 33), torch.randn(33, 500), torch.randn(500)
    assert torch.equal(mm(a, b), a @ b)
    assert torch.equal(mm(a, b, bias), torch.addmm(bias, a, b))


def test_the_generator_is_the_same_function_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loss, gradients and log-probabilities agree with the torch.mm path; samples are reproducible."""
    gen = LSTMGenerator(vocab_size=300, seq_len=6, emb_dim=8, hidden_dim=8, generator=torch.Generator().manual_seed(0))
    tokens = torch.randint(0, 300, (40, 6), generator=torch.Generator().manual_seed(1))
    weights = torch.rand(40, 6, generator=torch.Generator().manual_seed(2))

    def run() -> tuple[torch.Tensor, ...]:
        gen.zero_grad()
        loss = gen.weighted_nll(tokens, weights)
        loss.backward()
        grads = [p.grad.clone() for p in gen.parameters()]
        return (loss.detach(), *grads, gen.nll(tokens), gen.log_prob(tokens).detach())

    fast = run()
    monkeypatch.setattr(_matmul, "ENABLED", False)
    plain = run()
    for x, y in zip(fast, plain, strict=True):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-5)
    monkeypatch.setattr(_matmul, "ENABLED", True)
    first = gen.sample(50, generator=torch.Generator().manual_seed(3))
    assert torch.equal(first, gen.sample(50, generator=torch.Generator().manual_seed(3)))


def test_onednn_is_found_in_the_pinned_cpu_wheel() -> None:
    # The README installs a CPU wheel of torch, which ships oneDNN: the fast path must be live there.
    if torch.backends.mkldnn.is_available():
        assert onednn_available()
