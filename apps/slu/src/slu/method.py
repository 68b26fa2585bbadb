"""COCONUT and its baselines as one LightningModule trained task by task (:mod:`slu.continual`).

Per batch (new-task clips plus rehearsal clips, flagged by ``batch["rehearsal"]``)::

    loss = seq                                   cross-entropy of <bos> <intent> transcript <eos>
         + lambda_supcon * NSPT (or NTPT)        rehearsal clips: student vs teacher embeddings
         + lambda_text   * audio-text InfoNCE    new-task clips: audio vs transcript embeddings
         + lambda_kd     * audio-KD              rehearsal clips: pooled encoder features vs teacher's
         + lambda_skd    * S-KD                  rehearsal clips: cross-entropy on the teacher's decoded sequences

Which terms a method uses is :data:`METHODS`; the teacher is the model as it was after the
previous task (frozen, always in eval mode).
"""

from __future__ import annotations

from dataclasses import asdict

import torch
from contrastkit.train import ContrastiveModule
from torch import Tensor, nn

from slu.baselines import BASELINES
from slu.config import section, settings
from slu.losses import audio_text_loss, feature_kd_loss, nspt_loss, ntpt_loss

# method -> (uses the rehearsal memory, trains on all tasks so far, active loss terms); the
# baselines are in baselines.py, COCONUT and its variants here
METHODS: dict[str, tuple[bool, bool, tuple[str, ...]]] = {
    **BASELINES,
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
            data of the tasks so far), er, er_kd, er_skd, ntpt, coconut, coconut_skd.
        lambda_supcon: weight of the rehearsal contrastive loss (NSPT; NTPT for ``ntpt``).
        supcon_temperature: its temperature tau (the paper reports Avg Acc insensitive to tau).
        lambda_text: weight of the audio-text contrastive loss on the new task's clips.
        text_temperature: its temperature.
        lambda_kd: weight of audio-KD (MSE of pooled encoder features).
        lambda_skd: weight of S-KD (cross-entropy on the teacher's decoded sequences).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        label_smoothing: of the sequence cross-entropy.
    """

    def __init__(self, model: nn.Module, teacher: nn.Module | None, eos_id: int, name: str = "coconut",
                 lambda_supcon: float = 0.1, supcon_temperature: float = 0.1, lambda_text: float = 0.1,
                 text_temperature: float = 0.1, lambda_kd: float = 1.0, lambda_skd: float = 1.0,
                 lr: float = 1e-3, weight_decay: float = 0.01, label_smoothing: float = 0.1) -> None:
        super().__init__(lr, weight_decay)
        self.method = MethodConfig(name, lambda_supcon, supcon_temperature, lambda_text, text_temperature,
                                   lambda_kd, lambda_skd)
        self.model, self.teacher = model, teacher
        self.eos_id, self.label_smoothing = eos_id, label_smoothing
        if teacher is not None:
            teacher.requires_grad_(False)
        self.save_hyperparameters({"method": asdict(self.method), "lr": lr, "weight_decay": weight_decay,
                                   "label_smoothing": label_smoothing})

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
        m, w = self.model, self.method.weight
        feats, lengths, tokens, r = batch["feats"], batch["lengths"], batch["tokens"], batch["rehearsal"]
        memory, enc_len = m.encode(feats, lengths)
        losses = {"seq": m.sequence_loss(memory, enc_len, tokens, self.label_smoothing)}
        loss = losses["seq"]
        n_r = int(r.sum())
        if self.teacher is not None and n_r and (w("kd") or w("supcon")):
            with torch.no_grad():
                t_mem, t_len = self.teacher.encode(feats[r], lengths[r])
            if w("kd"):
                losses["kd"] = feature_kd_loss(m.pooled(memory[r], enc_len[r]), self.teacher.pooled(t_mem, t_len))
                loss = loss + w("kd") * losses["kd"]
            if w("supcon") and n_r >= 2:
                student = m.audio_embedding(memory[r], enc_len[r])
                with torch.no_grad():
                    teacher = self.teacher.audio_embedding(t_mem, t_len)
                form = ntpt_loss if self.method.name == "ntpt" else nspt_loss
                losses["supcon"] = form(student, teacher, batch["labels"][r], self.method.supcon_temperature)
                loss = loss + w("supcon") * losses["supcon"]
        if w("skd") and n_r and self.teacher is not None:
            losses["skd"] = m.sequence_loss(memory[r], enc_len[r], batch["skd_tokens"][r])
            loss = loss + w("skd") * losses["skd"]
        new = ~r
        if w("text") and int(new.sum()) >= 2:
            transcript = tokens[new, 2:].masked_fill(tokens[new, 2:] == self.eos_id, 0)
            texts = [t for t, keep in zip(batch["transcripts"], new.tolist()) if keep] if "transcripts" in batch else None
            losses["text"] = audio_text_loss(m.audio_embedding(memory[new], enc_len[new]),
                                             m.text_embedding(transcript, texts), self.method.text_temperature)
            loss = loss + w("text") * losses["text"]
        losses["loss"] = loss
        return losses


METHOD_SETTINGS = ("name", "lambda_supcon", "supcon_temperature", "lambda_text", "text_temperature", "lambda_kd",
                   "lambda_skd")
# the ``method`` section of the config: ContinualSLU's method settings (its names, defaults, descriptions)
MethodConfig = section("MethodConfig", "The continual-learning method and its loss weights.",
                       [(ContinualSLU, settings(ContinualSLU, only=METHOD_SETTINGS))], bases=(_MethodRules,))
MethodConfig.__module__ = __name__
