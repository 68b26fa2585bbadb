"""The prepared GPU check of the fused (Triton) kernel: exactness first, then speed and memory.

    PYTHONPATH=packages/contrastkit/src python3 benchmarks/gpu_check.py --out runs/gpu_check
    python benchmarks/gpu_check.py --dry-run --out /tmp/gpu_check     (CPU, Triton's interpreter)

1. Exactness: the fused path (float32 inputs, ``ieee``) against today's kernel in float64 on
   the CPU (itself tested against the float64 loops) for NT-Xent, SupCon, CLIP, a queue, DCL and
   a learnable per-anchor temperature: relative error of the loss, and of each gradient
   (``max |g - g64| / max |g64|``); then the opt-in ``tf32`` / ``bf16`` precisions and bfloat16
   inputs, whose error is what the docs must state.
2. Timing: forward + backward of fused / today's kernel chunked (``chunk_size=4096``) / dense
   ``F.cross_entropy`` / open_clip's ``ClipLoss`` (CLIP only, when importable) for NT-Xent,
   SupCon and CLIP at N = 1k .. 256k pairs, D = 128 and 768, float32 and bfloat16 inputs
   (fp32 rows also time ``tf32``; bf16 rows use the ``bf16`` precision). Median of up to
   ``--repeats`` runs after one warm-up (the first call, which compiles, is reported apart);
   peak = CUDA memory above the inputs.

Budget guard: cases run cheapest first (D = 128 float32, then bfloat16, then D = 768); a case
whose time, projected from the same implementation at the previous N (quadratic), would pass
``--case-cap-s`` or the time left, or whose dense memory would not fit, is skipped with the
reason. Results (``results.json`` and ``results.md``) are rewritten after every case, so a run
cut short still leaves them. App fits are not run here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder for results.json and results.md")
    p.add_argument("--dry-run", action="store_true", help="CPU, Triton's interpreter, tiny sizes")
    p.add_argument("--budget-s", type=float, default=540.0, help="stop starting cases after this many seconds")
    p.add_argument("--case-cap-s", type=float, default=25.0, help="skip a case projected to take longer")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096, 16384, 65536, 262144])
    p.add_argument("--dims", type=int, nargs="+", default=[128, 768])
    p.add_argument("--losses", nargs="+", default=["nt_xent", "supcon", "clip"])
    args = p.parse_args(argv)
    if args.dry_run:
        args.sizes, args.dims, args.repeats = [8, 20], [4, 20], 1
    return args


args = parse_args() if __name__ == "__main__" else None
if args is not None and args.dry_run:  # before Triton is imported: its kernels read this when decorated
    os.environ["TRITON_INTERPRET"] = "1"
    os.environ["CONTRASTKIT_FUSED"] = "interpret"

import torch
import torch.nn.functional as F
from contrastkit.functional import clip_loss, nt_xent_loss, supcon_loss
from contrastkit.functional.kernel.fused import fused_precision
from contrastkit.functional.kernel.fused_function import FusedCE

CHUNK = 4096


class today:
    """Within the block the kernel takes today's path even on CUDA (``CONTRASTKIT_FUSED=off``)."""

    def __enter__(self):
        self.old = os.environ.get("CONTRASTKIT_FUSED")
        os.environ["CONTRASTKIT_FUSED"] = "off"

    def __exit__(self, *exc):
        if self.old is None:
            os.environ.pop("CONTRASTKIT_FUSED")
        else:
            os.environ["CONTRASTKIT_FUSED"] = self.old


def inputs(loss: str, n: int, d: int, dtype, device, seed: int = 0):
    """Leaves ``(N, D)`` x 2 (SupCon: ``(2N, D)`` features and ``(2N,)`` labels from 100 classes)."""
    g = torch.Generator().manual_seed(seed)
    if loss == "supcon":
        feats = torch.randn(2 * n, d, generator=g)
        labels = torch.randint(0, min(100, n), (n,), generator=g).repeat_interleave(2)
        return [feats.to(device, dtype).requires_grad_()], labels.to(device)
    return [torch.randn(n, d, generator=g).to(device, dtype).requires_grad_() for _ in range(2)], None


