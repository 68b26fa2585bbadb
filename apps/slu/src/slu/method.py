"""COCONUT and its baselines as one LightningModule trained task by task (:mod:`slu.continual`).

Per batch (new-task clips plus rehearsal clips, flagged by ``batch["rehearsal"]``)::

    loss = seq                                   cross-entropy of <bos> <intent> transcript <eos>
         + lambda_supcon * NSPT (or NTPT)        rehearsal clips: student vs teacher embeddings
         + lambda_text   * audio-text InfoNCE    new-task clips: audio vs transcript embeddings
         + lambda_kd     * audio-KD              rehearsal clips: pooled encoder features vs teacher's
         + lambda_skd    * S-KD                  rehearsal clips: cross-entropy on the teacher's decoded sequences

Which terms a method uses is :data:`METHODS`; the teacher is the model as it was after the
previous task (frozen, always in eval mode). Under DDP each rank holds ``batch_size`` clips of the
global batch (new and rehearsal clips in any proportion); the terms are those of the global batch
(:meth:`ContinualSLU.compute_losses`).
"""

from __future__ import annotations

from dataclasses import asdict

import torch
from contrastkit.distributed import gather_labels, world
from contrastkit.train import ContrastiveModule
from contrastkit.train.sections import section, settings
from torch import Tensor, nn

from slu.baselines import BASELINES
from slu.losses import audio_text_loss, feature_kd_loss, nspt_loss, ntpt_loss

# method -> (uses the rehearsal memory, trains on all tasks so far, active loss terms); the
# baselines are in baselines.py, COCONUT and its variants here
METHODS: dict[str, tuple[bool, bool, tuple[str, ...]]] = {
    **BASELINES,
    "nspt": (True, False, ("supcon",)),  # ER + NSPT alone: COCONUT without the audio-text loss
    "ntpt": (True, False, ("supcon", "text")),  # COCONUT with the NTPT form of the rehearsal loss
    "coconut": (True, False, ("supcon", "text")),
    "coconut_skd": (True, False, ("supcon", "text", "skd")),
}


