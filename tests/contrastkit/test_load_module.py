"""One checkpoint -> model route: ``save_module`` writes what ``load_module`` rebuilds, with the
options apps need (overrides, dropped and renamed hyper-parameters, a class for older files)."""

from __future__ import annotations

import re

import lightning as L
import pytest
import torch
from contrastkit.train import CheckpointError, load_checkpoint, load_module, save_module
from contrastkit.train.checkpoint import CLASS_KEY
from torch import nn


class Tiny(L.LightningModule):
    """``y = scale * W2 relu(W1 x)``, ``x: (N, dim)`` -> ``(N, 3)``."""

    def __init__(self, dim: int = 4, width: int = 8, scale: float = 1.0) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(dim, width), nn.ReLU(), nn.Linear(width, 3))
        self.scale = scale

    def forward(self, x):
        return self.scale * self.net(x)


class Other(Tiny):
    """Another class of the same package (a second method of an app)."""


PACKAGE = Tiny.__module__.split(".")[0]


def _saved(tmp_path, module=None, name="m.ckpt", **extra):
    torch.manual_seed(0)
    return save_module(tmp_path / name, module or Tiny(dim=4, width=8, scale=2.0), extra or None)


def _rewritten(path, edit):
    """The checkpoint at ``path`` after ``edit(checkpoint)``, written beside it (``<stem>.e.ckpt``)."""
    ckpt = load_checkpoint(path)
    edit(ckpt)
    out = path.with_name(f"{path.stem}.e.ckpt")
    torch.save(ckpt, out)
    return out


def test_save_module_then_load_module_gives_the_same_model(tmp_path):
    torch.manual_seed(0)
    original = Tiny(dim=4, width=8, scale=2.0)
    path = save_module(tmp_path / "sub" / "m.ckpt", original, {"vocab": ["a", "b"]})
    assert path == tmp_path / "sub" / "m.ckpt" and sorted(p.name for p in path.parent.iterdir()) == ["m.ckpt"]
    ckpt = load_checkpoint(path)
    assert ckpt[CLASS_KEY]["module"] == f"{Tiny.__module__}:Tiny" and ckpt["vocab"] == ["a", "b"]
    assert ckpt["hyper_parameters"] == {"dim": 4, "width": 8, "scale": 2.0}
    loaded = load_module(path, packages=(PACKAGE,), expected=Tiny)
    assert type(loaded) is Tiny and not loaded.training and loaded.scale == 2.0
    x = torch.randn(5, 4)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), original.eval()(x), rtol=0, atol=0)


def test_save_module_takes_given_hparams_and_refuses_reserved_extras(tmp_path):
    plain = nn.Linear(2, 3)
    with pytest.raises(ValueError, match="Linear has no hparams"):
        save_module(tmp_path / "p.ckpt", plain)
    path = save_module(tmp_path / "p.ckpt", plain, hparams={"in_features": 2, "out_features": 3})
    loaded = load_module(path, packages=("torch",), expected=nn.Linear)
    assert torch.equal(loaded.weight, plain.weight)
    with pytest.raises(ValueError, match="extra may not set state_dict"):
        save_module(tmp_path / "q.ckpt", plain, {"state_dict": {}}, hparams={})
    assert not (tmp_path / "q.ckpt").exists()


def test_overrides_win_and_drop_and_upgrade_shape_the_constructor_arguments(tmp_path):
    path = _saved(tmp_path)
    assert load_module(path, (PACKAGE,), overrides={"scale": 0.5}).scale == 0.5
    # a stored setting the class no longer takes: refused unless dropped
    old = _rewritten(path, lambda c: c["hyper_parameters"].update(init_from="/somewhere/else.ckpt"))
    with pytest.raises(CheckpointError, match=re.escape(str(old)) + r": Tiny takes no argument\(s\) init_from"):
        load_module(old, (PACKAGE,))
    assert load_module(old, (PACKAGE,), drop=("init_from",)).scale == 2.0

    # an older version's name of a setting, renamed by the app's upgrade
    def renamed(hp):
        return {("scale" if k == "factor" else k): v for k, v in hp.items()}

    older = _rewritten(path, lambda c: c["hyper_parameters"].update(factor=c["hyper_parameters"].pop("scale") * 3))
    assert load_module(older, (PACKAGE,), upgrade=renamed).scale == 6.0
    # overrides are applied after the upgrade
    assert load_module(older, (PACKAGE,), upgrade=renamed, overrides={"scale": 1.5}).scale == 1.5


