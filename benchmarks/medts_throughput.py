"""COMET pretraining step: medts (core kernel, shared views) vs a port of the official approach.

Both sides use the same TS2Vec encoder (same initial weights), the same batch and ids, AdamW,
and the official level settings (masks all_true / all_true / continuous / continuous, factors
0.25 each). The official approach, ported here from DL4mHealth/COMET (MIT) as described in its
code: two encoder passes per level (8 in all), numpy continuous masks drawn row by row, the
sample and observation losses as dense ``(T, 2B, 2B)`` / ``(B, 2T, 2T)`` log-softmax tensors, and
the trial/patient positive pairs built every step with numpy string operations on the CPU.
medts: every level through the core kernel (sample and observation in its grouped form).

medts: the patient and trial pair shares one pass (its two all_true views are two draws of the
encoder's final dropout), the sample and observation pair two passes: 3 passes instead of 8.

First the per-level loss values (and gradients) of both implementations are compared on the
same views. Throughput: the two implementations' training steps alternate in one process (so
that load from other processes hits both alike); samples/s = B / mean step time. Memory: each
implementation runs a step in its own subprocess, and the peak resident memory above the
process's memory before its first step is reported.

    .venv/bin/python benchmarks/medts_throughput.py                      # B=64, T=256, C=16, 2 threads
    .venv/bin/python benchmarks/medts_throughput.py --batch 256          # the paper's AD shape (16 GB+)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from medts.losses import (
    hierarchical_levels,
    id_loss_from_similarity,
    id_similarity,
    observation_loss,
    sample_loss,
)
from medts.method import COMET

FACTORS = (0.25, 0.25, 0.25, 0.25)  # patient, trial, sample, observation (official defaults)


# ---- the official approach, ported ---------------------------------------------------------------
def official_continuous_mask(b: int, t: int, n: int = 5, frac: float = 0.1) -> torch.Tensor:
    """Row-by-row numpy draw of ``n`` spans of ``frac * t`` masked steps (official masking)."""
    keep = torch.ones(b, t, dtype=torch.bool)
    n = max(min(n, t // 2), 1)
    length = max(int(frac * t), 1)
    for i in range(b):
        for _ in range(n):
            s = np.random.randint(t - length + 1)
            keep[i, s:s + length] = False
    return keep


def _dense_two_view(sim: torch.Tensor, n: int) -> torch.Tensor:
    """Official dense NT-Xent on a stack of ``(K, 2n, 2n)`` similarity matrices (diagonal dropped
    by the lower/upper triangle shift), mean over both directions."""
    logits = torch.tril(sim, diagonal=-1)[:, :, :-1] + torch.triu(sim, diagonal=1)[:, :, 1:]
    logits = -F.log_softmax(logits, dim=-1)
    i = torch.arange(n)
    return (logits[:, i, n + i - 1].mean() + logits[:, n + i, i].mean()) / 2


def official_sample(z1, z2):
    b = z1.shape[0]
    if b == 1:
        return z1.new_zeros(())
    z = torch.cat([z1, z2], 0).transpose(0, 1)
    return _dense_two_view(z @ z.transpose(1, 2), b)


def official_observation(z1, z2):
    t = z1.shape[1]
    if t == 1:
        return z1.new_zeros(())
    z = torch.cat([z1, z2], 1)
    return _dense_two_view(z @ z.transpose(1, 2), t)


def official_hierarchical(fn, z1, z2, factor):
    loss, d = z1.new_zeros(()), 0
    while z1.shape[1] > 1:
        loss = loss + fn(z1, z2)
        d += 1
        z1 = F.max_pool1d(z1.transpose(1, 2), kernel_size=2).transpose(1, 2)
        z2 = F.max_pool1d(z2.transpose(1, 2), kernel_size=2).transpose(1, 2)
    return loss * factor / d


def official_id(z1, z2, ids, temperature=0.1):
    """Pairs from numpy strings ("<id>-<id>" compared to the matching combinations), then the mean
    of -log(exp(s_ij) / row or column sum) over upper- and lower-triangle same-id pairs."""
    s = np.array([str(v) for v in ids.cpu().numpy()], dtype=object)
    a, b = np.meshgrid(s, s)
    combos = a + "-" + b
    match = np.zeros(combos.shape)
    for key in np.unique(s + "-" + s):
        match += combos == key
    r1, c1 = np.where(np.triu(match, 1))
    r2, c2 = np.where(np.tril(match, -1))
    n = z1.shape[0]
    v1 = F.normalize(z1, dim=1).permute(0, 2, 1).reshape(n, -1)
    v2 = F.normalize(z2, dim=1).permute(0, 2, 1).reshape(n, -1)
    sim = (v1 @ v2.T) / (v1.norm(dim=1)[:, None] * v2.norm(dim=1)[None, :] * temperature)
    e = torch.exp(sim)
    terms = []
    if len(r1):
        terms.append(-torch.mean(torch.log(e[r1, c1] / e.sum(1)[r1])))
    if len(r2):
        terms.append(-torch.mean(torch.log(e[r2, c2] / e.sum(0)[c2])))
    return sum(terms) / len(terms)


def official_step(module: COMET, x, pid, tid):
    enc = module.encoder
    b, t, _ = x.shape
    all_true = torch.ones(b, t, dtype=torch.bool)
    pat = official_id(enc(x, mask=all_true), enc(x, mask=all_true), pid)  # factor only switches it on
    tri = official_id(enc(x, mask=all_true), enc(x, mask=all_true), tid)
    smp = official_hierarchical(official_sample, enc(x, mask=official_continuous_mask(b, t)),
                                enc(x, mask=official_continuous_mask(b, t)), FACTORS[2])
    obs = official_hierarchical(official_observation, enc(x, mask=official_continuous_mask(b, t)),
                                enc(x, mask=official_continuous_mask(b, t)), FACTORS[3])
    return pat + tri + smp + obs


def medts_step(module: COMET, x, pid, tid):
    return module.compute_losses({"x": x, "patient": pid, "trial": tid}, "train")["loss"]


# ---- setup, checks, timing -----------------------------------------------------------------------
def make_batch(args):
    """A hierarchy-sampler-like batch: patients x trials x samples, ids carried by every sample."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, args.length, args.channels, generator=g)
    per_trial, trials_per_patient = 4, 4
    tid = torch.arange(args.batch) // per_trial
    pid = tid // trials_per_patient
    return x, pid, tid


