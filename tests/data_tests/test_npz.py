from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autodl.data import load_data
from autodl.exceptions import DataError


def _labels(n: int, k: int = 3) -> np.ndarray:
    return np.arange(n) % k


def _save(path: Path, **arrays: np.ndarray) -> str:
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize(
    ("shape", "kind"),
    [((40, 5), "tabular"), ((40, 7, 3), "sequence"), ((40, 6, 6, 3), "image")],
)
def test_npz_kind_follows_x_dimensions(tmp_path: Path, shape: tuple[int, ...], kind: str) -> None:
    rng = np.random.default_rng(0)
    src = _save(tmp_path / "train.npz", x=rng.normal(size=shape), y=_labels(40))
    ds = load_data(src)
    assert (ds.name, ds.input_kind, ds.task) == ("train", kind, "multiclass")
    assert ds.input_shape == shape[1:]
    assert ds.x_train.dtype == np.float32 and ds.x_train.ndim == len(shape)
    assert (ds.n_train, ds.n_val) == (32, 8)
    assert ds.class_names == ("0", "1", "2")
    assert ds.feature_names == (("x0", "x1", "x2", "x3", "x4") if kind == "tabular" else ())


def test_npz_3d_without_channels_is_a_sequence_not_an_image(tmp_path: Path) -> None:
    src = _save(tmp_path / "d.npz", x=np.zeros((20, 8, 8), np.uint8), y=_labels(20, 2))
    ds = load_data(src)
    assert ds.input_kind == "sequence" and ds.describe().endswith("8x8 sequences, 2 classes")


def test_npz_provided_val_and_test_are_used_as_given(tmp_path: Path) -> None:
    x = np.arange(60, dtype=np.float64).reshape(30, 2)
    src = _save(
        tmp_path / "d.npz",
        x=x,
        y=_labels(30, 2),
        x_val=x[:7] + 1000,
        y_val=_labels(7, 2),
        x_test=x[:5] + 2000,
        y_test=_labels(5, 2),
    )
    ds = load_data(src, test_size=0.5)
    assert (ds.n_train, ds.n_val, ds.n_test) == (30, 7, 5)
    np.testing.assert_array_equal(ds.x_train, x.astype(np.float32))
    np.testing.assert_array_equal(ds.x_val, x[:7] + 1000)
    np.testing.assert_array_equal(ds.y_test, _labels(5, 2))
    assert ds.task == "binary"
    assert any("ignored test_size" in note for note in ds.notes)


def test_npz_test_size_holds_out_disjoint_rows(tmp_path: Path) -> None:
    x = np.arange(100, dtype=np.float32).reshape(100, 1)
    src = _save(tmp_path / "d.npz", x=x, y=_labels(100, 2))
    ds = load_data(src, test_size=0.2, val_size=0.25, seed=1)
    assert (ds.n_train, ds.n_val, ds.n_test) == (60, 20, 20)
    rows = np.concatenate([ds.x_train, ds.x_val, ds.x_test]).ravel()
    assert sorted(rows.tolist()) == list(range(100))
    # stratified: both classes equally represented in every split
    for y in (ds.y_train, ds.y_val, ds.y_test):
        assert abs(int(y.sum()) * 2 - len(y)) <= 1


def test_npz_provided_val_with_test_size_splits_test_from_train(tmp_path: Path) -> None:
    src = _save(
        tmp_path / "d.npz",
        x=np.ones((40, 2)),
        y=_labels(40, 2),
        x_val=np.ones((10, 2)),
        y_val=_labels(10, 2),
    )
    ds = load_data(src, test_size=10)
    assert (ds.n_train, ds.n_val, ds.n_test) == (30, 10, 10)


