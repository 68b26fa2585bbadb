"""slu speed: one training step of ER, COCONUT and ER + S-KD at the demo's size, and iCaRL herding
for 1 % of an FSC-size training set.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/slu_speed.py [--repeats 20] [--threads 1]

The step is forward + backward + AdamW on one batch like the demo's (16 clips of 1.4 s log-mel,
4 of them from the rehearsal memory, targets of 10 tokens) on the task after the first (a
teacher exists). COCONUT adds the teacher's encoder pass on the rehearsal clips, the NSPT loss and
the audio-text loss; ER + S-KD adds a decoder pass on the rehearsal clips (the teacher's decoded
targets are computed once per task, not per step). The target: the contrastive terms cost at
most 30 % over ER's step. Herding: 23,132 clips (FSC's training set) in 31 classes, 96-d
features, 1 % = 231 exemplars (7 or 8 per class); the target: under 10 s.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from slu.memory import RehearsalMemory
from slu.method import ContinualSLU
from slu.models.seq2seq import SLUModel

VOCAB, FRAMES, MELS, BATCH, REHEARSAL, TOKENS = 120, 140, 40, 16, 4, 10


def batch(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(5, VOCAB, (BATCH, TOKENS), generator=g)
    tokens[:, 0], tokens[:, -1] = 1, 2
    return {"feats": torch.randn(BATCH, FRAMES, MELS, generator=g), "lengths": torch.full((BATCH,), FRAMES),
            "tokens": tokens, "labels": torch.randint(0, 8, (BATCH,), generator=g),
            "rehearsal": torch.arange(BATCH) < REHEARSAL, "skd_tokens": tokens.flip(0), "index": torch.arange(BATCH)}


def step_fn(method: str):
    """One training step of ``method`` on :func:`batch` (a closure over its own model and optimizer)."""
    torch.manual_seed(0)
    model = SLUModel(VOCAB, d_model=96, encoder_layers=2, decoder_layers=1, ff=192)
    module = ContinualSLU(model, copy.deepcopy(model).eval(), eos_id=2, name=method)
    module.train(True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    b = batch()

    def step():
        loss = module.compute_losses(b, "train")["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def step_times(methods: tuple[str, ...], repeats: int) -> dict[str, float]:
    """Median step time per method, the methods interleaved in every round (a load change on a
    shared machine hits them all alike)."""
    steps = {m: step_fn(m) for m in methods}
    times: dict[str, list[float]] = {m: [] for m in methods}
    for m in methods:
        steps[m]()  # warm-up
    for _ in range(repeats):
        for m in methods:
            t = time.perf_counter()
            steps[m]()
            times[m].append(time.perf_counter() - t)
    return {m: statistics.median(v) for m, v in times.items()}


def herding_time(n: int = 23_132, classes: int = 31, dim: int = 96, percent: float = 1.0) -> tuple[float, int]:
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, classes, (n,), generator=g)
    feats = torch.randn(n, dim, generator=g)
    mem = RehearsalMemory(n, memory_percent=percent, selection="herding")
    by_class = {c: torch.nonzero(labels == c).flatten().tolist() for c in range(classes)}
    t = time.perf_counter()
    mem.update(by_class, {c: feats[idx] for c, idx in by_class.items()})
    return time.perf_counter() - t, len(mem.indices())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = step_times(("er", "coconut", "er_skd", "coconut_skd"), args.repeats)
    print(f"| method | step (ms, median of {args.repeats}) | vs ER |\n|---|---|---|")
    for m, s in rows.items():
        print(f"| {m} | {1000 * s:.1f} | {s / rows['er']:.2f}x |")
    seconds, size = herding_time()
    print(f"\nherding, 1 % of 23,132 clips (31 classes, 96-d): {size} exemplars in {seconds:.2f} s")


if __name__ == "__main__":
    main()