def ours(loss: str, labels, chunk=None):
    if loss == "nt_xent":
        return lambda a, b: nt_xent_loss(a, b, 0.5, chunk_size=chunk)
    if loss == "supcon":
        return lambda f: supcon_loss(f, labels, 0.1, chunk_size=chunk)
    return lambda a, b: clip_loss(a, b, 1 / 0.07, chunk_size=chunk)


def dense(loss: str, labels):
    def nt_xent(a, b):
        z = F.normalize(torch.cat([a, b]), dim=1)
        n = a.shape[0]
        eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
        target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
        return F.cross_entropy((z @ z.T / 0.5).masked_fill(eye, float("-inf")).float(), target)

    def supcon(f):
        z = F.normalize(f, dim=1)
        eye = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
        pos = (labels[:, None] == labels[None, :]) & ~eye
        logits = (z @ z.T / 0.1).float().masked_fill(eye, -1e9)
        keep = pos.any(1)
        return F.cross_entropy(logits[keep], (pos.float() / pos.sum(1, keepdim=True).clamp_min(1))[keep])

    def clip(a, b):
        logits = (F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / 0.07).float()
        target = torch.arange(a.shape[0], device=a.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))

    return {"nt_xent": nt_xent, "supcon": supcon, "clip": clip}[loss]


def open_clip_loss():
    try:
        from open_clip.loss import ClipLoss
    except Exception as e:  # noqa: BLE001 - any import failure means "not importable"
        return None, f"open_clip not importable ({type(e).__name__}): skipped"
    fn = ClipLoss()
    return (lambda a, b: fn(F.normalize(a, dim=1), F.normalize(b, dim=1), torch.tensor(1 / 0.07, device=a.device))), ""


def grads_of(fn, leaves):
    leaves = [x.detach().clone().requires_grad_() for x in leaves]
    loss = fn(*leaves)
    loss.backward()
    return loss, [x.grad for x in leaves], type(loss.grad_fn).__name__


def rel(x, ref) -> float:
    x, ref = x.double().cpu(), ref.double().cpu()
    return float((x - ref).abs().max() / ref.abs().max().clamp_min(1e-30))


