"""Real recordings nobody on this project made (``../shared/real/``, see its README.md and SOURCES.md).

They are read in place, never copied into the repo. ``real_file("bags/x.bag")`` skips the calling
test with the reason when the directory or the file is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from test.conftest import REPO

ENV = "VIDEORAG_SHARED_REAL"


def real_dir() -> Path:
    """``$VIDEORAG_SHARED_REAL``, else ``../shared/real`` beside the repository root."""
    return Path(os.environ[ENV]) if os.environ.get(ENV) else REPO.parent / "shared" / "real"


def real_file(relative: str) -> Path:
    """Path of one real recording; skips the test (with the reason) when it is not here."""
    path = real_dir() / relative
    if not path.is_file():
        pytest.skip(f"real recording {path} is absent (set ${ENV} to a copy of shared/real/ to run this test)")
    return path
