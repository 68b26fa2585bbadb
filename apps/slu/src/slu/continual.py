"""The one continual-learning loop every method runs through, resumable task by task and epoch by epoch.

For each task ``t`` of the scenario:

1. the teacher is the model after task ``t-1`` (frozen); S-KD targets are its greedy decodings
   of the rehearsal clips;
2. the model trains ``max_epochs`` epochs on the task's new clips (``joint``: all clips of tasks
   ``0..t``) plus the rehearsal memory, through a Lightning trainer in ``tasks/task_t/``
   (``last.ckpt`` every epoch);
3. the row ``R[t, 0..t]`` of the accuracy matrix is measured on the test clips, and on its
   unseen-wording and seen-wording clips (:func:`slu.evaluate.wording_rows`);
4. the memory takes exemplars of the new classes and shrinks the old ones (class-balanced);
5. ``checkpoints/task_t.ckpt`` stores the model with its settings, the memory, the row and the
   run's data record (tensors and plain types: it loads with ``weights_only=True``; the model is
   rebuilt by :func:`contrastkit.train.load_module`).

A resumed study skips the tasks that have ``task_t.ckpt``, continues the interrupted task from its
``tasks/task_t/checkpoints/last.ckpt`` (``--resume`` finds a run by any ``checkpoints/*.ckpt`` under
it, sub-runs included), and ends with the numbers of an uninterrupted run: every task starts from a seed of its own, and the
trainer restores the RNG state of the epoch it resumes.

Under DDP (``--trainer.devices 2 --trainer.strategy ddp``) every rank runs this loop; only step 2
is shared out (each rank trains on its share of the task's clips, see :mod:`slu.method`). The
rest is computed by every rank on the full data, not by rank 0 and broadcast, because it needs
no process group (Lightning's launcher starts ranks 1..W-1 at the first fit, and a resumed run
computes the S-KD targets of its first task before any fit) and is identical on every rank by
construction: the weights are DDP's (identical after every step) or one task file, the data is
whole, the random selection is seeded by ``(seed, class)``, and the teacher's decodings and
herding's features run on the CPU (``model.cpu()``). :func:`same_on_every_rank` checks the memory
and the S-KD targets once the group exists. The accuracy row (step 3) is the full-set metric,
computed on every rank alike; step 5 (and every other file) is written by rank 0 only.
"""

from __future__ import annotations

import copy
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from contrastkit.train.sections import kwargs_of, section, settings
from contrastkit.train.trainer import TrainerOptions

from slu.data.datamodule import SLUData, TaskDataModule, eval_loader
from slu.memory import RehearsalMemory
from slu.method import ContinualSLU, MethodConfig
from slu.models.seq2seq import SLUModel

# the ``model`` section of the config: SLUModel's settings (not n_mels, the data's, nor max_len)
ModelConfig = section("ModelConfig", "The seq2seq model.", [(SLUModel, settings(SLUModel, skip=("n_mels", "max_len")))])
ModelConfig.__module__ = __name__

# the ``train`` section: the optimizer's settings on ContinualSLU, the memory's on RehearsalMemory,
# and the loop's own
TrainConfig = section(
    "TrainConfig", "How each task is trained and evaluated.",
    [(ContinualSLU, settings(ContinualSLU, only=("lr", "weight_decay", "label_smoothing", "word_dropout"))),
     (RehearsalMemory, settings(RehearsalMemory, skip=("seed",)))],
    own=[("max_epochs", int, 10, "epochs per task."),
         ("seed", int, 0, "model initialization, memory draws, each task's training randomness."),
         ("wer", str, "last", "compute the transcripts' WER after ``every`` task, the ``last`` one, or ``never``."),
         ("beam_size", int, 1, "1 = greedy decoding for WER; more = beam search of that width (at least 1)."),
         ("progress", bool, False, "show Lightning's progress bar.")])
TrainConfig.__module__ = __name__


def build(vocab_size: int, model_config: ModelConfig, n_mels: int):
    """The :class:`~slu.models.seq2seq.SLUModel` of ``model_config`` for a vocabulary and feature size."""
    return SLUModel(vocab_size, n_mels=n_mels, **kwargs_of(model_config, SLUModel))


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


