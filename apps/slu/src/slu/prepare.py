"""``slu prepare`` (read a dataset, cache its features, show the scenario) and ``slu synthesize``
(make a synthetic set; optionally write it as WAVs in the folder-per-class layout)."""

from __future__ import annotations

from pathlib import Path

from slu.data.datamodule import DataConfig
from slu.data.synthetic import SyntheticConfig


def prepare(data: DataConfig = DataConfig()) -> dict:  # noqa: B008
    """Read the dataset, compute and cache its features, train the tokenizer, print the tasks.

    Args:
        data: the data settings (as in ``fit``).
    """
    from slu.data.datamodule import prepare_data

    prepared = prepare_data(data)
    print(prepared.corpus.summary())
    if prepared.corpus.report:
        print("reader report:", {k: v for k, v in prepared.corpus.report.items() if k != "config"})
    for t, classes in enumerate(prepared.tasks):
        print(f"task {t}: {len(prepared.task_indices('train', t))} train / {len(prepared.task_indices('test', t))} "
              f"test clips: {', '.join(classes)}")
    return {"utterances": len(prepared.corpus.utterances), "classes": len(prepared.corpus.classes),
            "tasks": prepared.tasks, "vocab_size": prepared.tokenizer.vocab_size}


def synthesize(synthetic: SyntheticConfig = SyntheticConfig(), cache_dir: str | None = None,  # noqa: B008
               out: str | None = None) -> dict:
    """Synthesize (or read from the cache) a synthetic set; with ``out``, also write
    ``out/<split>/<class>/<n>.wav`` (readable with ``--data.dataset folders``) and ``out/manifest.csv``.

    Args:
        synthetic: the set's settings.
        cache_dir: the cache folder (default ``$SLU_CACHE`` or ``~/.cache/contrastkit/slu``).
        out: a folder to write the WAVs to.
    """
    import csv

    import soundfile as sf

    from slu.data.audio import SAMPLE_RATE
    from slu.data.synthetic import load_or_generate

    corpus, waves = load_or_generate(synthetic, cache_dir)
    print(corpus.summary())
    if out:
        root = Path(out)
        with (root.mkdir(parents=True, exist_ok=True) or (root / "manifest.csv")).open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["path", "split", "intent", "speaker", "transcript"])
            for n, (u, w) in enumerate(zip(corpus.utterances, waves)):
                path = root / u.split / u.intent / f"{n:06d}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(str(path), w.numpy(), SAMPLE_RATE, subtype="PCM_16")
                writer.writerow([str(path.relative_to(root)), u.split, u.intent, u.speaker, u.transcript])
        print(f"wrote {len(waves)} WAVs under {root}")
    return {"utterances": len(corpus.utterances), "classes": len(corpus.classes)}
