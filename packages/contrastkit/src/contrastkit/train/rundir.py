"""Run directories ``<root>/<app>/<name>/version_K/``: never overwritten, resumable.

The rules every command of every app follows:

- a new run takes ``version_K`` one past the highest existing ``K`` and writes ``config.yaml``;
- ``resume`` continues the newest version *that has a checkpoint* (it says which), refuses when
  none has one, and refuses when the resolved configuration differs from the run's
  ``config.yaml`` in anything but the fields an app declares free to change (``may_differ``) and
  the folders it is kept in (``runs_root``, ``cache_dir``: a run moved to another machine resumes);
- a run that fails before its first checkpoint is removed when it holds nothing but its
  ``config.yaml`` (and the ``runs/<app>/<name>/`` folder with it when that is left empty), and
  otherwise marked with a ``FAILED`` file; neither is ever resumed;
- a process that opens a run holds its lock (``.lock``, ``fcntl.flock``) until it ends: a second
  ``--resume`` of the same run while the first is still going is refused, naming the holder;
- temporary files that a killed writer left in the run's ``checkpoints/`` are removed when the run
  is opened again (the lock guarantees that nobody else is writing them).
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from contrastkit.atomic import write_text_atomic

_VERSION = re.compile(r"^version_(\d+)$")
FAILED_MARKER = "FAILED"
LOCK_FILE = ".lock"
# settings that may change when a run is resumed (anything else must match its config.yaml):
# the length of training, where it runs (see docs/scale-out.md for a changed world size), display
RESUME_MAY_DIFFER = ("resume", "ckpt_path", "enable_progress_bar", "progress", "max_epochs", "max_time", "config",
                     "accelerator", "devices", "num_nodes", "strategy")
# where a run and its data cache are kept, never what they hold (a data cache checks its own
# contents): a run or its record copied to another machine resumes there with other folders
KEPT_ELSEWHERE = ("runs_root", "cache_dir")
# the run locks this process holds, by run directory: kept open until the process ends (closing
# the file would release the lock); a second open of the same run in this process reuses its lock
_HELD_LOCKS: dict[Path, int] = {}


def is_rank_zero() -> bool:
    """False in a process that a launcher started as another rank than 0 (``RANK``,
    ``SLURM_PROCID``, ``NODE_RANK`` or ``LOCAL_RANK`` above 0); True when run alone.

    Lightning's DDP launcher starts ranks 1..N-1 by running the same command again: they must
    find the run directory rank 0 opened, and leave every file in it to rank 0."""
    return all(int(os.environ.get(var) or 0) == 0 for var in ("RANK", "SLURM_PROCID", "NODE_RANK", "LOCAL_RANK"))


class ResumeError(RuntimeError):
    """A ``--resume`` that cannot continue a run (none has a checkpoint, or the settings differ)."""


def _versions(parent: Path) -> list[int]:
    if not parent.is_dir():
        return []
    return sorted(int(m.group(1)) for p in parent.iterdir() if p.is_dir() and (m := _VERSION.match(p.name)))


def _check_name(field: str, value: str) -> None:
    if not value or "/" in value or value in (".", ".."):
        raise ValueError(f"run directory {field} must be a plain non-empty name; got {value!r}")


def checkpoints_of(run_dir: str | Path) -> list[Path]:
    """The non-empty ``*.ckpt`` files in any ``checkpoints`` folder under ``run_dir`` (its own, and
    those of sub-runs a study or demo keeps inside it), newest first."""
    run_dir = Path(run_dir)
    found = [p for p in run_dir.rglob("*.ckpt") if p.parent.name == "checkpoints" and p.is_file()
             and p.stat().st_size > 0] if run_dir.is_dir() else []
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


UNITS_FILE = "units.json"  # a study's record of finished units (contrastkit.train.units)


def resumable_run_dir(root: str | Path, app: str, name: str) -> Path:
    """The newest ``version_K`` of ``root/app/name`` that has a checkpoint or a study's record of
    finished units (a study that scores models trained elsewhere has no checkpoint of its own);
    :class:`ResumeError` listing what was found when none has."""
    parent = Path(root) / app / name
    versions = _versions(parent)
    for k in reversed(versions):
        if checkpoints_of(parent / f"version_{k}") or (parent / f"version_{k}" / UNITS_FILE).is_file():
            return parent / f"version_{k}"
    seen = ", ".join(f"version_{k}" for k in versions) or "no version"
    raise ResumeError(f"--resume: no run of {parent} has a checkpoint to continue from ({seen} found); "
                      "run the same command without --resume to start a new one")


class RunLockedError(ResumeError):
    """The run is being written by another process that is still alive."""


def lock_run(run_dir: str | Path) -> None:
    """Take ``run_dir``'s lock for the rest of this process (see the module docstring); raises
    :class:`RunLockedError` naming the holder when another process has it."""
    run_dir = Path(run_dir).resolve()
    if run_dir in _HELD_LOCKS:
        return
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.read(fd, 4096).decode("utf-8", "replace").strip() or "another process"
        os.close(fd)
        raise RunLockedError(f"{run_dir} is in use by {holder}; wait for that run to end (or stop it) "
                             "before resuming it, or run without --resume to start a new version") from None
    os.ftruncate(fd, 0)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {stamp}: {' '.join(sys.argv)}\n".encode())
    _HELD_LOCKS[run_dir] = fd
    _remove_stale_temporaries(run_dir)


def opened_run_of(path: str | Path) -> Path:
    """The run this process opened (and holds) that contains ``path`` (a part of a demo or study
    trains in a folder inside its run); ``path`` itself when none does."""
    path = Path(path).resolve()
    holders = [run for run in _HELD_LOCKS if run == path or run in path.parents]
    return max(holders, key=lambda run: len(run.parts)) if holders else path


def release_run(run_dir: str | Path) -> None:
    """Give up this process's lock on ``run_dir`` (when it holds one)."""
    fd = _HELD_LOCKS.pop(Path(run_dir).resolve(), None)
    if fd is not None:
        os.close(fd)


