"""Adaptation to a new style (Liu et al., CVPR 2022, Sec. 4.3 and 5.2): low-shot fine-tuning with
K scenes of the target environment, and test-time refinement of the invariant latent.

Low-shot (official ``finetune.sh``): stage P6 for ``epochs`` epochs on K target scenes, updating
``"integ"`` (the style modulator only), ``"integ+"`` (modulator + style encoder) or ``"all"``
(decoder, modulator, style encoder); the style loss (weight ``lambda_contrastive`` = 0.05) also
sees one batch of every pre-training environment per step; the checkpoint with the best validation ADE on the target
is kept, the pre-trained weights included (the official code validates them before the first
epoch and keeps them unless an epoch beats them). A non-modular model is fine-tuned end to end
on the prediction risk.

Refinement (official ``train_latent_space``): for each scene, its invariant latent ``z`` is
optimized for a few Adam steps to minimize the style contrastive loss between the style
embedding of the scene's predicted trajectory (observed + predicted future) and reference
embeddings of the environment, every weight of the model frozen. Here each scene gets its own
latent copy and optimizer, so only that scene's latent moves (the official code shares one Adam
state over the whole batch, so earlier scenes keep drifting on momentum). The reference
embeddings come from separate reference scenes; ``leak=True`` reproduces the official choice:
the scored batch's own ground-truth trajectories.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from motionfc.style_loss import style_contrastive_loss


def _predict_scene(module, z: Tensor, obs: Tensor, style: Tensor | None) -> tuple[Tensor, Tensor]:
    """Decode one scene's latents ``z`` ``(A, h)`` -> absolute future ``(A, T_f, 2)`` and full path."""
    rel = module.model.decoder(z, style)
    fut = obs[:, -1:, :] + rel.cumsum(1)
    return fut, torch.cat([obs, fut], dim=1)


def refine_scene(module, obs: Tensor, refs: Tensor, label: int, style: Tensor | None, *, steps: int = 3,
                 lr: float = 1e-3, replace: int | None = None) -> tuple[Tensor, Tensor, list[float]]:
    """Refine the invariant latent of one scene.

    Args:
        obs: ``(A, obs_len, 2)`` the scene's observed positions.
        refs: ``(R, D)`` reference style embeddings of the environment (label ``label``).
        style: the style vector the decoder uses (kept fixed).
        replace: when given, the scene's embedding replaces ``refs[replace]`` (official leak mode,
            where ``refs`` are the scored batch itself); otherwise it is appended.
    Returns:
        ``(z_refined (A, h), prediction (A, T_f, 2), losses per step)``.
    """
    if steps < 0 or lr <= 0:
        raise ValueError(f"need steps >= 0 and lr > 0; got {steps}, {lr}")
    module.model.requires_grad_(False)
    with torch.no_grad():
        z0 = module.model.inv_encoder(obs)
    z = z0.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    losses = []
    lab = torch.tensor([label])
    for _ in range(steps):
        opt.zero_grad()
        _, path = _predict_scene(module, z, obs, style)
        emb = module.model.style_encoder.embed(module.model.style_encoder.codes(path))  # (1, D)
        if replace is None:
            group = torch.cat([refs, emb])
        else:
            group = torch.cat([refs[:replace], emb, refs[replace + 1 :]])
        loss = style_contrastive_loss(group[None], lab, temperature=module.hparams.style_temperature)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        pred, _ = _predict_scene(module, z, obs, style)
    return z.detach(), pred, losses


def refine_batch(module, batch: dict[str, Tensor], ref_traj: Tensor | None, *, steps: int = 3, lr: float = 1e-3,
                 leak: bool = False) -> tuple[Tensor, Tensor]:
    """ADE-ready predictions of a two-agent batch before and after refinement, ``(N, T_f, 2)`` each.

    ``ref_traj`` ``(R*A, T, 2)``: full trajectories of reference scenes (ignored with ``leak``,
    which uses the batch's own ground truth, as the official code).
    """
    module.eval()
    enc = module.model.style_encoder
    full = torch.cat([batch["obs"], batch["fut"]], 1)
    with torch.no_grad():
        style = module.eval_style(batch)
        before = module.predict_abs(batch)
        refs = enc.embed(enc.codes(full if leak else ref_traj))
    label = int(batch["env"][0])
    after = before.clone()
    for s, (a, b) in enumerate(batch["seq_start_end"].tolist()):
        _, pred, _ = refine_scene(module, batch["obs"][a:b], refs, label, style, steps=steps, lr=lr,
                                  replace=s if leak else None)
        after[a:b] = pred
    return before, after


