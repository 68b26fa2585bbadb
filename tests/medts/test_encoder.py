"""The TS2Vec encoder's structure and the official masks."""

import pytest
import torch
from medts.models.encoder import TSEncoder, continuous_mask, make_mask, max_pool_time


def test_structure_as_specified():
    enc = TSEncoder(input_dims=16)
    assert enc.input_fc.out_features == 64 and len(enc.blocks) == 11
    for i, blk in enumerate(enc.blocks):
        assert blk.conv1.conv.dilation == (2 ** i,) and blk.conv1.conv.kernel_size == (3,)
        assert blk.conv2.conv.out_channels == (320 if i == 10 else 64)
        assert (blk.projector is not None) == (i == 10)
    assert enc.repr_dropout.p == 0.1


def test_per_timestamp_output_and_max_pool():
    enc = TSEncoder(input_dims=3, output_dims=8, hidden_dims=4, depth=2).eval()
    x = torch.randn(5, 17, 3)
    z = enc(x)
    assert z.shape == (5, 17, 8)
    torch.testing.assert_close(max_pool_time(z), z.max(1).values)
    # all_false masks every timestamp: output no longer depends on x
    torch.testing.assert_close(enc(x, mask="all_false"), enc(torch.randn(5, 17, 3), mask="all_false"))
    with pytest.raises(ValueError, match=r"expects \(B, T, 3\)"):
        enc(torch.randn(5, 17, 4))


def test_continuous_mask_spans():
    torch.manual_seed(0)
    m = continuous_mask(200, 100)  # n = 5 spans of l = 10 steps
    masked = (~m).sum(1)
    assert masked.min() >= 10 and masked.max() <= 50
    # each masked run has a length that is a multiple-or-merge of 10-step spans: never shorter than 10
    row = (~m[0]).int().tolist()
    runs = [len(r) for r in "".join(map(str, row)).split("0") if r]
    assert min(runs) >= 10
    assert continuous_mask(4, 1).tolist() == [[False]] * 4  # T=1: l = 1, n = 1
    with pytest.raises(ValueError, match="unknown mode"):
        make_mask("nope", 2, 3)
