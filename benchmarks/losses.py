"""Forward + backward time and peak memory of ContrastKit's losses against their peers.

Float32, D = 128 by default. Every measurement runs in its own forked child process
(``benchmarks/measure.py``; torch and the peers are imported once in the parent). Peak memory:
one forward + backward per (loss, implementation, N), peak RSS above the RSS after the inputs
were allocated. Time: the implementations of one (loss, N) in one child, one warm-up each, then
the median of 3 rounds that interleave them. Results are appended to
``<out>.jsonl`` as each (loss, N) finishes (``--resume`` reuses them) and the Markdown table
is written to ``<out>``.

    python benchmarks/losses.py                       # N = 256, 1024, 4096, 16384 + N = 65,536
    python benchmarks/losses.py --quick               # N <= 1024 only, no large-N memory case
    python benchmarks/losses.py --sizes 64 --big 0 --out runs/benchmarks/tiny.md

A case is skipped, with the reason in its cell, when its peer is not installed, or when its
peak memory or run time projected from the previous size (or, for the first size, a prior
estimate) exceeds ``--max-gib`` / ``--max-case-seconds``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import loss_cases
import measure

GIB = float(1 << 30)
DEFAULT_SIZES = [256, 1024, 4096, 16384]
# (loss, peer impl, minimum speed-up of ours) from the foundation issue.
TARGETS = [("nt_xent", "lightly", 1.5), ("nt_xent", "dense", 1.0), ("supcon", "pml", 1.2), ("clip", "open_clip", 1.0)]
NAMES = {
    "ours": "contrastkit", "ours_chunked": f"contrastkit chunk_size={loss_cases.CHUNK}",
    "lightly": "lightly NTXentLoss", "dense": "dense F.cross_entropy", "open_clip": "open_clip ClipLoss",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES, help="N pairs")
    p.add_argument("--quick", action="store_true", help="keep only N <= 1024 and skip the large-N case")
    p.add_argument("--losses", nargs="+", default=list(loss_cases.IMPLS), choices=list(loss_cases.IMPLS))
    p.add_argument("--d", type=int, default=128, help="embedding dimension")
    p.add_argument("--threads", type=int, default=1, help="torch threads per case")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--max-gib", type=float, default=8.0, help="skip cases projected above this peak")
    p.add_argument("--max-case-seconds", type=float, default=900.0, help="skip cases projected above this")
    p.add_argument("--big", type=int, default=65536, help="N pairs of the chunked memory case (0: none)")
    p.add_argument("--out", type=Path, default=Path("runs/benchmarks/losses.md"))
    p.add_argument("--resume", action="store_true", help="reuse finished cases from <out>.jsonl")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = [n for n in args.sizes if n <= 1024] or [256]
        args.big = 0
    if min(args.sizes) < 2 or args.d < 1 or args.repeats < 1 or args.threads < 1:
        p.error("--sizes must be >= 2 and --d, --repeats, --threads >= 1")
    return args


def case_key(loss: str, impl: str, n: int, args: argparse.Namespace) -> str:
    return f"{loss}/{impl}/n={n}/d={args.d}/threads={args.threads}/repeats={args.repeats}"


def _child(spec: dict, conn) -> None:
    try:
        conn.send(measure.run(spec))
    except BaseException as err:  # noqa: BLE001 - reported in the table, never silently dropped
        conn.send({"status": f"failed: {type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}"})
    finally:
        conn.close()


def run_case(spec: dict, timeout: float) -> dict:
    """Run ``measure.run(spec)`` in a forked child (its own address space, rlimit and peak-RSS
    mark; torch and the peers already imported); never raises for a failed case."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(spec, child))
    proc.start()
    child.close()
    if not parent.poll(timeout):
        proc.kill()
        proc.join()
        return {"status": f"skipped: timed out after {timeout:.0f} s"}
    try:
        res = parent.recv()
    except EOFError:
        res = None
    proc.join()
    if res is None:
        return {"status": f"failed: child exited with code {proc.exitcode} (killed for memory?)"}
    return res


