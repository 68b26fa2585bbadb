"""Measure benchmark cases in this (fresh) process and print one JSON line.

Usage: ``python benchmarks/measure.py '{"mode": "time", "loss": "nt_xent", "impls": ["ours",
"dense"], "n": 256, "d": 128, "repeats": 3, "threads": 1}'``

``mode="memory"`` (one implementation): the inputs are allocated, then the kernel's peak-RSS
mark (``VmHWM``) is reset through ``/proc/self/clear_refs``, one forward + backward runs, and
the peak minus the RSS at the reset is reported, so imports and inputs are not counted. Where
the reset is unavailable the process-lifetime ``ru_maxrss`` is used (an over-estimate, flagged
``peak_exact: false``). An address-space limit (current size + ``max_bytes`` + 1 GiB) makes a
runaway case fail with "out of memory" instead of starving the shared machine.

``mode="time"`` (several implementations of one loss at one N): one warm-up each, then
``repeats`` rounds in which every implementation runs (k times, k chosen so that a round lasts at
least ``min_round`` seconds; the round's mean is its time), in an order rotated each round.
Interleaving keeps the ratios fair when the machine's load drifts during the run.

The driver (``losses.py``) calls :func:`run` in a forked child per measurement, after importing
torch and the peers once; running this file directly does the same from a fresh interpreter.
"""

from __future__ import annotations

import gc
import json
import math
import os
import re
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import loss_cases


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        match = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"/proc/self/status has no {field}")
    return int(match.group(1))


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") <= _status_kib("VmRSS") + 4


def _peak_bytes(reset_ok: bool) -> int:
    if reset_ok:
        return _status_kib("VmHWM") * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _step(case: loss_cases.Case) -> tuple[float, float]:
    """One forward + backward: ``(seconds, loss value)``."""
    for leaf in case.leaves:
        leaf.grad = None
    t0 = time.perf_counter()
    loss = case.loss_fn()
    loss.backward()
    return time.perf_counter() - t0, float(loss.detach())


def _is_oom(err: BaseException) -> bool:
    text = str(err).lower()
    return isinstance(err, MemoryError) or "alloc" in text or "memory" in text


def measure_memory(spec: dict) -> dict:
    (impl,) = spec["impls"]
    case = loss_cases.build(spec["loss"], impl, int(spec["n"]), int(spec["d"]))
    gc.collect()
    base = _status_kib("VmRSS") * 1024
    if int(spec.get("max_bytes", 0)):
        limit = _status_kib("VmSize") * 1024 + int(spec["max_bytes"]) + (1 << 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    reset_ok = _reset_peak()
    try:
        seconds, value = _step(case)
    except (MemoryError, RuntimeError) as err:
        if _is_oom(err):
            return {"status": "out of memory", "detail": str(err).splitlines()[0][:200]}
        raise
    return {"status": "ok", "seconds": seconds, "loss_value": value,
            "peak_bytes": _peak_bytes(reset_ok) - base, "peak_exact": reset_ok}


def measure_time(spec: dict) -> dict:
    impls = list(spec["impls"])
    cases = {i: loss_cases.build(spec["loss"], i, int(spec["n"]), int(spec["d"])) for i in impls}
    warm = {i: _step(cases[i]) for i in impls}
    values = {i: warm[i][1] for i in impls}
    # Runs per round so that each round of a fast case lasts >= min_round seconds (timeit's
    # autorange): single fast runs are dominated by scheduler noise on a loaded machine.
    inner = {i: max(1, min(1000, math.ceil(float(spec.get("min_round", 0.2)) / max(warm[i][0], 1e-6))))
             for i in impls}
    times: dict[str, list[float]] = {i: [] for i in impls}
    for r in range(int(spec.get("repeats", 3))):
        for i in impls[r % len(impls):] + impls[:r % len(impls)]:
            total = 0.0
            for _ in range(inner[i]):
                seconds, values[i] = _step(cases[i])
                total += seconds
            times[i].append(total / inner[i])
    return {"status": "ok", "times": times, "loss_values": values, "runs_per_round": inner}


def run(spec: dict) -> dict:
    """Run ``spec`` (see module docstring); a missing peer gives ``status: not installed``."""
    import torch

    torch.set_num_threads(int(spec.get("threads", 1)))
    try:
        return measure_memory(spec) if spec["mode"] == "memory" else measure_time(spec)
    except loss_cases.PeerMissing as err:
        return {"status": "not installed", "detail": str(err)}


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