def test_npz_string_labels_are_sorted_class_names(tmp_path: Path) -> None:
    y = np.array(["cat", "dog", "ant"] * 10)
    ds = load_data(_save(tmp_path / "d.npz", x=np.ones((30, 2)), y=y))
    assert ds.class_names == ("ant", "cat", "dog")
    assert np.bincount(np.concatenate([ds.y_train, ds.y_val])).tolist() == [10, 10, 10]


def test_npz_float_labels_and_regression_detection(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 2))
    cls = load_data(_save(tmp_path / "c.npz", x=x, y=_labels(50, 2).astype(float)))
    assert cls.task == "binary" and cls.class_names == ("0", "1")
    reg = load_data(_save(tmp_path / "r.npz", x=x, y=rng.normal(size=50)))
    assert reg.task == "regression" and reg.y_train.dtype == np.float32
    counts = load_data(_save(tmp_path / "n.npz", x=x, y=np.arange(50)))
    assert counts.task == "regression"  # many distinct integers: a count, not a label


def test_npz_single_member_class_disables_stratification(tmp_path: Path) -> None:
    y = np.array([0] * 15 + [1] * 14 + [2])
    ds = load_data(_save(tmp_path / "d.npz", x=np.ones((30, 2)), y=y))
    assert ds.n_classes == 3 and ds.n_train + ds.n_val == 30


def test_npz_nan_is_allowed_in_tabular_x(tmp_path: Path) -> None:
    x = np.ones((20, 3))
    x[0, 1] = np.nan
    ds = load_data(_save(tmp_path / "d.npz", x=x, y=_labels(20, 2)))
    assert np.isnan(np.concatenate([ds.x_train, ds.x_val])).sum() == 1


def test_npz_column_labels_and_one_hot_are_flattened(tmp_path: Path) -> None:
    y = _labels(30)
    col = load_data(_save(tmp_path / "c.npz", x=np.ones((30, 2)), y=y[:, None]))
    assert col.n_classes == 3 and col.y_train.ndim == 1
    hot = load_data(_save(tmp_path / "h.npz", x=np.ones((30, 2)), y=np.eye(3)[y]))
    assert hot.n_classes == 3 and any("one-hot" in note for note in hot.notes)


def test_npz_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.npz: file not found"):
        load_data(str(tmp_path / "nope.npz"))


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not a zip archive at all", b"PK\x03\x04truncated"],
    ids=["empty", "text", "truncated-header"],
)
def test_npz_that_is_not_an_archive(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"bad\.npz: not a valid \.npz archive"):
        load_data(str(path))


def test_npz_truncated_archive(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    np.savez(good, x=np.ones((50, 4)), y=_labels(50))
    path = tmp_path / "cut.npz"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataError, match=r"cut\.npz: not a valid \.npz archive"):
        load_data(str(path))


