"""Per app, what ``tests/test_app_conformance.py`` needs to run it end to end: the tiniest demo
(the small sizes of the app's own demo tests), the checkpoints of that demo which ``embed`` and the
use command read, embed's input with the rows it must give, and the use command with checks on
what it writes. Everything runs on synthetic data (no ../shared/data)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

RATE = 16000


@dataclass(frozen=True)
class Case:
    """One app's end-to-end settings.

    Attributes:
        demo: the demo's flags besides ``--runs_root`` and ``--threads``.
        embed_model / use_model: the checkpoints the two commands read, relative to the demo's run.
        embed_input: ``(tmp, demo run) -> (flags, ids expected in row order, or their number)``.
        use: ``(main, runs_root, checkpoint, tmp) -> None``: runs the use command and asserts on
            what it writes in ``<runs_root>/<app>/<use>/version_0``.
    """

    demo: tuple[str, ...]
    embed_model: str
    use_model: str
    embed_input: Callable[[Path, Path], tuple[list[str], list[str] | int]]
    use: Callable[[Callable, Path, Path, Path], None]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _tones(folder: Path, n: int) -> list[Path]:
    """``n`` half-second sine tones (330, 440, ... Hz) as 16 kHz WAVs."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(RATE // 2) / RATE
    paths = [folder / f"tone{i}.wav" for i in range(n)]
    for i, path in enumerate(paths):
        sf.write(path, (0.3 * np.sin(2 * np.pi * (330 + 110 * i) * t)).astype(np.float32), RATE)
    return paths


# --- medts: COMET on the synthetic cohort; predict reads the fine-tuned classifier -------------

MEDTS_SAMPLES = 2 * 3 * 2 * 9  # 2 classes x 3 patients x 2 pseudo-trials (10 s / 5 s) x 9 one-second samples


def _medts_use(main, runs: Path, ckpt: Path, tmp: Path) -> None:
    metrics = main(["predict", "--ckpt_path", str(ckpt), "--runs_root", str(runs)])  # the demo's data
    out = runs / "medts/predict/version_0"
    samples, patients = _rows(out / "predictions_samples.csv"), _rows(out / "predictions_patients.csv")
    assert len(samples) == MEDTS_SAMPLES and len(patients) == 2 * 3
    probs = np.array([[float(r["p_class0"]), float(r["p_class1"])] for r in samples])
    assert ((probs >= 0) & (probs <= 1)).all()
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    assert [r["predicted"] for r in samples] == [f"class{k}" for k in probs.argmax(1)]
    truth = np.array([r["label"] == "class1" for r in samples])
    assert metrics["sample/accuracy"] == pytest.approx(np.mean(probs.argmax(1) == truth))


MEDTS = Case(
    demo=("--patients_per_class", "3", "--seconds", "10", "--max_epochs_pretrain", "1", "--max_epochs_finetune", "1",
          "--output_dims", "8", "--hidden_dims", "4", "--depth", "1", "--batch_size", "16", "--progress", "false",
          "--finetune_fraction", "1"),
    embed_model="pretrain/checkpoints/last.ckpt",
    use_model="finetune/checkpoints/best.ckpt",
    embed_input=lambda tmp, run: ([], MEDTS_SAMPLES),  # the data the checkpoint records
    use=_medts_use,
)


# --- slu: one method over the demo's 3 synthetic tasks; embed and predict read WAVs of its test clips ---

def _slu_clips(tmp: Path, runs: Path, n: int = 3) -> tuple[list[Path], list[str]]:
    """``n`` test clips of the demo's synthetic set (read from its cache) as WAVs, and the set's classes."""
    import soundfile as sf
    from slu.data.synthetic import load_or_generate
    from slu.demo import DEMO_DATA

    corpus, waves = load_or_generate(DEMO_DATA.synthetic, runs / "slu/cache")
    (tmp / "clips").mkdir(exist_ok=True)
    paths = []
    for i in corpus.indices("test")[:n]:
        paths.append(tmp / "clips" / f"clip{i}.wav")
        sf.write(paths[-1], waves[i].numpy(), RATE, subtype="FLOAT")
    return paths, corpus.classes


def _slu_embed(tmp: Path, run: Path) -> tuple[list[str], list[str]]:
    files, _ = _slu_clips(tmp, run.parents[2])
    return ["--audio", f"[{', '.join(map(str, files))}]"], [str(f) for f in files]


def _slu_use(main, runs: Path, ckpt: Path, tmp: Path) -> None:
    files, classes = _slu_clips(tmp, runs)
    out = main(["predict", "--ckpt_path", str(ckpt), "--audio", f"[{', '.join(map(str, files))}]",
                "--runs_root", str(runs)])
    assert [r["file"] for r in out] == [str(f) for f in files]
    assert all(r["intent"] in classes for r in out), [r["intent"] for r in out]
    written = _rows(runs / "slu/predict/version_0/predictions.csv")
    assert [(r["file"], r["intent"], r["transcript"]) for r in written] == [
        (r["file"], r["intent"], r["transcript"]) for r in out]


SLU = Case(
    demo=("--methods", "[finetune]", "--max_epochs", "3"),  # 1 epoch a task decodes no intent yet
    embed_model="checkpoints/task_2.ckpt",  # the state after the last of the demo's 3 tasks
    use_model="checkpoints/task_2.ckpt",
    embed_input=_slu_embed,
    use=_slu_use,
)


# --- audiolang: CLAP on synthetic sounds; embed and score read tones and captions --------------

CAPTIONS = ["a dog barks", "a clock ticks, then a bell rings"]


