"""``motionfc report``: tables (markdown) and figures from the summaries of ``motionfc study``, in
the report's own run folder (``report.md``, ``plots/lowshot.png``, ``plots/spurious.png``); a
person copies what the README shows from there.

    motionfc report --style runs/motionfc/style_study/version_0 \
        --eth "[runs/motionfc/eth_ucy_grid/version_0]"

Every ``±`` is the mean ± the *sample* standard deviation over seeds
(:func:`contrastkit.train.summarize`).

Every input is a run directory (``runs/motionfc/<name>/version_K``) or the file in it that is read
(``units.json``, or ``summary.json`` of runs made before it; ``metrics.json`` of a spurious-setting
run, ``table.md`` of a demo).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from contrastkit.train import format_summary, summarize

from motionfc.plots import plot_curves

GROUPS = ("iid", "ood_inter", "ood_extra")


UNITS, OLD_UNITS = "units.json", "summary.json"  # the study record; its name before the core's StudyUnits


def run_file(path: str | Path, filename: str = UNITS) -> Path:
    """``path/filename`` when ``path`` is a run directory, else ``path`` itself; an error naming
    the path when that file does not exist. A run made before ``units.json`` reads its ``summary.json``."""
    path = Path(path)
    file = path / filename if path.is_dir() else path
    if filename == UNITS and path.is_dir() and not file.is_file() and (path / OLD_UNITS).is_file():
        file = path / OLD_UNITS
    if not file.is_file():
        raise FileNotFoundError(f"{file}: not found; expected a run directory (runs/motionfc/<name>/version_K) "
                                f"holding {filename}, or the file itself")
    return file


def read_summary(path: str | Path, filename: str = UNITS) -> dict:
    """The JSON of :func:`run_file`."""
    return json.loads(run_file(path, filename).read_text())


def read_grid(path: str | Path) -> dict:
    """``{"args": settings, "results": [run metrics]}`` of a ``motionfc study eth_ucy_grid`` run:
    its units and its ``config.yaml`` (older runs kept both in ``summary.json``)."""
    import yaml

    units = read_summary(path)
    if "results" in units and "args" in units:  # the older layout
        return units
    config = run_file(path).parent / "config.yaml"
    if not config.is_file():
        raise FileNotFoundError(f"{config}: not found beside {run_file(path)} (a study run folder holds both)")
    return {"args": yaml.safe_load(config.read_text()), "results": list(units.values())}


def ms(values: list[float]) -> str:
    """``"mean ± sample std"`` of the seeds' ``values`` (the mean alone for one, ``-`` for none)."""
    return format_summary(summarize(values)) if len(values) else "-"


def curve(values: list[list[float]]) -> tuple[list[float], list[float]]:
    """``(means, sample stds)`` of each point's seeds (std 0 for a single seed): a curve of :func:`plot_curves`."""
    points = [summarize(v) for v in values]
    return [p.mean for p in points], [p.std if p.n > 1 else 0.0 for p in points]


