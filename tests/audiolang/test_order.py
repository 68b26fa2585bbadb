"""Order sensitivity: the towers tell "A, then B" from "B, then A", and the scores treat ties and
order-blind models as the official ``benchmark_eval.py`` does (the below-chance scores of
the first study came from mean-pooled, nearly order-invariant towers)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from audiolang.data.build import ClipConfig, load_clips
from audiolang.data.compose import Part, Scene, render, swap_order
from audiolang.data.datamodule import pad
from audiolang.evaluate import winoground_scores
from audiolang.models.compact import segment_pool
from audiolang.models.dual import DualEncoder


def test_segment_pool_swaps_with_the_halves_and_the_mean_does_not_see_order():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1, 6, 5, generator=g), torch.randn(1, 6, 5, generator=g)
    mask = torch.ones(1, 12, dtype=torch.bool)
    ab, ba = torch.cat([a, b], 1), torch.cat([b, a], 1)
    for s in (2, 4):
        p_ab, p_ba = segment_pool(ab, mask, s).view(s, 5), segment_pool(ba, mask, s).view(s, 5)
        half = s // 2
        torch.testing.assert_close(p_ab, torch.cat([p_ba[half:], p_ba[:half]]))  # the halves' parts trade places
        assert not torch.allclose(p_ab, p_ba)
    torch.testing.assert_close(segment_pool(ab, mask, 1), segment_pool(ba, mask, 1))  # a plain mean: blind to order
    torch.testing.assert_close(segment_pool(ab, mask, 1), ab.mean(1))


def test_segment_pool_ignores_padding_and_short_rows():
    x = torch.arange(12.0).view(1, 6, 2).repeat(2, 1, 1)
    mask = torch.tensor([[True] * 6, [True] * 2 + [False] * 4])
    out = segment_pool(x, mask, 4).view(2, 4, 2)
    torch.testing.assert_close(out[1], torch.tensor([[0.0, 1.0], [0.0, 0.0], [2.0, 3.0], [0.0, 0.0]]))
    torch.testing.assert_close(out[0, 0], x[0, :2].mean(0))


def _pair_embeddings(encoder: DualEncoder) -> tuple[torch.Tensor, torch.Tensor]:
    """cosines between the two orders' audio embeddings and their captions' (synthetic test clips)."""
    clips = load_clips(ClipConfig(sources=("synthetic",)), test=True)
    by_label = {}
    for c in clips.clips:
        by_label.setdefault(c.label, c)
    picked = list(by_label.values())
    scenes = [Scene((Part(a), Part(b)), "then") for a in picked for b in picked if a.label < b.label]
    waves = [render(s, clips.waves, clips.sample_rate)[0] for s in scenes]
    rev = [render(swap_order(s), clips.waves, clips.sample_rate)[0] for s in scenes]
    encoder.eval()
    with torch.no_grad():
        a0, a1 = (encoder.encode_audio(*pad(w)) for w in (waves, rev))
        t0 = encoder.embed_texts([s.caption() for s in scenes])
        t1 = encoder.embed_texts([swap_order(s).caption() for s in scenes])
    return (a0 * a1).sum(1), (t0 * t1).sum(1)


@pytest.mark.parametrize("seed", [0, 1])
def test_towers_are_not_invariant_to_swapping_the_two_halves(seed):
    """Before any training, the reversed pair's embeddings differ clearly in both towers; the old
    mean-pooled towers (segments=1) gave cosines above 0.995, which no loss can later separate."""
    torch.manual_seed(seed)
    audio_cos, text_cos = (float(c.mean()) for c in _pair_embeddings(DualEncoder(segments=4)))
    torch.manual_seed(seed)
    blind_audio, blind_text = (float(c.mean()) for c in _pair_embeddings(DualEncoder(segments=1)))
    assert audio_cos < 0.99 and text_cos < 0.9
    assert blind_audio > 0.99 and blind_text > 0.998  # the old towers: the two orders all but equal
    assert 1 - audio_cos > 3 * (1 - blind_audio) and 1 - text_cos > 30 * (1 - blind_text)


def test_ties_fail_each_score_as_the_official_strict_comparison():
    """benchmark_eval.py: f = s00 > s10 and s11 > s01; g = s00 > s01 and s11 > s10; a tie is a 0."""
    # text tie (s00 == s10), audio right: text 0, audio 100, group 0
    assert winoground_scores([0.9], [0.1], [0.9], [0.95]) == {"text": 0.0, "audio": 100.0, "group": 0.0}
    # audio tie (s00 == s01), text right
    assert winoground_scores([0.9], [0.9], [0.1], [0.95]) == {"text": 100.0, "audio": 0.0, "group": 0.0}


def test_an_order_blind_model_scores_zero_not_chance():
    """Why the first study scored below chance: when the two audios' (or captions') embeddings
    nearly coincide, text needs (t0 - t1).a0 > 0 > (t0 - t1).a1 and fails for almost every pair."""
    rng = np.random.default_rng(0)
    n, d = 2000, 32
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)
    common_a, common_t = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    for spread, below in ((0.01, True), (100.0, False)):  # small order component vs. embeddings all but random
        a0, a1 = (unit(common_a + spread * rng.standard_normal((n, d))) for _ in range(2))
        t0, t1 = (unit(common_t + spread * rng.standard_normal((n, d))) for _ in range(2))
        s = lambda t, a: (t * a).sum(1)
        got = winoground_scores(s(t0, a0), s(t0, a1), s(t1, a0), s(t1, a1))
        if below:
            assert got["text"] < 10 and got["audio"] < 10 and got["group"] < 2
        else:
            assert got["text"] == pytest.approx(25, abs=4) and got["audio"] == pytest.approx(25, abs=4)


def test_benchmark_scoring_pairs_each_caption_with_its_own_file(tmp_path, monkeypatch):
    """An oracle (each file embedded as the caption the CSV gives it) scores 100: no index mix-up
    between captions, files and the reversed pair in evaluate_benchmark."""
    import audiolang.evaluate as ev
    from audiolang.data.benchmark_csv import read_benchmark_csv
    from audiolang.data.build import build_benchmark

    csv = build_benchmark(tmp_path, "order", 10, seed=0, clips=ClipConfig(sources=("synthetic",)))
    rows = read_benchmark_csv(csv)
    files = sorted({f for r in rows for f in (r.file, r.reversed_file, r.third_file)})
    described = {}  # caption -> the files it describes (each pair is captioned in two wordings)
    for r in rows:
        for caption, f in ((r.caption, r.file), (r.reversed_caption, r.reversed_file), (r.third_caption, r.third_file)):
            described.setdefault(caption, set()).add(f)
    hot = lambda f: F.one_hot(torch.tensor(files.index(f)), len(files)).float()

    class Oracle(DualEncoder):
        def embed_texts(self, texts, batch_size=256):
            return torch.stack([sum(hot(f) for f in described[t]) for t in texts])

    monkeypatch.setattr(ev, "embed_files", lambda enc, fs, batch_size=32: torch.stack([hot(f) for f in fs]))
    out = ev.evaluate_benchmark(Oracle(), csv)
    for wording in ("seen/", "unseen/", ""):
        assert [out[wording + k] for k in ("text", "audio", "group")] == [100.0] * 3
        assert [out[wording + k] for k in ("third_text", "third_audio", "third_group")] == [100.0] * 3
    swapped = {f: (r.reversed_file if f == r.file else r.file) for r in rows for f in (r.file, r.reversed_file)}
    monkeypatch.setattr(ev, "embed_files", lambda enc, fs, batch_size=32: torch.stack(
        [hot(swapped.get(f, f)) for f in fs]))
    out = ev.evaluate_benchmark(Oracle(), csv)
    assert (out["text"], out["audio"], out["group"]) == (0.0, 0.0, 0.0)
