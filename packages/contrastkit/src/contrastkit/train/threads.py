"""The CPU thread policy shared by every command of every app.

``--threads N`` sets torch's intra-op threads to ``N``; without it, a command uses the cores this
process may run on (``os.sched_getaffinity``), never more. Two jobs sharing a machine should each
be given their share (``--threads 1`` on two cores): OpenMP threads that outnumber the free cores
spin and wait for each other, which made a 3x load cost 20x the time.
"""

from __future__ import annotations

import os


def available_cores() -> int:
    """The number of CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def set_threads(threads: int | None = None) -> int:
    """Use ``threads`` intra-op threads (default: :func:`available_cores`); returns the number set."""
    import torch

    if threads is None:
        threads = available_cores()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer; got {threads!r}")
    torch.set_num_threads(threads)
    return threads
