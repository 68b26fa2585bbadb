"""Loading checkpoints without running code, and exporting encoders as safetensors.

Every checkpoint a user points at is read with ``torch.load(..., weights_only=True)``: a crafted
pickle is refused, never executed. A file that is empty, truncated or not a checkpoint at all
gets an error naming it and saying what to do, instead of a bare ``EOFError``.

A model checkpoint records the model's class (``"pkg.mod:Class"``, :data:`CLASS_KEY`) beside its
hyper-parameters and weights; :func:`load_module` rebuilds any app's model from it, and
:func:`save_module` writes one outside a Lightning Trainer.

An exported encoder is two files side by side: ``<stem>.safetensors`` (the weights) and
``<stem>.json`` (``{"class": ..., "config": {...}}``, what is needed to rebuild the module); it
loads with :func:`load_encoder` without the training code's checkpoints or pickles.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used, with the path and what to do."""


_WHAT_TO_DO = ("delete it and resume from an earlier checkpoint of the run, or start the run again "
               "without --resume")


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The dict stored in a Lightning (or plain torch) checkpoint, loaded with ``weights_only=True``.

    Raises :class:`CheckpointError` naming ``path`` when it is missing, empty, truncated, not a
    torch file, or holds objects that would run code when unpickled.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the checkpoint is empty (0 bytes; the run was probably killed while "
                              f"writing it); {_WHAT_TO_DO}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if _unsupported(error):  # a class or function: unpickling it could run code
            raise CheckpointError(f"{path}: refused: it holds Python objects that would run code when loaded "
                                  f"(only tensors and plain types are accepted). {_unsupported(error)}") from error
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt or not a torch file); "
                              f"{_WHAT_TO_DO}") from error
    except (EOFError, RuntimeError, zipfile.BadZipFile, OSError, ValueError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or not a torch file: {detail}); "
                              f"{_WHAT_TO_DO}") from error
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path}: not a checkpoint (holds a {type(checkpoint).__name__}, not a dict)")
    return checkpoint


def _unsupported(error: Exception) -> str:
    """The line of torch's weights-only error that names the refused global."""
    lines = [line.strip() for line in str(error).splitlines()
             if "Unsupported global" in line or "unsupported GLOBAL" in line]
    return lines[0] if lines else ""


def export_encoder(module: nn.Module, path: str | Path, config: dict[str, Any], class_name: str) -> Path:
    """Write ``module``'s weights to ``path`` (``.safetensors``) and ``{"class", "config"}`` beside it
    (``.json``); returns the weights' path. ``config`` holds the constructor's plain arguments."""
    from safetensors.torch import save_file

    path = Path(path).with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    save_file(state, str(path))
    path.with_suffix(".json").write_text(json.dumps({"class": class_name, "config": config}, indent=2))
    return path


def load_encoder(path: str | Path) -> tuple[dict[str, torch.Tensor], str, dict[str, Any]]:
    """``(state_dict, class_name, config)`` of an encoder written by :func:`export_encoder`."""
    from safetensors.torch import load_file

    path = Path(path).with_suffix(".safetensors")
    meta_path = path.with_suffix(".json")
    for p in (path, meta_path):
        if not p.is_file():
            raise CheckpointError(f"{p}: missing (an exported encoder is a .safetensors file and a .json beside it)")
    try:
        meta = json.loads(meta_path.read_text())
        state = load_file(str(path))
    except Exception as error:  # json, OS and safetensors' own errors alike
        raise CheckpointError(f"{path}: not a readable exported encoder ({error})") from error
    if not isinstance(meta, dict) or "class" not in meta or "config" not in meta:
        raise CheckpointError(f"{meta_path}: expected {{'class': ..., 'config': {{...}}}}")
    return state, meta["class"], meta["config"]


