"""Readers (text sequences, RecBole .inter), the synthetic generator, the split and the DataModule."""

from seqrec.data.datamodule import REAL_DATASETS, SeqRecDataModule, data_root, load_sequences
from seqrec.data.recbole import read_inter_file, write_inter_file
from seqrec.data.sequences import DatasetStats, ReadReport, SequenceData, read_sequence_file
from seqrec.data.split import EvalSet, LeaveOneOut, TrainSet, leave_one_out, pad_right
from seqrec.data.synthetic import make_synthetic

__all__ = [
    "REAL_DATASETS", "DatasetStats", "EvalSet", "LeaveOneOut", "ReadReport", "SeqRecDataModule",
    "SequenceData", "TrainSet", "data_root", "leave_one_out", "load_sequences", "make_synthetic",
    "pad_right", "read_inter_file", "read_sequence_file", "write_inter_file",
]