def same_on_every_rank(value, what: str):
    """``value``, after checking that every rank of the process group (when one exists) holds the
    same; a difference raises ValueError naming ``what`` (the ranks would train on different data)."""
    import torch.distributed as dist
    from contrastkit.distributed import world

    size = world()[1]
    if size == 1:
        return value
    values = [None] * size
    dist.all_gather_object(values, value)
    differing = [r for r, v in enumerate(values) if v != values[0]]
    if differing:
        raise ValueError(f"{what} differs between rank 0 and rank(s) {differing}: the ranks no longer agree")
    return value


def save_task_state(path: Path, model, model_config: ModelConfig, n_mels: int, extra: dict) -> None:
    """Task state ``path``: ``model`` with its settings (:func:`contrastkit.train.save_module`, so
    :func:`contrastkit.train.load_module` rebuilds it) and ``extra`` (memory, accuracy row, the
    run's data record...: tensors and plain types), written atomically."""
    from contrastkit.train import save_module

    hparams = {"vocab_size": model.embed.num_embeddings, "n_mels": n_mels, **asdict(model_config)}
    save_module(path, model, extra=extra, hparams=hparams)


def resume_notice(run_dir: Path, row: str, t: int, tasks: int, done: int, epochs: int) -> str:
    """What a resumed loop continues from: ``done`` finished tasks before task ``t``, and the
    epoch of task ``t``'s ``last.ckpt`` when it has one."""
    from contrastkit.train import load_checkpoint

    name = f"{row.rstrip('-')}: " if row else ""
    before = (f"tasks 0-{done - 1} done" if done > 1 else "task 0 done") + f" ({row}task_*.ckpt); " if done else ""
    last = run_dir / "tasks" / f"{row}task_{t}" / "checkpoints" / "last.ckpt"
    if not last.is_file():
        return f"resume: {name}{before}task {t} of {tasks} starts at epoch 1 of {epochs}"
    state = load_checkpoint(last)
    epoch, step = int(state.get("epoch", -1)) + 1, int(state.get("global_step", 0))
    return (f"resume: {name}{before}task {t} of {tasks} continues from {last.relative_to(run_dir)} (saved in epoch "
            f"{epoch} of {epochs}, step {step})")