def projected_skip(args, loss: str, impl: str, n: int, last: dict | None) -> str | None:
    """The reason to skip this case, projected from the last measured size (or a prior)."""
    e = loss_cases.memory_exponent(loss, impl)
    if last is None:
        mem, secs, basis = loss_cases.prior_bytes(loss, impl, n), 0.0, "estimated"
    else:
        ratio = (n / last["n"]) ** e
        mem = max(last["peak_bytes"], 1) * ratio
        secs = (args.repeats + 2) * statistics.median(last["times"]) * ratio
        basis = f"projected from N={last['n']} ({'cubic' if e == 3 else 'quadratic'})"
    if mem > args.max_gib * GIB:
        return f"skipped: {basis} peak {mem / GIB:.0f} GiB > {args.max_gib:g} GiB"
    if secs > args.max_case_seconds:
        return f"skipped: {basis} {secs:.0f} s > {args.max_case_seconds:g} s"
    return None


def measure_group(args, loss: str, n: int, last: dict) -> dict[str, dict]:
    """All implementations of ``loss`` at ``n``: peak memory each in a fresh process, then their
    times interleaved in one process (see measure.py)."""
    base = {"loss": loss, "n": n, "d": args.d, "threads": args.threads, "max_bytes": int(args.max_gib * GIB)}
    rows: dict[str, dict] = {}
    for impl in loss_cases.IMPLS[loss]:
        skip = projected_skip(args, loss, impl, n, last.get((loss, impl)))
        if not loss_cases.peer_installed(loss, impl):
            rows[impl] = {"status": "not installed"}
        elif skip:
            rows[impl] = {"status": skip}
        else:
            rows[impl] = run_case({**base, "mode": "memory", "impls": [impl]}, timeout=args.max_case_seconds)
    timed = [i for i, r in rows.items() if r["status"] == "ok"]
    if timed:
        res = run_case({**base, "mode": "time", "impls": timed, "repeats": args.repeats},
                       timeout=args.max_case_seconds * len(timed))
        for i in timed:
            if res["status"] == "ok":
                rows[i]["times"] = res["times"][i]
            else:
                rows[i]["status"] = res["status"]
    return rows


def measure_big(args, loss: str) -> dict:
    """One chunked forward + backward at ``--big`` pairs, in a fresh process (memory mode)."""
    spec = {"mode": "memory", "loss": loss, "impls": ["ours_chunked"], "n": args.big, "d": args.d,
            "threads": args.threads, "max_bytes": int(args.max_gib * GIB)}
    res = run_case(spec, timeout=4 * args.max_case_seconds)
    if res["status"] == "ok":
        res["times"] = [res["seconds"]]
    return res


