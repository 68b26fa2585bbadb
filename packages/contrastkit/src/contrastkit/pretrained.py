"""Loading a Hugging Face ``transformers`` model or tokenizer from a local folder, never a hub.

:func:`from_local` calls ``loader.from_pretrained(path, local_files_only=True)`` after checking
that ``path`` is a folder with a ``config.json`` (or, for a tokenizer, any file), and turns the
library's errors into one message naming the folder and what to do. The case that matters most:
weights stored as a pickle (``pytorch_model.bin``) are refused by ``transformers`` (it loads
them with ``torch.load(weights_only=True)``, and the file may run code); the message says to
convert them to ``model.safetensors`` rather than repeating torch's advice to turn the safety
check off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class PretrainedError(ValueError):
    """A local pretrained folder that cannot be loaded; the message starts with its path."""


def from_local(loader: Any, path: str | Path, *, what: str = "model", need_config: bool = True, **kwargs: Any) -> Any:
    """``loader.from_pretrained(path, local_files_only=True, **kwargs)``, with errors that name ``path``.

    Args:
        loader: a ``transformers`` class with ``from_pretrained`` (``AutoModel``, ``ClapModel``,
            ``AutoTokenizer``...).
        path: a local folder.
        what: what the folder should hold, for the messages (``"model"``, ``"tokenizer"``...).
        need_config: require ``config.json`` in the folder (models do; some tokenizers do not).

    Raises:
        PretrainedError: no such folder, no ``config.json``, pickled weights, or any other
            failure of ``from_pretrained`` (its first line quoted).
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        raise PretrainedError(f"{path}: no such folder (a local {what} folder is expected; nothing is downloaded)")
    if need_config and not (path / "config.json").is_file():
        raise PretrainedError(f"{path}: not a {what} folder (no config.json); nothing is downloaded")
    try:
        return loader.from_pretrained(str(path), local_files_only=True, **kwargs)
    except Exception as error:  # noqa: BLE001  (transformers raises OSError, ValueError, UnpicklingError...)
        text = str(error)
        pickled = sorted(p.name for p in path.glob("*.bin"))
        if pickled and ("weights_only" in text or "Unpickl" in text or "torch.load" in text):
            raise PretrainedError(
                f"{path}: refused: the weights {', '.join(pickled)} are a pickle, which could run code when "
                "loaded; convert them to model.safetensors (safetensors' convert script, or "
                "model.save_pretrained(..., safe_serialization=True) where you trust the file)") from None
        first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
        raise PretrainedError(f"{path}: could not load the {what} ({first})") from None
