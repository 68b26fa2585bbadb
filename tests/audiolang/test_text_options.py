"""The text tower's options measured for unseen wording: word pieces, characters, word dropout, depth."""

import pytest
import torch
from audiolang.method import CompaClap
from audiolang.models.tokenizer import build_tokenizer, vocabulary


def test_pieces_share_stems_and_characters_spell_words_out():
    pieces = build_tokenizer("pieces")
    assert pieces.encode("preceded precedes").tokens == ["preced", "##ed", "preced", "##es"]
    assert pieces.encode("afterwards loudly").tokens == ["after", "##wards", "loud", "##ly"]
    assert pieces.encode("a dog").tokens == ["a", "dog"]
    chars = build_tokenizer("characters")
    assert chars.encode("a dog, then").tokens == ["a", "d", "##o", "##g", ",", "t", "##h", "##e", "##n"]
    assert not [t for t in vocabulary("characters") if len(t.removeprefix("##")) > 1 and not t.startswith("[")]
    assert "afterwards" in vocabulary("words") and "afterwards" not in vocabulary("pieces")
    with pytest.raises(ValueError, match="tokens must be one of"):
        vocabulary("bytes")


def test_character_captions_are_read_whole_and_the_text_tower_can_be_deeper():
    module = CompaClap(tokens="characters", text_layers=3)
    caption = "it starts with a ringing bell and ends with a droning hum"
    assert module.encoder.caption_tokens([caption])[0][0] <= module.encoder.max_text_length == 160
    assert len(module.encoder.text.encoder.layers) == 3 and len(module.encoder.audio.encoder.layers) == 2


def test_word_dropout_writes_unknown_tokens_in_training_only(monkeypatch):
    module = CompaClap(word_dropout=0.5)
    seen = []
    monkeypatch.setattr(module.encoder, "encode_text", lambda ids, mask: seen.append((ids, mask)) or ids.float())
    texts = ["a dog barks, then a clock ticks"] * 50
    torch.manual_seed(0)
    module.train()
    module._texts(texts)
    module.eval()
    module._texts(texts)
    (train_ids, mask), (eval_ids, _) = seen
    unk = module.encoder.unknown_id()
    dropped = (train_ids == unk) & mask
    assert 0.4 < dropped.sum() / mask.sum() < 0.6  # about half the tokens
    assert not (eval_ids == unk).any() and not (train_ids[~mask] == unk).any()  # padding untouched
    with pytest.raises(ValueError, match="word_dropout"):
        CompaClap(word_dropout=1.0)


def test_slot_pooling_reads_what_a_slot_attends_to_not_where_it_stands():
    """One query per slot, attending over the valid tokens: a slot whose query matches one token's
    key takes that token's value wherever the token stands, and padding is never attended."""
    from audiolang.models.compact import SlotPool

    torch.manual_seed(0)
    pool = SlotPool(width=4, slots=2, heads=1).double()
    with torch.no_grad():
        pool.attention.in_proj_weight.copy_(torch.eye(4).repeat(3, 1))  # q = k = v = x
        pool.attention.in_proj_bias.zero_()
        pool.attention.out_proj.weight.copy_(torch.eye(4))
        pool.attention.out_proj.bias.zero_()
        pool.queries.copy_(50 * torch.eye(4)[:2])  # slot 0 looks for feature 0, slot 1 for feature 1
    a, b, pad = torch.eye(4)[0], torch.eye(4)[1], torch.eye(4)[0] * 9
    ab = torch.stack([a, b, pad]).double()[None]
    ba = torch.stack([b, a, pad]).double()[None]
    mask = torch.tensor([[True, True, False]])
    torch.testing.assert_close(pool(ab, mask), pool(ba, mask))  # the same slots, whatever the order
    out = pool(ab, mask).view(2, 4)
    assert out[0].argmax() == 0 and out[1].argmax() == 1
    with pytest.raises(ValueError, match="text pool must be one of"):
        CompaClap(text_pool="mean")
