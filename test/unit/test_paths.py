"""Paths from parameters stay inside the configured directories (symlinks and .. resolved)."""

from __future__ import annotations

from pathlib import Path

import pytest

from videorag_ros.core.errors import ConfigError
from videorag_ros.core.paths import confine, expand_dirs


def test_inside_outside_dotdot_and_symlinks(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    (allowed / "sub").mkdir(parents=True)
    (tmp_path / "secret").write_text("x")
    dirs = expand_dirs([str(allowed)])
    assert confine(allowed / "sub" / "memory.vrag", dirs, what="snapshot", param="p") == (allowed / "sub" / "memory.vrag").resolve()
    for bad in (tmp_path / "secret", allowed / ".." / "secret", Path("/etc/passwd")):
        with pytest.raises(ConfigError, match=r"outside the allowed directories .*add its directory to 'p'"):
            confine(bad, dirs, what="snapshot", param="p")
    (allowed / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(ConfigError, match="resolves to"):
        confine(allowed / "link", dirs, what="snapshot", param="p")
    with pytest.raises(ConfigError, match=r"allowed directories \[\]"):
        confine(allowed / "x", [], what="snapshot", param="p")


def test_expand_dirs_skips_blanks_and_expands_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert expand_dirs(["~/memory", " ", ""]) == [(tmp_path / "memory").resolve()]


def test_a_model_directory_from_the_command_line_is_allowed_too(tmp_path: Path, tiny_model_dir: Path) -> None:
    from videorag_ros.core.config import build_edge_config, override_model
    from videorag_ros.core.paths import check_config_paths

    confined = {"security.allowed_dirs": [str(tmp_path)]}
    with pytest.raises(ConfigError, match="model directory"):
        check_config_paths(build_edge_config(confined | {"model": str(tiny_model_dir)}))
    assert check_config_paths(build_edge_config(override_model(dict(confined), str(tiny_model_dir)))) == []
    assert override_model({}, "videorag-tiny") == {"model": "videorag-tiny"}  # a name: nothing to allow
    assert check_config_paths(build_edge_config({})) == ["security.allowed_dirs is empty: model, reference image and snapshot paths are not confined"]
