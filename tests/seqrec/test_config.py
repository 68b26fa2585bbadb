"""One config route: ``ModelConfig`` is derived from the method classes' ``__init__`` arguments,
so each setting has one name and one default, and the project's naming rule holds."""

from __future__ import annotations

import inspect
from dataclasses import fields

import pytest
from seqrec.config import METHODS, ModelConfig, build_module


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_argument_of_a_method_is_a_setting_with_its_default(name):
    config = {f.name: f.default for f in fields(ModelConfig)}
    for cls in METHODS[name].__mro__:
        if "__init__" not in vars(cls) or not cls.__module__.startswith("seqrec"):
            continue
        for arg, p in inspect.signature(cls.__init__).parameters.items():
            if arg in ("self", "num_items", "max_len") or p.kind is not p.POSITIONAL_OR_KEYWORD:
                continue
            assert config[arg] == p.default, f"{cls.__name__}.{arg}"


def test_settings_reach_the_module():
    cfg = ModelConfig(method="mclrec", hidden=16, inner=32, temperature=0.3, lambda_cl1=0.2, lambda_cl2=0.4,
                      lambda_reg=0.0, augmenter_hidden=(8,))
    m = build_module(cfg, num_items=30, max_len=10)
    assert (m.temperature, m.lambda_cl1, m.lambda_cl2, m.lambda_reg) == (0.3, 0.2, 0.4, 0.0)
    assert [layer.out_features for layer in m.augmenters[0].layers] == [8, 16]
    cl4 = build_module(ModelConfig(method="cl4srec", hidden=16, lambda_cl=0.7, temperature=0.5), 30, 10)
    assert (cl4.lambda_cl, cl4.temperature, cl4.encoder.item_emb.embedding_dim) == (0.7, 0.5, 16)


def test_naming_rule():
    """Temperatures are ``temperature`` / ``<term>_temperature``, loss weights ``lambda_<term>``."""
    names = {f.name for f in fields(ModelConfig)}
    assert not names & {"tau", "lam", "beta", "gamma", "use_reg"}
    assert {"temperature", "lambda_cl", "lambda_cl1", "lambda_cl2", "lambda_reg"} <= names
    assert "lambda_reg: weight γ" in ModelConfig.__doc__  # the paper's symbol in the help


def test_data_settings_are_the_data_modules_arguments():
    """DataConfig repeats no default: it is SeqRecDataModule's __init__ (less seed)."""
    from seqrec.config import DataConfig
    from seqrec.data import SeqRecDataModule

    init = inspect.signature(SeqRecDataModule.__init__).parameters
    expected = {n: p.default for n, p in init.items() if n not in ("self", "seed")}
    assert {f.name: f.default for f in fields(DataConfig)} == expected
    assert "eval_batch_size: users per evaluation batch (and process)." in DataConfig.__doc__
