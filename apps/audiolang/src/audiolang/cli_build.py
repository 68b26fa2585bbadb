"""``audiolang build-benchmark``: a CompA-style benchmark (CSV + WAV) built from clips."""

from __future__ import annotations

from pathlib import Path

from audiolang.data.build import ClipConfig


def build(kind: str = "order", n: int = 200, seed: int = 0, clips: ClipConfig = ClipConfig(),  # noqa: B008
          runs_root: str = "runs", third: bool = True) -> str:
    """An order or attribute benchmark from the test groups' clips (built or reused); prints its CSV.

    Args:
        kind: ``order`` or ``attribute``.
        n: pairs.
        seed: draws the pairs.
        clips: sources (``synthetic``, ``esc10``, ``fsdd``), test groups, rate, cutting.
        runs_root: the runs folder; the benchmark is cached in ``<runs_root>/audiolang/cache/<kind>-<key>/``.
        third: add the "A and B at the same time" third pair (order).
    """
    from audiolang.data.build import build_benchmark

    if n < 1:
        raise ValueError(f"--n (pairs) must be at least 1; got {n}")
    path = build_benchmark(Path(runs_root) / "audiolang" / "cache", kind, n, seed, clips, third)
    print(f"benchmark: {path}")
    return str(path)