def finetune(checkpoint: str | Path, run_dir: str | Path, *, target: float = 0.6, k: int = 64, mode: str = "integ",
             epochs: int = 30, seed: int = 0, pretrain_styles: tuple[float, ...] = (0.1, 0.3, 0.5),
             num_train: int = 1000, num_val: int = 200, num_test: int = 500, num_ref: int = 64,
             cache_dir: str | None = None, lambda_contrastive: float = 0.05, lr_integ: float = 1e-3, data_seed: int = 0,
             progress: bool = False):
    """Fine-tune a pre-trained :class:`~motionfc.method.CausalMotion` on ``k`` scenes of ``target``.

    ``seed`` seeds the training and the choice of the ``k`` scenes; ``data_seed`` the simulated
    data (keep it equal to the pre-training data's, so that the test scenes are the same).
    ``checkpoint`` is read with ``weights_only=True`` (:func:`contrastkit.train.load_module`).

    Returns ``(module with the best validation ADE, datamodule)``.
    """
    from contrastkit.train import fit_resumable, load_checkpoint, load_module, make_trainer, seed_everything

    from motionfc.data.datamodule import StyleDataModule
    from motionfc.data.synthetic import env_name
    from motionfc.method import CausalMotion

    if k < 1 or epochs < 1:
        raise ValueError(f"need k >= 1 and epochs >= 1; got {k}, {epochs}")
    seed_everything(seed)
    pre = load_module(checkpoint, ("motionfc",), CausalMotion, fallback=CausalMotion)
    modular = pre.hparams.modular
    over = {"epochs": (0, 0, 0, epochs) if modular else (epochs, 0, 0, 0), "finetune": mode if modular else "all",
            "lambda_contrastive": lambda_contrastive, "lr_integ": lr_integ, "lambda_irm": 0.0, "lambda_vrex": 0.0}
    module = CausalMotion(**{**dict(pre.hparams), **over})
    module.model.load_state_dict(pre.model.state_dict())
    dm = StyleDataModule(train_styles=tuple(pretrain_styles), test_styles=tuple(sorted({*pretrain_styles, target})),
                         num_train=num_train, num_val=num_val, num_test=num_test, num_ref=num_ref, seed=data_seed,
                         cache_dir=cache_dir)
    dm.setup()
    tgt = env_name(target)
    rng = np.random.default_rng(seed)
    from motionfc.data.synthetic import style_dataset

    target_train = style_dataset((target,), "train", max(k, num_train), seed=data_seed, cache_dir=cache_dir)[tgt]
    dm.splits["train"] = {tgt: target_train.subset(np.sort(rng.permutation(target_train.num_scenes)[:k])),
                          **(dm.splits["train"] if modular else {})}
    dm.splits["val"] = {tgt: style_dataset((target,), "val", num_val, seed=data_seed, cache_dir=cache_dir)[tgt]}
    module.contrast_only = set(dm.splits["train"]) - {tgt}
    initial = _val_ade(module, dm, tgt)
    trainer = make_trainer(run_dir, epochs, monitor="val/ade", mode="min", progress=progress, num_sanity_val_steps=0)
    best = fit_resumable(trainer, module, dm, run_dir=run_dir)
    score = trainer.checkpoint_callback.best_model_score
    if score is not None and float(score) < initial:
        module.load_state_dict(load_checkpoint(best)["state_dict"])
    else:
        module.model.load_state_dict(pre.model.state_dict())
    module.eval()
    return module, dm


def _val_ade(module, dm, env: str) -> float:
    """ADE of ``module`` on the validation scenes of ``env`` (reference styles refreshed)."""
    from motionfc.evaluate import ade_fde_of, errors_per_env, module_predict

    module.set_reference_styles({dm.labels[e]: torch.from_numpy(w.traj) for e, w in dm.splits["ref"].items()})
    errs = errors_per_env(module_predict(module), {env: dm.splits["val"][env]}, dm.labels)
    return ade_fde_of([errs[env]])["ade"]
