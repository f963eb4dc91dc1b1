"""Three tiny searches (a table with a categorical column, digits images, review texts),
run once per session and shared by the export tests."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SPACE = """
from autodl.space import SearchSpace, real

space = SearchSpace(
    family={family!r},
    {extra}
    learning_rate=real(3e-3, 1e-2, log=True),
    batch_size=32,
    epochs={epochs},
    patience={epochs},
)
"""


def write_space(folder: Path, name: str, family: str, extra: str = "", epochs: int = 2) -> Path:
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(SPACE.format(family=family, extra=extra, epochs=epochs)))
    return path


@dataclass
class Exported:
    """A finished tiny search and raw rows to predict on."""

    result: Any  # autodl SearchResult
    out: Path
    predict_file: Path  # the rows as a user would hand them to `autodl predict`
    raw: dict[str, np.ndarray]  # the same rows as the model's raw inputs (npz-able)


def table_frame(n: int, seed: int) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n).round(1),
            "color": rng.choice(["red", "green", "blue"], n),
            "size": rng.normal(0, 1, n).round(3),
        }
    )
    frame["label"] = np.where((frame["color"] == "red") | (frame["size"] > 0.5), "yes", "no")
    return frame


@pytest.fixture(scope="session")
def table_export(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    import autodl

    folder = tmp_path_factory.mktemp("table")
    table_frame(240, seed=0).to_csv(folder / "train.csv", index=False)
    space = write_space(folder, "table", "mlp", "layers=1, units=8,")
    from autodl.export import _ensemble

    with pytest.MonkeyPatch.context() as patch:
        # The choice of members is tested on its own (test_ensemble_selection.py); here a
        # fixed 2:1 mix, so a weighted ensemble is always exported and checked end to end.
        patch.setattr(_ensemble, "select_members", lambda predictions, loss, rounds: [2, 1])
        result = autodl.search(
            str(space),
            data=str(folder / "train.csv"),
            target="label",
            trials=2,
            seed=0,
            out=str(folder / "out"),
            pruner="none",
            test_size=0.2,
            ensemble=2,
        )
    rows = table_frame(12, seed=1).drop(columns="label")
    rows.loc[0, "color"] = "purple"  # a category never seen in training
    rows.to_csv(folder / "rows.csv", index=False)
    raw = {
        "age": rows["age"].to_numpy("float32").reshape(-1, 1),
        "color": rows["color"].to_numpy().astype(str).reshape(-1, 1),
        "size": rows["size"].to_numpy("float32").reshape(-1, 1),
    }
    return Exported(result, folder / "out", folder / "rows.csv", raw)


@pytest.fixture(scope="session")
def image_export(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    from sklearn.datasets import load_digits

    import autodl

    folder = tmp_path_factory.mktemp("image")
    digits = load_digits()
    x = digits.images[..., np.newaxis].astype("float32")
    y = digits.target
    # A digits subset with its own test split, as an .npz brings it.
    np.savez(folder / "digits.npz", x=x[:500], y=y[:500], x_test=x[500:650], y_test=y[500:650])
    space = write_space(folder, "image", "cnn", "blocks=1, filters=8, dense_units=16,")
    result = autodl.search(
        str(space), data=str(folder / "digits.npz"), trials=1, seed=0, out=str(folder / "out")
    )
    np.savez(folder / "rows.npz", x=x[700:720])
    return Exported(result, folder / "out", folder / "rows.npz", {"x": x[700:720]})


@pytest.fixture(scope="session")
def text_export(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    import pandas as pd

    import autodl

    folder = tmp_path_factory.mktemp("text")
    space = write_space(folder, "text", "mlp", "layers=1, units=8, max_tokens=200,")
    result = autodl.search(
        str(space),
        data="builtin:reviews",
        trials=1,
        seed=0,
        out=str(folder / "out"),
        pruner="none",
        test_size=0.2,
    )
    texts = [
        "the film was not good",
        "the plot was very superb",
        "this book was honestly dull and the cast was so fine",
        "zebra words never seen",
        "",
    ]
    pd.DataFrame({"text": texts}).to_csv(folder / "rows.csv", index=False)
    raw = {"x": np.asarray(texts, dtype=str).reshape(-1, 1)}
    return Exported(result, folder / "out", folder / "rows.csv", raw)


@pytest.fixture
def make_space() -> Any:
    """`write_space(folder, name, family, extra, epochs)` for tests with their own search."""
    return write_space
