"""TensorFlow SavedModel export: the one TensorFlow-specific part of autodl.

The serving signature takes the model's raw input (the same dict of columns, image
array or text strings that the `.keras` model takes), because all preprocessing lives
inside the model.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

_logger = logging.getLogger(__name__)

SAVED_MODEL_DIR = "saved_model"


def export_saved_model(model: Any, path: Path) -> Path | None:
    """Write `model` as a SavedModel folder at `path`, replacing any previous one.

    Returns None without TensorFlow (e.g. a JAX-only GPU machine): the `.keras` model is
    the export there.

    The folder is written beside its final place and renamed in, so a crash leaves the
    previous export (or none), never half of one.
    """
    if importlib.util.find_spec("tensorflow") is None:
        _logger.warning("TensorFlow is not installed: no SavedModel written to %s", path)
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    old: Path | None = None
    try:
        build = tmp / "model"
        model.export(str(build), format="tf_saved_model", verbose=False)
        if path.exists():
            old = tmp / "previous"
            path.rename(old)
        build.rename(path)
    except BaseException:
        if old is not None and not path.exists():
            old.rename(path)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _logger.debug("wrote SavedModel %s", path)
    return path
