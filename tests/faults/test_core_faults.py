"""Fault probes of the contrastkit core: non-finite inputs, float16 overflow, bad arguments."""

from __future__ import annotations

import contrastkit.functional as CF
import pytest
import torch
from contrastkit.testing import l2n, ref_info_nce, ref_nt_xent

N, M, D = 6, 8, 5


def _rand(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _kernel(a, c, **kw):
    kw.setdefault("positive_index", torch.arange(a.shape[0]))
    return CF.contrastive_cross_entropy(a, c, **kw)


def _grouped(a, c, **kw):
    """The same probe through the grouped kernel: a leading group axis of 3."""
    kw.setdefault("positive_index", torch.arange(a.shape[0]))
    return CF.grouped_contrastive_cross_entropy(a.expand(3, *a.shape), c.expand(3, *c.shape), **kw)


KERNELS = [pytest.param(_kernel, id="kernel"), pytest.param(_grouped, id="grouped")]


def _with_nan(x, row):
    x = x.clone()
    x[row, 0] = float("nan")
    return x


@pytest.mark.parametrize("kernel", KERNELS)
def test_one_nan_anchor_is_an_error_naming_anchors(kernel):
    """One NaN anchor gave a finite loss with NaN gradients."""
    a, c = _with_nan(l2n(_rand(N, D)), 2), l2n(_rand(M, D, seed=1))
    with pytest.raises(ValueError, match="anchors contains NaN or inf"):
        kernel(a.requires_grad_(), c)


@pytest.mark.parametrize("kernel", KERNELS)
def test_one_nan_candidate_is_an_error_naming_candidates(kernel):
    """One NaN candidate gave a loss of 0.0."""
    a, c = l2n(_rand(N, D)), _with_nan(l2n(_rand(M, D, seed=1)), 5)
    with pytest.raises(ValueError, match="candidates contains NaN or inf"):
        kernel(a, c)


@pytest.mark.parametrize("kernel", KERNELS)
def test_all_nan_batch_is_an_error_not_zero(kernel):
    """An all-NaN batch returned 0.0, so a diverged run looked converged."""
    a = torch.full((N, D), float("nan"))
    with pytest.raises(ValueError, match="anchors contains NaN or inf"):
        kernel(a, a.clone(), self_index=torch.arange(N))


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("temperature", [float("inf"), float("nan")])
def test_non_finite_temperature_is_an_error(kernel, temperature):
    """A non-finite temperature is refused (already so; kept as a probe)."""
    a, c = l2n(_rand(N, D)), l2n(_rand(M, D, seed=1))
    with pytest.raises(ValueError, match="temperature must be (a )?finite"):
        kernel(a, c, temperature=temperature)


def test_nan_extra_negatives_and_weights_are_named():
    """Every tensor argument of the kernel is checked for NaN/inf."""
    a, c = l2n(_rand(N, D)), l2n(_rand(M, D, seed=1))
    with pytest.raises(ValueError, match="extra_negatives contains NaN or inf"):
        _kernel(a, c, extra_negatives=_with_nan(l2n(_rand(4, D, seed=2)), 1))
    w = torch.rand(N, M, generator=torch.Generator().manual_seed(3))
    w[1, 1] = float("inf")
    with pytest.raises(ValueError, match="weights contains NaN or inf"):
        CF.contrastive_cross_entropy(a, c, weights=w)


@pytest.mark.parametrize("scale", [60.0, 100.0])
def test_float16_large_inputs_match_the_float64_reference(scale):
    """Float16 inputs x60-100 with normalize=False dropped every anchor (0.0)."""
    a = (_rand(16, 64, seed=4) * scale).half()
    b = (_rand(16, 64, seed=5) * scale).half()
    want = ref_info_nce(a.double(), b.double(), 0.1)
    assert float(want) > 1e5  # the regime of the report (~4.1e5)
    out = CF.info_nce_loss(a, b, 0.1, normalize=False, return_output=True)
    assert out.num_dropped == 0
    torch.testing.assert_close(out.loss.double(), want, rtol=1e-5, atol=0.0)
    got = CF.nt_xent_loss(a, b, 0.1, normalize=False)
    torch.testing.assert_close(got.double(), ref_nt_xent(a.double(), b.double(), 0.1), rtol=1e-5, atol=0.0)


def test_float16_large_inputs_grouped_match_one_kernel_call_per_group():
    """The grouped kernel computes float16 logits in float32 too."""
    z = (_rand(2, 8, 32, seed=6) * 80).half()
    idx = (torch.arange(8) + 4) % 8
    got = CF.grouped_contrastive_cross_entropy(z, z, positive_index=idx, self_index=torch.arange(8))
    assert got.num_dropped == 0
    want = torch.stack([CF.contrastive_cross_entropy(g.double(), g.double(), positive_index=idx,
                                                     self_index=torch.arange(8)).loss for g in z.double()]).mean()
    assert float(want) > 1e4
    torch.testing.assert_close(got.loss.double(), want, rtol=1e-5, atol=0.0)


def test_float32_overflow_of_finite_inputs_is_an_error_not_a_drop():
    """An anchor is dropped only for having no positive, never for overflow."""
    a = (l2n(_rand(N, D)) * 1e20).float()  # finite in float32, its dot products are not
    with pytest.raises(ValueError, match="overflow float32"):
        _kernel(a, a.clone())


def _clip(a, c, **kw):
    """The symmetric (CLIP) pass of the kernel."""
    kw.pop("positive_index", None)
    return CF.clip_loss(a, c[: a.shape[0]], 1.0, normalize=False, **kw)


def _overflowing_pair(kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Finite float32 inputs whose first logit is exactly NaN or +inf under any BLAS and summation
    order: each product 1e30 * ±1e30 overflows to ±inf, and ``inf + (-inf)`` is NaN however it is
    accumulated (with or without FMA), ``inf + inf`` stays inf."""
    a, c = l2n(_rand(N, 2)).float(), l2n(_rand(M, 2, seed=1)).float()
    a[0] = torch.tensor([1e30, 1e30])
    c[0] = torch.tensor([1e30, -1e30]) if kind == "nan" else torch.tensor([1e30, 1e30])
    return a, c


@pytest.mark.parametrize("kernel", [*KERNELS, pytest.param(_clip, id="clip")])
@pytest.mark.parametrize("kind", ["nan", "inf"])
def test_non_finite_logits_of_finite_inputs_raise_whatever_the_blas_gives(kernel, kind):
    """A NaN logit (which some BLAS give for an overflowing product where others give inf) once
    made the row look as if it had no valid candidate: the anchors were dropped and the loss was
    0.0. NaN and inf logits are both an error."""
    a, c = _overflowing_pair(kind)
    with pytest.raises(ValueError, match="overflow float32"):
        kernel(a, c)


def test_a_nan_logit_injected_into_a_chunk_is_an_error_not_a_dropped_row(monkeypatch):
    """The same, with the NaN put into the logits directly (no dependence on the BLAS at all)."""
    from contrastkit.functional.kernel import rows

    real = rows.chunk_logits

    def with_nan(*args, **kwargs):
        z, pos = real(*args, **kwargs)
        z[:, 1] = float("nan")
        return z, pos

    monkeypatch.setattr(rows, "chunk_logits", with_nan)
    a, c = l2n(_rand(N, D)).float(), l2n(_rand(M, D, seed=1)).float()
    with pytest.raises(ValueError, match="overflow float32"):
        _kernel(a, c)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(
    ("index", "message"),
    [
        (torch.tensor([0, 1, -5, 3, 4, 5]), r"positive_index entries must lie in \[-1, M=8\)"),
        (torch.tensor([0, 1, 2, 3, 4, 8]), r"positive_index entries must lie in \[-1, M=8\)"),
        (torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]), "positive_index must be an integer tensor"),
        (torch.tensor([0, 1, 2]), "positive_index must have shape"),
    ],
)
def test_bad_positive_index_is_named(kernel, index, message):
    """A positive_index of -5 or float was accepted silently."""
    a, c = l2n(_rand(N, D)), l2n(_rand(M, D, seed=1))
    with pytest.raises(ValueError, match=message):
        kernel(a, c, positive_index=index)


@pytest.mark.parametrize("kernel", KERNELS)
def test_float_self_index_is_named(kernel):
    """The same index check for self_index."""
    a, c = l2n(_rand(N, D)), l2n(_rand(M, D, seed=1))
    with pytest.raises(ValueError, match="self_index must be an integer tensor"):
        kernel(a, c, self_index=torch.zeros(N))


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda a, b: CF.symile_loss(a, b, b.clone(), 10.0, chunk_size=0,
                                                 generator=torch.Generator().manual_seed(0)), id="symile"),
        pytest.param(lambda a, b: CF.siglip_loss(a, b, 10.0, -10.0, chunk_size=0), id="siglip"),
        pytest.param(lambda a, b: CF.info_nce_loss(a, b, chunk_size=0), id="info_nce"),
        pytest.param(lambda a, b: CF.supcon_loss(a, torch.arange(N) % 2, chunk_size=-3), id="supcon"),
        pytest.param(lambda a, b: CF.clip_loss(a, b, 10.0, chunk_size=2.5), id="clip"),
        pytest.param(lambda a, b: CF.mochi_loss(a, b, b.clone(), n_hard=2, s_mix=1, s_prime=1, chunk_size=0),
                     id="mochi"),
        pytest.param(lambda a, b: CF.grouped_contrastive_cross_entropy(a[None], b[None], positive_index=torch.arange(N),
                                                                       chunk_size=0), id="grouped"),
    ],
)
def test_bad_chunk_size_is_named(call):
    """symile(chunk_size=0) was accepted silently (0 meant 'all rows')."""
    with pytest.raises(ValueError, match="chunk_size must be None or an integer >= 1"):
        call(_rand(N, D), _rand(N, D, seed=1))


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda a, b: CF.info_nce_loss(a, b), id="info_nce"),
        pytest.param(lambda a, b: CF.nt_xent_loss(a, b), id="nt_xent"),
        pytest.param(lambda a, b: CF.supcon_loss(a, torch.arange(N) % 2), id="supcon"),
        pytest.param(lambda a, b: CF.clip_loss(a, b, 10.0), id="clip"),
        pytest.param(lambda a, b: CF.siglip_loss(a, b, 10.0, -10.0), id="siglip"),
        pytest.param(lambda a, b: CF.symile_loss(a, b, b.clone(), 10.0), id="symile"),
        pytest.param(lambda a, b: CF.cwcl_loss(a, b, torch.eye(N)), id="cwcl"),
        pytest.param(lambda a, b: CF.uniform_loss(a), id="uniform"),
        pytest.param(lambda a, b: CF.contrastive_cross_entropy(a, b, positive_index=torch.arange(N)), id="kernel"),
        pytest.param(lambda a, b: CF.grouped_contrastive_cross_entropy(a[None], b[None], positive_index=torch.arange(N)),
                     id="grouped"),
    ],
)
def test_zero_dimensional_embeddings_are_named(call):
    """D = 0 embeddings were accepted silently."""
    with pytest.raises(ValueError, match=r"D >= 1"):
        call(torch.zeros(N, 0), torch.zeros(N, 0))


@pytest.mark.parametrize("scale", [-1.0, 0.0, float("nan"), torch.tensor(-1.0)])
def test_siglip_rejects_a_logit_scale_that_is_not_positive(scale):
    """siglip_loss accepted logit_scale = -1 (clip_loss rejects it).

    ``logit_scale`` is the multiplier itself (exp of the log scale), so it must be > 0."""
    a, b = _rand(N, D), _rand(N, D, seed=1)
    with pytest.raises(ValueError, match="logit_scale must be finite and > 0"):
        CF.siglip_loss(a, b, scale, -10.0)
    with pytest.raises(ValueError, match="logit_scale must be finite and > 0"):
        CF.clip_loss(a, b, scale)
