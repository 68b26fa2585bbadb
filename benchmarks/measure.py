"""Measure one benchmark case in this (fresh) process and print one JSON line.

Usage: ``python benchmarks/measure.py '{"loss": "nt_xent", "impl": "ours", "n": 256, "d": 128,
"repeats": 3, "warmup": 1, "threads": 1, "max_bytes": 8589934592}'``

Time: wall-clock of ``loss = fn(); loss.backward()`` per repeat (median reported by the driver).
Memory: the inputs are allocated first, then the kernel's peak-RSS mark (``VmHWM``) is reset
through ``/proc/self/clear_refs`` and the peak of the runs minus the RSS at that point is
reported, so imports and inputs are not counted. Where the reset is unavailable, the
process-lifetime ``ru_maxrss`` is used instead (an over-estimate, flagged in the output).
An address-space limit (current size + ``max_bytes`` + 1 GiB) makes a runaway case fail with
an out-of-memory error instead of starving the shared machine.
"""

from __future__ import annotations

import gc
import json
import os
import re
import resource
import sys
import time


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


def run(spec: dict) -> dict:
    """Run the case described by ``spec`` and return the measurement (see module docstring)."""
    import torch

    torch.set_num_threads(int(spec.get("threads", 1)))
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import loss_cases

    try:
        case = loss_cases.build(spec["loss"], spec["impl"], int(spec["n"]), int(spec["d"]))
    except loss_cases.PeerMissing as err:
        return {"status": "not installed", "detail": str(err)}
    gc.collect()
    base = _status_kib("VmRSS") * 1024
    max_bytes = int(spec.get("max_bytes", 0))
    if max_bytes:
        limit = _status_kib("VmSize") * 1024 + max_bytes + (1 << 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    reset_ok = _reset_peak()
    times, value = [], float("nan")
    try:
        for i in range(int(spec.get("warmup", 1)) + int(spec.get("repeats", 3))):
            for leaf in case.leaves:
                leaf.grad = None
            t0 = time.perf_counter()
            loss = case.loss_fn()
            loss.backward()
            elapsed = time.perf_counter() - t0
            value = float(loss.detach())
            del loss
            if i >= int(spec.get("warmup", 1)):
                times.append(elapsed)
    except (MemoryError, RuntimeError) as err:
        if isinstance(err, MemoryError) or "alloc" in str(err).lower() or "memory" in str(err).lower():
            return {"status": "out of memory", "detail": str(err).splitlines()[0][:200]}
        raise
    return {
        "status": "ok",
        "times": times,
        "loss_value": value,
        "peak_bytes": _peak_bytes(reset_ok) - base,
        "peak_exact": reset_ok,
    }


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
