"""Data: readers per format, the hierarchy, trial/sample construction, cache, split, sampler."""

from medts.data.build import Construction, build_set
from medts.data.cache import read_cache, write_cache
from medts.data.datamodule import MedTSDataModule, SampleDataset, loader
from medts.data.errors import DataError
from medts.data.hierarchy import HierarchicalSet, Recording
from medts.data.sources import Source, build_from_source, open_dataset, prepare
from medts.data.split import label_fraction, patient_split, split_set

__all__ = [
    "Construction",
    "DataError",
    "HierarchicalSet",
    "MedTSDataModule",
    "Recording",
    "SampleDataset",
    "Source",
    "build_from_source",
    "build_set",
    "label_fraction",
    "loader",
    "open_dataset",
    "patient_split",
    "prepare",
    "read_cache",
    "split_set",
    "write_cache",
]
