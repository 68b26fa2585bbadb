"""The stage losses against float64 loop references written after the official CompA loss.py layout."""

import math

import pytest
import torch
import torch.nn.functional as F
from audiolang.losses import OFFICIAL_MASK, clap_loss, compositional_loss


def unit(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g, dtype=torch.float64), dim=-1)


def official_reference(audio, primary, positives, negatives, scale, multiplicative, neg_audio=None):
    """Texts laid out in blocks [primary_i, positives_i, negatives_i] as the official code; a (B, T)
    logit matrix masked by -inf (additive) or multiplied by -1e5 (official); loops everywhere."""
    b = audio.shape[0]
    p = 0 if positives is None else positives.shape[1]
    blocks = [torch.cat([primary[i:i + 1], *( [positives[i]] if p else []), negatives[i]]) for i in range(b)]
    texts = torch.cat(blocks)
    size = blocks[0].shape[0]
    a2t = 0.0
    for i in range(b):
        row = []
        for j in range(texts.shape[0]):
            block, pos_in_block = divmod(j, size)
            z = scale * float(audio[i] @ texts[j])
            if pos_in_block != 0 and block != i:
                z = z * OFFICIAL_MASK if multiplicative else -math.inf
            row.append(z)
        row = torch.tensor(row, dtype=torch.float64)
        logp = row - torch.logsumexp(row, 0)
        targets = [i * size + q for q in range(p + 1)]
        a2t += -sum(float(logp[t]) for t in targets) / (p + 1)
    a2t /= b
    t2a, count = 0.0, 0
    for i in range(b):
        anchors = [primary[i]] + ([positives[i, q] for q in range(p)] if p else [])
        for k, t in enumerate(anchors):
            cands = [audio[j] for j in range(b)] + ([neg_audio[i, 0]] if (neg_audio is not None and k == 0) else [])
            row = torch.tensor([scale * float(t @ c) for c in cands], dtype=torch.float64)
            t2a += float(torch.logsumexp(row, 0) - row[i])
            count += 1
    t2a /= count
    return 0.5 * (a2t + t2a)


B, K, P, D = 5, 3, 2, 8


@pytest.mark.parametrize("stage", [2, 3])
@pytest.mark.parametrize("mask", ["additive", "multiplicative"])
def test_compositional_loss_matches_official_layout(stage, mask):
    audio, primary, negatives, positives = unit(B, D, seed=1), unit(B, D, seed=2), unit(B, K, D, seed=3), unit(B, P, D, seed=4)
    pos = positives if stage == 3 else None
    scale = torch.tensor(12.0, dtype=torch.float64)
    got = compositional_loss(audio, primary, negatives, scale, positives=pos, mask=mask)["loss"]
    want = official_reference(audio, primary, pos, negatives, 12.0, mask == "multiplicative")
    assert float(got) == pytest.approx(want, rel=1e-9, abs=1e-6)


def test_text_hard_negatives_match_reference():
    audio, primary, negatives, positives = unit(B, D, seed=1), unit(B, D, seed=2), unit(B, K, D, seed=3), unit(B, P, D, seed=4)
    neg_audio = unit(B, 1, D, seed=5)
    got = compositional_loss(audio, primary, negatives, torch.tensor(8.0, dtype=torch.float64), positives=positives,
                             negative_audio=neg_audio)["loss"]
    assert float(got) == pytest.approx(official_reference(audio, primary, positives, negatives, 8.0, False, neg_audio), rel=1e-9)


def test_multiplicative_mask_explodes_where_additive_does_not():
    """The official -1e5 product turns a negative cosine into a huge positive logit."""
    audio, primary = unit(4, D, seed=6), unit(4, D, seed=7)
    negatives = -audio[:, None, :].repeat(1, 2, 1)  # cosine -1 with their own audio, negative with others too
    scale = torch.tensor(1 / 0.07, dtype=torch.float64)
    additive = float(compositional_loss(audio, primary, negatives, scale, mask="additive")["loss"])
    official = float(compositional_loss(audio, primary, negatives, scale, mask="multiplicative")["loss"])
    assert additive < 20
    assert official > 1000 * additive
    assert official == pytest.approx(official_reference(audio, primary, None, negatives, float(scale), True), rel=1e-9)


def test_gradient_matches_reference_autograd():
    audio = unit(B, D, seed=1).requires_grad_()
    primary, negatives, positives = unit(B, D, seed=2), unit(B, K, D, seed=3), unit(B, P, D, seed=4)
    scale = torch.tensor(10.0, dtype=torch.float64)
    compositional_loss(audio, primary, negatives, scale, positives=positives)["loss"].backward()
    ref_audio = audio.detach().clone().requires_grad_()
    texts = torch.cat([torch.cat([primary[i:i + 1], positives[i], negatives[i]]) for i in range(B)])
    size = 1 + P + K
    logits = scale * ref_audio @ texts.T
    keep = torch.zeros_like(logits, dtype=torch.bool)
    for i in range(B):
        keep[i, ::size] = True
        keep[i, i * size:(i + 1) * size] = True
    logp = torch.log_softmax(logits.masked_fill(~keep, -math.inf), 1)
    a2t = -torch.stack([logp[i, i * size:i * size + P + 1].mean() for i in range(B)]).mean()
    anchors = torch.cat([primary, positives.reshape(B * P, D)])
    target = torch.cat([torch.arange(B), torch.arange(B).repeat_interleave(P)])
    t2a = F.cross_entropy(scale * anchors @ ref_audio.T, target)
    (0.5 * (a2t + t2a)).backward()
    torch.testing.assert_close(audio.grad, ref_audio.grad)


def test_clap_loss_is_symmetric_cross_entropy():
    a, t = unit(6, D, seed=8), unit(6, D, seed=9)
    logits = 5.0 * a @ t.T
    want = 0.5 * (F.cross_entropy(logits, torch.arange(6)) + F.cross_entropy(logits.T, torch.arange(6)))
    assert float(clap_loss(a, t, torch.tensor(5.0, dtype=torch.float64))["loss"]) == pytest.approx(float(want), rel=1e-9)


def test_compositional_loss_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="negatives must be"):
        compositional_loss(unit(3, D), unit(3, D), unit(2, K, D), torch.tensor(1.0))
    with pytest.raises(ValueError, match="mask must be"):
        compositional_loss(unit(3, D), unit(3, D), unit(3, K, D), torch.tensor(1.0), mask="both")
