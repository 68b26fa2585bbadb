"""benchmarks/losses.py runs end to end on a tiny size and writes a table with our rows.

Correctness of the script only: no timing is asserted. Peers that are not installed must
appear as 'not installed' rows, never silently disappear.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "losses.md"
    cmd = [sys.executable, str(BENCH / "losses.py"), "--quick", "--sizes", "64", "--repeats", "1", "--out", str(out)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in out.with_suffix(".jsonl").read_text().splitlines()]
    return out.read_text(), rows, proc.stdout


def test_table_has_our_rows_and_every_peer(tiny_run):
    table, rows, _ = tiny_run
    cases = _load("loss_cases")
    for loss, impls in cases.IMPLS.items():
        assert f"### {loss}" in table
        for impl in impls:
            (row,) = [r for r in rows if r["loss"] == loss and r["impl"] == impl]
            if impl.startswith("ours") or impl == "dense":
                assert row["status"] == "ok", row
            else:
                assert row["status"] in ("ok", "not installed"), row
        ours = re.search(r"\| 64 \| contrastkit \| ([0-9.e-]+) \|", table.split(f"### {loss}")[1])
        assert ours and float(ours.group(1)) > 0


def test_implementations_agree_on_the_loss(tiny_run):
    _, rows, _ = tiny_run
    for loss in ("nt_xent", "supcon", "clip"):
        values = {r["impl"]: r["loss_value"] for r in rows if r["loss"] == loss and r["status"] == "ok"}
        assert len(values) >= 2
        for impl, v in values.items():
            assert v == pytest.approx(values["ours"], rel=1e-4), impl
        for r in rows:
            if r["loss"] == loss and r["status"] == "ok":
                assert r["peak_bytes"] >= 0 and len(r["times"]) == 1


def test_quick_mode_and_targets_section(tiny_run):
    table, rows, stdout = tiny_run
    assert {r["n"] for r in rows} == {64}, "--quick must not add sizes or the large-N case"
    assert "### Targets" in table and "nt_xent vs lightly, N=64" in table
    assert "wrote" in stdout


def test_projection_skips_cubic_and_oversized_cases():
    losses = _load("losses")
    args = losses.parse_args(["--max-gib", "1", "--max-case-seconds", "60"])
    last = {"n": 256, "peak_bytes": 2 << 30, "times": [4.0, 4.0, 4.0]}
    reason = losses.projected_skip(args, "nt_xent", "pml", 1024, last)
    assert reason.startswith("skipped: projected from N=256 (cubic) peak 128 GiB")
    small = {"n": 256, "peak_bytes": 1 << 20, "times": [1.0]}
    assert "s > 60 s" in losses.projected_skip(args, "supcon", "dense", 1024, small)
    assert losses.projected_skip(args, "clip", "ours", 512, {"n": 256, "peak_bytes": 1 << 20, "times": [0.1]}) is None
    assert "estimated peak" in losses.projected_skip(args, "nt_xent", "pml", 4096, None)


def test_missing_peer_is_reported_not_installed(tmp_path, monkeypatch):
    losses = _load("losses")
    missing = {k: (dist, f"{module}_not_installed") for k, (dist, module) in losses.loss_cases.PEERS.items()}
    monkeypatch.setattr(losses.loss_cases, "PEERS", missing)
    out = tmp_path / "clip.md"
    assert losses.main(["--sizes", "32", "--quick", "--repeats", "1", "--losses", "clip", "--out", str(out)]) == 0
    table = out.read_text()
    assert "| 32 | open_clip ClipLoss | not installed |" in table
    assert re.search(r"\| 32 \| contrastkit \| [0-9.e-]+ \|", table)
    assert "clip vs open_clip, N=32: no comparison (not installed)" in table


@pytest.fixture(scope="module")
def gpu_check_dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_check")
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_INTERPRET", "CONTRASTKIT_FUSED")}
    cmd = [sys.executable, str(BENCH / "gpu_check.py"), "--dry-run", "--out", str(out)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads((out / "results.json").read_text()), (out / "results.md").read_text()


def test_gpu_check_dry_run_checks_the_fused_path_and_times_every_impl(gpu_check_dry_run):
    results, table = gpu_check_dry_run
    assert results["env"]["finished"] and results["env"]["dry_run"]
    exact = [r for r in results["checks"] if r["precision"] == "ieee" and r["inputs"] == "float32"]
    assert {r["loss"] for r in exact} >= {"nt_xent", "supcon", "clip", "nt_xent (queue)", "nt_xent (dcl)"}
    for r in exact:
        assert r["fused"] and r["loss_rel_err"] < 1e-5 and r["grad_rel_err"] < 1e-5, r
    impls = {(r["loss"], r["impl"]): r["status"] for r in results["timings"]}
    for loss in ("nt_xent", "supcon", "clip"):
        for impl in ("fused", "fused tf32", "fused bf16", "chunked 4096", "dense"):
            assert impls[(loss, impl)] == "ok", (loss, impl)
    assert impls[("clip", "open_clip ClipLoss")] in ("ok", "open_clip not importable (ModuleNotFoundError): skipped")
    assert "## Exactness against float64" in table and "| nt_xent | 20 | 20 | float32 | fused |" in table


def test_gpu_check_projection_skips_a_case_past_the_cap():
    check = _load("gpu_check")
    args = check.parse_args(["--out", "unused", "--case-cap-s", "10", "--repeats", "3"])
    last = {("nt_xent", "fused", 4, "float32"): (8, 1.0)}
    rows = check.time_case("nt_xent", 16, 4, check.torch.float32, "cpu", args, last, deadline=float("inf"))
    (fused,) = [r for r in rows if r["impl"] == "fused"]
    assert fused["status"] == "skipped: projected 16 s (cap 10 s, inf s left)"
