"""The one error type of the data layer: it always names the file (or field) at fault."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad input data: ``DataError(path, problem)`` reads ``"<path>: <problem>"``."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def check_signal(signal, path: str | Path, channels: list[str] | None = None) -> None:
    """Raise :class:`DataError` for an empty signal or NaN/inf values, naming channel and index.

    Args:
        signal: ``(L, C)`` array.
    """
    import numpy as np

    if signal.ndim != 2 or signal.shape[0] == 0 or signal.shape[1] == 0:
        raise DataError(path, f"empty or malformed signal of shape {tuple(signal.shape)}; expected (L>0, C>0)")
    bad = ~np.isfinite(signal)
    if bad.any():
        t, c = np.argwhere(bad)[0]
        name = channels[c] if channels else str(c)
        raise DataError(path, f"{int(bad.sum())} NaN/inf values (first at sample {t}, channel {name})")
