"""`make demo`: run every app's embedded default (`<app> demo`) and print a summary of its metrics.

Each app writes ``runs/<app>/demo/version_K/metrics.json``; this script runs the apps one after
the other, then prints each app's metrics. It exits non-zero if any demo failed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def installed_apps() -> list[str]:
    """Apps with a pyproject under ``apps/`` (each installs a console script of its own name)."""
    return sorted(p.parent.name for p in (ROOT / "apps").glob("*/pyproject.toml"))


def latest_metrics(app: str) -> tuple[Path, dict] | None:
    runs = sorted((ROOT / "runs" / app / "demo").glob("version_*"), key=lambda p: int(p.name.split("_")[1]))
    for run in reversed(runs):
        path = run / "metrics.json"
        if path.is_file():
            return path, json.loads(path.read_text())
    return None


def _flatten(d: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        elif isinstance(v, (int, float)) or v is None:
            out[key] = v
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse  # a script of the Makefile, not an app command: one flag, passed through

    parser = argparse.ArgumentParser(description="run every app's demo and print its metrics")
    parser.add_argument("--threads", type=int, default=None, help="torch threads for every demo")
    threads = parser.parse_args(argv).threads
    apps = installed_apps()
    if not apps:
        print("no apps under apps/: nothing to demo")
        return 1
    bin_dir = Path(sys.executable).parent
    results: dict[str, tuple[str, float]] = {}
    for app in apps:
        print(f"\n=== {app} demo ===", flush=True)
        start = time.perf_counter()
        extra = ["--threads", str(threads)] if threads else []
        code = subprocess.call([str(bin_dir / app), "demo", *extra], cwd=ROOT)
        results[app] = ("ok" if code == 0 else f"FAILED (exit {code})", time.perf_counter() - start)

    print("\n=== summary of every app's demo ===")
    for app in apps:
        status, seconds = results[app]
        print(f"\n{app}: {status} in {seconds:.0f} s")
        found = latest_metrics(app) if status == "ok" else None
        if found is None:
            continue
        path, metrics = found
        print(f"  {path.relative_to(ROOT)}")
        for key, value in _flatten(metrics).items():
            shown = f"{value:.4f}" if isinstance(value, float) else str(value)
            print(f"  {key:<48} {shown}")
    return 0 if all(s == "ok" for s, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
