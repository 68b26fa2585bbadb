"""Captions given to a trained model: where each came from, and what its tokenizer makes of it.

A caption of this app is often composed, "A, then B", so captions are never split at commas:
``--caption TEXT`` is one caption exactly as written, ``--captions_file FILE`` one caption per line.
Each caption keeps ``where`` it was given (``--caption``, ``FILE, line N``, a benchmark's line and
column) for the messages of :func:`check_captions`:

- no tokens at all (empty, blank, or only characters the tokenizer drops): an error, since the
  text tower has nothing to pool and would embed it as NaN;
- every token unknown to the tokenizer (``[UNK]``): a warning, since all such captions with the
  same number of words embed alike;
- more tokens than the model reads (``max_text_length``, 32 by default): a warning, since the rest
  is cut and two captions differing only after it score the same.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("audiolang")


def captions_from(caption: str | None = None, captions_file: str | None = None) -> list[tuple[str, str]]:
    """``[(where, caption)]`` from one ``--caption`` and/or a file of one caption per line (UTF-8;
    blank lines at the end of the file are ignored, a blank line inside it is an empty caption)."""
    out = [("--caption", caption)] if caption is not None else []
    if captions_file is not None:
        path = Path(captions_file)
        if not path.is_file():
            hint = ("; a list of captions is not taken (it was split at its commas, and these captions are "
                    "'A, then B'): give --caption TEXT, or a file" if captions_file.lstrip().startswith("[") else "")
            raise FileNotFoundError(f"{path}: no such captions file (one caption per line){hint}")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as error:
            raise ValueError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
        while lines and not lines[-1].strip():
            lines.pop()
        if not lines:
            raise ValueError(f"{path}: no captions (an empty file)")
        out += [(f"{path}, line {i}", line) for i, line in enumerate(lines, start=1)]
    return out


def check_captions(encoder, captions: list[tuple[str, str]]) -> None:
    """Raise ``ValueError`` for a caption without tokens; log a warning for one whose tokens are all
    unknown and for one longer than the model reads (module docstring). ``encoder`` is a
    :class:`~audiolang.models.dual.DualEncoder`; ``captions`` are ``(where, caption)`` pairs."""
    counts = encoder.caption_tokens([text for _, text in captions])
    for (where, text), (tokens, unknown, limit) in zip(captions, counts, strict=True):
        if tokens == 0:
            raise ValueError(f"{where}: the caption {text!r} has no tokens (empty, or only characters the "
                             "tokenizer drops); the model cannot embed it")
        if unknown == tokens:
            log.warning("%s: every word of the caption %r is unknown to the tokenizer (read as [UNK]); it "
                        "embeds like any other caption of %d unknown word(s)", where, text, tokens)
        if tokens > limit:
            log.warning("%s: the caption %r has %d tokens; only the first %d are read (the model's limit), so "
                        "captions differing after that score the same", where, text, tokens, limit)
