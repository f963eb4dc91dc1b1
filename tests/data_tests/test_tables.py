from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autodl.data import load_data
from autodl.exceptions import DataError


def _frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "city": rng.choice(["paris", "oslo", "rome"], n),
            "income": rng.normal(50, 10, n),
            "label": np.where(np.arange(n) % 2 == 0, "yes", "no"),
        }
    )


def _csv(path: Path, frame: pd.DataFrame) -> str:
    frame.to_csv(path, index=False)
    return str(path)


def test_csv_with_numeric_and_categorical_columns_is_a_table(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[3, "age"] = np.nan
    frame.loc[5, "city"] = None
    ds = load_data(_csv(tmp_path / "people.csv", frame), target="label")
    assert (ds.name, ds.input_kind, ds.task) == ("people", "table", "binary")
    assert ds.class_names == ("no", "yes")
    assert ds.feature_names == ("age", "city", "income")
    assert ds.categorical == ("city",)
    assert ds.input_shape is None
    assert list(ds.x_train) == ["age", "city", "income"]
    assert ds.x_train["age"].dtype == np.float32
    assert ds.x_train["city"].dtype == object
    assert all(type(v) is str for v in ds.x_train["city"])
    assert (ds.n_train, ds.n_val) == (32, 8)
    assert all(len(col) == ds.n_train for col in ds.x_train.values())
    # missing numeric values stay NaN (the model imputes); missing strings become ""
    ages = np.concatenate([ds.x_train["age"], ds.x_val["age"]])
    cities = np.concatenate([ds.x_train["city"], ds.x_val["city"]])
    assert np.isnan(ages).sum() == 1 and (cities == "").sum() == 1
    assert ds.describe() == "people: 32 train / 8 val, 3 columns (1 categorical), 2 classes"


def test_table_split_keeps_rows_aligned(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"a": np.arange(30.0), "b": [f"s{i}" for i in range(30)], "t": np.arange(30) % 3}
    )
    ds = load_data(_csv(tmp_path / "t.csv", frame), target="t", test_size=0.2)
    for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val), (ds.x_test, ds.y_test)):
        rows = x["a"].astype(int)
        assert [f"s{i}" for i in rows] == list(x["b"])
        np.testing.assert_array_equal(rows % 3, y)
    assert ds.n_train + ds.n_val + ds.n_test == 30 and ds.n_test == 6


def test_all_numeric_csv_is_tabular_with_nan_kept(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"a": rng.normal(size=30), "b": rng.normal(size=30), "price": rng.normal(size=30)}
    )
    frame.loc[0, "a"] = np.nan
    ds = load_data(_csv(tmp_path / "house.csv", frame), target="price")
    assert (ds.input_kind, ds.task, ds.input_shape) == ("tabular", "regression", (2,))
    assert ds.feature_names == ("a", "b") and ds.x_train.dtype == np.float32
    assert ds.y_train.dtype == np.float32
    assert np.isnan(np.concatenate([ds.x_train, ds.x_val])).sum() == 1


