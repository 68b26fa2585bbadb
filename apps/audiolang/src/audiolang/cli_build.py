"""``audiolang build-benchmark``: a CompA-style benchmark (CSV + WAV) built from clips."""

from __future__ import annotations

from audiolang.data.build import ClipConfig


def build(kind: str = "order", n: int = 200, seed: int = 0, clips: ClipConfig = ClipConfig(),  # noqa: B008
          out: str = "runs/audiolang/cache", third: bool = True) -> str:
    """Build (or reuse) an order or attribute benchmark from the test groups' clips; prints the CSV path.

    Args:
        kind: ``order`` or ``attribute``.
        n: pairs.
        seed: draws the pairs.
        clips: sources (``synthetic``, ``esc10``, ``fsdd``), test groups, rate, cutting.
        out: cache folder.
        third: add the "A and B at the same time" third pair (order).
    """
    from audiolang.data.build import build_benchmark

    if n < 1:
        raise ValueError(f"--n (pairs) must be at least 1; got {n}")
    path = build_benchmark(out, kind, n, seed, clips, third)
    print(f"benchmark: {path}")
    return str(path)