def make_module(args) -> COMET:
    torch.manual_seed(0)
    return COMET(args.channels, official_weighting=True, share_views=True)


STEPS = {"official": official_step, "medts": medts_step}


def train_step(module: COMET, opt, impl: str, x, pid, tid) -> float:
    """One optimizer step (with the weight-average update, as both codes do); returns seconds."""
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    STEPS[impl](module, x, pid, tid).backward()
    opt.step()
    module.swa_encoder.update_parameters(module.encoder)
    return time.perf_counter() - t0


def check_equal(args) -> dict:
    """Per-level values and input gradients of both implementations on the same views (float64)."""
    torch.manual_seed(1)
    b, t, d = min(args.batch, 32), min(args.length, 32), 24
    z1 = torch.randn(b, t, d, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(b, t, d, dtype=torch.float64, requires_grad=True)
    tid = torch.arange(b) // 4
    pid = tid // 4
    pairs = {
        "patient": (lambda: id_loss_from_similarity(id_similarity(z1, z2), pid), lambda: official_id(z1, z2, pid)),
        "trial": (lambda: id_loss_from_similarity(id_similarity(z1, z2), tid), lambda: official_id(z1, z2, tid)),
        "sample": (lambda: hierarchical_levels({"l": sample_loss}, z1, z2)["l"],
                   lambda: official_hierarchical(official_sample, z1, z2, 1.0)),
        "observation": (lambda: hierarchical_levels({"l": observation_loss}, z1, z2)["l"],
                        lambda: official_hierarchical(official_observation, z1, z2, 1.0)),
    }
    out = {}
    for name, (mine, theirs) in pairs.items():
        a, r = mine(), theirs()
        ga = torch.autograd.grad(a, (z1, z2))
        gr = torch.autograd.grad(r, (z1, z2))
        a, r = a.detach(), r.detach()
        out[name] = {"medts": float(a), "official": float(r), "abs_diff": abs(float(a - r)),
                     "grad_max_diff": max(float((x - y).abs().max()) for x, y in zip(ga, gr))}
        if out[name]["abs_diff"] > 1e-9 or out[name]["grad_max_diff"] > 1e-9:
            raise AssertionError(f"{name} level differs: {out[name]}")
    return out


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_memory(args) -> dict:
    """Subprocess body: warm-up steps, then the peak RSS above the RSS before the first step."""
    torch.set_num_threads(args.threads)
    np.random.seed(0)
    module = make_module(args)
    x, pid, tid = make_batch(args)
    opt = torch.optim.AdamW(module.encoder.parameters(), lr=1e-3)
    base = rss_mb()
    for _ in range(args.warmup + 1):
        train_step(module, opt, args.impl, x, pid, tid)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"impl": args.impl, "peak_mb_above_start": peak - base, "peak_rss_mb": peak}


def interleaved_throughput(args) -> dict:
    """Alternate official and medts steps (same initial weights, same batch); mean seconds per step."""
    torch.set_num_threads(args.threads)
    np.random.seed(0)
    x, pid, tid = make_batch(args)
    mods = {k: make_module(args) for k in STEPS}
    opts = {k: torch.optim.AdamW(m.encoder.parameters(), lr=1e-3) for k, m in mods.items()}
    times: dict[str, list[float]] = {k: [] for k in STEPS}
    for i in range(args.warmup + args.steps):
        for k in STEPS:
            dt = train_step(mods[k], opts[k], k, x, pid, tid)
            if i >= args.warmup:
                times[k].append(dt)
    return {k: float(np.mean(v)) for k, v in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--length", type=int, default=256)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--impl", choices=["official", "medts"], default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.impl:
        print(json.dumps(peak_memory(args)))
        return
    checks = check_equal(args)
    print("per-level losses on the same views (float64):")
    for k, v in checks.items():
        print(f"  {k:<12} medts {v['medts']:.10f}  official {v['official']:.10f}  |diff| {v['abs_diff']:.1e}  "
              f"grad diff {v['grad_max_diff']:.1e}")
    mem = {}
    for impl in STEPS:
        cmd = [sys.executable, __file__, "--impl", impl] + [f"--{k}={getattr(args, k)}" for k in
                                                           ("batch", "length", "channels", "threads", "warmup")]
        mem[impl] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    sec = interleaved_throughput(args)
    print(f"\nshape B={args.batch} T={args.length} C={args.channels}, encoder 64/320/10, {args.threads} threads, "
          f"{args.steps} timed steps each (alternating) after {args.warmup} warm-up")
    print("| implementation | s / step | samples / s | peak memory above start (MB) |")
    print("| --- | --- | --- | --- |")
    for k in STEPS:
        print(f"| {k} | {sec[k]:.2f} | {args.batch / sec[k]:.1f} | {mem[k]['peak_mb_above_start']:.0f} |")
    print(f"| medts / official | | {sec['official'] / sec['medts']:.2f}x | "
          f"{mem['medts']['peak_mb_above_start'] / mem['official']['peak_mb_above_start']:.2f}x |")


if __name__ == "__main__":
    main()