def test_npz_corrupt_member_names_the_array(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    np.savez_compressed(good, x=np.random.default_rng(0).random((500, 4)), y=_labels(500))
    data = bytearray(good.read_bytes())
    data[200:260] = bytes(60)  # inside the compressed 'x' member, zip directory intact
    path = tmp_path / "bad.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"bad\.npz: array 'x' cannot be read") as info:
        load_data(str(path))
    assert "\n" not in str(info.value) and len(str(info.value)) < 200


def test_npz_single_npy_array(tmp_path: Path) -> None:
    path = tmp_path / "one.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.ones((10, 2)))
    with pytest.raises(
        DataError, match=r"one\.npz: not a valid \.npz archive \(it holds a single array"
    ):
        load_data(str(path))


def test_npz_object_array_cannot_be_read(tmp_path: Path) -> None:
    y = np.array(["a", 1] * 10, dtype=object)
    src = _save(tmp_path / "obj.npz", x=np.ones((20, 2)), y=y)
    with pytest.raises(DataError, match=r"obj\.npz: array 'y' cannot be read"):
        load_data(src)


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"X": np.ones((20, 2)), "y": _labels(20)}, r"missing array 'x'; arrays found: X, y"),
        (
            {"x": np.ones((20, 2)), "labels": _labels(20)},
            r"missing array 'y'; arrays found: x, labels",
        ),
        (
            {"x": np.ones(20), "y": _labels(20)},
            r"array 'x' must have 2 \(tabular\).*got 1.*reshape",
        ),
        ({"x": np.ones((20, 2, 2, 2, 2)), "y": _labels(20)}, r"array 'x' must have 2 .*got 5"),
        ({"x": np.array([["a", "b"]] * 20), "y": _labels(20)}, r"array 'x' must be numeric"),
        ({"x": np.ones((20, 2)), "y": _labels(19)}, r"'x' has 20 rows but 'y' has 19"),
        ({"x": np.ones((20, 2)), "y": np.r_[np.nan, np.ones(19)]}, r"array 'y' contains NaN"),
        ({"x": np.ones((20, 2)), "y": np.r_[np.inf, np.ones(19)]}, r"array 'y' contains infinite"),
        ({"x": np.full((20, 2), np.inf), "y": _labels(20)}, r"array 'x' contains infinite"),
        (
            {"x": np.full((20, 3, 2), np.nan), "y": _labels(20)},
            r"array 'x' contains NaN.*only allowed in 2-D",
        ),
        ({"x": np.full((20, 2, 2, 1), np.nan), "y": _labels(20)}, r"array 'x' contains NaN"),
        ({"x": np.ones((20, 2)), "y": np.ones((20, 2, 2))}, r"array 'y' must be 1-D"),
        (
            {"x": np.ones((20, 2)), "y": _labels(20), "x_val": np.ones((5, 2))},
            r"has array 'x_val' but no 'y_val'",
        ),
        (
            {"x": np.ones((20, 2)), "y": _labels(20), "y_test": _labels(5)},
            r"has array 'y_test' but no 'x_test'",
        ),
        (
            {
                "x": np.ones((20, 2)),
                "y": _labels(20),
                "x_val": np.ones((5, 3)),
                "y_val": _labels(5),
            },
            r"array 'x_val' has per-sample shape \(3,\) but 'x' has \(2,\)",
        ),
        (
            {
                "x": np.ones((20, 2)),
                "y": _labels(20),
                "x_val": np.ones((5, 2)),
                "y_val": _labels(4),
            },
            r"'x_val' has 5 rows but 'y_val' has 4",
        ),
        (
            {
                "x": np.ones((20, 2)),
                "y": _labels(20),
                "x_val": np.ones((0, 2)),
                "y_val": _labels(0),
            },
            r"too few rows: 'x_val' is empty",
        ),
        ({"x": np.ones((9, 2)), "y": _labels(9)}, r"too few rows: 9 \(need at least 10\)"),
        ({"x": np.ones((20, 2)), "y": np.zeros(20)}, r"array 'y' has a single class '0'"),
    ],
)
def test_npz_errors_name_file_and_array(
    tmp_path: Path, arrays: dict[str, np.ndarray], match: str
) -> None:
    src = _save(tmp_path / "data.npz", **arrays)
    with pytest.raises(DataError, match=r"data\.npz: .*" + match) as info:
        load_data(src)
    assert "\n" not in str(info.value)


def test_npz_string_target_cannot_be_forced_to_regression(tmp_path: Path) -> None:
    src = _save(tmp_path / "s.npz", x=np.ones((20, 2)), y=np.array(["a", "b"] * 10))
    with pytest.raises(
        DataError, match=r"s\.npz: cannot use task 'regression': array 'y' is not numeric"
    ):
        load_data(src, task="regression")


def test_npz_classification_can_be_forced_on_integer_counts(tmp_path: Path) -> None:
    src = _save(tmp_path / "n.npz", x=np.ones((60, 2)), y=np.arange(60) % 30)
    assert load_data(src).task == "regression"
    ds = load_data(src, task="classification")
    assert ds.task == "multiclass" and ds.n_classes == 30
