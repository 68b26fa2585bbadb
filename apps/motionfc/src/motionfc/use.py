"""A trained model in use: ``motionfc forecast``, ``motionfc embed`` and ``motionfc export``.

* ``forecast``: an ``motionfc eth-ucy`` (STGAT) checkpoint reads an ETH/UCY ``frame ped x y``
  file; every window of ``obs_len`` (8) frames is observed and the next 12 positions of each of
  its pedestrians are predicted. The run directory gets ``forecast.csv`` (every window:
  ``obs_end_frame,frame,ped,x,y``), ``forecast.txt`` (each pedestrian's latest window, in the
  ``frame ped x y`` format of the input, so the reader takes it back) and
  ``plots/forecast.png`` (observed and predicted tracks of the last scenes). A style-study
  (CausalMotion) checkpoint forecasts the 20-frame windows of such a file with exactly its number
  of agents, or simulated scenes of given styles, from their first 8 frames, with the
  environment's style (:mod:`motionfc.scene_forecast`), and scores them against their last 12
  (``forecast.csv`` with the true positions, ADE / FDE in ``metrics.json``).
* ``embed``: the style encoder's embeddings (one per scene window, the contrastive space of the
  style loss) or the invariant encoder's latents (one per pedestrian) of a style-study
  (CausalMotion) checkpoint or of an exported encoder, for an ETH/UCY file (windows with exactly
  the model's number of agents) or for simulated scenes of the style study; written with
  :func:`contrastkit.train.write_embeddings` as ``embeddings.npy`` and ``embeddings.ids.json``
  (id ``k`` describes row ``k``: ``"<source>:<scene or first frame>:<pedestrians>"``, e.g.
  ``"0.2:0:0 1"``, the style encoder's one row per scene; ``"0.2:0:1"``, the invariant encoder's
  pedestrian 1) and a PCA plot.
* ``export``: both encoders of a CausalMotion checkpoint as safetensors + JSON
  (:func:`contrastkit.train.export_encoder`), loadable without the training code
  (:func:`load_exported_encoder`).

Checkpoints are rebuilt by :func:`contrastkit.train.load_module` (weights only; the class a checkpoint
records, or for an older file the class the command takes).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

ENCODERS = ("style", "invariant")


def check_finite(values: np.ndarray, what: str, source: str) -> np.ndarray:
    """``values`` ``(N, ...)``, or a ``ValueError`` naming ``source`` when a row holds NaN or an
    infinity (finite weights can still overflow float32): never a file of NaN."""
    bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    if bad.any():
        raise ValueError(f"{source}: non-finite (NaN or infinite) {what} in {int(bad.sum())} of {len(bad)} rows "
                         "(the weights overflow float32: a damaged file?); nothing was written")
    return values


def _forecaster(ckpt_path: str):
    """The model of a checkpoint ``forecast`` takes: an ``eth-ucy`` StgatForecaster or a
    style-study CausalMotion (a clear error for another model's)."""
    from contrastkit.train import CheckpointError, load_module

    from motionfc.baselines import StgatForecaster
    from motionfc.checkpoints import renamed_hparams
    from motionfc.method import CausalMotion

    def older(hparams: dict):  # checkpoints written before classes were recorded
        return CausalMotion if "modular" in hparams else StgatForecaster

    m = load_module(ckpt_path, ("motionfc",), fallback=older, upgrade=renamed_hparams)
    if not isinstance(m, (StgatForecaster, CausalMotion)):
        raise CheckpointError(f"{ckpt_path}: holds a {type(m).__name__}; forecast needs a 'motionfc eth-ucy' (STGAT) "
                              "or a style-study (CausalMotion: fit, demo) checkpoint")
    if isinstance(m, StgatForecaster) and m.hparams.extra_channels:
        raise ValueError(f"{ckpt_path}: a model trained with the spurious channel needs that channel, which a "
                         "'frame ped x y' file does not have; use a model trained without --spurious")
    return m


def forecast(ckpt_path: str = "", path: str = "", styles: list[float] = [0.2, 0.7],  # noqa: B006
             num_scenes: int = 64, split: str = "test", cache_dir: str | None = None, runs_root: str = "runs",
             name: str = "forecast", seed: int = 0, plot_scenes: int = 4) -> dict:
    """Forecast the next 12 positions of pedestrians with an eth-ucy (STGAT) or a style-study checkpoint.

    With an ``eth-ucy`` checkpoint: every window of ``obs_len`` frames of the ``frame ped x y``
    file. With a style-study (CausalMotion) checkpoint: every 20-frame window of the file with
    exactly the model's number of agents, or (no ``path``) the simulated scenes of ``styles``, each
    forecast from its first 8 frames and scored against its last 12 (:mod:`motionfc.scene_forecast`).

    Args:
        ckpt_path: a ``motionfc eth-ucy`` checkpoint (``runs/motionfc/<name>/version_K/checkpoints/best.ckpt``)
            or a CausalMotion one (``motionfc fit`` / ``demo``: ``.../modular/checkpoints/last.ckpt``).
        path: an ETH/UCY ``frame ped x y`` file (meters); with STGAT every window of ``obs_len``
            consecutive frame ids in which a pedestrian is present throughout is forecast.
        styles, num_scenes, split, cache_dir: a CausalMotion checkpoint without ``path``: the
            simulated scenes forecast (``num_scenes`` of each style of ``split``; the simulation
            cache defaults to ``<runs_root>/motionfc/cache``).
        runs_root, name: the run directory (``<runs_root>/motionfc/<name>/version_K``).
        seed: seed of STGAT's noise (the forecast is deterministic for a seed) and of the simulated scenes.
        plot_scenes: how many of the last windows ``plots/forecast.png`` shows.
    """
    config = dict(locals())
    if not ckpt_path:
        raise ValueError("forecast needs --ckpt_path (an eth-ucy or a style-study checkpoint)")
    from motionfc.method import CausalMotion

    m = _forecaster(ckpt_path)
    if isinstance(m, CausalMotion):
        return _forecast_scenes(m, config)
    if not path:
        raise ValueError("forecast with an eth-ucy (STGAT) checkpoint needs --path (a 'frame ped x y' file)")
    return _forecast_tracks(m, config)


def _forecast_scenes(m, config: dict) -> dict:
    """``forecast`` of a CausalMotion model: ``forecast.csv`` (``source,scene,ped,step,x,y,true_x,true_y``),
    ADE / FDE per source and over all (``all``) in ``metrics.json``, ``plots/forecast.png``."""
    from contrastkit.atomic import write_text_atomic
    from contrastkit.train import announce_run, failure_marked, open_run, write_metrics

    from motionfc.data.synthetic import default_cache_dir
    from motionfc.plots import plot_scenes as draw
    from motionfc.scene_forecast import forecast_scenes, scene_errors, scored_rows

    cache_dir = config["cache_dir"] or str(default_cache_dir(config["runs_root"]))
    parts, labels = _scenes_of(config["path"], config["styles"], config["num_scenes"], config["split"],
                               config["seed"], cache_dir, m.hparams.agents)
    preds = [check_finite(forecast_scenes(m, w), "forecasts", config["ckpt_path"]) for w in parts]
    run = open_run(config["runs_root"], "motionfc", config["name"], {"command": "forecast", **config})  # after the checks
    with failure_marked(run):
        lines = ["source,scene,ped,step,x,y,true_x,true_y"]
        for w, pred, label in zip(parts, preds, labels):
            lines += [",".join(map(str, row)) for row in scored_rows(w, pred, label)]
        write_text_atomic(run / "forecast.csv", "\n".join(lines) + "\n")
        metrics = {label: scene_errors(w, pred) for w, pred, label in zip(parts, preds, labels)}
        errors = [metrics[label] for label in labels]
        peds = sum(e["peds"] for e in errors)
        metrics["all"] = {k: sum(e[k] * e["peds"] for e in errors) / peds for k in ("ade", "fde")} | {"peds": peds}
        w, pred = parts[-1], preds[-1]
        draw(w.traj[:, : w.obs_len], w.traj[:, w.obs_len :], {"forecast": pred}, w.seq_start_end,
             run / "plots" / "forecast.png", f"{labels[-1]}: observed, true (dashed) and forecast tracks",
             max_scenes=config["plot_scenes"])
        write_metrics(run, metrics)
    announce_run(run)
    return {**metrics, "run_dir": str(run), "predictions": np.concatenate(preds)}


def _forecast_tracks(m, config: dict) -> dict:
    """``forecast`` of an STGAT model on a ``frame ped x y`` file (module docstring)."""
    import torch
    from contrastkit.train import announce_run, failure_marked, open_run, write_metrics

    from motionfc.data.eth_ucy import read_tracks
    from motionfc.data.windows import windows_from_tracks
    from motionfc.plots import plot_scenes as draw

    ckpt_path, path, plot_scenes = config["ckpt_path"], config["path"], config["plot_scenes"]
    runs_root, name, seed = config["runs_root"], config["name"], config["seed"]
    obs_len, fut_len = m.hparams.obs_len, m.hparams.fut_len
    frames, peds, xy = read_tracks(path)
    # windows of obs_len frames (windows_from_tracks splits them into obs_len - 1 + 1; all are observed)
    w = windows_from_tracks(frames, peds, xy, obs_len=obs_len - 1, fut_len=1, min_ped=0, source=str(path))
    uniq = np.unique(frames)
    step = int(np.median(np.diff(uniq))) if len(uniq) > 1 else 1
    obs = torch.from_numpy(w.traj).float()
    rel = torch.from_numpy(w.rel).float()
    with torch.no_grad():
        pred_rel = m.net(rel, torch.from_numpy(w.seq_start_end), 3, torch.Generator().manual_seed(seed))
    pred = check_finite((obs[:, -1:] + pred_rel.cumsum(1)).numpy(), "forecasts", ckpt_path)  # (N, fut_len, 2)
    run = open_run(runs_root, "motionfc", name, {"command": "forecast", **config})  # after the checks
    with failure_marked(run):
        obs_end = uniq[np.searchsorted(uniq, w.ids[:, 0]) + obs_len - 1]  # last observed frame of each row
        future = obs_end[:, None] + step * np.arange(1, fut_len + 1)[None, :]  # (N, fut_len)
        with (run / "forecast.csv").open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["obs_end_frame", "frame", "ped", "x", "y"])
            for i in range(len(pred)):
                for t in range(fut_len):
                    out.writerow([int(obs_end[i]), int(future[i, t]), int(w.ids[i, 1]),
                                  f"{pred[i, t, 0]:.4f}", f"{pred[i, t, 1]:.4f}"])
        latest = {int(p): i for i, p in enumerate(w.ids[:, 1])}  # rows are in window order: the last wins
        with (run / "forecast.txt").open("w") as f:
            for p, i in sorted(latest.items()):
                for t in range(fut_len):
                    f.write(f"{int(future[i, t])}\t{p}\t{pred[i, t, 0]:.4f}\t{pred[i, t, 1]:.4f}\n")
        last = w.seq_start_end[-plot_scenes:]
        rows = np.arange(last[0, 0], last[-1, 1])
        draw(w.traj[rows], None, {"STGAT forecast": pred[rows]}, last - last[0, 0], run / "plots" / "forecast.png",
             f"{Path(path).name}: observed (grey) and forecast tracks", max_scenes=plot_scenes)
        metrics = {"windows": int(w.num_scenes), "pedestrian_windows": int(len(pred)),
                   "pedestrians": len(latest), "frame_step": step, "checkpoint": str(ckpt_path)}
        write_metrics(run, metrics)
    announce_run(run)
    return {**metrics, "run_dir": str(run), "predictions": pred}