def load_state_checked(module: nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> nn.Module:
    """``module.load_state_dict(state)`` (strict), with one error naming ``source`` that lists the
    missing and unexpected tensors and the shape mismatches, and a refusal of non-finite weights
    (a damaged export of the right shape would otherwise give NaN outputs without a word)."""
    check_state_fits(module, state, source)
    module.load_state_dict(state)
    return module


def check_state_fits(module: nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """The checks of :func:`load_state_checked`, without loading anything."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    shapes = [f"{k}: {tuple(state[k].shape)} where the model has {tuple(own[k].shape)}"
              for k in sorted(set(own) & set(state)) if tuple(state[k].shape) != tuple(own[k].shape)]
    problems = ([f"missing tensors: {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else "")] if missing else []) \
        + ([f"unexpected tensors: {', '.join(extra[:5])}" + (" ..." if len(extra) > 5 else "")] if extra else []) \
        + shapes[:5]
    if problems:
        raise CheckpointError(f"{source}: the weights do not fit {type(module).__name__} (another model, app or "
                              "configuration?): " + "; ".join(problems))
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(f"{source}: non-finite (NaN or infinite) weights in {', '.join(bad[:5])}"
                              + (" ..." if len(bad) > 5 else "") + "; the file is damaged")


def build_checked(cls: type, config: dict[str, Any], source: str | Path) -> Any:
    """``cls(**config)``, with an error naming ``source`` for arguments ``cls`` does not take (a
    config written for another class or version) or a constructor that rejects the values."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{source}: the stored configuration is a {type(config).__name__}, not a mapping")
    params = inspect.signature(cls).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(config) - set(params))
        if unknown:
            raise CheckpointError(f"{source}: {cls.__name__} takes no argument(s) {', '.join(unknown)} "
                                  "(written for another class or version?)")
    try:
        return cls(**config)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{source}: cannot build {cls.__name__} from the stored configuration ({error})") from error


CLASS_KEY = "contrastkit_classes"  # {"module": "pkg.mod:Class", "datamodule": ... or None}


def class_path(obj: Any) -> str:
    """``"package.module:QualifiedName"`` of ``obj``'s class."""
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def load_module(path: str | Path, packages: tuple[str, ...], expected: type | None = None, *,
                overrides: dict[str, Any] | None = None, drop: tuple[str, ...] = (),
                upgrade: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                fallback: type | Callable[[dict[str, Any]], type | None] | None = None,
                loaded: dict[str, Any] | None = None) -> Any:
    """The LightningModule saved in ``path``, rebuilt from the class and hyper-parameters recorded
    at save time and its weights, in eval mode.

    The constructor gets ``upgrade(stored hparams)`` without the names in ``drop``, updated by
    ``overrides``: ``cls(**{**upgrade(stored) - drop, **overrides})``.

    Args:
        path: a ``.ckpt`` written by a trainer of :func:`~contrastkit.train.make_trainer`, an app's
            ``fit`` or :func:`save_module` (they record the class, see :data:`CLASS_KEY`).
        packages: the top-level packages whose classes may be imported (an app passes its own name):
            the class path comes from a file a user gives, so nothing outside them is imported.
        expected: when given, the class must be this one or a subclass of it.
        overrides: constructor arguments that win over the stored hyper-parameters.
        drop: stored hyper-parameters not passed to the constructor (e.g. the checkpoint training started from).
        upgrade: the hyper-parameters of an older version of the app, renamed to today's.
        fallback: the class of a checkpoint that records none (written before classes were
            recorded), or a function of its stored hyper-parameters (``_``-keys included) that
            returns the class or None. Its (upgraded) hyper-parameters must be ones the class takes.
        loaded: ``load_checkpoint(path)``'s result when the caller has read it already (for the
            entries it keeps besides the model), so that the file is not read twice.

    Raises:
        CheckpointError: naming ``path``: a class outside ``packages`` (another app's checkpoint:
            the message names its class), no recorded class and no fallback that takes its
            hyper-parameters (the message lists them), not the expected class, or weights and
            hyper-parameters that do not fit it.
    """
    checkpoint = load_checkpoint(path) if loaded is None else loaded
    stored = dict(checkpoint.get("hyper_parameters") or {})
    # keys starting with "_" are Lightning's own bookkeeping (LightningCLI's "_instantiator")
    own = {k: v for k, v in stored.items() if not k.startswith("_")}
    hparams = {k: v for k, v in (upgrade(own) if upgrade else own).items() if k not in drop}
    recorded = (checkpoint.get(CLASS_KEY) or {}).get("module")
    if isinstance(recorded, str) and ":" in recorded:
        cls = _import_recorded(path, recorded, packages)
    else:
        cls = _fallback_class(path, packages, fallback, stored, hparams)
    if expected is not None and not (isinstance(cls, type) and issubclass(cls, expected)):
        raise CheckpointError(f"{path}: holds a {recorded or class_path(cls)}, not a {class_path(expected)}")
    state = checkpoint.get("state_dict")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: holds no weights (no 'state_dict': not a checkpoint of a fit or save_module)")
    module = build_checked(cls, {**hparams, **(overrides or {})}, path)
    load_state_checked(module, state, path)
    return module.eval()