def load_done(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    return {r["key"]: r for r in map(json.loads, path.read_text().splitlines()) if r.get("key")}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    loss_cases.preload()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    jsonl = args.out.with_suffix(".jsonl")
    done = load_done(jsonl) if args.resume else {}
    if not args.resume:
        jsonl.write_text("")
    started, load0 = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.getloadavg()
    results: list[dict] = []
    last: dict[tuple[str, str], dict] = {}
    groups = [(loss, n, False) for loss in args.losses for n in sorted(args.sizes)]
    groups += [(loss, args.big, True) for loss in args.losses] if args.big else []
    for g, (loss, n, is_big) in enumerate(groups):
        impls = ["ours_chunked"] if is_big else loss_cases.IMPLS[loss]
        keys = {i: case_key(loss, i, n, args) + ("/big" if is_big else "") for i in impls}
        if all(k in done for k in keys.values()):
            rows = {i: done[k] for i, k in keys.items()}
        else:
            rows = {"ours_chunked": measure_big(args, loss)} if is_big else measure_group(args, loss, n, last)
            with jsonl.open("a") as f:
                for i, r in rows.items():
                    rows[i] = {**r, "loss": loss, "impl": i, "n": n, "key": keys[i], "big": is_big}
                    f.write(json.dumps(rows[i]) + "\n")
        for i, r in rows.items():
            if r["status"] == "ok" and not is_big:
                last[(loss, i)] = r
            results.append(r)
            print(f"[group {g + 1}/{len(groups)}] {r['key']}: {summary(r)}", flush=True)
    meta = {"started": started, "load0": load0, "load1": os.getloadavg(), "args": args}
    args.out.write_text(render(results, meta))
    print(f"wrote {args.out} and {jsonl}")
    return 0


def summary(res: dict) -> str:
    if res["status"] != "ok":
        return res["status"]
    return f"{statistics.median(res['times']):.4g} s, peak {res['peak_bytes'] / 2**20:.0f} MiB, loss {res['loss_value']:.5f}"


def _median(res: dict | None) -> float | None:
    return statistics.median(res["times"]) if res and res["status"] == "ok" else None


def render(results: list[dict], meta: dict) -> str:
    """The Markdown report: one table per loss, the large-N memory case, and the target checks."""
    args = meta["args"]
    by = {(r["loss"], r["impl"], r["n"]): r for r in results if not r["big"]}
    import torch

    out = [
        (f"Run {meta['started']}: torch {torch.__version__}, {platform.processor() or platform.machine()}, "
         f"{os.cpu_count()} CPUs, {args.threads} torch thread(s) per case, float32, D={args.d}; "
         f"load average {meta['load0'][0]:.2f} at start, {meta['load1'][0]:.2f} at end."),
        "",
        ("Time: forward + backward, median of "
         f"{args.repeats} after one warm-up, the implementations of one loss and N interleaved in one "
         "process. Peak: RSS high-water mark of one forward + backward above the RSS after the inputs "
         "were allocated, in a fresh process per case. 'ours faster' = peer time / contrastkit time."),
    ]
    for loss in args.losses:
        out += ["", f"### {loss}", "", "| N pairs | implementation | fwd+bwd (s) | ours faster | peak (MiB) | loss value |",
                "| ---: | --- | ---: | ---: | ---: | ---: |"]
        for n in sorted(args.sizes):
            ours = _median(by.get((loss, "ours", n)))
            for impl in loss_cases.IMPLS[loss]:
                r = by.get((loss, impl, n))
                if r is None:
                    continue
                name = NAMES.get(impl, f"pytorch-metric-learning {'NTXentLoss' if loss == 'nt_xent' else 'SupConLoss'}")
                if r["status"] != "ok":
                    out.append(f"| {n} | {name} | {r['status']} | | | |")
                    continue
                t = _median(r)
                ratio = f"{t / ours:.2f}x" if ours and impl != "ours" else ""
                out.append(f"| {n} | {name} | {t:.4g} | {ratio} | {r['peak_bytes'] / 2**20:.0f} | {r['loss_value']:.5f} |")
    bigs = [r for r in results if r["big"]]
    if bigs:
        out += ["", f"### Large N with chunk_size={loss_cases.CHUNK} (one forward + backward)", "",
                "| loss | N pairs | fwd+bwd (s) | peak (GiB) | within 8 GiB |", "| --- | ---: | ---: | ---: | --- |"]
        for r in bigs:
            if r["status"] != "ok":
                out.append(f"| {r['loss']} | {r['n']} | {r['status']} | | |")
            else:
                gib = r["peak_bytes"] / GIB
                out.append(f"| {r['loss']} | {r['n']} | {r['times'][0]:.1f} | {gib:.2f} | {'yes' if gib <= 8 else 'NO'} |")
    out += ["", "### Targets", ""] + target_lines(by, sorted(args.sizes), args.losses)
    return "\n".join(out) + "\n"


def target_lines(by: dict, sizes: list[int], losses: list[str]) -> list[str]:
    lines = []
    for loss, peer, need in TARGETS:
        if loss not in losses:
            continue
        for n in sizes:
            ours, other = _median(by.get((loss, "ours", n))), _median(by.get((loss, peer, n)))
            if ours is None or other is None:
                why = (by.get((loss, peer, n)) or {}).get("status", "not run")
                lines.append(f"- {loss} vs {peer}, N={n}: no comparison ({why})")
                continue
            ratio = other / ours
            verdict = "met" if ratio >= need else "MISSED"
            lines.append(f"- {loss} vs {peer}, N={n}: ours {ratio:.2f}x faster (target >= {need:g}x): {verdict}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
