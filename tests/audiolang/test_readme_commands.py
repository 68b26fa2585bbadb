"""Every audiolang command of the app's README does what the README says: its result is checked,
not only that it parses (``tests/test_docs_commands.py`` does that for every app).

The commands run in the order the README gives them, in one working folder, as a user would
(``runs/`` relative to it, ``a.wav``, ``b.wav`` and ``captions.txt`` made there, the README's
``<key>`` replaced by the benchmark ``build-benchmark`` just built). Training commands run on
less: the flags of ``SHRINK`` are appended after the documented ones (fewer compositions and
epochs, smaller towers); every documented flag still applies. A README command without a check
in ``CHECKS`` fails :func:`test_every_readme_command_has_a_result_check`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

ROOT = Path(__file__).resolve().parents[2]
README = "apps/audiolang/README.md"
TOWERS = ["--model.dim", "8", "--model.width", "8", "--model.layers", "1", "--model.segments", "2"]
FIT = [*TOWERS, "--data.build_size", "16", "--data.batch_size", "8", "--data.val_fraction", "0.25",
       "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false"]
SHRINK = {  # first word(s) of a documented command -> flags appended to it
    "demo": ["--max_epochs", "1", "--max_epochs_finetune", "1", "--train_size", "16", "--benchmark_size", "4"],
    "fit": FIT,
    "fit --resume": [*FIT, "--trainer.max_epochs", "2"],  # one more epoch than the run it continues
    "study": ["--seeds", "[0]", "--max_epochs", "1", "--max_epochs_finetune", "1", "--train_size", "16",
              "--benchmark_size", "4", "--methods", "[clap, compa_clap]"],
}
CAPTIONS = ["a dog barks, then a clock ticks", "a clock ticks, then a dog barks"]


def _readme_commands() -> list[list[str]]:
    """The argv (without the program) of each audiolang command in the README, in order."""
    spec = importlib.util.spec_from_file_location("docs_commands", ROOT / "tests" / "test_docs_commands.py")
    docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docs)
    return [argv for where, app, argv in docs.documented_commands() if where.startswith(README) and app == "audiolang"]


COMMANDS = _readme_commands()


def _kind(argv: list[str]) -> str:
    """Which check a command gets: its verb, refined by the flag that changes what it does."""
    verb = argv[0]
    if verb == "fit":
        if "--resume" in argv:
            return "fit --resume"
        if "--model.init_from" in argv:
            return "fit --model.init_from"
        return "fit --config" if "--config" in argv else "fit stage 1"
    if verb == "score":
        return "score --captions_file" if "--captions_file" in argv else "score --caption"
    return verb


def _run(argv: list[str]) -> tuple[object, str]:
    from audiolang.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = main(argv)
    return result, out.getvalue()


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> dict[str, tuple[list[str], object, str]]:
    """``{kind: (argv, result, stdout)}`` of every README command, run in order in one folder."""
    from contrastkit.paths import data_root

    work = tmp_path_factory.mktemp("readme")
    for i, name in enumerate(("a.wav", "b.wav")):
        t = np.arange(int(0.8 * 16000)) / 16000
        sf.write(work / name, (0.3 * np.sin(2 * np.pi * (440 + 220 * i) * t)).astype(np.float32), 16000)
    (work / "captions.txt").write_text("\n".join(CAPTIONS) + "\n")
    env, cwd = os.environ.get("CONTRASTKIT_DATA"), Path.cwd()
    os.environ["CONTRASTKIT_DATA"] = str(data_root())  # found from the repository, not from `work`
    os.chdir(work)
    out, benchmark = {"work": work}, None
    try:
        for argv in COMMANDS:
            kind = _kind(argv)
            argv = [a.replace("apps/audiolang/configs/", f"{ROOT}/apps/audiolang/configs/") for a in argv]
            if benchmark is not None:
                argv = [re.sub(r"runs/audiolang/cache/order-<key>/benchmark\.csv", str(benchmark), a) for a in argv]
            shrink = SHRINK.get(kind, SHRINK.get(argv[0], []))
            out[kind] = (argv, *_run([*argv, *shrink]))
            if kind == "build-benchmark":
                benchmark = out[kind][1]
    finally:
        os.chdir(cwd)
        if env is None:
            os.environ.pop("CONTRASTKIT_DATA", None)
        else:
            os.environ["CONTRASTKIT_DATA"] = env
    return out


def _metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def check_demo(work, argv, result, stdout):
    run = work / "runs/audiolang/demo/version_0"
    assert set(result) == {"clap", "compa_clap"}
    table = (run / "table.md").read_text()
    assert "| clap | clap |" in table and "| compa_clap | clap → hn → mod |" in table
    assert all(0 <= result[m]["order/group"] <= 100 for m in result)
    assert "order/unseen/group" in table and "order/seen/group" in table


def check_fit_config(work, argv, result, stdout):
    run = work / "runs/audiolang/fit/version_0"
    assert (run / "checkpoints/last.ckpt").is_file() and (run / "plots/loss.png").is_file()  # `ls .../plots`
    assert result.trainer.current_epoch == 1  # metrics.json has since been rewritten by --resume
    assert "cache/train-" in stdout  # the composed ESC-10 + FSDD training set of the config


def check_fit_resume(work, argv, result, stdout):
    runs = work / "runs/audiolang/fit"
    assert sorted(p.name for p in runs.iterdir()) == ["version_0"]  # the same run, continued
    assert _metrics(runs / "version_0")["epochs_run"] == 2


def check_embed(work, argv, result, stdout):
    from contrastkit.train import read_embeddings

    run = work / "runs/audiolang/embed/version_0"
    assert Path(result) == Path("runs/audiolang/embed/version_0/embeddings.npy")
    emb, ids = read_embeddings(run / "embeddings.npy")
    assert emb.shape == (2, 8) and np.isfinite(emb).all()
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, rtol=1e-5)
    assert ids == ["audio:a.wav", "audio:b.wav"]
    assert sorted(p.name for p in work.iterdir()) == ["a.wav", "b.wav", "captions.txt", "runs"]  # nothing beside


def check_export(work, argv, result, stdout):
    """The exported towers embed the two files as the checkpoint did (``embed`` ran on the same one)."""
    from audiolang.use import load_model

    path = work / "runs/audiolang/export/version_0/encoder.safetensors"
    assert Path(result) == Path("runs/audiolang/export/version_0/encoder.safetensors") and path.with_suffix(".json").is_file()
    emb = np.load(work / "runs/audiolang/embed/version_0/embeddings.npy")
    from audiolang.evaluate import embed_files

    again = embed_files(load_model(str(path)), [work / "a.wav", work / "b.wav"]).numpy()
    np.testing.assert_allclose(again, emb, rtol=1e-5, atol=1e-6)


def check_score_caption(work, argv, result, stdout):
    """One caption, "a dog barks, then a clock ticks", against the two files: one row of two scores."""
    assert np.asarray(result).shape == (1, 2) and np.all(np.abs(result) <= 1 + 1e-6)
    assert [line for line in stdout.splitlines() if " | " in line][-1].endswith(f"| {CAPTIONS[0]}")
    assert _scores_csv(work / "runs/audiolang/score/version_0") == [["caption", "a.wav", "b.wav"],
                                                                   [CAPTIONS[0], *(f"{v:.6f}" for v in result[0])]]


def _scores_csv(run: Path) -> list[list[str]]:
    import csv

    with open(run / "scores.csv", newline="") as f:
        return list(csv.reader(f))


def check_score_captions_file(work, argv, result, stdout):
    assert np.asarray(result).shape == (2, 2)
    assert [line.split(" | ", 1)[1] for line in stdout.splitlines() if " | " in line][-2:] == CAPTIONS
    assert [row[0] for row in _scores_csv(work / "runs/audiolang/score/version_1")[1:]] == CAPTIONS


def check_build_benchmark(work, argv, result, stdout):
    path = work / result  # relative to where it ran
    rows = path.read_text().splitlines()
    # each pair twice: captioned in a seen and in an unseen wording
    assert len(rows) == 1 + 2 * 200 and rows[0].endswith("third_caption,third_file,wording,families")
    assert len(list((path.parent / "audio").glob("order_00199_*.wav"))) == 3  # the pair, reversed, together
    assert f"benchmark: {result}" in stdout


def check_evaluate(work, argv, result, stdout):
    assert {"text", "audio", "group", "third_group", "t2a_R@10", "a2t_R@1", "seen/group", "unseen/group"} <= set(result)
    assert result["group"] == result["unseen/group"]
    assert all(0 <= v <= 100 for v in result.values())
    assert any(a.endswith("benchmark.csv") and "<key>" not in a for a in argv)
    assert _metrics(work / "runs/audiolang/evaluate/version_0") == pytest.approx(result)


def check_fit_stage_1(work, argv, result, stdout):
    run = work / "runs/audiolang/stage1/version_0"
    assert _metrics(run)["epochs_run"] == 1 and (run / "checkpoints/last.ckpt").is_file()


def check_fit_init_from(work, argv, result, stdout):
    """stage 2 from stage 1, stage 3 from stage 2: each starts from the checkpoint it names."""
    from contrastkit.train import load_checkpoint

    for stage, previous in ((2, 1), (3, 2)):
        ckpt = load_checkpoint(work / f"runs/audiolang/stage{stage}/version_0/checkpoints/last.ckpt")
        assert ckpt["hyper_parameters"]["stage"] == stage
        assert ckpt["hyper_parameters"]["init_from"] == f"runs/audiolang/stage{previous}/version_0/checkpoints/last.ckpt"


def check_study(work, argv, result, stdout):
    run = work / "runs/audiolang" / argv[argv.index("--name") + 1] / "version_0"
    table = (run / "table.md").read_text()
    assert "order/unseen/group" in table and "order/seen/group" in table
    assert "| clap |" in table and "| compa_clap |" in table and (run / "plots/scores.png").is_file()
    assert (run / "runs/seed0/clap-hn-mod/metrics.json").is_file()  # CompA-CLAP: stages 1 -> 2 -> 3


CHECKS = {"demo": check_demo, "fit --config": check_fit_config, "fit --resume": check_fit_resume,
          "embed": check_embed, "score --caption": check_score_caption,
          "score --captions_file": check_score_captions_file, "build-benchmark": check_build_benchmark,
          "evaluate": check_evaluate, "export": check_export, "fit stage 1": check_fit_stage_1, "fit --model.init_from": check_fit_init_from,
          "study": check_study}


def test_every_readme_command_has_a_result_check():
    kinds = [_kind(argv) for argv in COMMANDS]
    assert set(kinds) == set(CHECKS), f"README commands without a check: {set(kinds) - set(CHECKS)}"


@pytest.mark.parametrize("kind", list(CHECKS))
def test_readme_command_result(ran, kind):
    argv, result, stdout = ran[kind]
    CHECKS[kind](ran["work"], argv, result, stdout)
