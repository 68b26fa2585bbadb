"""The one continual-learning loop every method runs through, resumable task by task and epoch by epoch.

For each task ``t`` of the scenario:

1. the teacher is the model after task ``t-1`` (frozen); S-KD targets are its greedy decodings
   of the rehearsal clips;
2. the model trains ``epochs`` epochs on the task's new clips (``joint``: all clips of tasks
   ``0..t``) plus the rehearsal memory, through a Lightning trainer in ``tasks/task_t/``
   (``last.ckpt`` every epoch);
3. the row ``R[t, 0..t]`` of the accuracy matrix is measured on the test clips;
4. the memory takes exemplars of the new classes and shrinks the old ones (class-balanced);
5. ``checkpoints/task_t.ckpt`` stores the model, the memory and the row (tensors and plain types:
   it loads with ``weights_only=True``).

A resumed study skips the tasks that have ``task_t.ckpt``, continues the interrupted task from its
``last.ckpt`` (``checkpoints/last.ckpt`` links to it, so the run-directory rule finds the run), and
ends with the numbers of an uninterrupted run: every task starts from a seed of its own, and the
trainer restores the RNG state of the epoch it resumes.
"""

from __future__ import annotations

import copy
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from slu.data.datamodule import SLUData, TaskDataModule, eval_loader
from slu.method import ContinualSLU, MethodConfig


@dataclass
class ModelConfig:
    """The seq2seq model.

    Args:
        encoder: ``conv`` (compact log-mel encoder) or ``hf`` (Wav2Vec2/HuBERT; needs ``--data.features wave``).
        pretrained_path: a local Wav2Vec2/HuBERT folder for ``hf`` (None: random weights from ``hf_config``).
        hf_config: ``Wav2Vec2Config`` arguments for a randomly initialized ``hf`` encoder.
        d_model: hidden size of encoder and decoder.
        encoder_layers, decoder_layers, heads, ff, dropout: transformer settings.
        proj_dim: size of the contrastive embeddings.
        text_model_path: a local ``transformers`` text model (with its tokenizer) as the audio-text
            loss's text encoder, frozen; None: the decoder's token embeddings (COCONUT's choice).
    """

    encoder: str = "conv"
    pretrained_path: str | None = None
    hf_config: dict | None = None
    d_model: int = 144
    encoder_layers: int = 3
    decoder_layers: int = 2
    heads: int = 4
    ff: int = 384
    dropout: float = 0.1
    proj_dim: int = 64
    text_model_path: str | None = None


@dataclass
class TrainConfig:
    """How each task is trained and evaluated.

    Args:
        epochs: epochs per task.
        lr, weight_decay: AdamW settings.
        label_smoothing: of the sequence cross-entropy.
        memory_percent: rehearsal memory size in % of the training set (1 and 2 in the paper).
        memory_per_class: exemplars per class instead (overrides ``memory_percent``).
        selection: ``random`` or ``herding`` (iCaRL).
        seed: model initialization, memory draws, each task's training randomness.
        wer: compute the transcripts' WER after ``every`` task, the ``last`` one, or ``never``.
        beam_size: 1 = greedy decoding for WER; more = beam search.
        accelerator: Lightning accelerator (``cpu``, ``gpu``, ``auto``).
        progress: show Lightning's progress bar.
    """

    epochs: int = 10
    lr: float = 1e-3
    weight_decay: float = 0.01
    label_smoothing: float = 0.1
    memory_percent: float = 1.0
    memory_per_class: int | None = None
    selection: str = "random"
    seed: int = 0
    wer: str = "last"
    beam_size: int = 1
    accelerator: str = "auto"
    progress: bool = False


def build(vocab_size: int, model_config: ModelConfig, n_mels: int):
    """The :class:`~slu.models.seq2seq.SLUModel` of ``model_config`` for a vocabulary and feature size."""
    from slu.models.seq2seq import build_model

    c = asdict(model_config)
    return build_model(vocab_size, n_mels=n_mels, d_model=c["d_model"], encoder_layers=c["encoder_layers"],
                       decoder_layers=c["decoder_layers"], heads=c["heads"], ff=c["ff"], dropout=c["dropout"],
                       proj_dim=c["proj_dim"], encoder=c["encoder"], pretrained_path=c["pretrained_path"],
                       hf_config=c["hf_config"], text_model_path=c["text_model_path"])


@torch.no_grad()
def pooled_features(model, data: SLUData, indices: list[int]) -> torch.Tensor:
    """``(N, d_model)`` pooled encoder features of clean clips (herding's feature space)."""
    model.eval()
    out = []
    for batch in eval_loader(data, indices):
        memory, lengths = model.encode(batch["feats"], batch["lengths"])
        out.append(model.pooled(memory, lengths))
    return torch.cat(out)


