"""contrastkit.pretrained.from_local: a local folder only, errors that name it."""

from __future__ import annotations

import os

import pytest
import torch
from contrastkit.pretrained import PretrainedError, from_local


class _RunsCode:
    def __reduce__(self):
        return (os.getpid, ())


def _tiny_bert(folder):
    from transformers import BertConfig, BertModel

    model = BertModel(BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=16))
    model.save_pretrained(folder)
    return model


def test_a_safetensors_folder_loads(tmp_path):
    from transformers import AutoModel

    model = _tiny_bert(tmp_path / "bert")
    loaded = from_local(AutoModel, tmp_path / "bert")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_pickled_weights_that_would_run_code_are_refused_naming_the_folder(tmp_path):
    """transformers' own error quotes torch's advice to turn weights_only off."""
    from transformers import AutoModel

    folder = tmp_path / "bert"
    state = _tiny_bert(folder).state_dict()
    (folder / "model.safetensors").unlink()
    torch.save({**state, "payload": _RunsCode()}, folder / "pytorch_model.bin")
    with pytest.raises(PretrainedError, match=r"bert: refused: the weights pytorch_model\.bin are a pickle") as caught:
        from_local(AutoModel, folder)
    assert "weights_only=False" not in str(caught.value)


def test_a_missing_folder_or_config_is_named_and_nothing_is_downloaded(tmp_path):
    from transformers import AutoModel

    with pytest.raises(PretrainedError, match=r"laion/clap: no such folder"):
        from_local(AutoModel, tmp_path / "laion" / "clap")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PretrainedError, match=r"empty: not a model folder \(no config\.json\)"):
        from_local(AutoModel, tmp_path / "empty")
