"""CompA-CLAP as a LightningModule: stage 1 (CLAP), stage 2 (hard negatives), stage 3 (modular)."""

from __future__ import annotations

import torch
from contrastkit.train import ContrastiveModule
from torch import Tensor

from audiolang.losses import MASKS, clap_loss, compositional_loss
from audiolang.models.dual import DualEncoder


def epochs_trained(checkpoint: dict) -> int:
    """The epochs a Lightning checkpoint has finished (its fit loop's processed epochs)."""
    loops = checkpoint.get("loops") or {}
    return int((loops.get("fit_loop") or {}).get("epoch_progress", {}).get("current", {}).get("processed", 0))


class CompaClap(ContrastiveModule):
    """The dual encoder trained with one stage's loss (see :mod:`audiolang.losses`).

    Args:
        stage: 1 = CLAP's symmetric CLIP loss; 2 = composition-aware hard negatives; 3 = the modular
            contrastive loss (positives = sub-compositions, with the hard negatives unless
            ``use_negatives`` is False).
        use_negatives: stage 3 only: include the hard negatives (False = the modular loss alone).
        mask: ``additive`` or ``multiplicative`` (the official -1e5 product; ablation).
        text_hard_negatives: also contrast each caption with its hard-negative audio (text->audio).
        dim, width, layers, temperature, pretrained, segments, tokens, text_layers, text_pool: the encoder
            (:class:`DualEncoder`).
        word_dropout: in training, each caption token is replaced by the unknown token with this
            probability (so that no single word, a wording's connective say, carries a caption alone).
        sample_rate: Hz of the batches' audio.
        init_from: a checkpoint of an earlier stage to start from (weights only).
        lr, weight_decay: AdamW.
    """

    def __init__(self, stage: int = 3, use_negatives: bool = True, mask: str = "additive",
                 text_hard_negatives: bool = False, dim: int = 128, width: int = 128, layers: int = 2,
                 temperature: float = 0.07, pretrained: str | None = None, segments: int = 4, sample_rate: int = 16000,
                 init_from: str | None = None, lr: float = 1e-3, weight_decay: float = 0.01, tokens: str = "words",
                 text_layers: int | None = None, word_dropout: float = 0.0, text_pool: str = "segments") -> None:
        super().__init__(lr=lr, weight_decay=weight_decay)
        if stage not in (1, 2, 3):
            raise ValueError(f"stage must be 1, 2 or 3; got {stage}")
        if mask not in MASKS:
            raise ValueError(f"mask must be one of {MASKS}; got {mask!r}")
        if not 0 <= word_dropout < 1:
            raise ValueError(f"word_dropout must be in [0, 1); got {word_dropout}")
        self.save_hyperparameters()
        self.word_dropout = word_dropout
        self.stage, self.use_negatives, self.mask, self.text_hard_negatives = stage, use_negatives, mask, text_hard_negatives
        self.encoder = DualEncoder(dim, width, layers, sample_rate, temperature, pretrained, segments=segments,
                                   tokens=tokens, text_layers=text_layers, text_pool=text_pool)
        if init_from:
            from contrastkit.train import load_checkpoint, load_state_checked

            load_state_checked(self, load_checkpoint(init_from).get("state_dict") or {}, init_from)

    def setup(self, stage: str) -> None:
        """The data's sampling rate must be the one the audio tower reads (``--model.sample_rate``):
        otherwise every clip is read too fast or too slow, without an error."""
        data = self._trainer.datamodule if self._trainer is not None else None
        rate = getattr(getattr(data, "clips", None), "sample_rate", None)
        if rate is not None and rate != self.encoder.sample_rate:
            raise ValueError(f"--data.clips.sample_rate {rate} Hz but --model.sample_rate {self.encoder.sample_rate} Hz: "
                             "the model would read the audio at the wrong speed; give both the same rate")

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Lightning restoring a checkpoint (``fit/validate/test --ckpt_path``, ``fit --resume``):
        its weights must fit this model and be finite (one error naming the file, not a bare
        state-dict error for another app's checkpoint), and a fit must have epochs left to train
        (a checkpoint that already trained ``max_epochs`` would train nothing and report success)."""
        from contrastkit.train import load_state_checked

        trainer = self._trainer
        source = (trainer.ckpt_path if trainer is not None else None) or "the checkpoint"
        load_state_checked(self, checkpoint.get("state_dict") or {}, source)
        if trainer is None or trainer.state.fn != "fit" or trainer.max_epochs in (None, -1):
            return
        done = epochs_trained(checkpoint)
        if done >= trainer.max_epochs:
            raise ValueError(f"{source}: this checkpoint has already trained {done} epoch(s), so "
                             f"--trainer.max_epochs {trainer.max_epochs} would train none; give --trainer.max_epochs "
                             f"greater than {done} to train on from it (or --model.init_from to start a new "
                             "training from its weights)")

    def _texts(self, texts: list[str]) -> Tensor:
        ids, mask = self.encoder.tokenize(texts)
        if self.training and self.word_dropout > 0:
            drop = (torch.rand(ids.shape) < self.word_dropout) & mask
            ids = ids.masked_fill(drop, self.encoder.unknown_id())
        return self.encoder.encode_text(ids.to(self.device), mask.to(self.device))

    def compute_losses(self, batch: dict, stage: str) -> dict[str, Tensor]:
        audio = self.encoder.encode_audio(batch["audio"], batch["lengths"])
        scale = self.encoder.logit_scale()
        b = audio.shape[0]
        # training batches are sharded over the ranks: gather the shared candidates (see
        # audiolang.losses); validation runs on the whole set on every rank (AudioTextDataModule)
        distributed = self.gather_across_ranks and stage == "train"
        if self.stage == 1:
            out = clap_loss(audio, self._texts(batch["captions"]), scale, distributed=distributed)
        else:
            k = len(batch["negatives"][0]) if (self.stage == 2 or self.use_negatives) else 0
            p = len(batch["positives"][0]) if self.stage == 3 else 0
            texts = list(batch["captions"])
            for i in range(b):
                texts += batch["positives"][i][:p] + batch["negatives"][i][:k]
            emb = self._texts(texts)
            primary, rest = emb[:b], emb[b:].reshape(b, p + k, -1)
            neg_audio = None
            if self.text_hard_negatives:
                neg_audio = self.encoder.encode_audio(batch["negative_audio"], batch["negative_lengths"])[:, None]
            out = compositional_loss(audio, primary, rest[:, p:] if k else None, scale,
                                     positives=rest[:, :p] if p else None, negative_audio=neg_audio, mask=self.mask,
                                     distributed=distributed)
        out["logit_scale"] = scale.detach()
        return out

    @torch.no_grad()
    def embed_audio(self, wave: Tensor, lengths: Tensor) -> Tensor:
        return self.encoder.encode_audio(wave.to(self.device), lengths.to(self.device))