def _encoder_config(encoder, kind: str) -> dict:
    """The constructor arguments of a style or invariant encoder (what ``export_encoder`` stores)."""
    if kind == "style":
        return {"style_frames": encoder.style_frames, "agents": encoder.agents, "style_dim": encoder.style_dim,
                "proj_dim": encoder.head[-1].out_features}
    return {"obs_len": encoder.net[0].in_features // (2 * encoder.agents), "hidden": encoder.hidden,
            "agents": encoder.agents}


def export(ckpt_path: str = "", runs_root: str = "runs", name: str = "export") -> dict[str, str]:
    """Export the style and invariant encoders of a style-study checkpoint as safetensors + JSON.

    The run directory ``<runs_root>/motionfc/<name>/version_K`` gets ``style_encoder.safetensors``
    / ``.json`` and ``invariant_encoder.safetensors`` / ``.json`` (read back by
    :func:`load_exported_encoder` or ``motionfc embed --encoder_path``).

    Args:
        ckpt_path: a CausalMotion checkpoint (``motionfc fit``, ``motionfc demo``).
        runs_root, name: the run directory.
    """
    config = {"command": "export", **locals()}
    from contrastkit.train import announce_run, export_encoder, failure_marked, load_module, open_run

    from motionfc.method import CausalMotion

    if not ckpt_path:
        raise ValueError("export needs --ckpt_path (a CausalMotion checkpoint)")
    # a bad checkpoint stops before a run directory exists
    model = load_module(ckpt_path, ("motionfc",), CausalMotion, fallback=CausalMotion).model
    run = open_run(runs_root, "motionfc", name, config)
    written = {}
    with failure_marked(run):
        for kind, enc, cls in (("style", model.style_encoder, "StyleEncoder"),
                               ("invariant", model.inv_encoder, "InvariantEncoder")):
            written[kind] = str(export_encoder(enc, run / f"{kind}_encoder", _encoder_config(enc, kind), cls))
            print(f"{kind} encoder: {written[kind]}", flush=True)
    announce_run(run)
    return written