def test_missing_target_rows_are_dropped_with_a_note(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[[1, 2, 7], "label"] = None
    ds = load_data(_csv(tmp_path / "p.csv", frame), target="label")
    assert ds.n_train + ds.n_val == 37
    assert "dropped 3 rows with a missing target 'label'" in ds.notes


def test_integer_target_with_few_values_is_classification(tmp_path: Path) -> None:
    frame = _frame()
    frame["stars"] = np.arange(40) % 5 + 1
    ds = load_data(_csv(tmp_path / "p.csv", frame.drop(columns="label")), target="stars")
    assert ds.task == "multiclass" and ds.class_names == ("1", "2", "3", "4", "5")


def test_boolean_columns_become_strings(tmp_path: Path) -> None:
    frame = _frame()
    frame["member"] = np.arange(40) % 3 == 0
    ds = load_data(_csv(tmp_path / "p.csv", frame), target="member")
    assert ds.task == "binary" and ds.class_names == ("False", "True")
    ds = load_data(_csv(tmp_path / "q.csv", frame), target="label")
    assert "member" in ds.categorical
    assert set(ds.x_train["member"]) == {"True", "False"}


def test_text_column_is_detected(tmp_path: Path) -> None:
    words = ["good film", "bad plot", "great cast", "dull pacing", "fine score"]
    review = [f"this movie had a {words[i % 5]} overall" for i in range(30)]
    frame = pd.DataFrame({"review": review, "sentiment": [i % 2 for i in range(30)]})
    ds = load_data(_csv(tmp_path / "reviews.csv", frame), target="sentiment")
    assert (ds.input_kind, ds.text_column, ds.task) == ("text", "review", "binary")
    assert ds.x_train.ndim == 1 and ds.x_train.dtype == object
    assert all(isinstance(v, str) for v in ds.x_train)
    assert ds.input_shape is None
    assert ds.describe().endswith("text column 'review', 2 classes")


def test_short_single_string_column_stays_categorical(tmp_path: Path) -> None:
    frame = pd.DataFrame({"color": ["red", "blue"] * 15, "y": [0, 1, 1] * 10})
    ds = load_data(_csv(tmp_path / "c.csv", frame), target="y")
    assert ds.input_kind == "table" and ds.categorical == ("color",)


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet(tmp_path: Path, suffix: str) -> None:
    frame = _frame()
    frame["count"] = pd.array([1, None] + list(range(38)), dtype="Int64")
    path = tmp_path / f"people{suffix}"
    frame.to_parquet(path)
    ds = load_data(str(path), target="label")
    assert (ds.name, ds.input_kind, ds.categorical) == ("people", "table", ("city",))
    counts = np.concatenate([ds.x_train["count"], ds.x_val["count"]])
    assert counts.dtype == np.float32 and np.isnan(counts).sum() == 1


def test_parquet_target_column_is_found(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    _frame().to_parquet(path)
    with pytest.raises(
        DataError, match=r"d\.parquet: target column 'lable' not found.*did you mean 'label'"
    ):
        load_data(str(path), target="lable")


def test_parquet_that_is_not_parquet(tmp_path: Path) -> None:
    path = tmp_path / "fake.parquet"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"fake\.parquet: not a Parquet file"):
        load_data(str(path), target="b")


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        ("", {"target": "y"}, r"bad\.csv: empty$"),
        ("\n\n", {"target": "y"}, r"bad\.csv: empty$"),
        ("a,b,y\n", {"target": "y"}, r"bad\.csv: too few rows: 0"),
        ("a,y\n" + "1,0\n" * 5, {"target": "y"}, r"bad\.csv: too few rows: 5"),
        ("a,b,y\n1,2,0\n1,2,3,4,5\n", {"target": "y"}, r"bad\.csv: malformed CSV: .*line 3"),
        (
            "a,b,y\n1,2,0\n",
            {},
            r"bad\.csv: --target is required for CSV/Parquet data; columns are: a, b, y$",
        ),
        (
            "a,b,y\n1,2,0\n",
            {"target": "Y"},
            r"bad\.csv: target column 'Y' not found; columns are: a, b, y \(did you mean 'y'\?\)",
        ),
        (
            "y\n" + "1\n" * 20,
            {"target": "y"},
            r"bad\.csv: no feature columns besides the target 'y'",
        ),
        (
            "a,e,y\n" + "1,,0\n1,,1\n" * 10,
            {"target": "y"},
            r"bad\.csv: feature column 'e' is entirely empty",
        ),
        ("a,y\n" + "1,A\n" * 20, {"target": "y"}, r"bad\.csv: target 'y' has a single class 'A'"),
        (
            "a,y\n" + "1,A\n2,B\n" * 10,
            {"target": "y", "task": "regression"},
            r"bad\.csv: cannot use task 'regression': target 'y' is not numeric",
        ),
        (
            "a,y\n" + "inf,1\n2,0\n" * 10,
            {"target": "y"},
            r"bad\.csv: column 'a' contains infinite",
        ),
        ("a,y\n" + "1,\n" * 20, {"target": "y"}, r"bad\.csv: too few rows: 0"),
    ],
)
def test_csv_errors_name_the_file_and_column(
    tmp_path: Path, text: str, kwargs: dict[str, str], match: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=match) as info:
        load_data(str(path), **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_csv_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"a,y\n" + b"caf\xe9,1\n" * 20)
    with pytest.raises(DataError, match=r"latin\.csv: not UTF-8 text"):
        load_data(str(path), target="y")


@pytest.mark.parametrize("name", ["missing.csv", "missing.parquet", "missing.npz"])
def test_missing_file(tmp_path: Path, name: str) -> None:
    with pytest.raises(DataError, match=re.escape(f"{name}: file not found")):
        load_data(str(tmp_path / name), target="y")


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(DataError, match=r"data\.xlsx: unsupported data source '\.xlsx'"):
        load_data(str(path))