def test_a_checkpoint_that_records_no_class_is_built_as_the_fallback(tmp_path):
    path = _saved(tmp_path)
    old = _rewritten(path, lambda c: c.pop(CLASS_KEY))
    with pytest.raises(CheckpointError, match=re.escape(str(old)) + r": records no model class .*its hyper-parameters: "
                                              r"\(dim, width, scale\)"):
        load_module(old, (PACKAGE,))
    model = load_module(old, (PACKAGE,), expected=Tiny, fallback=Tiny)
    assert type(model) is Tiny and model.scale == 2.0
    torch.testing.assert_close(model.net[0].weight, load_module(path, (PACKAGE,)).net[0].weight, rtol=0, atol=0)
    # a function of the stored hyper-parameters ("_" keys included) picks among several classes
    named = _rewritten(old, lambda c: c["hyper_parameters"].update(_class_name="Other"))
    by_name = {"Tiny": Tiny, "Other": Other}.get
    assert type(load_module(named, (PACKAGE,), fallback=lambda hp: by_name(hp.get("_class_name")))) is Other
    with pytest.raises(CheckpointError, match=r"records no model class"):
        load_module(old, (PACKAGE,), fallback=lambda hp: by_name(hp.get("_class_name")))


def test_a_classless_checkpoint_of_other_settings_is_refused_listing_them(tmp_path):
    """Another app's checkpoint from before classes were recorded: named by its hyper-parameters."""
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"encoder.weight": torch.zeros(2, 2)},
                "hyper_parameters": {"num_items": 20, "max_len": 50, "hidden": 8, "_instantiator": "x"}}, foreign)
    with pytest.raises(CheckpointError, match=re.escape(str(foreign)) + r": not a \S+ checkpoint: its hyper-parameters "
                                              r"\(num_items, max_len, hidden\) are not a Tiny's: it takes no "
                                              r"argument\(s\) hidden, max_len, num_items"):
        load_module(foreign, (PACKAGE,), fallback=Tiny)
    with pytest.raises(CheckpointError, match=r": not an audiolang checkpoint: its hyper-parameters"):
        load_module(foreign, ("audiolang",), fallback=Tiny)


def test_a_checkpoint_of_another_package_is_refused_naming_its_class_without_importing_it(tmp_path):
    path = _saved(tmp_path)
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + r": not a medts checkpoint: it holds a "
                                              + re.escape(f"{Tiny.__module__}:Tiny") + ", a model of another app"):
        load_module(path, ("medts",), fallback=Tiny)  # a recorded class wins over the fallback
    planted = _rewritten(path, lambda c: c[CLASS_KEY].update(module="os:system"))
    with pytest.raises(CheckpointError, match=r"it holds a os:system, a model of another app"):
        load_module(planted, (PACKAGE,))
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + r": holds a .*:Tiny, not a .*:Other"):
        load_module(path, (PACKAGE,), expected=Other)
    gone = _rewritten(path, lambda c: c[CLASS_KEY].update(module=f"{Tiny.__module__}:Removed"))
    with pytest.raises(CheckpointError, match=r":Removed does not exist in this version"):
        load_module(gone, (PACKAGE,))


def test_weights_that_are_missing_or_do_not_fit_are_named(tmp_path):
    path = _saved(tmp_path)
    no_weights = _rewritten(path, lambda c: c.pop("state_dict"))
    with pytest.raises(CheckpointError, match=re.escape(str(no_weights)) + r": holds no weights"):
        load_module(no_weights, (PACKAGE,))
    wider = _rewritten(path, lambda c: c["hyper_parameters"].update(width=16))
    with pytest.raises(CheckpointError, match=r"net\.0\.weight: \(8, 4\) where the model has \(16, 4\)"):
        load_module(wider, (PACKAGE,))


class _Payload:
    """Unpickling this creates ``marker`` (what an attacker's code would do)."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_a_crafted_pickle_is_refused_before_it_runs(tmp_path):
    marker, path = tmp_path / "pwned", tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}, CLASS_KEY: {"module": f"{Tiny.__module__}:Tiny"},
                "payload": _Payload(marker)}, path)
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + r": refused: .*would run code"):
        load_module(path, (PACKAGE,), fallback=Tiny)
    assert not marker.exists()
    torch.load(path, weights_only=False)  # the probe is real: an unrestricted load runs it
    assert marker.exists()
