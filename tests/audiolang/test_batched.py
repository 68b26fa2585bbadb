"""Batched = single inference: a clip or a caption scored alone gets the score it gets inside a padded
batch (padding masked in both towers), in float64 to the last bits and in float32 within rounding."""

import numpy as np
import pytest
import torch
from audiolang.evaluate import embed_files
from audiolang.models.dual import DualEncoder

LENGTHS = [16000, 7000, 12345, 800, 801]  # 800 and 801 samples: a frame boundary (hop 320) between them
CAPTIONS = ["a dog barks", "a dog barks, then a clock ticks", "rain",
            "it starts with a ringing bell and ends with a droning hum", "a faint sneezing person"]


def _encoder(dtype, **options) -> DualEncoder:
    torch.manual_seed(0)
    return DualEncoder(**options).to(dtype).eval()


def _waves(dtype) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return [0.1 * torch.randn(n, generator=g, dtype=dtype) for n in LENGTHS]


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_audio_alone_equals_audio_in_a_padded_batch(dtype, tol):
    encoder, waves = _encoder(dtype), _waves(dtype)
    lengths = torch.tensor(LENGTHS)
    batch = torch.zeros(len(waves), max(LENGTHS), dtype=dtype)  # as datamodule.pad, in this dtype
    for i, w in enumerate(waves):
        batch[i, : len(w)] = w
    with torch.no_grad():
        together = encoder.encode_audio(batch, lengths)
        alone = torch.cat([encoder.encode_audio(w[None], torch.tensor([len(w)])) for w in waves])
        # the same clip with extra zeros beyond its length (a longer batch) is still the same clip
        longer = encoder.encode_audio(torch.nn.functional.pad(batch, (0, 4000)), lengths)
    torch.testing.assert_close(together, alone, atol=tol, rtol=0)
    torch.testing.assert_close(longer, alone, atol=tol, rtol=0)


@pytest.mark.parametrize("options", [{"text_pool": "segments"}, {"text_pool": "slots"}, {"tokens": "characters"}])
@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_caption_alone_equals_caption_in_a_padded_batch(dtype, tol, options):
    encoder = _encoder(dtype, **options)
    with torch.no_grad():
        together = encoder.embed_texts(CAPTIONS)
        alone = torch.cat([encoder.embed_texts([c]) for c in CAPTIONS])
        in_two = torch.cat([encoder.embed_texts(CAPTIONS[:2]), encoder.embed_texts(CAPTIONS[2:])])
    torch.testing.assert_close(together, alone, atol=tol, rtol=0)
    torch.testing.assert_close(in_two, alone, atol=tol, rtol=0)


def test_embed_files_scores_a_file_alone_as_in_its_batch(tmp_path):
    """What ``evaluate`` and ``score`` run: files read and embedded 32 at a time vs one at a time."""
    import soundfile as sf

    encoder = _encoder(torch.float32)
    files = []
    for i, w in enumerate(_waves(torch.float32)):
        files.append(tmp_path / f"{i}.wav")
        sf.write(files[-1], np.clip(w.numpy(), -1, 1), 16000, subtype="FLOAT")
    together = embed_files(encoder, files)
    alone = torch.cat([embed_files(encoder, [f]) for f in files])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)
    text = encoder.embed_texts(["a dog barks, then a clock ticks"])
    np.testing.assert_allclose((text @ together.T).numpy(), (text @ alone.T).numpy(), atol=1e-5)
