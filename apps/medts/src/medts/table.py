"""Results-table jobs without jsonargparse (for batch machines):

    python -m medts.table job CONFIG --method comet --seed 0 --out DIR [--set protocol.x=1 ...]
    python -m medts.table merge DIR [DIR ...] --out table.md

``job`` runs one method and seed of an experiment config and writes ``DIR/<config>__<method>__<seed>.json``;
``merge`` averages the seeds (mean ± std) and writes a Markdown table per config.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from medts.configs import load_experiment
from medts.experiment import data_module, format_table, run_method, summarize


def job(config: str, method: str, seed: int, out: str, overrides: list[str], runs_root: str, threads: int) -> Path:
    """One method x seed; resumable through its run directory's checkpoints."""
    torch.set_num_threads(threads)
    data, model, proto = load_experiment(config, overrides)
    dm = data_module(data, seed)
    t0 = time.time()
    name = Path(config).stem
    path = Path(out) / f"{name}__{method}__{seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)

    def save(res: dict) -> None:
        res = dict(res, seconds={"wall": time.time() - t0})
        path.write_text(json.dumps({"config": name, "method": method, "seed": seed, "results": res,
                                    "data": {k: v.summary() for k, v in dm.parts.items()}}, indent=1))

    save(run_method(dm, model, proto, method, seed, Path(runs_root) / "medts" / "table" / name / method / f"seed{seed}",
                    on_result=save))
    print(f"[medts.table] {name} {method} seed {seed} done in {time.time() - t0:.0f} s", flush=True)
    return path


def merge(dirs: list[str], out: str) -> str:
    """Collect job files into ``{config: summary}`` and a Markdown table per config."""
    runs: dict = {}
    for d in dirs:
        for f in sorted(Path(d).glob("*__*__*.json")):
            r = json.loads(f.read_text())
            res = {k: v for k, v in r["results"].items() if k != "seconds"}
            if not res:
                continue
            runs.setdefault(r["config"], {}).setdefault(r["method"], {})[str(r["seed"])] = res
    text = []
    summaries = {}
    for config, results in runs.items():
        summaries[config] = summarize(results)
        seeds = {m: sorted(v) for m, v in results.items()}
        text += [f"### {config} (seeds: {seeds})", "", format_table(summaries[config]), ""]
        pre = {m: s["pretrain"] for m, s in summaries[config].items() if "pretrain" in s}
        if pre:
            text += ["Pretraining actually run (mean over seeds): " + "; ".join(
                f"{m} {p['epochs'][0]:.1f} epochs / {p['steps'][0]:.0f} steps / {p['seconds'][0]:.0f} s"
                for m, p in pre.items()), ""]
    Path(out).write_text("\n".join(text))
    Path(out).with_suffix(".json").write_text(json.dumps(summaries, indent=1))
    return "\n".join(text)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m medts.table")
    sub = p.add_subparsers(dest="cmd", required=True)
    j = sub.add_parser("job")
    j.add_argument("config")
    j.add_argument("--method", required=True)
    j.add_argument("--seed", type=int, default=0)
    j.add_argument("--out", required=True)
    j.add_argument("--set", action="append", default=[], dest="overrides")
    j.add_argument("--runs-root", default="runs")
    j.add_argument("--threads", type=int, default=1)
    m = sub.add_parser("merge")
    m.add_argument("dirs", nargs="+")
    m.add_argument("--out", required=True)
    a = p.parse_args(argv)
    if a.cmd == "job":
        job(a.config, a.method, a.seed, a.out, a.overrides, a.runs_root, a.threads)
    else:
        print(merge(a.dirs, a.out))


if __name__ == "__main__":
    main()
