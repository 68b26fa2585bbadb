"""The baselines COMET is compared with (Wang et al., NeurIPS 2023, Table 2), selected by name in a
study (``protocol.methods``; each has its own config section of the same name):

* ``ts2vec`` — :class:`TS2Vec` (Yue et al., AAAI 2022): COMET's sample and observation levels only,
  hierarchical, on one pair of ``continuous``-masked views.
* ``simclr`` — :class:`SimCLR` (Chen et al., ICML 2020): NT-Xent on max-pooled embeddings of two
  jittered and scaled views (the time-series augmentations of TS-TCC, Eldele et al., IJCAI 2021).
* ``supervised`` — no pretraining: a fresh :class:`medts.models.encoder.TSEncoder` fine-tuned from
  scratch with the protocol's head (:class:`medts.finetune.FineTuner`).
"""

from __future__ import annotations

from contrastkit.functional import nt_xent_loss
from torch import Tensor

from medts.losses import hierarchical_levels
from medts.method import COMET, INSTANCE_LOSSES, EncoderPretraining
from medts.models.encoder import max_pool_time
from medts.views import jitter_scale


class TS2Vec(EncoderPretraining):
    """``L = lambda_S L_S + lambda_O L_O`` (TS2Vec's instance and temporal losses, as COMET's levels).

    Args:
        input_dims / output_dims / hidden_dims / depth / dropout / swa / lr / weight_decay: as
            :class:`medts.method.EncoderPretraining`.
        lambda_sample / lambda_observation: weights of the two levels (TS2Vec's ``alpha`` and
            ``1 - alpha``, 0.5 / 0.5, up to a factor; 0.25 each, as in COMET).
        instance_mask: the views' timestamp mask (``continuous``, as COMET's sample level).
    """

    def __init__(self, input_dims: int, output_dims: int = 320, hidden_dims: int = 64, depth: int = 10,
                 dropout: float = 0.1, lambda_sample: float = 0.25, lambda_observation: float = 0.25,
                 instance_mask: str = "continuous", swa: bool = True, lr: float = 1e-3,
                 weight_decay: float = 0.0) -> None:
        super().__init__(input_dims, output_dims, hidden_dims, depth, dropout, swa, lr, weight_decay)
        self.save_hyperparameters()
        if min(lambda_sample, lambda_observation) < 0 or lambda_sample + lambda_observation == 0:
            raise ValueError(f"lambda_sample and lambda_observation must be >= 0 and not both 0; "
                             f"got {lambda_sample}, {lambda_observation}")
        self.lambdas = {"sample": lambda_sample, "observation": lambda_observation}

    def compute_losses(self, batch: dict, stage: str) -> dict[str, Tensor]:
        z1, z2 = self.encode_views(batch["x"], [self.hparams.instance_mask], batch.get("index"))
        raw = hierarchical_levels({k: INSTANCE_LOSSES[k] for k, w in self.lambdas.items() if w > 0}, z1, z2,
                                  self.gathers(stage))
        total = sum(self.lambdas[k] * v for k, v in raw.items())
        return {"loss": total, **{f"loss_{k}": v.detach() for k, v in raw.items()}}


class SimCLR(EncoderPretraining):
    """NT-Xent ``-log e^{s_kp/t} / sum_{j != k} e^{s_kj/t}`` over the 2B max-pooled, jittered and
    scaled views of a batch.

    Args:
        input_dims / output_dims / hidden_dims / depth / dropout / swa / lr / weight_decay: as
            :class:`medts.method.EncoderPretraining`.
        temperature: NT-Xent's ``tau`` (0.2).
        jitter / scale: std of the additive noise and of the per-channel scale factor.
    """

    def __init__(self, input_dims: int, output_dims: int = 320, hidden_dims: int = 64, depth: int = 10,
                 dropout: float = 0.1, temperature: float = 0.2, jitter: float = 0.1, scale: float = 0.1,
                 swa: bool = True, lr: float = 1e-3, weight_decay: float = 0.0) -> None:
        super().__init__(input_dims, output_dims, hidden_dims, depth, dropout, swa, lr, weight_decay)
        self.save_hyperparameters()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0; got {temperature}")

    def compute_losses(self, batch: dict, stage: str) -> dict[str, Tensor]:
        x, hp = batch["x"], self.hparams
        h1 = max_pool_time(self.encoder(jitter_scale(x, hp.jitter, hp.scale), mask="all_true"))
        h2 = max_pool_time(self.encoder(jitter_scale(x, hp.jitter, hp.scale), mask="all_true"))
        loss = nt_xent_loss(h1, h2, temperature=hp.temperature, distributed=self.gathers(stage))
        return {"loss": loss, "loss_instance": loss.detach()}


PRETRAINING: dict[str, type[EncoderPretraining]] = {"comet": COMET, "ts2vec": TS2Vec, "simclr": SimCLR}
METHODS = (*PRETRAINING, "supervised")
