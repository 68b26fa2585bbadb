"""Caption manifests (CSV or JSONL): one audio file per row with its captions.

Fields: ``audio`` (path, relative to the manifest's folder), ``caption`` or ``captions`` (one or
more; the first is the primary), optional ``negatives`` and ``positives`` (composition-aware hard
negatives and sub-compositions), ``negative_audio`` (the audio of the first negative), ``fold`` and
``split``. In CSV, list fields are ``|``-separated; in JSONL they are lists.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class CaptionItem:
    audio: Path
    captions: tuple[str, ...]
    negatives: tuple[str, ...] = ()
    positives: tuple[str, ...] = ()
    negative_audio: Path | None = None
    fold: str = ""
    split: str = ""


@dataclass
class ManifestReport:
    """What a read kept and dropped (printed and stored with the run)."""

    path: str
    rows: int = 0
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def __str__(self) -> str:
        why = ", ".join(f"{n} {r}" for r, n in self.dropped.items()) or "none dropped"
        return f"{self.path}: {self.kept} of {self.rows} rows kept ({why})"


def _as_list(value, sep: str = "|") -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(sep) if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise TypeError(f"expected a string or a list of strings; got {value!r}")


def read_manifest(path: str | Path, split: str | None = None, min_negatives: int = 0,
                  min_positives: int = 0) -> tuple[list[CaptionItem], ManifestReport]:
    """Items of a ``.csv`` or ``.jsonl`` manifest, and a report of what was filtered.

    Rows of another ``split`` (when given) and rows with fewer than ``min_negatives`` /
    ``min_positives`` are dropped and counted. A row without audio or caption, an unparsable JSON
    line, or an unknown extension raises ``ValueError`` naming the file and line.
    """
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".jsonl", ".json"):
        raise ValueError(f"{path}: a manifest is .csv or .jsonl; got {path.suffix!r}")
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            rows = [(i, r) for i, r in enumerate(csv.DictReader(f), start=2)]
    else:
        rows = []
        for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if text.strip():
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}, line {i}: not JSON ({error.msg})") from None
                if not isinstance(row, dict):
                    raise ValueError(f"{path}, line {i}: expected a JSON object {{\"audio\": ..., \"caption\": ...}}; "
                                     f"got a {type(row).__name__}")
                rows.append((i, row))
    report, items = ManifestReport(str(path)), []
    for line, row in rows:
        report.rows += 1
        try:
            captions = _as_list(row.get("captions")) or _as_list(row.get("caption"))
            negatives, positives = _as_list(row.get("negatives")), _as_list(row.get("positives"))
        except (TypeError, AttributeError) as error:
            raise ValueError(f"{path}, line {line}: {error}") from None
        for name in ("audio", "negative_audio"):
            if not isinstance(row.get(name), (str, type(None))):
                raise ValueError(f"{path}, line {line}: {name!r} must be one path (a string); got a "  # noqa: TRY004  (bad file content)
                                 f"{type(row[name]).__name__}: {row[name]!r}")
        audio = (row.get("audio") or "").strip()
        if not audio:
            raise ValueError(f"{path}, line {line}: no 'audio' path")
        if not captions:
            raise ValueError(f"{path}, line {line}: no 'caption' / 'captions'")
        row_split = str(row.get("split") or "")
        if split is not None and row_split != split:
            report.drop(f"not split {split!r}")
            continue
        if len(negatives) < min_negatives:
            report.drop(f"fewer than {min_negatives} negatives")
            continue
        if len(positives) < min_positives:
            report.drop(f"fewer than {min_positives} positives")
            continue
        neg_audio = (row.get("negative_audio") or "").strip()
        items.append(CaptionItem(path.parent / audio, tuple(captions), tuple(negatives), tuple(positives),
                                 path.parent / neg_audio if neg_audio else None, str(row.get("fold") or ""),
                                 row_split))
        report.kept += 1
    return items, report


def write_manifest(path: str | Path, items: list[dict]) -> Path:
    """Write dicts as JSONL (paths relative to the manifest's folder)."""
    Path(path).write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return Path(path)
