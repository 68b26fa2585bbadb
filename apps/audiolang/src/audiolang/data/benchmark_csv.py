"""The official CompA benchmark CSV: ``pair_caption, reversed_pair_caption, pair_file, reversed_pair_file``.

CompA-attribute's CSV repeats two columns, which pandas reads as ``pair_file.1`` and
``reversed_pair_file.1`` and Python's csv module as duplicated header names; both are accepted.
The builder adds optional ``third_caption`` / ``third_file`` (the "A and B together" mix), which
the official ``benchmark_eval.py`` does not score; :mod:`audiolang.evaluate` scores it separately.
Built benchmarks add ``wording`` (``seen`` / ``unseen``: whether the caption's families are ones
training uses) and ``families``; :mod:`audiolang.evaluate` scores the two groups apart. File paths are relative to ``audio_dir`` (default: the CSV's folder), as the official script joins
``sound_path + pair_file``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

REQUIRED = ("pair_caption", "reversed_pair_caption", "pair_file", "reversed_pair_file")


@dataclass(frozen=True)
class BenchmarkPair:
    caption: str
    reversed_caption: str
    file: Path
    reversed_file: Path
    third_caption: str | None = None
    third_file: Path | None = None
    line: int = 0  # of the CSV (for messages)
    wording: str = ""  # "seen" / "unseen" in a built benchmark (optional column); "" otherwise


def read_benchmark_csv(path: str | Path, audio_dir: str | Path | None = None) -> list[BenchmarkPair]:
    """The rows of a benchmark CSV, with files resolved against ``audio_dir``.

    Raises:
        ValueError: a missing column (named), an empty cell (line and column), or no rows.
        FileNotFoundError: the CSV is missing.
    """
    path = Path(path)
    base = Path(audio_dir) if audio_dir is not None else path.parent
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty file (expected a header with {', '.join(REQUIRED)})")
        header = [h.strip() for h in header]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; header is {header}")
        col = {name: header.index(name) for name in header[::-1]}  # first occurrence of a duplicated name
        third = "third_caption" in col and "third_file" in col
        rows = []
        for line, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            cells = {}
            for name in (*REQUIRED, *(("third_caption", "third_file") if third else ())):
                value = values[col[name]].strip() if col[name] < len(values) else ""
                if not value and not name.startswith("third"):
                    raise ValueError(f"{path}, line {line}: empty {name}")
                cells[name] = value
            rows.append(BenchmarkPair(
                cells["pair_caption"], cells["reversed_pair_caption"], base / cells["pair_file"],
                base / cells["reversed_pair_file"], cells.get("third_caption") or None,
                base / cells["third_file"] if cells.get("third_file") else None, line,
                values[col["wording"]].strip() if "wording" in col and col["wording"] < len(values) else ""))
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def write_benchmark_csv(path: str | Path, rows: list[dict[str, str]], third: bool, wording: bool = False) -> Path:
    """Write rows (dicts with the REQUIRED keys, the third pair's when ``third``, ``wording`` and
    ``families`` when ``wording``)."""
    columns = [*REQUIRED, *(("third_caption", "third_file") if third else ()), *(("wording", "families") if wording else ())]
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)
