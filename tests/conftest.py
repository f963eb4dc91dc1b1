"""Shared test set-up: quiet TensorFlow, tiny spaces, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# A space small enough that a trial takes a second or two on a CPU.
TINY_SPACE = """
from autodl.space import SearchSpace, choice, integer, real

space = SearchSpace(
    family={family!r},
    default_data={data!r},
    {extra}
    learning_rate=real(1e-3, 1e-2, log=True),
    batch_size=64,
    epochs={epochs},
    patience=2,
)
"""


@pytest.fixture
def write_space(tmp_path: Path):
    """Write a tiny space file; returns its path."""

    def write(family: str = "mlp", data: str = "builtin:iris", epochs: int = 2, extra: str = "", name: str = "tiny") -> Path:
        path = tmp_path / f"{name}.py"
        text = TINY_SPACE.format(family=family, data=data, epochs=epochs, extra=extra)
        path.write_text(textwrap.dedent(text))
        return path

    return write


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m autodl ARGS` in a fresh process, as a user would."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "autodl", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=full_env,
    )


@pytest.fixture
def cli():
    return run_cli