def load_exported_encoder(path: str | Path):
    """A ``StyleEncoder`` or ``InvariantEncoder`` rebuilt from ``export``'s files (eval mode)."""
    from contrastkit.train import CheckpointError, build_checked, load_encoder, load_state_checked

    from motionfc.models.modular import InvariantEncoder, StyleEncoder

    state, cls, config = load_encoder(path)
    classes = {"StyleEncoder": StyleEncoder, "InvariantEncoder": InvariantEncoder}
    if cls not in classes:
        raise CheckpointError(f"{path}: exported {cls!r}, not a motionfc encoder ({sorted(classes)})")
    source = Path(path).with_suffix(".safetensors")
    return load_state_checked(build_checked(classes[cls], config, source), state, source).eval()


def _scenes_of(path: str, styles: list[float], num_scenes: int, split: str, seed: int, cache_dir: str | None,
               agents: int) -> tuple[list, list[str]]:
    """``[SceneWindows]`` and a label per part: the file's windows with exactly ``agents``
    pedestrians, or the simulated scenes of each style."""
    if path:
        from motionfc.data.eth_ucy import read_scene

        w = read_scene(path)
        keep = np.flatnonzero(w.seq_start_end[:, 1] - w.seq_start_end[:, 0] == agents)
        if keep.size == 0:
            raise ValueError(f"{path}: no window of 20 frames with exactly {agents} pedestrians (the style-study "
                             "model reads scenes of that many agents)")
        print(f"{path}: {keep.size} of {w.num_scenes} windows have exactly {agents} pedestrians; the others "
              "are skipped", flush=True)
        w = w.subset(keep)
        return [w], [Path(path).stem]
    from motionfc.data.synthetic import style_dataset

    parts = style_dataset(styles, split, num_scenes, seed=seed, cache_dir=cache_dir)
    return list(parts.values()), list(parts)