def _remove_stale_temporaries(run_dir: Path) -> None:
    """``.<name>.*.tmp`` files of :mod:`contrastkit.atomic` left in the run's checkpoint folders
    by a writer that was killed (we hold the lock: nobody is writing them now)."""
    for tmp in run_dir.rglob(".*.tmp"):
        if tmp.parent.name == "checkpoints" and tmp.is_file():
            tmp.unlink(missing_ok=True)


def new_run_dir(root: str | Path, app: str, name: str, resume: bool = False) -> Path:
    """Return ``root/app/name/version_K``, created.

    A fresh ``K`` (one past the highest existing) unless ``resume`` is True: then the newest
    version with a checkpoint or a study's record (:func:`resumable_run_dir`), announced on stdout.
    """
    _check_name("app", app)
    _check_name("name", name)
    if resume:
        run_dir = resumable_run_dir(root, app, name)
        lock_run(run_dir)
        found = checkpoints_of(run_dir)
        if found:
            print(f"resuming {run_dir} from {found[0].relative_to(run_dir)}{_progress_of(found[0])}", flush=True)
        else:
            print(f"resuming {run_dir} from its record of finished units ({UNITS_FILE})", flush=True)
        return run_dir
    parent = Path(root) / app / name
    versions = _versions(parent)
    k = versions[-1] + 1 if versions else 0
    while True:  # another process may create the same version concurrently
        path = parent / f"version_{k}"
        try:
            path.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            k += 1
            continue
        lock_run(path)
        return path


def _progress_of(checkpoint: Path) -> str:
    """``" (saved in epoch E at step S...)"`` read from a Lightning checkpoint (memory-mapped, nothing but
    its counters is read), or ``""`` when the file holds no such counters."""
    import torch

    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001  (an unreadable file is reported with its path when it is loaded)
        return ""
    if not isinstance(state, dict) or "epoch" not in state:
        return ""
    return (f" (saved in epoch {int(state['epoch']) + 1} at step {int(state.get('global_step', 0))}; "
            "training continues from there)")


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_differences(saved: dict[str, Any], requested: dict[str, Any],
                       may_differ: Iterable[str] = ()) -> list[str]:
    """``"field: saved -> requested"`` for every dotted field that differs, except those named in
    ``may_differ`` and the locations :data:`KEPT_ELSEWHERE` (a name matches the field itself or
    its last component)."""
    free = set(may_differ) | set(KEPT_ELSEWHERE)
    a, b = _flat(_jsonable(saved)), _flat(_jsonable(requested))
    out = []
    for key in sorted(set(a) | set(b)):
        if key in free or key.rsplit(".", 1)[-1] in free:
            continue
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            out.append(f"{key}: {a.get(key, '<absent>')!r} -> {b.get(key, '<absent>')!r}")
    return out


def open_run(root: str | Path, app: str, name: str, config: dict[str, Any], resume: bool = False,
             may_differ: Iterable[str] = ("resume", "threads", "progress")) -> Path:
    """The run directory of a command: a new version with ``config.yaml`` written, or (``resume``)
    the newest version with a checkpoint whose ``config.yaml`` matches ``config`` but for
    ``may_differ``; a differing one raises :class:`ResumeError` naming the fields."""
    if not is_rank_zero():
        return _rank_zero_run_dir(Path(root) / app / name, resume)
    run_dir = new_run_dir(root, app, name, resume=resume)
    _announce_to_other_ranks(Path(root) / app / name, run_dir)
    if not resume:
        save_config(run_dir, config)
        return run_dir
    saved_path = run_dir / "config.yaml"
    saved = yaml.safe_load(saved_path.read_text()) if saved_path.is_file() else {}
    diffs = config_differences(saved or {}, config, may_differ)
    if diffs:
        raise ResumeError(f"--resume: {saved_path} was made with other settings, so continuing it would mix "
                          "two experiments:\n  " + "\n  ".join(diffs)
                          + "\nrun with the same settings, or without --resume (a new version)")
    return run_dir


