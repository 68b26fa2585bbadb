"""docker-compose.yml and the shared image, tested without a Docker engine.

The file parses, there is exactly one service per app, each service's command exists (the
app's console script is installed) and starts locally, the GPU overlay covers every service,
and every path the Dockerfile copies exists.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def _apps() -> set[str]:
    return {p.parent.name for p in (ROOT / "apps").glob("*/pyproject.toml")}


def test_one_service_per_app_with_shared_image():
    services = _compose("docker-compose.yml")["services"]
    assert set(services) == _apps()
    for name, service in services.items():
        dockerfile = ROOT / service["build"]["context"] / service["build"]["dockerfile"]
        assert dockerfile.is_file(), name
        assert service["entrypoint"] == [name]
        assert "/data:ro" in " ".join(service["volumes"])


def test_gpu_overlay_covers_every_service():
    gpu = _compose("docker-compose.gpu.yml")["services"]
    assert set(gpu) == _apps()
    for service in gpu.values():
        devices = service["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["driver"] == "nvidia"


def test_every_service_command_exists_and_starts():
    bin_dir = Path(sys.executable).parent
    for name, service in _compose("docker-compose.yml")["services"].items():
        exe = shutil.which(service["entrypoint"][0], path=str(bin_dir))
        assert exe, f"console script {name!r} is not installed"
        out = subprocess.run([exe, "--help"], check=False, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        for command in service["command"]:
            assert command in out.stdout, f"{name} --help does not list {command!r}"


def test_dependency_layer_is_built_from_metadata_alone():
    """The install layer copies every member's pyproject before any code, so that a code change
    does not re-install torch."""
    text = (ROOT / "shared" / "docker" / "Dockerfile").read_text()
    deps_at, code_at = text.index("make deps"), text.index("COPY packages packages")
    assert deps_at < code_at
    copied = re.findall(r"^COPY (\S+) ", text[:deps_at], flags=re.MULTILINE)
    for app in _apps():
        assert f"apps/{app}/pyproject.toml" in copied, app
    assert "packages/contrastkit/pyproject.toml" in copied
    sys.path.insert(0, str(ROOT / "scripts"))
    from workspace_deps import requirements

    reqs = requirements()
    assert "torch==2.14.1" in reqs and not any(r.startswith(("contrastkit", "medts", "seqrec")) for r in reqs)
    compose = _compose("docker-compose.yml")
    assert "contrastkit-cache" in compose["volumes"]
    for service in compose["services"].values():
        assert service["user"].startswith("${UID")
        assert any(v.endswith(":/cache") for v in service["volumes"])


def test_compose_file_validates():
    """``docker-compose config -q`` (Debian's 1.29) needs no engine; ``make test`` installs it."""
    tool = shutil.which("docker-compose")
    assert tool, "docker-compose is not installed (apt-get install docker-compose)"
    out = subprocess.run([tool, "-f", "docker-compose.yml", "-f", "docker-compose.gpu.yml", "config", "-q"],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr


def test_dockerfile_copies_existing_paths_and_runs_make_setup():
    text = (ROOT / "shared" / "docker" / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+)$", text, flags=re.MULTILINE):
        for src in line.split()[:-1]:
            assert (ROOT / src).exists(), src
    assert "make setup" in text
    dry = subprocess.run(["make", "-n", "setup"], check=False, cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