def embed(ckpt_path: str = "", encoder_path: str = "", path: str = "", encoder: str = "style",
          styles: list[float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],  # noqa: B006
          num_scenes: int = 64, split: str = "test", seed: int = 0, cache_dir: str | None = None,
          runs_root: str = "runs", name: str = "embed") -> dict:
    """Embed scene windows with a style-study encoder: embeddings.npy + embeddings.ids.json + a PCA plot.

    Args:
        ckpt_path: a CausalMotion checkpoint (``motionfc fit`` / ``demo``); or
        encoder_path: an encoder written by ``motionfc export`` (``.safetensors`` with its ``.json``).
        path: an ETH/UCY ``frame ped x y`` file (its 20-frame windows with exactly the model's
            number of agents); empty: simulated scenes of ``styles`` (``num_scenes`` each, ``split``, ``seed``).
        encoder: "style" (one embedding per scene window: the L2-normalised contrastive
            projection of its style code) or "invariant" (one latent per pedestrian); with
            ``encoder_path`` the file decides.
        cache_dir: simulation cache (default ``<runs_root>/motionfc/cache``).
        runs_root, name: the run directory (``<runs_root>/motionfc/<name>/version_K``).
    """
    config = dict(locals())
    import torch
    from contrastkit.train import (
        announce_run,
        failure_marked,
        open_run,
        plot_embeddings,
        write_embeddings,
        write_metrics,
    )

    from motionfc.data.synthetic import default_cache_dir
    from motionfc.models.modular import StyleEncoder

    if bool(ckpt_path) == bool(encoder_path):
        raise ValueError("embed needs exactly one of --ckpt_path (a CausalMotion checkpoint) and --encoder_path")
    if encoder not in ENCODERS:
        raise ValueError(f"encoder must be one of {ENCODERS}; got {encoder!r}")
    if encoder_path:
        enc = load_exported_encoder(encoder_path)
    else:
        from contrastkit.train import load_module

        from motionfc.method import CausalMotion

        model = load_module(ckpt_path, ("motionfc",), CausalMotion, fallback=CausalMotion).model
        enc = model.style_encoder if encoder == "style" else model.inv_encoder
    style = isinstance(enc, StyleEncoder)
    cache_dir = cache_dir or str(default_cache_dir(runs_root))
    parts, labels = _scenes_of(path, styles, num_scenes, split, seed, cache_dir, enc.agents)
    vectors, ids, colour = [], [], []
    with torch.no_grad():
        for w, label in zip(parts, labels):
            traj = torch.from_numpy(w.traj).float()
            vectors.append(enc.embed(enc.codes(traj)) if style else enc(traj[:, : w.obs_len]))
            for s, (a, b) in enumerate(w.seq_start_end):
                first = int(w.ids[a, 0]) if w.ids is not None else s
                peds = [int(w.ids[i, 1]) if w.ids is not None else i - a for i in range(a, b)]
                for ped in ([" ".join(map(str, peds))] if style else peds):
                    ids.append(f"{label}:{first}:{ped}")
                    colour.append(label)
    x = check_finite(torch.cat(vectors).numpy(), "embeddings", encoder_path or ckpt_path)
    run = open_run(runs_root, "motionfc", name, {"command": "embed", **config})  # after the checks
    with failure_marked(run):
        write_embeddings(run, x, ids, model=encoder_path or ckpt_path)
        kind = "style" if style else "invariant"
        plot_embeddings(x, colour, run / "plots" / "embeddings.png", f"{kind} encoder embeddings",
                        label_name="file" if path else "style")
        write_metrics(run, {"embeddings": len(x), "dim": int(x.shape[1]), "encoder": kind})
    announce_run(run)
    return {"run_dir": str(run), "embeddings": x, "ids": ids}
