"""`autodl predict`: labels by name with probabilities; mismatched input exits 2 naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autodl.cli import main


def test_predict_writes_labels_and_one_probability_per_class(
    table_export: Any, tmp_path: Path
) -> None:
    import pandas as pd

    out = tmp_path / "p.csv"
    assert (
        main(
            [
                "predict",
                "--model",
                str(table_export.out),
                "--data",
                str(table_export.predict_file),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["prediction", "prob_no", "prob_yes"]
    assert set(frame["prediction"]) <= {"no", "yes"} and len(frame) == 12
    np.testing.assert_allclose(frame[["prob_no", "prob_yes"]].sum(axis=1), 1.0, atol=1e-6)


def test_predict_ignores_the_target_column(table_export: Any, tmp_path: Path) -> None:
    import pandas as pd

    from autodl.export import predict_file

    rows = pd.read_csv(table_export.predict_file)
    plain = predict_file(table_export.out, table_export.predict_file, tmp_path / "a.csv")
    rows.assign(label="yes").to_csv(tmp_path / "with_target.csv", index=False)
    with_target = predict_file(table_export.out, tmp_path / "with_target.csv", tmp_path / "b.csv")
    assert any("target" in note for note in with_target.notes) and not plain.notes
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_predict_image_folder_names_files(image_export: Any, tmp_path: Path) -> None:
    import pandas as pd
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for i, image in enumerate(image_export.raw["x"][:3]):
        Image.fromarray(image[..., 0].astype("uint8")).save(folder / f"{i}.png")
    out = tmp_path / "p.csv"
    assert (
        main(
            [
                "predict",
                "--model",
                str(image_export.out / "best_model.keras"),
                "--data",
                str(folder),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    frame = pd.read_csv(out)
    assert list(frame["file"]) == ["0.png", "1.png", "2.png"]
    assert [c for c in frame.columns if c.startswith("prob_")] == [f"prob_{d}" for d in range(10)]


def test_mismatched_columns_exit_2_naming_the_column(
    table_export: Any, tmp_path: Path, cli: Any
) -> None:
    import pandas as pd

    rows = pd.read_csv(table_export.predict_file)
    rows.drop(columns="color").to_csv(tmp_path / "missing.csv", index=False)
    done = cli(
        "predict",
        "--model",
        str(table_export.out),
        "--data",
        str(tmp_path / "missing.csv"),
        "--out",
        str(tmp_path / "p.csv"),
        timeout=300,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "missing column 'color'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "p.csv").exists()


def _run(
    model: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    code = main(
        ["predict", "--model", str(model), "--data", str(data), "--out", str(tmp_path / "p.csv")]
    )
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(weight=1.0), "extra column 'weight'"),
        (
            lambda f: f.rename(columns={"size": "sise"}),
            "missing column 'size' (the file has 'sise'",
        ),
        (lambda f: f.assign(age=["old"] + list(f["age"][1:])), "column 'age' must be numeric"),
    ],
)
def test_table_mismatches(
    change: Any,
    message: str,
    table_export: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import pandas as pd

    change(pd.read_csv(table_export.predict_file)).to_csv(tmp_path / "bad.csv", index=False)
    code, err = _run(table_export.out, tmp_path / "bad.csv", tmp_path, capsys)
    assert code == 2 and message in err, err


def test_image_and_text_mismatches(
    image_export: Any, text_export: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    np.savez(tmp_path / "big.npz", x=np.zeros((2, 16, 16, 1), "float32"))
    code, err = _run(image_export.out, tmp_path / "big.npz", tmp_path, capsys)
    assert code == 2 and "wrong image size: 16x16x1" in err and "8x8x1" in err, err
    code, err = _run(image_export.out, text_export.predict_file, tmp_path, capsys)
    assert code == 2 and "the model takes an .npz archive" in err, err
    pd.DataFrame({"review": ["good"]}).to_csv(tmp_path / "t.csv", index=False)
    code, err = _run(text_export.out, tmp_path / "t.csv", tmp_path, capsys)
    assert code == 2 and "missing column 'text'" in err, err
    code, err = _run(tmp_path, tmp_path / "t.csv", tmp_path, capsys)
    assert code == 2 and "no best_model.keras" in err, err