def _audiolang_embed(tmp: Path, run: Path) -> tuple[list[str], list[str]]:
    tones = _tones(tmp / "tones", 2)
    return (["--audio", f"[{tones[0]}, {tones[1]}]", "--caption", CAPTIONS[0]],
            [f"audio:{t}" for t in tones] + [f"text:{CAPTIONS[0]}"])


def _audiolang_use(main, runs: Path, ckpt: Path, tmp: Path) -> None:
    from contrastkit.train import read_embeddings

    tones = _tones(tmp / "tones", 2)
    listed = tmp / "captions.txt"
    listed.write_text("\n".join(CAPTIONS) + "\n")
    sim = np.array(main(["score", "--ckpt_path", str(ckpt), "--audio", f"[{tones[0]}, {tones[1]}]",
                         "--captions_file", str(listed), "--runs_root", str(runs)]))
    assert sim.shape == (2, 2) and (np.abs(sim) <= 1 + 1e-6).all()  # cosines
    rows = list(csv.reader((runs / "audiolang/score/version_0/scores.csv").open(newline="")))
    assert rows[0] == ["caption", str(tones[0]), str(tones[1])] and [r[0] for r in rows[1:]] == CAPTIONS
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in rows[1:]], sim, atol=1e-6)
    # the first caption against the tones, from the embeddings embed wrote (rows: tone 0, tone 1, caption)
    x, _ = read_embeddings(runs / "audiolang/embed/version_0/embeddings.npy")
    np.testing.assert_allclose(sim[0], x[:2] @ x[2], atol=1e-5)


AUDIOLANG = Case(
    demo=("--methods", "[clap]", "--max_epochs", "1", "--max_epochs_finetune", "1", "--train_size", "24",
          "--benchmark_size", "6", "--batch_size", "8"),
    embed_model="runs/seed0/clap/checkpoints/last.ckpt",
    use_model="runs/seed0/clap/checkpoints/last.ckpt",
    embed_input=_audiolang_embed,
    use=_audiolang_use,
)


# --- motionfc: ERM and the modular model on simulated styles; forecast reads simulated scenes ----

def _motionfc_use(main, runs: Path, ckpt: Path, tmp: Path) -> None:
    out = main(["forecast", "--ckpt_path", str(ckpt), "--styles", "[0.2, 0.7]", "--num_scenes", "5",
                "--runs_root", str(runs)])
    run = runs / "motionfc/forecast/version_0"
    # 5 scenes of each of two styles, 2 agents each, 12 future positions
    assert out["run_dir"] == str(run) and out["predictions"].shape == (20, 12, 2)
    assert np.isfinite(out["predictions"]).all()
    rows = _rows(run / "forecast.csv")
    assert len(rows) == 20 * 12 and {r["source"] for r in rows} == {"0.2", "0.7"}
    err = np.array([np.hypot(float(r["x"]) - float(r["true_x"]), float(r["y"]) - float(r["true_y"])) for r in rows])
    assert out["all"]["ade"] == pytest.approx(err.mean(), abs=1e-3) and out["all"]["peds"] == 20
    assert json.loads((run / "metrics.json").read_text())["all"]["ade"] == pytest.approx(out["all"]["ade"])


MOTIONFC = Case(
    demo=("--num_train", "16", "--num_val", "8", "--num_test", "8", "--num_ref", "8", "--max_epochs_p3", "2",
          "--max_epochs_p4", "1", "--max_epochs_p5", "1", "--max_epochs_p6", "2", "--progress", "false"),
    embed_model="modular/checkpoints/last.ckpt",
    use_model="modular/checkpoints/last.ckpt",
    # simulated test scenes, 5 of each of two styles: one style embedding per scene
    embed_input=lambda tmp, run: (["--styles", "[0.2, 0.7]", "--num_scenes", "5"], 10),
    use=_motionfc_use,
)


# --- seqrec: popularity and SASRec on generated sequences; recommend reads histories ----------

def _seqrec_items(ckpt: Path) -> list[str]:
    return [str(i) for i in json.loads((ckpt.parents[1] / "item_ids.json").read_text())]


def _seqrec_use(main, runs: Path, ckpt: Path, tmp: Path) -> None:
    items = _seqrec_items(ckpt)
    histories = {"u1": items[:3], "u2": items[5:12]}
    listed = tmp / "histories.txt"
    listed.write_text("".join(f"{u} {' '.join(h)}\n" for u, h in histories.items()))
    main(["recommend", "--ckpt_path", str(ckpt), "--history_file", str(listed), "--k", "5", "--runs_root", str(runs)])
    rows = _rows(runs / "seqrec/recommend/version_0/recommendations.csv")
    for user, history in histories.items():
        mine = [r for r in rows if r["user"] == user]
        assert [int(r["rank"]) for r in mine] == [1, 2, 3, 4, 5]
        assert all(r["item"] in items and r["item"] not in history for r in mine)  # never an item of the history
        assert len({r["item"] for r in mine}) == 5
        scores = [float(r["score"]) for r in mine]
        assert np.isfinite(scores).all() and scores == sorted(scores, reverse=True)
    assert {r["user"] for r in rows} == set(histories)


SEQREC = Case(
    demo=("--max_epochs", "2", "--num_users", "150", "--num_items", "40", "--methods", "[popularity, sasrec]",
          "--progress", "false"),
    embed_model="sasrec/checkpoints/best.ckpt",
    use_model="sasrec/checkpoints/best.ckpt",
    embed_input=lambda tmp, run: ([], _seqrec_items(run / "sasrec/checkpoints/best.ckpt")),  # one row per item
    use=_seqrec_use,
)

CASES = {"medts": MEDTS, "slu": SLU, "audiolang": AUDIOLANG, "motionfc": MOTIONFC, "seqrec": SEQREC}
