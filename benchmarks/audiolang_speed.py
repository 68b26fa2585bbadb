"""audiolang speed: a stage-1, -2 and -3 training step at the same batch, split into audio tower, text
tower and loss; and building 4,000 training compositions and a 4,000-pair order benchmark from real clips.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/audiolang_speed.py [--batch 16] [--repeats 5] [--build 4000] [--sources esc10,fsdd]

The clips are read from ``../shared/data`` (``CONTRASTKIT_DATA``); ``--sources synthetic`` needs no data.
Loading (decode, trim, resample) is timed apart from building (mixing, captions, WAV writing).

Forward + backward per part (the loss's backward includes nothing of the towers: their outputs are
detached leaves there). Stages 2 and 3 encode K negatives (and P positives) per audio as well.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from audiolang.data.build import ClipConfig, build_benchmark, build_training_set, load_clips
from audiolang.data.datamodule import AudioTextDataModule
from audiolang.method import CompaClap


def _timed(fn, repeats: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t) / repeats


def step_split(module: CompaClap, batch: dict, repeats: int) -> dict[str, float]:
    from audiolang.losses import clap_loss, compositional_loss

    enc, b = module.encoder, batch["audio"].shape[0]
    k = len(batch["negatives"][0]) if module.stage > 1 else 0
    p = len(batch["positives"][0]) if module.stage == 3 else 0
    texts = list(batch["captions"]) + [t for i in range(b) for t in batch["positives"][i][:p] + batch["negatives"][i][:k]]
    ids, mask = enc.tokenize(texts)
    audio = enc.encode_audio(batch["audio"], batch["lengths"]).detach().requires_grad_()
    text = enc.encode_text(ids, mask).detach().requires_grad_()

    def loss():
        scale = enc.logit_scale()
        if module.stage == 1:
            out = clap_loss(audio, text, scale)
        else:
            rest = text[b:].reshape(b, p + k, -1)
            out = compositional_loss(audio, text[:b], rest[:, p:], scale, positives=rest[:, :p] if p else None)
        out["loss"].backward()

    return {"audio tower": _timed(lambda: enc.encode_audio(batch["audio"], batch["lengths"]).sum().backward(), repeats),
            "text tower": _timed(lambda: enc.encode_text(ids, mask).sum().backward(), repeats),
            "loss": _timed(loss, repeats), "captions": len(texts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--build", type=int, default=4000)
    parser.add_argument("--sources", default="esc10,fsdd", help="clip sources, comma-separated")
    args = parser.parse_args()
    torch.manual_seed(0)
    config = ClipConfig(sources=tuple(args.sources.split(",")))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        train_clips, test_clips = load_clips(config, test=False), load_clips(config, test=True)
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        manifest = build_training_set(tmp, args.build, 0, config, clip_set=train_clips)
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        build_benchmark(tmp, "order", args.build, 0, config, clip_set=test_clips)
        bench_s = time.perf_counter() - t
        data = AudioTextDataModule(manifest=str(manifest), batch_size=args.batch)  # the set just built
        data.setup()
        batch = next(iter(data.train_dataloader()))
        print(f"threads {torch.get_num_threads()}, batch {args.batch}, audio {tuple(batch['audio'].shape)}")
        print("| stage | captions | audio tower (s) | text tower (s) | loss (s) | loss share |")
        print("|---|---|---|---|---|---|")
        for stage in (1, 2, 3):
            s = step_split(CompaClap(stage=stage), batch, args.repeats)
            total = s["audio tower"] + s["text tower"] + s["loss"]
            print(f"| {stage} | {s['captions']} | {s['audio tower']:.4f} | {s['text tower']:.4f} | {s['loss']:.4f} | "
                  f"{100 * s['loss'] / total:.1f} % |")
    print(f"\nclips {args.sources}: loading {len(train_clips.clips) + len(test_clips.clips)} clips {load_s:.1f} s, "
          f"building {args.build} training compositions (+ their negative audio) {build_s:.1f} s, "
          f"a {args.build}-pair order benchmark (+ third pairs) {bench_s:.1f} s")


if __name__ == "__main__":
    main()