def run_continual(data: SLUData, model_config: ModelConfig, method: MethodConfig, train: TrainConfig,
                  run_dir: str | Path, n_mels: int, batch_size: int, spec_augment: bool,
                  row: str = "", callbacks: tuple = (), trainer: TrainerOptions | None = None,
                  record: dict | None = None) -> dict:
    """Train and evaluate ``method`` on every task of ``data.tasks``; returns the metrics.

    Task states go to ``run_dir/checkpoints/<row>task_t.ckpt`` and the trainers' folders to
    ``run_dir/tasks/<row>task_t/`` (``row`` tells a study's rows apart). ``callbacks`` go to every
    task's trainer; ``trainer``: where every task trains (default one device, ``accelerator="auto"``;
    ``batch_size`` is per process); ``record``: the run's data record (:func:`slu.use.data_record`),
    kept in every task state so that it is all ``embed``, ``predict`` and ``evaluate`` need."""
    from contrastkit.train import (
        fit_resumable,
        is_rank_zero,
        load_checkpoint,
        load_state_checked,
        make_trainer,
        seed_everything,
    )

    from slu.evaluate import cl_metrics, decode, word_error_rate, wording_metrics, wording_rows

    run_dir = Path(run_dir)
    seed_everything(train.seed, workers=False, verbose=False)
    model = build(data.tokenizer.vocab_size, model_config, n_mels)
    train_all = data.corpus.indices("train")
    memory = RehearsalMemory(len(train_all), **kwargs_of(train, RehearsalMemory))
    ids, T = data.corpus.class_map, len(data.tasks)
    matrix = np.full((T, T), np.nan)
    counts: list[int] = []
    by_wording = {w: (np.full((T, T), np.nan), []) for w in ("seen", "unseen")}
    wers: dict[str, float] = {}
    skipped = 0
    for t in range(T):
        done = run_dir / "checkpoints" / f"{row}task_{t}.ckpt"
        if done.is_file():
            state = load_checkpoint(done)
            # task states of older runs hold the weights under "model"
            load_state_checked(model, state["state_dict"] if "state_dict" in state else state["model"], done)
            memory.load_state(state["memory"])
            matrix[t, : t + 1], counts = state["row"], state["counts"]
            # task states written before the wording split was recorded: scored again
            rows = state.get("wording") or {w: r for w, r in wording_rows(model, data, t).items() if w != "all"}
            for w, (accs, n) in rows.items():
                by_wording[w][0][t, : t + 1] = accs
                by_wording[w] = (by_wording[w][0], list(n))
            wers.update(state["wer"])
            skipped += 1
            continue
        task_dir = run_dir / "tasks" / f"{row}task_{t}"
        if is_rank_zero() and (skipped or (task_dir / "checkpoints" / "last.ckpt").is_file()):
            print(resume_notice(run_dir, row, t, T, skipped, train.max_epochs), flush=True)
        skipped = 0
        seed_everything(train.seed * 1000 + t, workers=False, verbose=False)
        tasks_now = range(t + 1) if method.cumulative else [t]
        new = [i for k in tasks_now for i in data.task_indices("train", k)]
        if not new:
            raise ValueError(f"task {t} ({data.tasks[t]}) has no training clips")
        rehearsal = set(memory.indices()) if method.uses_memory else set()
        uses_teacher = any(method.weight(term) for term in ("kd", "skd", "supcon"))
        teacher = copy.deepcopy(model).eval() if t > 0 and uses_teacher else None
        skd = teacher_sequences(teacher, data, sorted(rehearsal)) if teacher is not None and method.weight("skd") else {}
        skd = same_on_every_rank(skd, f"task {t}'s S-KD targets")
        module = ContinualSLU(model, teacher, data.tokenizer.eos_id, **asdict(method), **kwargs_of(train, ContinualSLU))
        dm = TaskDataModule(data, new + sorted(rehearsal - set(new)), rehearsal, skd, batch_size,
                            spec_augment, seed=train.seed * 1000 + t)
        fitter = make_trainer(task_dir, train.max_epochs, progress=train.progress, callbacks=list(callbacks),
                              options=(trainer or TrainerOptions()).finding_unused_parameters())
        fit_resumable(fitter, module, dm, run_dir=task_dir)
        model = module.model.cpu()
        rows = wording_rows(model, data, t)
        accs, counts = rows.pop("all")
        matrix[t, : t + 1] = accs
        for w, (waccs, n) in rows.items():
            by_wording[w][0][t, : t + 1] = waccs
            by_wording[w] = (by_wording[w][0], list(n))
        if train.wer == "every" or (train.wer == "last" and t == T - 1):
            idx = [i for k in range(t + 1) for i in data.task_indices("test", k)]
            _, texts = decode(model, data, idx, train.beam_size)
            wers[f"wer_after_task_{t}"] = word_error_rate(texts, [data.corpus.utterances[i].transcript for i in idx])
        if method.uses_memory:
            by_class = {ids[c]: data.corpus.indices("train", [c]) for c in data.tasks[t]}
            feats = ({c: pooled_features(model, data, v) for c, v in by_class.items()}
                     if train.selection == "herding" else None)
            memory.update(by_class, feats)
            same_on_every_rank(memory.state(), f"the rehearsal memory after task {t}")
        if is_rank_zero():
            save_task_state(done, model, model_config, n_mels,
                            {"memory": memory.state(), "row": accs, "counts": counts, "wer": wers, "data": record or {},
                             "wording": {w: (list(r), list(n)) for w, (r, n) in rows.items()}})
    metrics = cl_metrics(matrix, counts)
    metrics.update(wording_metrics(by_wording))
    metrics.update(wers, matrix=[[None if np.isnan(v) else v for v in r] for r in matrix.tolist()], counts=counts,
                   tasks=data.tasks, method=method.name, memory_size=len(memory.indices()))
    return metrics
