"""``slu prepare`` (read a dataset, cache its features, show the scenario) and ``slu synthesize``
(make a synthetic set; optionally write it as WAVs in the folder-per-class layout into a run folder)."""

from __future__ import annotations

from slu.data.datamodule import DataConfig
from slu.data.synthetic import SyntheticConfig


def prepare(data: DataConfig = DataConfig(), runs_root: str = "runs") -> dict:  # noqa: B008
    """Read the dataset, compute and cache its features, train the tokenizer, print the tasks.

    Args:
        data: the data settings (as in ``fit``).
        runs_root: the runs folder (the cache defaults to ``<runs_root>/slu/cache``).
    """
    from slu.data.datamodule import prepare_data

    prepared = prepare_data(data, runs_root)
    print(prepared.corpus.summary())
    if prepared.corpus.report:
        print("reader report:", {k: v for k, v in prepared.corpus.report.items() if k != "config"})
    for t, classes in enumerate(prepared.tasks):
        print(f"task {t}: {len(prepared.task_indices('train', t))} train / {len(prepared.task_indices('test', t))} "
              f"test clips: {', '.join(classes)}")
    return {"utterances": len(prepared.corpus.utterances), "classes": len(prepared.corpus.classes),
            "tasks": prepared.tasks, "vocab_size": prepared.tokenizer.vocab_size}


def synthesize(synthetic: SyntheticConfig = SyntheticConfig(), cache_dir: str | None = None,  # noqa: B008
               wavs: bool = False, runs_root: str = "runs", name: str = "synthesize") -> dict:
    """Synthesize (or read from the cache) a synthetic set; with ``wavs``, also write
    ``<split>/<class>/<n>.wav`` (readable with ``--data.dataset folders --data.data_root <that folder>``)
    and ``manifest.csv`` into ``<runs_root>/slu/<name>/version_K/``.

    Args:
        synthetic: the set's settings.
        cache_dir: the cache folder (default ``<runs_root>/slu/cache``).
        wavs: write the set as WAV files into a run folder.
        runs_root: the runs folder.
        name: the run's name.
    """
    import csv
    import io
    from dataclasses import asdict
    from pathlib import Path

    import soundfile as sf
    from contrastkit.atomic import write_text_atomic
    from contrastkit.train import announce_run, failure_marked, open_run

    from slu.data.audio import SAMPLE_RATE
    from slu.data.synthetic import load_or_generate

    corpus, waves = load_or_generate(synthetic, cache_dir or Path(runs_root) / "slu" / "cache")
    print(corpus.summary())
    out = {"utterances": len(corpus.utterances), "classes": len(corpus.classes)}
    if not wavs:
        return out
    root = open_run(runs_root, "slu", name, {"synthetic": asdict(synthetic)})
    with failure_marked(root):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["path", "split", "intent", "speaker", "transcript"])
        for n, (u, w) in enumerate(zip(corpus.utterances, waves)):
            path = root / u.split / u.intent / f"{n:06d}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), w.numpy(), SAMPLE_RATE, subtype="PCM_16")
            writer.writerow([str(path.relative_to(root)), u.split, u.intent, u.speaker, u.transcript])
        write_text_atomic(root / "manifest.csv", text.getvalue())
    print(f"wrote {len(waves)} WAVs under {root}")
    announce_run(root)
    return {**out, "folder": str(root)}
