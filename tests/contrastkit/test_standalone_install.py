"""The core installs alone, as a library: into a fresh virtual environment holding only torch and
its own requirements (no Lightning, jsonargparse, scikit-learn, torchmetrics, PyYAML...), it
imports and computes a loss, and it asks for a range of torch versions, not one."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = """
import sys
import torch
import contrastkit
from contrastkit.functional import nt_xent_loss
z = torch.nn.functional.normalize(torch.randn(8, 4, generator=torch.Generator().manual_seed(0)), dim=1)
loss = nt_xent_loss(z[:4], z[4:], temperature=0.5)
assert torch.isfinite(loss), loss
for extra in ("lightning", "jsonargparse", "sklearn", "torchmetrics", "yaml"):
    assert extra not in sys.modules, extra
    try:
        __import__(extra)
    except ImportError:
        continue
    raise AssertionError(f"{extra} is importable: the environment is not the core's alone")
from importlib.metadata import requires
(torch_requirement,) = [r for r in requires("contrastkit") if r.startswith("torch") and "extra" not in r]
assert "==" not in torch_requirement, f"the library pins {torch_requirement}: users with another torch cannot install it"
print("ok", contrastkit.__version__, float(loss))
"""


def _requirement_closure(name: str) -> list[metadata.Distribution]:
    """The installed distribution ``name`` and, recursively, what it requires (no extras)."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [name]
    while todo:
        dist_name = todo.pop()
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            continue  # a requirement for another platform
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen[key] = dist
        for req in dist.requires or []:
            if "extra ==" in req:
                continue
            todo.append(req.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].split("!")[0]
                        .split("~")[0].strip())
    return list(seen.values())


def _link_distributions(dists: list[metadata.Distribution], site: Path) -> None:
    """Make ``dists`` importable in ``site`` by linking their top-level files and folders."""
    for dist in dists:
        for top in {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            source = Path(dist.locate_file(top))
            if source.exists() and not (site / top).exists() and top != "__pycache__":
                (site / top).symlink_to(source)


@pytest.mark.slow
def test_the_core_installs_and_runs_a_loss_without_its_extras(tmp_path):
    fresh = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(fresh)
    site = next((fresh / "lib").glob("python3*/site-packages"))
    _link_distributions(_requirement_closure("torch") + _requirement_closure("numpy"), site)
    source, wheels = tmp_path / "contrastkit_src", tmp_path / "wheels"  # a copy: the build writes in its tree
    shutil.copytree(ROOT / "packages" / "contrastkit", source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(source)], check=True, timeout=300)
    (wheel,) = wheels.glob("contrastkit-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(site), str(wheel)], check=True, timeout=300)
    python = fresh / "bin" / "python"
    done = subprocess.run([str(python), "-c", CHECK], capture_output=True, text=True, check=False, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ok 0.1.0")