def style_tables(s: dict, docs: Path, sweep: dict | None = None) -> str:
    seeds = sorted({k.rsplit("/seed", 1)[1] for k in s if k.startswith("table/")})
    lines = [f"Seeds: {', '.join(seeds)} (mean ± sample std). ADE / FDE in simulator meters.", "",
             "| method | IID ADE | IID FDE | OoD-inter ADE | OoD-inter FDE | OoD-extra ADE | OoD-extra FDE |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    cv = s["cv"]
    lines.append("| constant velocity | " + " | ".join(f"{cv[g][m]:.3f}" for g in GROUPS for m in ("ade", "fde")) + " |")
    names = {"erm": "ERM", "irm": "IRM (λ=1)", "modular": "modular (ERM)", "irm+modular": "IRM (λ=1) + modular",
             "irm+modular/observed": "IRM (λ=1) + modular, style from observed frames"}
    for key, label in names.items():
        runs = [s[f"table/{key}/seed{x}"]["default"] for x in seeds if f"table/{key}/seed{x}" in s]
        if runs:
            lines.append(f"| {label} | " + " | ".join(ms([r[g][m] for r in runs]) for g in GROUPS for m in ("ade", "fde")) + " |")
    lines += ["", ("**Style-source ablation** (same trained models, ADE; `leak` = the official evaluation, whose style "
              "vector is computed from the scored scenes' ground-truth futures):"), "",
              "| model | style from | IID | OoD-inter | OoD-extra |", "| --- | --- | --- | --- | --- |"]
    for key in ("modular", "irm+modular"):
        for src in ("default", "leak"):
            runs = [s[f"table/{key}/seed{x}"][src] for x in seeds if src in s.get(f"table/{key}/seed{x}", {})]
            if runs:
                lab = "reference scenes" if src == "default" else "scored futures (official leak)"
                lines.append(f"| {names[key]} | {lab} | " + " | ".join(ms([r[g]["ade"] for r in runs]) for g in GROUPS) + " |")
    ref = [s[k] for k in s if k.startswith("refine/")]
    if ref:
        lines += ["", ("**Test-time refinement** of IRM (λ=1) + modular (3 Adam steps, lr 1e-3, 200 test scenes, ADE "
                  "before → after):"), "", "| references | style 0.5 (IID) | style 0.6 (OoD) |", "| --- | --- | --- |"]
        for src in ("reference", "leak"):
            cells = []
            for env in ("0.5", "0.6"):
                b = [r[f"{src}/{env}"]["before"]["ade"] for r in ref]
                a = [r[f"{src}/{env}"]["after"]["ade"] for r in ref]
                cells.append(f"{ms(b)} → {ms(a)}")
            lab = "separate reference scenes" if src == "reference" else "scored batch's own truth (official)"
            lines.append(f"| {lab} | " + " | ".join(cells) + " |")
    lows = sorted({tuple(k.split("/")[1:3]) for k in s if k.startswith("lowshot/")})
    if lows:
        shots = sorted({int(k.split("/")[3][1:]) for k in s if k.startswith("lowshot/")})
        lines += ["", ("**Low-shot transfer** to style 0.6 (ADE on its 500 test scenes after fine-tuning on K scenes, "
                  "30 epochs, best validation epoch, the pre-trained weights included; K=0: no fine-tuning):"), "",
                  "| model / updated | K=0 | " + " | ".join(f"K={k}" for k in shots) + " |",
                  "|" + " --- |" * (len(shots) + 2)]
        curves = {}
        for name, mode in lows:
            vals = [[s[f"lowshot/{name}/{mode}/k{k}/seed{x}"]["ade"] for x in seeds
                     if f"lowshot/{name}/{mode}/k{k}/seed{x}" in s] for k in shots]
            label = f"{names.get(name, name)} / {'modulator only' if mode == 'integ' else 'all'}"
            zero = [s[f"table/{name}/seed{x}"]["default"]["0.6"]["ade"] for x in seeds if f"table/{name}/seed{x}" in s]
            lines.append(f"| {label} | {ms(zero)} | " + " | ".join(ms(v) if v else "-" for v in vals) + " |")
            if all(vals):
                curves[label] = curve(vals)
        for key in sorted({"/".join(k.split("/")[2:4]) for k in (sweep or {}) if k.startswith("lowshot/")}):
            lam, mode = key.split("/")
            vals = [[v["ade"] for kk, v in sweep.items() if kk.startswith(f"lowshot/irm+modular/{key}/k{k}/")] for k in shots]
            zero = [v["0.6"]["ade"] for kk, v in sweep.items() if kk.startswith(f"irm+modular/{lam}/")]
            label = f"IRM (λ={lam[6:]}) + modular / {'modulator only' if mode == 'integ' else 'all'}"
            lines.append(f"| {label} | {ms(zero)} | " + " | ".join(ms(v) if v else "-" for v in vals) + " |")
            if all(vals):
                curves[label] = curve(vals)
        plot_curves(shots, curves, docs / "lowshot.png", xlabel="K target scenes (style 0.6)", ylabel="ADE",
                    title="low-shot transfer")
    return "\n".join(lines)


def ablation_table(a: dict) -> str:
    """Style-source ablation from ``motionfc study ablation`` (ADE, mean ± sample std over seeds)."""
    labels = {"reference": "reference scenes (ours, default)", "leak_batch64": "official leak, scored batch of 64",
              "leak_batch1": "official leak, each scene's own future", "style_of_0.1": "wrong style: that of 0.1",
              "style_of_0.8": "wrong style: that of 0.8", "no_style": "no style (modulator off)"}
    lines = ["| model | style vector from | IID ADE | OoD-inter ADE | OoD-extra ADE |", "| --- | --- | --- | --- | --- |"]
    for name, pretty in (("modular", "modular (ERM)"), ("irm+modular", "IRM (λ=1) + modular")):
        runs = [v for k, v in a.items() if k.startswith(name + "/")]
        for key, lab in labels.items():
            lines.append(f"| {pretty} | {lab} | " + " | ".join(ms([r[key][g]["ade"] for r in runs]) for g in GROUPS) + " |")
    return "\n".join(lines)


def irm_sweep_table(sweep: dict, study: dict | None) -> str:
    """IRM weight sweep (``motionfc study irm_sweep``; λ = 1 from the main study), ADE mean ± sample std over seeds."""
    lines = ["| method | λ | seeds | IID ADE | OoD-inter ADE | OoD-extra ADE |", "| --- | --- | --- | --- | --- | --- |"]
    rows: dict[tuple[str, str], list[dict]] = {}
    for key, t in sweep.items():
        if key.startswith("lowshot/"):
            continue
        method, lam, _ = key.split("/")
        rows.setdefault((method, lam[6:]), []).append(t)
    for key, t in (study or {}).items():
        parts = key.split("/")
        if parts[0] == "table" and parts[1] in ("irm", "irm+modular") and len(parts) == 3:
            rows.setdefault((parts[1], "1"), []).append(t["default"])
    for (method, lam), ts in sorted(rows.items(), key=lambda kv: (kv[0][0], float(kv[0][1]))):
        name = "IRM" if method == "irm" else "IRM + modular"
        lines.append(f"| {name} | {lam} | {len(ts)} | " + " | ".join(ms([t[g]["ade"] for t in ts]) for g in GROUPS) + " |")
    return "\n".join(lines)


def eth_tables(runs: list[dict], docs: Path) -> str:
    """The ETH/UCY table (and the spurious-feature one) from ``motionfc study eth_ucy_grid`` summaries."""
    res = [r for d in runs for r in d["results"] if "error" not in r]
    lines = [(f"Budget: {', '.join(str(d['args']['max_minutes']) + ' min' for d in runs)} of training per run "
             f"(epochs run: {min(r['epochs_run'] for r in res)}–{max(r['epochs_run'] for r in res)} of the official 400), "
             f"{len(runs)} seed(s); mean over seeds. ADE / FDE in meters."), "",
             "| fold | STGAT ERM | STGAT IRM (λ=0.1) | STGAT v-REx (β=5) |", "| --- | --- | --- | --- |"]
    means = {k: [] for k in ("erm", "irm", "vrex")}
    for fold in sorted({r["fold"] for r in res if not r.get("spurious")}):
        cells = []
        for risk in ("erm", "irm", "vrex"):
            rr = [r for r in res if r["fold"] == fold and r["risk"] == risk and not r.get("spurious")]
            a, f = np.mean([r["ade"] for r in rr]), np.mean([r["fde"] for r in rr])
            means[risk].append((a, f))
            cells.append(f"{a:.3f} / {f:.3f}")
        lines.append(f"| {fold} | " + " | ".join(cells) + " |")
    lines.append("| **average** | " + " | ".join(f"{np.mean([x[0] for x in v]):.3f} / {np.mean([x[1] for x in v]):.3f}"
                                                  for v in means.values()) + " |")
    sp = [r for r in res if r.get("spurious")]
    if sp:
        alphas = sorted({float(k.split("/")[0][5:]) for r in sp for k in r if k.startswith("alpha")})
        lines += ["", "**Spurious feature** (train α: hotel 1, univ 2, zara1 4, zara2 8; test eth with α; ADE):", "",
                  "| method | " + " | ".join(f"α={a:g}" for a in alphas) + " |", "|" + " --- |" * (len(alphas) + 1)]
        curves = {}
        for risk, label in (("erm", "ERM"), ("irm", "IRM (λ=3)")):
            rr = [r for r in sp if r["risk"] == risk]
            vals = [[r[f"alpha{a:g}/ade"] for r in rr] for a in alphas]
            lines.append(f"| {label} | " + " | ".join(ms(v) for v in vals) + " |")
            curves[label] = curve(vals)
        plot_curves(alphas, curves, docs / "spurious.png", xlabel="α at test (eth)", ylabel="ADE (m)",
                    title="spurious feature", logx=True)
    return "\n".join(lines)


def spurious_runs_table(runs: list[str]) -> str:
    """``label=path`` pairs of single spurious-setting runs (run directory or metrics.json) -> ADE / FDE against alpha."""
    rows = []
    for item in runs:
        label, path = item.rsplit("=", 1)
        rows.append((label, read_summary(path, "metrics.json")))
    alphas = sorted({float(k.split("/")[0][5:]) for _, m in rows for k in m if k.startswith("alpha")})
    lines = ["| method | epochs | " + " | ".join(f"α={a:g}" for a in alphas) + " |", "|" + " --- |" * (len(alphas) + 2)]
    for label, m in rows:
        lines.append(f"| {label} | {m['epochs_run']} | " + " | ".join(
            f"{m[f'alpha{a:g}/ade']:.3f} / {m[f'alpha{a:g}/fde']:.3f}" for a in alphas) + " |")
    return "\n".join(lines)


def report(style: str | None = None, ablation: str | None = None, irm_sweep: list[str] = [],  # noqa: B006
           eth: list[str] = [], demo: str | None = None, spurious_runs: list[str] = [],  # noqa: B006
           runs_root: str = "runs", name: str = "report") -> dict[str, str]:
    """Tables and figures from the experiment summaries, written into the report's run folder.

    Each summary is given as its run directory (``runs/motionfc/<name>/version_K``) or its
    ``units.json``. The run directory ``<runs_root>/motionfc/<name>/version_K`` gets
    ``report.md`` (one section per table, also printed) and ``plots/lowshot.png`` /
    ``plots/spurious.png``.

    Args:
        style: a ``motionfc study style`` run; ablation: a ``motionfc study ablation`` run;
            irm_sweep: ``motionfc study irm_sweep`` runs (their summaries are merged: one per seed).
        eth: ``motionfc study eth_ucy_grid`` runs (one per seed).
        demo: a demo run (or its table.md).
        spurious_runs: ``label=path`` pairs of single spurious-setting runs (run directory or metrics.json).
        runs_root, name: the run directory.
    """
    config = {"command": "report", **locals()}
    from contrastkit.atomic import write_text_atomic
    from contrastkit.train import announce_run, failure_marked, open_run

    study = read_summary(style) if style else None  # unreadable inputs stop before a run folder exists
    sweep = {key: row for path in irm_sweep for key, row in read_summary(path).items()} or None
    eth_runs = [read_grid(p) for p in eth]
    run = open_run(runs_root, "motionfc", name, config)
    blocks: dict[str, str] = {}
    with failure_marked(run):
        plots = run / "plots"
        if study:
            text = style_tables(study, plots, sweep)
            if ablation:
                abl = ablation_table(read_summary(ablation))
                marker = "**Test-time refinement**"
                text = text.replace(marker, "**More style sources** (`motionfc study ablation`, same checkpoints):"
                                    "\n\n" + abl + "\n\n" + marker, 1)
            blocks["style"] = text
        if sweep:
            blocks["irm"] = irm_sweep_table(sweep, study)
        if eth_runs:
            blocks["eth"] = eth_tables(eth_runs, plots)
        if demo:
            blocks["demo"] = run_file(demo, "table.md").read_text()
        if spurious_runs:
            blocks["spurious"] = spurious_runs_table(spurious_runs)
        text = "\n".join(f"## {key}\n\n{body.strip()}\n" for key, body in blocks.items())
        write_text_atomic(run / "report.md", text)
        print(text)
    announce_run(run)
    return blocks