def _not_ours(packages: tuple[str, ...]) -> str:
    """``"not a medts checkpoint"``, ``"not an audiolang checkpoint"``."""
    names = " or ".join(packages)
    return f"not {'an' if names[:1] in 'aeiou' else 'a'} {names} checkpoint"


def _names(hparams: dict[str, Any]) -> str:
    names = list(hparams) or ["none"]
    return ", ".join(map(str, names[:6])) + (", ..." if len(names) > 6 else "")


def _import_recorded(path: str | Path, recorded: str, packages: tuple[str, ...]) -> type:
    """The class ``"pkg.mod:Qual.Name"`` a checkpoint records, imported only from ``packages``."""
    module_name, _, qualname = recorded.partition(":")
    if module_name.split(".")[0] not in packages:
        raise CheckpointError(f"{path}: {_not_ours(packages)}: it holds a {recorded}, a model of another app "
                              "or program")
    try:
        cls = importlib.import_module(module_name)
        for part in qualname.split("."):
            cls = getattr(cls, part)
    except (ImportError, AttributeError) as error:
        raise CheckpointError(f"{path}: its model class {recorded} does not exist in this version ({error})") from None
    return cls


def _fallback_class(path: str | Path, packages: tuple[str, ...], fallback: Any, stored: dict[str, Any],
                    hparams: dict[str, Any]) -> type:
    """The class of a checkpoint that records none: ``fallback`` (or what it returns for the stored
    hyper-parameters), when the class takes every one of ``hparams``."""
    cls = fallback if fallback is None or isinstance(fallback, type) else fallback(stored)
    if cls is None:
        raise CheckpointError(f"{path}: records no model class (another program's checkpoint, or one written before "
                              f"checkpoints recorded their class); its hyper-parameters: ({_names(hparams)})")
    params = inspect.signature(cls).parameters
    unknown = sorted(set(hparams) - set(params))
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        raise CheckpointError(f"{path}: {_not_ours(packages)}: its hyper-parameters ({_names(hparams)}) are not a "
                              f"{cls.__name__}'s: it takes no argument(s) {', '.join(unknown[:5])} (it records no model "
                              "class: another app's checkpoint?)")
    return cls


def save_module(path: str | Path, module: nn.Module, extra: dict[str, Any] | None = None,
                hparams: dict[str, Any] | None = None) -> Path:
    """Write ``module`` to ``path`` atomically as a checkpoint :func:`load_module` reads back:
    ``{"state_dict", "hyper_parameters", CLASS_KEY, **extra}``, for a model saved outside a
    Lightning Trainer.

    ``hparams`` (default ``module.hparams``) are the constructor's arguments; they and ``extra``
    must be tensors and plain values (the file is read back with ``weights_only=True``).
    """
    from contrastkit.atomic import torch_save_atomic

    if hparams is None:
        if not hasattr(module, "hparams"):
            raise ValueError(f"save_module: {type(module).__name__} has no hparams; pass its constructor's arguments "
                             "as hparams")
        hparams = module.hparams
    reserved = {"state_dict", "hyper_parameters", CLASS_KEY} & set(extra or {})
    if reserved:
        raise ValueError(f"save_module: extra may not set {', '.join(sorted(reserved))}")
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    checkpoint = {**(extra or {}), "state_dict": state, "hyper_parameters": dict(hparams),
                  CLASS_KEY: {"module": class_path(module), "datamodule": None}}
    return torch_save_atomic(checkpoint, path)


def check_lightning_checkpoint(path: str | Path, module: nn.Module) -> dict[str, Any]:
    """The checkpoint at ``path``, checked to be a Lightning fit's checkpoint *of* ``module``: its
    recorded class (when it has one) is ``module``'s, and its weights fit ``module`` and are finite.
    Raises :class:`CheckpointError` naming ``path`` (another app's model: its class)."""
    checkpoint = load_checkpoint(path)
    if "state_dict" not in checkpoint or "pytorch-lightning_version" not in checkpoint:
        raise CheckpointError(f"{path}: not a checkpoint of a Lightning fit (no state_dict or Lightning version in "
                              "it); give a .ckpt written by fit, demo or study")
    recorded = (checkpoint.get(CLASS_KEY) or {}).get("module")
    if isinstance(recorded, str) and recorded != class_path(module):
        raise CheckpointError(f"{path}: holds a {recorded}, not a {class_path(module)} (another app's or "
                              "another method's model)")
    check_state_fits(module, checkpoint["state_dict"], path)
    return checkpoint
