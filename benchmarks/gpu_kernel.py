"""The kernel on a CUDA GPU: exactness against float64, bf16 autocast, speed and peak memory
against a dense ``F.cross_entropy`` NT-Xent, at growing N. Needs a GPU; not part of the tests.

    python benchmarks/gpu_kernel.py [--sizes 4096 16384 65536] [--out results.md]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from contrastkit.functional import nt_xent_loss, supcon_loss


def dense_nt_xent(z1, z2, t=0.5):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n2 = z.shape[0]
    n = n2 // 2
    s = (z @ z.T / t).masked_fill(torch.eye(n2, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, n2), torch.arange(n)]).to(z.device)
    return F.cross_entropy(s, target)


def measure(fn, *inputs, repeats=5):
    for x in inputs:
        x.grad = None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        t = time.perf_counter()
        loss = fn(*inputs)
        loss.backward()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    peak = torch.cuda.max_memory_allocated() - base
    return sorted(times)[len(times) // 2], peak / 2**30


def exactness() -> list[str]:
    torch.manual_seed(0)
    lines = []
    z1, z2 = torch.randn(512, 64, dtype=torch.float64), torch.randn(512, 64, dtype=torch.float64)
    ref = nt_xent_loss(z1, z2, 0.5)  # float64 on the CPU
    for chunk in (None, 100):
        got = nt_xent_loss(z1.cuda().float(), z2.cuda().float(), 0.5, chunk_size=chunk)
        lines.append(f"| nt_xent_loss float32 CUDA vs float64 CPU, chunk={chunk} | {abs(float(got) - float(ref)):.2e} |")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        a = torch.randn(4096, 128, device="cuda", requires_grad=True)
        y = torch.randint(0, 50, (4096,), device="cuda")
        loss = supcon_loss(a, y, 0.1, chunk_size=1024)
    loss.backward()
    ok = bool(torch.isfinite(loss)) and bool(torch.isfinite(a.grad).all())
    lines.append(f"| supcon_loss under bf16 autocast, finite loss and grads (loss dtype {loss.dtype}) | {ok} |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=[4096, 16384, 65536])
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU")
    out = [f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, float32, D={args.dim}", "",
           "| check | value |", "| --- | --- |", *exactness(), "",
           "| N pairs | dense time (s) | dense peak (GiB) | nt_xent_loss time (s) | nt_xent_loss peak (GiB) | chunked (4096 rows) time (s) | chunked peak (GiB) | speed-up vs dense |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for n in args.sizes:
        torch.manual_seed(0)
        z1 = torch.randn(n, args.dim, device="cuda", requires_grad=True)
        z2 = torch.randn(n, args.dim, device="cuda", requires_grad=True)
        cells = []
        try:
            td, md = measure(dense_nt_xent, z1, z2)
            cells += [f"{td:.4f}", f"{md:.2f}"]
        except torch.OutOfMemoryError:
            td = None
            cells += ["out of memory", "-"]
            torch.cuda.empty_cache()
        try:
            to, mo = measure(lambda a, b: nt_xent_loss(a, b, 0.5), z1, z2)
            cells += [f"{to:.4f}", f"{mo:.2f}"]
        except torch.OutOfMemoryError:
            to = None
            cells += ["out of memory", "-"]
            torch.cuda.empty_cache()
        tc, mc = measure(lambda a, b: nt_xent_loss(a, b, 0.5, chunk_size=4096), z1, z2)
        cells += [f"{tc:.4f}", f"{mc:.2f}"]
        best = min(t for t in (to, tc) if t is not None)
        cells.append(f"{td / best:.2f}x" if td else "dense failed")
        out.append(f"| {n} | " + " | ".join(cells) + " |")
        print(out[-1], flush=True)
    text = "\n".join(out)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