@torch.no_grad()
def teacher_sequences(teacher, data: SLUData, indices: list[int]) -> dict[int, list[int]]:
    """S-KD targets: the teacher's greedy decoding of each clip, ``bos ... eos`` without padding."""
    teacher.eval()
    tok, out = data.tokenizer, {}
    for batch in eval_loader(data, indices):
        memory, lengths = teacher.encode(batch["feats"], batch["lengths"])
        for i, s in zip(batch["index"].tolist(), teacher.greedy(memory, lengths, tok.bos_id, tok.eos_id).tolist()):
            while s and s[-1] == 0:
                s.pop()
            out[i] = s
    return out


def _link_last(run_dir: Path, task_dir: Path) -> None:
    """``run_dir/checkpoints/last.ckpt`` -> the running task's ``last.ckpt`` (replaced atomically)."""
    link = run_dir / "checkpoints" / "last.ckpt"
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(".last.ckpt.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.relpath(task_dir / "checkpoints" / "last.ckpt", link.parent), tmp)
    os.replace(tmp, link)


def _save_task(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def run_continual(data: SLUData, model_config: ModelConfig, method: MethodConfig, train: TrainConfig,
                  run_dir: str | Path, n_mels: int = 40, batch_size: int = 32, spec_augment: bool = True,
                  row: str = "", callbacks: tuple = ()) -> dict:
    """Train and evaluate ``method`` on every task of ``data.tasks``; returns the metrics.

    Task states go to ``run_dir/checkpoints/<row>task_t.ckpt`` and the trainers' folders to
    ``run_dir/tasks/<row>task_t/`` (``row`` tells a study's rows apart). ``callbacks`` go to every
    task's trainer."""
    from contrastkit.train import fit_resumable, load_checkpoint, make_trainer, seed_everything

    from slu.evaluate import accuracy_row, cl_metrics, decode, word_error_rate
    from slu.memory import RehearsalMemory

    run_dir = Path(run_dir)
    seed_everything(train.seed, workers=False, verbose=False)
    model = build(data.tokenizer.vocab_size, model_config, n_mels)
    train_all = data.corpus.indices("train")
    memory = RehearsalMemory(len(train_all), train.memory_percent, train.memory_per_class, train.selection, train.seed)
    ids, T = data.corpus.class_map, len(data.tasks)
    matrix = np.full((T, T), np.nan)
    counts: list[int] = []
    wers: dict[str, float] = {}
    for t in range(T):
        done = run_dir / "checkpoints" / f"{row}task_{t}.ckpt"
        if done.is_file():
            state = load_checkpoint(done)
            model.load_state_dict(state["model"])
            memory.load_state(state["memory"])
            matrix[t, : t + 1], counts = state["row"], state["counts"]
            wers.update(state["wer"])
            continue
        seed_everything(train.seed * 1000 + t, workers=False, verbose=False)
        tasks_now = range(t + 1) if method.cumulative else [t]
        new = [i for k in tasks_now for i in data.task_indices("train", k)]
        if not new:
            raise ValueError(f"task {t} ({data.tasks[t]}) has no training clips")
        rehearsal = set(memory.indices()) if method.uses_memory else set()
        uses_teacher = any(method.weight(term) for term in ("kd", "skd", "supcon"))
        teacher = copy.deepcopy(model).eval() if t > 0 and uses_teacher else None
        skd = teacher_sequences(teacher, data, sorted(rehearsal)) if teacher is not None and method.weight("skd") else {}
        task_dir = run_dir / "tasks" / f"{row}task_{t}"
        _link_last(run_dir, task_dir)
        module = ContinualSLU(model, teacher, method, data.tokenizer.eos_id, train.lr, train.weight_decay,
                              train.label_smoothing)
        dm = TaskDataModule(data, new + sorted(rehearsal - set(new)), rehearsal, skd, batch_size,
                            spec_augment, seed=train.seed * 1000 + t)
        trainer = make_trainer(task_dir, train.epochs, progress=train.progress, callbacks=list(callbacks),
                               accelerator=train.accelerator)
        fit_resumable(trainer, module, dm, run_dir=task_dir)
        model = module.model.cpu()
        accs, counts = accuracy_row(model, data, t)
        matrix[t, : t + 1] = accs
        if train.wer == "every" or (train.wer == "last" and t == T - 1):
            idx = [i for k in range(t + 1) for i in data.task_indices("test", k)]
            _, texts = decode(model, data, idx, train.beam_size)
            wers[f"wer_after_task_{t}"] = word_error_rate(texts, [data.corpus.utterances[i].transcript for i in idx])
        if method.uses_memory:
            by_class = {ids[c]: data.corpus.indices("train", [c]) for c in data.tasks[t]}
            feats = ({c: pooled_features(model, data, v) for c, v in by_class.items()}
                     if train.selection == "herding" else None)
            memory.update(by_class, feats)
        _save_task(done, {"model": model.state_dict(), "memory": memory.state(), "row": accs, "counts": counts,
                          "wer": wers})
    metrics = cl_metrics(matrix, counts)
    metrics.update(wers, matrix=[[None if np.isnan(v) else v for v in r] for r in matrix.tolist()], counts=counts,
                   tasks=data.tasks, method=method.name, memory_size=len(memory.indices()))
    return metrics
