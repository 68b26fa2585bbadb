"""The real-data root: caller's path, then the environment, then the working directory; config expansion."""

from pathlib import Path

import pytest
from contrastkit.paths import data_root, find_data_root, resolve

REPO = Path(__file__).resolve().parents[2]


def test_from_the_repository_root_the_data_beside_it_is_found(monkeypatch):
    """CI and the Makefile run from the checkout's root, with the data at ../shared/data."""
    monkeypatch.delenv("CONTRASTKIT_DATA", raising=False)
    monkeypatch.chdir(REPO)
    found = find_data_root()
    assert found.source == "working directory"
    assert found.path == (REPO.parent / "shared" / "data").resolve()


def test_a_symbolic_link_to_the_data_is_found_and_resolved(monkeypatch, tmp_path):
    """A checkout whose ../shared is a symbolic link (as on some CI machines) finds the data, as
    the link's target, so that paths compare equal however they were reached."""
    monkeypatch.delenv("CONTRASTKIT_DATA", raising=False)
    (tmp_path / "real" / "data").mkdir(parents=True)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "shared").symlink_to(tmp_path / "real")
    (tmp_path / "x" / "main").mkdir()
    monkeypatch.chdir(tmp_path / "x" / "main")
    assert find_data_root() == ((tmp_path / "real" / "data").resolve(), "working directory")


def test_working_directory_search_does_not_depend_on_the_package_location(monkeypatch, tmp_path):
    """The root is found from the working directory, not from __file__."""
    monkeypatch.delenv("CONTRASTKIT_DATA", raising=False)
    (tmp_path / "shared" / "data").mkdir(parents=True)
    deep = tmp_path / "main" / "apps" / "x"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_data_root() == (tmp_path.resolve() / "shared" / "data", "working directory")


def test_order_argument_then_environment_then_working_directory(monkeypatch, tmp_path):
    given, env = tmp_path / "given", tmp_path / "env"
    given.mkdir()
    env.mkdir()
    monkeypatch.setenv("CONTRASTKIT_DATA", str(env))
    assert find_data_root(given) == (given, "argument")
    assert find_data_root() == (env, "environment")
    assert data_root() == env


def test_nothing_found_lists_what_was_tried(monkeypatch, tmp_path):
    monkeypatch.delenv("CONTRASTKIT_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="none of .*" + str(tmp_path / "shared" / "data")):
        find_data_root(cwd=tmp_path)
    monkeypatch.setenv("CONTRASTKIT_DATA", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=r"from \$CONTRASTKIT_DATA"):
        find_data_root()
    with pytest.raises(FileNotFoundError, match="given by the caller"):
        find_data_root(tmp_path / "absent")


def test_environment_overrides_and_configs_expand(monkeypatch, tmp_path):
    monkeypatch.setenv("CONTRASTKIT_DATA", str(tmp_path))
    assert resolve("${CONTRASTKIT_DATA}/eth_ucy") == tmp_path / "eth_ucy"
    assert resolve("$CONTRASTKIT_DATA/x") == tmp_path / "x"
    monkeypatch.setenv("CONTRASTKIT_DATA", str(tmp_path / "missing"))
    assert resolve("relative/path") == Path("relative/path")  # no lookup when the path does not name it