class _MethodRules:
    """What a method's name implies (mixed into :data:`MethodConfig`)."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in METHODS:
            raise ValueError(f"unknown method {self.name!r}; expected one of {sorted(METHODS)}")

    @property
    def uses_memory(self) -> bool:
        return METHODS[self.name][0]

    @property
    def cumulative(self) -> bool:
        return METHODS[self.name][1]

    def weight(self, term: str) -> float:
        """The weight of ``term`` (supcon, text, kd, skd) for this method, 0 when it is unused."""
        return getattr(self, f"lambda_{term}") if term in METHODS[self.name][2] else 0.0


class ContinualSLU(ContrastiveModule):
    """The seq2seq model trained on one task, with the teacher of the previous one.

    Args:
        model: the :class:`~slu.models.seq2seq.SLUModel` being trained.
        teacher: the frozen previous-task model (None on the first task).
        eos_id: the tokenizer's end-of-sequence id (transcripts for the text embedding end there).
        name: the method, one of :data:`METHODS`: finetune (lower bound), joint (upper bound: all
            data of the tasks so far), er, er_kd, er_skd, nspt (ER + NSPT, no audio-text loss), ntpt,
            coconut, coconut_skd.
        lambda_supcon: weight of the rehearsal contrastive loss (NSPT; NTPT for ``ntpt``).
        supcon_temperature: its temperature tau (the paper reports Avg Acc insensitive to tau).
        lambda_text: weight of the audio-text contrastive loss on the new task's clips.
        text_temperature: its temperature.
        lambda_kd: weight of audio-KD (MSE of pooled encoder features).
        lambda_skd: weight of S-KD (cross-entropy on the teacher's decoded sequences).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        label_smoothing: of the sequence cross-entropy.
        word_dropout: probability of hiding each transcript token from the decoder's input in
            training (:meth:`~slu.models.seq2seq.SLUModel.sequence_loss`).
    """

    def __init__(self, model: nn.Module, teacher: nn.Module | None, eos_id: int, name: str = "coconut",
                 lambda_supcon: float = 0.1, supcon_temperature: float = 0.1, lambda_text: float = 0.1,
                 text_temperature: float = 0.1, lambda_kd: float = 1.0, lambda_skd: float = 1.0,
                 lr: float = 1e-3, weight_decay: float = 0.01, label_smoothing: float = 0.1,
                 word_dropout: float = 0.0) -> None:
        super().__init__(lr, weight_decay)
        self.method = MethodConfig(name, lambda_supcon, supcon_temperature, lambda_text, text_temperature,
                                   lambda_kd, lambda_skd)
        self.model, self.teacher = model, teacher
        self.eos_id, self.label_smoothing, self.word_dropout = eos_id, label_smoothing, word_dropout
        if teacher is not None:
            teacher.requires_grad_(False)
        self.save_hyperparameters({"method": asdict(self.method), "lr": lr, "weight_decay": weight_decay,
                                   "label_smoothing": label_smoothing, "word_dropout": word_dropout})

    def modules_kept_in_eval(self) -> list[nn.Module]:
        """The teacher and a frozen text model never drop out (the base puts the rest in train mode at fit start)."""
        kept = [] if self.teacher is None else [self.teacher]
        text = getattr(self.model, "text_encoder", None)
        if text is not None and not any(p.requires_grad for p in text.model.parameters()):
            kept.append(text.model)  # a frozen text model encodes without dropout
        return kept

    def configure_optimizers(self):
        return torch.optim.AdamW(self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def compute_losses(self, batch: dict[str, Tensor], stage: str) -> dict[str, Tensor]:
        """The terms of the module docstring. Under DDP (training, ``gather_across_ranks``) the
        contrastive terms gather their candidates and labels from every rank (:mod:`slu.losses`),
        and every term is this rank's share of the global batch's mean (its sum over this rank's
        tokens, clips or anchors, divided by the global count, times W), so that DDP's average is
        the step of one process on the whole global batch. Which terms run depends on global
        counts only: every rank takes part in the same gathers."""
        m, w = self.model, self.method.weight
        feats, lengths, tokens, r = batch["feats"], batch["lengths"], batch["tokens"], batch["rehearsal"]
        distributed = self.gather_across_ranks and stage == "train"
        new = ~r
        local = [int((tokens[:, 1:] != 0).sum()), int(r.sum()), int(new.sum()),
                 int((batch["skd_tokens"][r, 1:] != 0).sum())]
        total = gather_labels(torch.tensor(local, device=feats.device), enabled=distributed).reshape(-1, 4).sum(0).tolist()
        scale = world()[1] if distributed else 1

        def share(mean: Tensor, k: int) -> Tensor:  # a local mean over local[k] items as a share of the global mean
            return mean * (local[k] * scale / total[k])

        memory, enc_len = m.encode(feats, lengths)
        losses = {"seq": share(m.sequence_loss(memory, enc_len, tokens, self.label_smoothing, self.word_dropout), 0)}
        loss = losses["seq"]
        n_r = local[1]
        if self.teacher is not None and total[1] and (w("kd") or w("supcon")):
            if n_r:
                with torch.no_grad():
                    t_mem, t_len = self.teacher.encode(feats[r], lengths[r])
            if w("kd"):
                losses["kd"] = (share(feature_kd_loss(m.pooled(memory[r], enc_len[r]), self.teacher.pooled(t_mem, t_len)),
                                      1) if n_r else 0.0 * memory.sum())
                loss = loss + w("kd") * losses["kd"]
            if w("supcon") and total[1] >= 2:
                student = m.audio_embedding(memory[r], enc_len[r])
                with torch.no_grad():
                    teacher = self.teacher.audio_embedding(t_mem, t_len) if n_r else torch.zeros_like(student)
                form = ntpt_loss if self.method.name == "ntpt" else nspt_loss
                losses["supcon"] = form(student, teacher, batch["labels"][r], self.method.supcon_temperature,
                                        distributed=distributed)
                loss = loss + w("supcon") * losses["supcon"]
        if w("skd") and total[1] and self.teacher is not None:
            losses["skd"] = (share(m.sequence_loss(memory[r], enc_len[r], batch["skd_tokens"][r]), 3) if local[3]
                             else 0.0 * memory.sum())
            loss = loss + w("skd") * losses["skd"]
        if w("text") and total[2] >= 2:
            audio = m.audio_embedding(memory[new], enc_len[new])
            if local[2]:
                transcript = tokens[new, 2:].masked_fill(tokens[new, 2:] == self.eos_id, 0)
                texts = [t for t, keep in zip(batch["transcripts"], new.tolist()) if keep] if "transcripts" in batch else None
                text = m.text_embedding(transcript, texts)
            else:  # no new clip here: empty rows that still take part in the gathers
                text = 0.0 * audio
            losses["text"] = audio_text_loss(audio, text, self.method.text_temperature, distributed=distributed)
            loss = loss + w("text") * losses["text"]
        losses["loss"] = loss
        return losses


METHOD_SETTINGS = ("name", "lambda_supcon", "supcon_temperature", "lambda_text", "text_temperature", "lambda_kd",
                   "lambda_skd")
# the ``method`` section of the config: ContinualSLU's method settings (its names, defaults, descriptions)
MethodConfig = section("MethodConfig", "The continual-learning method and its loss weights.",
                       [(ContinualSLU, settings(ContinualSLU, only=METHOD_SETTINGS))], bases=(_MethodRules,))
MethodConfig.__module__ = __name__
