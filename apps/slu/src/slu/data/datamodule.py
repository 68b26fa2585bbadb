"""The data settings (:class:`DataConfig`), the prepared data of a study (:class:`SLUData`) and the
per-task LightningDataModule (:class:`TaskDataModule`).

``SLUData`` holds the corpus, one feature tensor per utterance, the tokenizer (trained on the
training transcripts and the intents) and the scenario's tasks (class names per task).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from slu.data.corpus import Corpus
from slu.data.synthetic import SyntheticConfig
from slu.data.tokenizer import SLUTokenizer

DATASETS = ("synthetic_fsc", "synthetic_slurp", "fsdd", "picovoice", "fsc", "slurp", "folders")
# the scenario order each dataset uses by default (scenarios.class_order)
DEFAULT_ORDER = {"synthetic_fsc": "fsc", "fsc": "fsc", "fsdd": "fsdd"}
# folders of the real-data root (shared/data/README.md) used when no root is given
SHARED_FOLDER = {"fsdd": "fsdd", "picovoice": "picovoice_coffee"}


@dataclass
class DataConfig:
    """Data settings.

    Args:
        dataset: one of ``synthetic_fsc``, ``synthetic_slurp``, ``fsdd``, ``picovoice``, ``fsc``,
            ``slurp``, ``folders``.
        data_root: the dataset's folder (fsdd and picovoice default to the real-data root's subsets).
        n_tasks: tasks of the class-incremental scenario (FSC: 10, 6 or 3; FSDD: 5).
        order: class order: ``default`` (FSC: CL_SLU's order, FSDD: digits, else sorted),
            ``sorted`` or ``seed`` (drawn from ``order_seed``).
        order_seed: the seed of ``order="seed"``.
        slurp_label: SLURP classes: ``intent`` or ``scenario`` (SLURP-3/-6 use scenarios).
        fsdd_test_speakers: the FSDD speakers held out for testing.
        synthetic: the synthetic set's settings.
        features: ``logmel`` (the compact encoder) or ``wave`` (a Wav2Vec2/HuBERT encoder).
        n_mels: log-mel bands.
        max_clipped: largest fraction of full-scale samples accepted in a file.
        vocab_size: BPE merges learnt beyond the special tokens.
        batch_size: clips per training batch.
        spec_augment: SpecAugment on training features (log-mel only).
        cache_dir: where features and synthetic sets are cached (default ``<runs_root>/slu/cache``,
            the runs folder of the command); ``""`` turns the feature cache off.
    """

    dataset: str = "synthetic_fsc"
    data_root: str | None = None
    n_tasks: int = 10
    order: str = "default"
    order_seed: int = 0
    slurp_label: str = "intent"
    fsdd_test_speakers: tuple[str, ...] = ("theo", "yweweler")
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    features: str = "logmel"
    n_mels: int = 40
    max_clipped: float = 0.01
    vocab_size: int = 200
    batch_size: int = 32
    spec_augment: bool = True
    cache_dir: str | None = None


@dataclass
class SLUData:
    """Everything a study needs from the data; ``labels`` are ids in ``corpus.classes`` (in the
    run's classes when scoring a trained model); ``seen_sentences``: the normalized training
    transcripts (a clip saying another sentence is unseen wording)."""

    corpus: Corpus
    features: list[Tensor]
    tokenizer: SLUTokenizer
    tasks: list[list[str]]
    targets: list[list[int]]
    labels: list[int]
    seen_sentences: frozenset[str] = frozenset()

    def task_indices(self, split: str, task: int) -> list[int]:
        return self.corpus.indices(split, self.tasks[task])

    def task_of_class(self) -> dict[int, int]:
        ids = self.corpus.class_map
        return {ids[c]: t for t, classes in enumerate(self.tasks) for c in classes}


def cache_folder(config: DataConfig, runs_root: str | Path = "runs") -> Path | None:
    """Where ``config``'s data is cached: ``config.cache_dir``, by default ``<runs_root>/slu/cache``;
    None when ``cache_dir`` is ``""`` (the feature cache off)."""
    if config.cache_dir is None:
        return Path(runs_root) / "slu" / "cache"
    return Path(config.cache_dir) if config.cache_dir else None


def read_corpus(config: DataConfig, runs_root: str | Path = "runs") -> tuple[Corpus, list[Tensor]]:
    """The corpus of ``config.dataset`` and its features (cached under :func:`cache_folder`)."""
    from slu.data.features import corpus_features, featurize
    from slu.data.synthetic import load_or_generate

    cache = cache_folder(config, runs_root)
    if config.dataset.startswith("synthetic_"):
        kind = config.dataset.removeprefix("synthetic_")
        synthetic = config.synthetic if config.synthetic.kind == kind else SyntheticConfig(
            **{**vars(config.synthetic), "kind": kind})
        corpus, waves = load_or_generate(synthetic, cache or cache_folder(DataConfig(), runs_root))
        return corpus, [featurize(w, config.features, config.n_mels) for w in waves]
    root = config.data_root
    if root is None:
        if config.dataset not in SHARED_FOLDER:
            raise ValueError(f"dataset {config.dataset!r} needs --data.data_root (the folder of your download)")
        from contrastkit.paths import data_root

        root = str(data_root() / SHARED_FOLDER[config.dataset])
    if config.dataset == "fsdd":
        from slu.data.fsdd import read_fsdd

        corpus = read_fsdd(root, tuple(config.fsdd_test_speakers))
    elif config.dataset == "picovoice":
        from slu.data.picovoice import read_picovoice

        corpus = read_picovoice(root)
    elif config.dataset == "fsc":
        from slu.data.fsc import read_fsc

        corpus = read_fsc(root)
    elif config.dataset == "slurp":
        from slu.data.slurp import read_slurp

        corpus = read_slurp(root, config.slurp_label)
    elif config.dataset == "folders":
        from slu.data.folders import read_folders

        corpus = read_folders(root)
    else:
        raise ValueError(f"unknown dataset {config.dataset!r}; expected one of {DATASETS}")
    return corpus, corpus_features(corpus, config.features, config.n_mels, config.max_clipped, cache)


def prepare_data(config: DataConfig, runs_root: str | Path = "runs") -> SLUData:
    """Read the corpus, compute features, train the tokenizer on the training split and build the
    tasks; the cache is ``config.cache_dir`` or ``<runs_root>/slu/cache``."""
    corpus, features = read_corpus(config, runs_root)
    train = corpus.indices("train")
    if not train or not corpus.indices("test"):
        raise ValueError(f"{corpus.name}: needs train and test utterances ({corpus.summary()})")
    check_classes_are_trained(corpus)
    warn_identical_recordings(corpus, features)
    tokenizer = SLUTokenizer.train([corpus.utterances[i].transcript for i in train], corpus.classes, config.vocab_size)
    ids = corpus.class_map
    targets = [tokenizer.encode(u.intent, u.transcript) for u in corpus.utterances]
    return SLUData(corpus, features, tokenizer, scenario_tasks(corpus.classes, config), targets,
                   [ids[u.intent] for u in corpus.utterances], training_sentences(corpus))


def training_sentences(corpus: Corpus) -> frozenset[str]:
    """The normalized transcripts of ``corpus``'s training split."""
    from slu.data.corpus import normalize_text

    return frozenset(normalize_text(corpus.utterances[i].transcript) for i in corpus.indices("train"))


def scenario_tasks(classes: list[str], config: DataConfig) -> list[list[str]]:
    """The tasks of ``config``'s scenario over ``classes`` (its order, or the dataset's default)."""
    from slu.data.scenarios import make_tasks

    order = DEFAULT_ORDER.get(config.dataset, "sorted") if config.order == "default" else config.order
    return make_tasks(classes, config.n_tasks, order, config.order_seed)


def scoring_data(corpus: Corpus, features: list[Tensor], tokenizer: SLUTokenizer, config: DataConfig,
                 seen_sentences: frozenset[str], where: str) -> SLUData:
    """The data a trained model is scored on: ``corpus`` (any splits; no training clips needed)
    with the run's ``tokenizer``, the tasks of ``config``'s scenario over the run's classes, and the
    run's training sentences. A class the run never trained is a ValueError naming ``where``."""
    unknown = sorted(set(corpus.classes) - set(tokenizer.classes))
    if unknown:
        raise ValueError(f"{where}: {len(unknown)} class(es) the model was not trained on: {unknown[:5]}"
                         + (" ..." if len(unknown) > 5 else "") + f" (it knows {len(tokenizer.classes)})")
    ids = {c: k for k, c in enumerate(tokenizer.classes)}
    targets = [tokenizer.encode(u.intent, u.transcript) for u in corpus.utterances]
    return SLUData(corpus, features, tokenizer, scenario_tasks(tokenizer.classes, config), targets,
                   [ids[u.intent] for u in corpus.utterances], seen_sentences)


def check_classes_are_trained(corpus: Corpus) -> None:
    """Refuse classes with valid or test clips but no training clip: no method can ever predict
    them (each class is an output token that training never targets), so their clips would only
    count as errors."""
    trained = {corpus.utterances[i].intent for i in corpus.indices("train")}
    untrained = sorted(set(corpus.classes) - trained)
    if untrained:
        first = {c: next(u for u in corpus.utterances if u.intent == c) for c in untrained}
        named = "; ".join(f"{c!r} ({first[c].split}: {first[c].audio or first[c].speaker})" for c in untrained[:5])
        raise ValueError(f"{corpus.name}: {len(untrained)} class(es) have clips but none in the train split, so no "
                         f"method can learn to predict them: {named}" + (" ..." if len(untrained) > 5 else "")
                         + "; add training clips of them or remove them from the data")


def warn_identical_recordings(corpus: Corpus, features: list[Tensor], show: int = 3) -> list[tuple[int, int]]:
    """Warn (naming the files) about valid or test clips whose audio is identical to a training
    clip's (same features, bit for bit): they are scored as heard before. Returns the
    ``(train index, other index)`` pairs."""
    import hashlib
    import warnings

    def digest(i: int) -> bytes:
        return hashlib.blake2b(features[i].contiguous().numpy().tobytes(), digest_size=16).digest()

    heard = {}
    for i in corpus.indices("train"):
        heard.setdefault(digest(i), i)
    pairs = [(heard[d], i) for split in ("valid", "test") for i in corpus.indices(split) if (d := digest(i)) in heard]
    if pairs:
        def name(i: int) -> str:
            u = corpus.utterances[i]
            return u.audio or f"{u.split} clip {i} ({u.speaker}: {u.transcript!r})"

        shown = "; ".join(f"{name(i)} = {name(j)}" for i, j in pairs[:show]) + (" ..." if len(pairs) > show else "")
        warnings.warn(f"{corpus.name}: {len(pairs)} valid/test clip(s) have the same audio as a training clip (their "
                      f"scores count recordings the model was trained on): {shown}", stacklevel=3)
    return pairs


class TaskSet(Dataset):
    """Items ``(features, target ids, label, is_rehearsal, S-KD target ids or [], index, transcript)``
    of chosen utterances."""

    def __init__(self, data: SLUData, indices: list[int], rehearsal: set[int] | None = None,
                 skd_targets: dict[int, list[int]] | None = None, augment: bool = False) -> None:
        self.data, self.indices = data, list(indices)
        self.rehearsal, self.skd, self.augment = rehearsal or set(), skd_targets or {}, augment

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int):
        from slu.data.audio import spec_augment

        i = self.indices[k]
        feats = self.data.features[i]
        if self.augment and feats.shape[1] > 1:  # SpecAugment is for log-mel, not raw waves (T, 1)
            feats = spec_augment(feats)
        return (feats, self.data.targets[i], self.data.labels[i], i in self.rehearsal, self.skd.get(i, []), i,
                self.data.corpus.utterances[i].transcript)


def collate(items) -> dict[str, Tensor]:
    """Pad a list of items to a batch: ``feats (B, T, F)``, ``lengths (B,)``, ``tokens (B, L)``
    (0 = pad), ``labels (B,)``, ``rehearsal (B,)`` bool, ``skd_tokens (B, L')``, ``index (B,)``,
    ``transcripts`` (B strings)."""
    feats, targets, labels, rehearsal, skd, index, transcripts = zip(*items)
    lengths = torch.tensor([len(f) for f in feats])
    x = torch.zeros(len(feats), int(lengths.max()), feats[0].shape[1])
    for b, f in enumerate(feats):
        x[b, :len(f)] = f
    return {"feats": x, "lengths": lengths, "tokens": pad_ids(targets), "labels": torch.tensor(labels),
            "rehearsal": torch.tensor(rehearsal, dtype=torch.bool), "skd_tokens": pad_ids(skd),
            "index": torch.tensor(index), "transcripts": list(transcripts)}


def pad_ids(seqs) -> Tensor:
    width = max(1, max(len(s) for s in seqs))
    out = torch.zeros(len(seqs), width, dtype=torch.long)
    for b, s in enumerate(seqs):
        out[b, :len(s)] = torch.tensor(s, dtype=torch.long)
    return out


class TaskDataModule(L.LightningDataModule):
    """The training loader of one task: its new utterances plus the rehearsal memory, shuffled by
    :class:`~contrastkit.train.EpochShuffleSampler` (seed fixed per task: a resumed task replays
    the epochs an uninterrupted one would). Under DDP Lightning wraps it in its
    ``DistributedSamplerWrapper`` (which forwards ``set_epoch``): rank ``r`` of ``W`` takes every
    ``W``-th index of the epoch's order, padded with repeats to equal counts, so ``batch_size`` is
    per process."""

    def __init__(self, data: SLUData, indices: list[int], rehearsal: set[int], skd_targets: dict[int, list[int]],
                 batch_size: int, augment: bool, seed: int) -> None:
        super().__init__()
        self.set = TaskSet(data, indices, rehearsal, skd_targets, augment)
        self.batch_size, self.seed = batch_size, seed

    def train_dataloader(self) -> DataLoader:
        from contrastkit.train import EpochShuffleSampler

        return DataLoader(self.set, batch_size=self.batch_size, sampler=EpochShuffleSampler(len(self.set), self.seed),
                          collate_fn=collate)


def eval_loader(data: SLUData, indices: list[int], batch_size: int = 64) -> DataLoader:
    """An ordered, unaugmented loader over ``indices``."""
    return DataLoader(TaskSet(data, indices), batch_size=batch_size, shuffle=False, collate_fn=collate)
