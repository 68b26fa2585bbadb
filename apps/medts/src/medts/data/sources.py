"""One config type for every source, and ``prepare``: raw files -> :class:`HierarchicalSet` -> cache."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from contrastkit.paths import resolve

from medts.data.build import Construction, build_set
from medts.data.cache import MANIFEST, check_cache_config, config_hash, read_cache, write_cache
from medts.data.eeg_mne import read_mne_folder, read_subject_table
from medts.data.hierarchy import HierarchicalSet, Recording
from medts.data.synthetic import synthetic_recordings
from medts.data.uci_eeg import read_uci_folder
from medts.data.wfdb_reader import read_wfdb


@dataclass
class Source:
    """Where the raw data is and how to read it.

    kind: ``synthetic`` | ``uci_eeg`` (gz text trials) | ``mne`` (EDF/BDF/.set/.fif) | ``wfdb``.
    data_root: the data folder (``${CONTRASTKIT_DATA}`` is expanded).
    pattern / id_regex: files to read (mne) and the patient id in their name.
    labels_csv / id_column / label_column: subject table giving each patient's class (mne).
    records / labels / label_key: WFDB record names, optional ``{record: label}``, else the header key.
    channels / exclude_channels: leads to keep / drop.
    max_trials_per_subject: read at most this many trial files per subject (uci_eeg).
    synthetic_*: the generator's arguments.
    """

    kind: Literal["synthetic", "uci_eeg", "mne", "wfdb"] = "synthetic"
    data_root: str = ""
    pattern: str = "*.edf"
    id_regex: str = r"^(.+?)\."
    labels_csv: str | None = None
    id_column: str = "Subject"
    label_column: str = "label"
    records: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    label_key: str = "diagnosis"
    channels: list[str] | None = None
    exclude_channels: list[str] | None = None
    max_trials_per_subject: int | None = None
    class_names: list[str] | None = None
    synthetic_classes: int = 2
    synthetic_patients_per_class: int = 8
    synthetic_seconds: float = 40.0
    synthetic_fs: float = 64.0
    synthetic_channels: int = 4
    synthetic_seed: int = 0


def load_recordings(src: Source) -> list[Recording]:
    """Read the raw recordings of ``src``."""
    root = resolve(src.data_root) if src.data_root else Path(".")
    if src.kind == "synthetic":
        return synthetic_recordings(src.synthetic_classes, src.synthetic_patients_per_class, src.synthetic_seconds,
                                    src.synthetic_fs, src.synthetic_channels, seed=src.synthetic_seed)
    if src.kind == "uci_eeg":
        recs = read_uci_folder(root, src.max_trials_per_subject)
        if src.channels:
            from medts.data.errors import DataError
            for r in recs:
                missing = [c for c in src.channels if c not in r.channels]
                if missing:
                    raise DataError(r.source, f"missing channel(s) {missing}")
                cols = [r.channels.index(c) for c in src.channels]
                r.signal, r.channels = r.signal[:, cols], list(src.channels)
        return recs
    if src.kind == "mne":
        if not src.labels_csv:
            raise ValueError("labels_csv: needed for kind='mne' (a subject table with id and label columns)")
        labels = read_subject_table(resolve(src.labels_csv), src.id_column, src.label_column)
        return read_mne_folder(root, src.pattern, src.id_regex, labels, src.channels, src.exclude_channels)
    if src.kind == "wfdb":
        if not src.records:
            raise ValueError("records: list the WFDB record names to read for kind='wfdb'")
        return [read_wfdb(root / r, src.channels, src.labels.get(r), src.label_key) for r in src.records]
    raise ValueError(f"kind: unknown source kind {src.kind!r}")


def build_from_source(src: Source, construction: Construction) -> HierarchicalSet:
    """Read and build in memory (synthetic data and tests; real data goes through the cache)."""
    ds = build_set(load_recordings(src), construction, src.class_names)
    ds.meta["source"] = asdict(src)
    return ds


def cache_config(src: Source, construction: Construction) -> dict:
    """What a cache is built from (recorded in its manifest, compared on every open)."""
    return {"source": asdict(src), "construction": asdict(construction)}


def default_cache_dir(src: Source, construction: Construction, runs_root: str | Path = "runs") -> Path:
    """``<runs_root>/medts/cache/<hash of the config>``: derived data beside the runs, one folder
    per distinct config (so another root, rate or window never meets an old cache)."""
    return Path(runs_root) / "medts" / "cache" / config_hash(cache_config(src, construction))


def prepare(src: Source, construction: Construction, out_dir: str | Path, overwrite: bool = False) -> Path:
    """Read raw files once and write the memory-mapped cache + manifest under ``out_dir``."""
    ds = build_from_source(src, construction)
    return write_cache(ds, out_dir, cache_config(src, construction), overwrite)


def open_dataset(src: Source, construction: Construction, cache_dir: str | Path | None,
                 rebuild: bool = False) -> HierarchicalSet:
    """The cache when ``cache_dir`` holds one built from this config, else build (and write it
    when ``cache_dir`` is set). A cache built from another config is an error naming the differing
    fields, unless ``rebuild`` (then it is replaced)."""
    if cache_dir is None:
        return build_from_source(src, construction)
    exists = (Path(cache_dir) / MANIFEST).exists()
    if exists and not rebuild:
        check_cache_config(cache_dir, cache_config(src, construction))
        return read_cache(cache_dir)
    try:
        prepare(src, construction, cache_dir, overwrite=exists)
    except FileExistsError:  # another process (a DDP rank, a parallel run) finished it meanwhile
        check_cache_config(cache_dir, cache_config(src, construction))
    return read_cache(cache_dir)
