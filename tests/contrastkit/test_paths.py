"""The real-data root: environment override, default beside the repository, config expansion."""

from pathlib import Path

from contrastkit.paths import data_root, resolve

REPO = Path(__file__).resolve().parents[2]


def test_default_is_shared_data_beside_the_repository(monkeypatch):
    monkeypatch.delenv("CONTRASTKIT_DATA", raising=False)
    assert data_root() == REPO.parent / "shared" / "data"


def test_environment_overrides_and_configs_expand(monkeypatch, tmp_path):
    monkeypatch.setenv("CONTRASTKIT_DATA", str(tmp_path))
    assert data_root() == tmp_path
    assert resolve("${CONTRASTKIT_DATA}/eth_ucy") == tmp_path / "eth_ucy"
    assert resolve("$CONTRASTKIT_DATA/x") == tmp_path / "x"
    assert resolve("relative/path") == Path("relative/path")