def _launch_id() -> str | None:
    """What the ranks of one launch share when a launcher starts them all at once: torchrun's run
    id and rendezvous address, or SLURM's job and step; None under Lightning's own launcher, which
    starts ranks 1..N-1 only after rank 0 has opened its run."""
    env = os.environ
    if env.get("TORCHELASTIC_RUN_ID"):
        return f"torchrun-{env['TORCHELASTIC_RUN_ID']}-{env.get('MASTER_ADDR', '')}-{env.get('MASTER_PORT', '')}"
    if env.get("SLURM_JOB_ID"):
        return f"slurm-{env['SLURM_JOB_ID']}-{env.get('SLURM_STEP_ID', '0')}"
    return None


def _launch_marker(parent: Path, launch: str) -> Path:
    return parent / f".launch-{re.sub(r'[^A-Za-z0-9_.-]', '_', launch)}"


def _announce_to_other_ranks(parent: Path, run_dir: Path) -> None:
    """Rank 0 leaves the run directory it opened where the other ranks of its launch look."""
    launch = _launch_id()
    if launch is not None:
        write_text_atomic(_launch_marker(parent, launch), run_dir.name)


def _rank_zero_run_dir(parent: Path, resume: bool, timeout_s: float = 600.0) -> Path:
    """The run directory rank 0 opened: announced for this launch (torchrun, SLURM: every rank
    starts at once, so wait for it), else (Lightning's launcher, which starts the other ranks
    after rank 0 opened its run) rank 0's choice made again: the newest version, or with
    ``resume`` the newest with a checkpoint."""
    launch = _launch_id()
    if launch is None:
        if resume:
            return resumable_run_dir(parent.parent.parent, parent.parent.name, parent.name)
        versions = _versions(parent)
        if not versions:
            raise ResumeError(f"a rank other than 0 found no run opened by rank 0 under {parent}")
        return parent / f"version_{versions[-1]}"
    marker, waited = _launch_marker(parent, launch), 0.0
    while not marker.is_file():
        if waited >= timeout_s:
            raise ResumeError(f"a rank other than 0 waited {timeout_s:.0f} s for rank 0 to open its run under "
                              f"{parent} ({marker.name} never appeared; is {parent} on a shared filesystem?)")
        time.sleep(0.5)
        waited += 0.5
    return parent / marker.read_text().strip()


@contextmanager
def failure_marked(run_dir: str | Path) -> Iterator[Path]:
    """Run a block; if it raises before ``run_dir`` has a checkpoint, remove ``run_dir`` when it
    holds nothing but ``config.yaml`` (and empty folders), else write ``run_dir/FAILED`` with the
    error. A run with a checkpoint is left as it is, to be resumed."""
    run_dir = Path(run_dir)
    try:
        yield run_dir
    except BaseException as error:
        if is_rank_zero() and run_dir.is_dir() and not checkpoints_of(run_dir):
            files = [p for p in run_dir.rglob("*") if p.is_file() and p.name != LOCK_FILE]
            if all(p.name == "config.yaml" and p.parent == run_dir for p in files):
                release_run(run_dir)
                shutil.rmtree(run_dir, ignore_errors=True)
                _remove_if_empty(run_dir.parent)
            else:
                stamp = datetime.now(UTC).isoformat(timespec="seconds")
                (run_dir / FAILED_MARKER).write_text(f"{stamp} {type(error).__name__}: {error}\n")
        raise


def interrupted_message(run_dir: str | Path | None = None) -> str:
    """What Ctrl-C leaves behind and how to continue."""
    if run_dir is not None and not checkpoints_of(run_dir):
        return f"interrupted before the run's first checkpoint ({run_dir}): nothing to resume; run the command again"
    where = f" ({run_dir})" if run_dir is not None else ""
    return f"interrupted — the same command with --resume continues from the last checkpoint{where}"


def _remove_if_empty(folder: Path) -> None:
    """Remove ``folder`` when nothing is in it (another process may have just created a version
    there: then it is not empty and stays)."""
    try:
        folder.rmdir()
    except OSError:
        pass


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_metrics(run_dir: str | Path, metrics: dict[str, Any]) -> Path:
    """Merge ``metrics`` into ``run_dir/metrics.json`` (tensors and numpy scalars become numbers);
    only rank 0 writes under DDP."""
    path = Path(run_dir) / "metrics.json"
    if not is_rank_zero():
        return path
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(_jsonable(metrics))
    write_text_atomic(path, json.dumps(current, indent=2, sort_keys=True))
    return path


def save_config(run_dir: str | Path, config: dict[str, Any]) -> Path:
    """Write the resolved configuration to ``run_dir/config.yaml`` (rank 0 only under DDP)."""
    path = Path(run_dir) / "config.yaml"
    if not is_rank_zero():
        return path
    write_text_atomic(path, yaml.safe_dump(_jsonable(config), sort_keys=False))
    return path


def announce_run(run_dir: str | Path) -> str:
    """The closing line of every command: where the run and its metrics are."""
    run_dir = Path(run_dir)
    if not is_rank_zero():
        return ""
    line = f"run: {run_dir}" + (f"  metrics: {run_dir / 'metrics.json'}" if (run_dir / "metrics.json").exists() else "")
    print(line, flush=True)
    return line
