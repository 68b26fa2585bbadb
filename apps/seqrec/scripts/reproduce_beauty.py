"""Reproduce SASRec, CL4SRec and MCLRec on Amazon Beauty with the paper's settings, and write the
results table into apps/seqrec/README.md beside the published figures.

    # the full run on a GPU (resumes whatever a CPU budget run left):
    .venv/bin/python apps/seqrec/scripts/reproduce_beauty.py --device cuda --write-readme
    # a fixed CPU budget, one thread, in the background:
    nohup .venv/bin/python apps/seqrec/scripts/reproduce_beauty.py --max-minutes 40 --threads 1 \
        --val-every 0.25 --write-readme > runs/reproduce_beauty.log 2>&1 &

Settings (paper Sec. 4.1 and the official ``seq.yaml`` / ``MCLRec.yaml``): SASRec encoder 2 x 2
heads, d = 64, FF 256, dropout 0.5, max length 50; Adam lr 1e-3, batch 256; MCLRec on Beauty
lambda_cl1 (λ) = 0, lambda_cl2 (β) = 0.05, lambda_reg (γ) = 0.1, temperature 1, dot product, three updates per
batch (the MCLRec class defaults); CL4SRec lambda_cl 0.1;
early stopping on validation NDCG@20 with patience 10; full ranking, no history exclusion.
Each method's run is ``runs/seqrec/reproduce_beauty_<method>/version_K``; re-running the script
resumes each run from its ``last.ckpt``. ``--max-minutes`` is a method's total training budget
(Lightning's Timer, whose elapsed time is checkpointed, so it counts all parts of a run); run the
script again without it (or with a larger one) to finish a budget-stopped run, e.g. on a GPU.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path

from contrastkit.train import ResumeError, set_threads
from seqrec.config import DataConfig, ModelConfig, TrainConfig
from seqrec.runner import fit_run, popularity_metrics

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- seqrec_results:begin -->", "<!-- seqrec_results:end -->"
COLS = ("HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20")
# Published Beauty test figures (MCLRec paper Table 2 / official README); "-" where not reported.
PUBLISHED = {
    "SASRec (published, BCE)": {"HR@5": .0377, "HR@20": .0894, "NDCG@5": .0241, "NDCG@20": .0386},
    "CL4SRec (published)": {"HR@5": .0401, "HR@20": .0974, "NDCG@5": .0268, "NDCG@20": .0428},
    "MCLRec (published)": {"HR@5": .0581, "HR@10": .0871, "HR@20": .1243, "NDCG@5": .0352, "NDCG@10": .0446,
                           "NDCG@20": .0539},
}


def curve(run_dir: Path) -> list[tuple[int, int, float, float]]:
    """``(epoch, step, val HR@20, val NDCG@20)`` at each validation, from the CSV logs."""
    out = []
    for part in sorted((run_dir / "logs").glob("csv*/metrics.csv"), key=lambda p: (len(p.parent.name), p.parent.name)):
        with part.open() as f:
            for row in csv.DictReader(f):
                if row.get("val/NDCG@20"):
                    out.append((int(row["epoch"]), int(row["step"]), float(row["val/HR@20"]),
                                float(row["val/NDCG@20"])))
    return out


def _duration(minutes: float | None) -> str | None:
    """Minutes as Lightning's ``DD:HH:MM:SS``."""
    if not minutes:
        return None
    total = int(minutes * 60)
    return f"00:{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def table(rows: dict[str, dict[str, float]], notes: dict[str, str]) -> str:
    lines = ["| method | " + " | ".join(COLS) + " | run |", "|---" * (len(COLS) + 2) + "|"]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(m.get(c)) for c in COLS) + f" | {notes.get(name, '')} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description="SASRec, CL4SRec and MCLRec on Beauty (paper settings)")
    p.add_argument("--methods", default="sasrec,cl4srec,mclrec")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--max-epochs", type=int, default=200)
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--train-form", default="shifted", choices=["shifted", "prefix"])
    p.add_argument("--max-minutes", default=None,
                   help="wall-clock budget per method: one number, or one per method ('20,20,40')")
    p.add_argument("--val-every", type=float, default=1.0, help="validate every this fraction of an epoch")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--root", default="runs")
    p.add_argument("--dataset", default="Beauty")
    p.add_argument("--write-readme", action="store_true")
    args = p.parse_args()
    set_threads(args.threads)

    methods = args.methods.split(",")
    minutes = [float(m) for m in args.max_minutes.split(",")] if args.max_minutes else [None]
    if len(minutes) == 1:
        minutes = minutes * len(methods)
    if len(minutes) != len(methods):
        raise SystemExit(f"--max-minutes needs 1 or {len(methods)} values; got {args.max_minutes!r}")
    data = DataConfig(dataset=args.dataset, train_form=args.train_form, batch_size=256)
    rows: dict[str, dict[str, float]] = {"Popularity": {}}
    notes: dict[str, str] = {}
    pop = popularity_metrics(data)
    rows["Popularity"] = {c: pop[f"test/{c}"] for c in COLS}
    curves = {}
    for method, mins in zip(methods, minutes):
        budget = _duration(mins)
        name = f"reproduce_{args.dataset.lower()}_{method}"
        train = TrainConfig(max_epochs=args.max_epochs, patience=args.patience, name=name, root=args.root,
                            accelerator="gpu" if args.device == "cuda" else "cpu",
                            val_check_interval=args.val_every, max_time=budget)
        print(f"== {method}: {name} (budget {budget or 'none'}, device {args.device})", flush=True)
        try:  # continue the run a budget stopped, else start one
            run_dir, metrics = fit_run(data, ModelConfig(method=method), train, resume=True,
                                       progress=sys.stderr.isatty())
        except ResumeError as error:
            if "no run of" not in str(error):
                raise
            run_dir, metrics = fit_run(data, ModelConfig(method=method), train, progress=sys.stderr.isatty())
        saved = json.loads((run_dir / "metrics.json").read_text())
        label = {"sasrec": "SASRec (ours, CE)", "cl4srec": "CL4SRec (ours)", "mclrec": "MCLRec (ours)"}[method]
        rows[label] = {c: metrics.get(f"test/{c}") for c in COLS}
        epochs = saved.get("epochs_run")
        done = "early-stopped / finished" if budget is None or epochs < args.max_epochs else "max epochs"
        points = curve(run_dir)
        curves[method] = points
        notes[label] = (f"stopped in epoch {epochs}, {saved.get('fit_seconds', 0) / 60:.1f} min this part, "
                        f"{args.device}, {'budget ' + budget if budget else done}")
        print(f"{method} curve (epoch, step, val HR@20, val NDCG@20): {points}", flush=True)
    for name, m in PUBLISHED.items():
        rows[name] = m
    text = table(rows, notes)
    print(text)
    if args.write_readme:
        cmd = " ".join(["python apps/seqrec/scripts/reproduce_beauty.py", *sys.argv[1:]])
        curve_lines = [f"- {m}: " + ", ".join(f"e{e}/s{s}: {n:.4f}" for e, s, _, n in pts[-12:])
                       for m, pts in curves.items()]
        block = "\n".join([BEGIN, f"Beauty test set, full ranking. Command: `{cmd}`", "", text, "",
                           "Validation NDCG@20 along training (epoch / global step, one per batch):", *curve_lines, END])
        readme = README.read_text()
        README.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, readme, flags=re.DOTALL))


if __name__ == "__main__":
    main()