def exactness(device, dry: bool) -> list[dict]:
    """Fused float32 (and opt-in precisions) against today's float64 path on the CPU."""
    n, d = (24, 8) if dry else (512, 64)
    rows = []
    t = (0.05 + torch.rand(2 * n, generator=torch.Generator().manual_seed(3))).double()
    queue = torch.randn(n // 2, d, generator=torch.Generator().manual_seed(4)).double()
    extra = {"queue": lambda a, b, e=queue: _info_nce(a, b, e), "dcl": lambda a, b: nt_xent_loss(a, b, 0.3, decoupled=True),
             "per_anchor_temperature": lambda a, b: nt_xent_loss(a, b, t.to(a.device, torch.float32)
                                                                 if a.dtype != torch.float64 else t)}
    cases = [(loss, None) for loss in ("nt_xent", "supcon", "clip")] + [("nt_xent", k) for k in extra]
    for loss, variant in cases:
        leaves, labels = inputs(loss, n, d, torch.float64, "cpu", seed=1)
        fn = extra[variant] if variant else ours(loss, labels)
        with today():
            ref, ref_g, _ = grads_of(fn, leaves)
        lab = None if labels is None else labels.to(device)
        fn_dev = extra[variant] if variant else ours(loss, lab)
        for precision, dtype in (("ieee", torch.float32), ("tf32", torch.float32), ("bf16", torch.float32),
                                 ("ieee", torch.bfloat16)):
            if variant and (precision, dtype) != ("ieee", torch.float32):
                continue
            dev_leaves = [x.to(device, dtype) for x in leaves]
            with fused_precision(precision):
                got, g, backward = grads_of(fn_dev, dev_leaves)
            rows.append({"loss": loss + (f" ({variant})" if variant else ""), "precision": precision,
                         "inputs": str(dtype).replace("torch.", ""), "fused": backward == FusedCE.__name__ + "Backward",
                         "loss_rel_err": abs(float(got) - float(ref)) / abs(float(ref)),
                         "grad_rel_err": max(rel(a, b) for a, b in zip(g, ref_g, strict=True))})
    return rows


def _info_nce(a, b, queue):
    from contrastkit.functional import info_nce_loss

    return info_nce_loss(a, b, 0.1, extra_negatives=queue.to(a.device, a.dtype))


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def measure(fn, leaves, device, repeats: int) -> dict:
    """First call (compiles), then the median of ``repeats`` forward + backward; peak above inputs."""
    times = []
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated() if device == "cuda" else 0
    for _ in range(repeats + 1):
        for x in leaves:
            x.grad = None
        sync(device)
        t0 = time.perf_counter()
        fn(*leaves).backward()
        sync(device)
        times.append(time.perf_counter() - t0)
    peak = (torch.cuda.max_memory_allocated() - base) / 2**30 if device == "cuda" else None
    return {"first_s": times[0], "median_s": sorted(times[1:])[len(times[1:]) // 2], "runs": repeats, "peak_gib": peak}


def impls(loss: str, dtype, labels):
    """name -> (loss function, precision); the dense memory factor is in :func:`memory_skip`."""
    fused = [("fused", "ieee"), ("fused tf32", "tf32")] if dtype == torch.float32 else [("fused bf16", "bf16")]
    out = {name: (ours(loss, labels), precision) for name, precision in fused}
    out[f"chunked {CHUNK}"] = (ours(loss, labels, CHUNK), "today")
    out["dense"] = (dense(loss, labels), "ieee")
    if loss == "clip":
        fn, note = open_clip_loss()
        out["open_clip ClipLoss"] = (fn, note or "ieee")
    return out


def memory_skip(loss: str, impl: str, n: int, dtype, device) -> str | None:
    """Dense forms keep about four ``(L, L)`` float32 matrices (logits, softmax, gradients)."""
    if device != "cuda" or not (impl == "dense" or impl.startswith("open_clip")):
        return None
    side = n if loss == "clip" else 2 * n
    need, free = 4 * 4.0 * side * side, torch.cuda.mem_get_info()[0]
    return f"skipped: dense needs about {need / 2**30:.0f} GiB, {free / 2**30:.0f} GiB free" if need > 0.9 * free else None


def time_case(loss, n, d, dtype, device, args, last: dict, deadline: float) -> list[dict]:
    leaves, labels = inputs(loss, n, d, dtype, device)
    rows = []
    for impl, (fn, precision) in impls(loss, dtype, labels).items():
        row = {"loss": loss, "n": n, "d": d, "dtype": str(dtype).replace("torch.", ""), "impl": impl}
        rows.append(row)
        key = (loss, impl, d, row["dtype"])
        if fn is None:
            row["status"] = precision  # the reason it cannot run
            continue
        prev = last.get(key)
        projected = None if prev is None else prev[1] * (n / prev[0]) ** 2 * (args.repeats + 1)
        left = deadline - time.perf_counter()
        reason = memory_skip(loss, impl, n, dtype, device)
        if prev == "failed":
            reason = "skipped: failed at a smaller N"
        elif projected is not None and projected > min(args.case_cap_s, left):
            reason = f"skipped: projected {projected:.0f} s (cap {args.case_cap_s:.0f} s, {left:.0f} s left)"
        if reason:
            row["status"] = reason
            continue
        repeats = args.repeats if projected is None or projected < args.case_cap_s / 3 else max(1, args.repeats // 3)
        try:
            if precision == "today":
                with today():
                    row.update(measure(fn, leaves, device, repeats))
            else:
                with fused_precision(precision):
                    row.update(measure(fn, leaves, device, repeats))
            row["status"] = "ok"
            last[key] = (n, row["median_s"])
        except torch.OutOfMemoryError:
            row["status"] = "out of memory"
            last[key] = "failed"
            torch.cuda.empty_cache()
    dense_t = next((r["median_s"] for r in rows if r["impl"] == "dense" and r["status"] == "ok"), None)
    side = n if loss == "clip" else 2 * n
    for r in rows:
        if r["status"] == "ok":
            r["vs_dense"] = dense_t / r["median_s"] if dense_t else None
            r["tflops_3_products"] = 3 * 2.0 * side * side * d / r["median_s"] / 1e12
    return rows


def markdown(results: dict) -> str:
    env = results["env"]
    lines = [f"# Fused kernel check ({'dry run, CPU interpreter' if env['dry_run'] else env['device']})", "",
             (f"torch {env['torch']}, triton {env['triton']}, Python {env['python']}; "
              f"{env['elapsed_s']:.0f} s of a {env['budget_s']:.0f} s budget; finished: {env['finished']}."), "",
             "## Exactness against float64 (today's kernel on the CPU)", "",
             "| loss | precision | inputs | fused path | loss rel. err | grad rel. err |", "| --- | --- | --- | --- | ---: | ---: |"]
    lines += [f"| {r['loss']} | {r['precision']} | {r['inputs']} | {r['fused']} | {r['loss_rel_err']:.2e} | "
              f"{r['grad_rel_err']:.2e} |" for r in results["checks"]]
    lines += ["", "## Forward + backward", "",
              "vs dense = dense time / this time; TFLOP/s counts three L x L x D products (the dense minimum).", "",
              ("| loss | N pairs | D | inputs | implementation | median (s) | runs | first call (s) "
               "| peak above inputs (GiB) | vs dense | TFLOP/s | status |"), "| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]

    def f(x, fmt):
        return "" if x is None else format(x, fmt)

    for r in results["timings"]:
        lines.append(f"| {r['loss']} | {r['n']} | {r['d']} | {r['dtype']} | {r['impl']} | {f(r.get('median_s'), '.4g')} | "
                     f"{r.get('runs', '')} | {f(r.get('first_s'), '.3g')} | {f(r.get('peak_gib'), '.3f')} | "
                     f"{f(r.get('vs_dense'), '.2f')} | {f(r.get('tflops_3_products'), '.1f')} | {r['status']} |")
    lines += ["", *[f"- {note}" for note in results["notes"]]]
    return "\n".join(lines) + "\n"


def write(results: dict, out: Path, start: float) -> None:
    results["env"]["elapsed_s"] = time.perf_counter() - start
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    (out / "results.md").write_text(markdown(results))


def main(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    deadline = start + args.budget_s
    device = "cpu" if args.dry_run else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU (or --dry-run)")
    import triton

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"env": {"dry_run": args.dry_run, "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
                       "torch": torch.__version__, "triton": triton.__version__, "python": sys.version.split()[0],
                       "budget_s": args.budget_s, "finished": False, "args": vars(args)},
               "checks": [], "timings": [],
               "notes": ["app fits are not run by this script (one `<app> fit ... --trainer.accelerator gpu` each)"]}
    if args.dry_run:
        results["notes"].append("dry run: Triton's interpreter computes tf32 as float32 and rounds bf16 its own "
                                "way; no figure here says anything about a GPU")
    results["checks"] = exactness(device, args.dry_run)
    write(results, out, start)
    print(markdown(results), flush=True)
    last: dict = {}
    order = [(d, dt) for d in args.dims for dt in (torch.float32, torch.bfloat16)]
    for d, dtype in order:
        for loss in args.losses:
            for n in args.sizes:
                if time.perf_counter() > deadline:
                    results["notes"].append(f"budget reached: stopped before {loss} N={n} D={d} {dtype}")
                    write(results, out, start)
                    return 0
                rows = time_case(loss, n, d, dtype, device, args, last, deadline)
                results["timings"] += rows
                write(results, out, start)
                for r in rows:
                    print(json.dumps(r, default=str), flush=True)
    results["env"]["finished"] = True
    write(results, out, start)
    print(f"wrote {out / 'results.md'} and {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(args))
