from __future__ import annotations

import json

import numpy as np
import pytest

from autodl.data import DATA_KINDS, Dataset, builtin_names, load_data
from autodl.exceptions import DataError

EXPECTED = {
    # name: (task, input_kind, n_rows, input_shape, first class names)
    "digits": ("multiclass", "image", 1797, (8, 8, 1), ("0", "1", "2")),
    "iris": ("multiclass", "tabular", 150, (4,), ("setosa", "versicolor", "virginica")),
    "wine": ("multiclass", "tabular", 178, (13,), ("class_0", "class_1", "class_2")),
    "breast_cancer": ("binary", "tabular", 569, (30,), ("malignant", "benign")),
    "diabetes": ("regression", "tabular", 442, (10,), ()),
    "reviews": ("binary", "text", 1200, None, ("negative", "positive")),
    "waves": ("multiclass", "sequence", 600, (40, 1), ("sine", "square", "sawtooth")),
    # generation: the rhyme of each verse is its label, kept only to colour plots
    "rhymes": ("generation", "text", 600, None, ("-at", "-ight", "-ay")),
}


def test_builtin_names_are_the_sklearn_sets_and_the_generated_ones() -> None:
    assert set(builtin_names()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_shapes_task_and_split(name: str) -> None:
    task, kind, n_rows, shape, first_classes = EXPECTED[name]
    ds = load_data(f"builtin:{name}")
    assert isinstance(ds, Dataset)
    assert (ds.name, ds.source, ds.task, ds.input_kind) == (name, f"builtin:{name}", task, kind)
    assert kind in DATA_KINDS
    assert ds.input_shape == shape
    if kind == "text":
        assert ds.x_train.shape == (ds.n_train,) and isinstance(ds.x_train[0], str)
    else:
        assert ds.x_train.shape == (ds.n_train, *shape)
        assert ds.x_train.dtype == np.float32 and ds.x_val.dtype == np.float32
    assert ds.n_train + ds.n_val == n_rows
    assert ds.n_val == int(np.ceil(0.2 * n_rows))
    assert ds.x_test is None and ds.y_test is None
    assert ds.class_names[: len(first_classes)] == first_classes
    if task == "regression":
        assert ds.y_train.dtype == np.float32 and ds.n_classes == 0
    else:
        assert ds.y_train.dtype == np.int64
        assert set(np.unique(ds.y_train)) == set(range(ds.n_classes))
    # metadata must be JSON-able and carry no arrays
    meta = json.loads(json.dumps(ds.to_dict()))
    assert meta["n_train"] == ds.n_train
    assert meta["input_shape"] == (list(shape) if shape else None)


def test_digits_are_raw_pixel_images() -> None:
    ds = load_data("builtin:digits")
    assert ds.class_names == tuple(str(i) for i in range(10))
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 16.0
    assert ds.describe() == "digits: 1437 train / 360 val, 8x8x1 images, 10 classes"
    assert ds.feature_names == ()


def test_tabular_builtins_keep_feature_names() -> None:
    assert load_data("builtin:iris").feature_names[0] == "sepal length (cm)"
    assert load_data("builtin:diabetes").feature_names[:3] == ("age", "sex", "bmi")


def test_breast_cancer_class_index_matches_sklearn_target() -> None:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    ds = load_data("builtin:breast_cancer")
    # sklearn: target 0 is malignant; the first training row must keep its label
    row = np.flatnonzero((bunch.data.astype(np.float32) == ds.x_train[0]).all(axis=1))[0]
    assert ds.class_names[ds.y_train[0]] == bunch.target_names[bunch.target[row]]


@pytest.mark.parametrize("name", ["digits", "wine", "breast_cancer"])
def test_stratified_split_keeps_class_proportions(name: str) -> None:
    ds = load_data(f"builtin:{name}")
    train = np.bincount(ds.y_train, minlength=ds.n_classes) / ds.n_train
    val = np.bincount(ds.y_val, minlength=ds.n_classes) / ds.n_val
    assert np.abs(train - val).max() < 0.03


def test_same_seed_same_split_other_seed_other_split() -> None:
    a = load_data("builtin:iris", seed=3)
    b = load_data("builtin:iris", seed=3)
    c = load_data("builtin:iris", seed=4)
    np.testing.assert_array_equal(a.x_val, b.x_val)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_val, c.x_val)


def test_test_size_holds_out_test_first() -> None:
    ds = load_data("builtin:digits", test_size=0.25, val_size=0.2)
    assert ds.n_test == int(np.ceil(0.25 * 1797))
    rest = 1797 - ds.n_test
    assert ds.n_val == int(np.ceil(0.2 * rest))
    assert ds.n_train + ds.n_val + ds.n_test == 1797
    assert ds.x_test.shape == (ds.n_test, 8, 8, 1)
    assert ds.describe().startswith(
        f"digits: {ds.n_train} train / {ds.n_val} val / {ds.n_test} test"
    )


def test_integer_val_size_is_a_row_count() -> None:
    ds = load_data("builtin:iris", val_size=15)
    assert (ds.n_train, ds.n_val) == (135, 15)


def test_forcing_regression_on_a_builtin_classification_set() -> None:
    ds = load_data("builtin:iris", task="regression")
    assert ds.task == "regression" and ds.y_train.dtype == np.float32 and ds.class_names == ()


def test_target_is_ignored_with_a_note_for_builtins() -> None:
    ds = load_data("builtin:iris", target="species")
    assert any("ignored target 'species'" in note for note in ds.notes)


def test_unknown_builtin_names_valid_ones_and_closest() -> None:
    with pytest.raises(DataError, match=r"builtin:digit:.*digits, iris.*did you mean 'digits'"):
        load_data("builtin:digit")


def test_bare_builtin_name_suggests_prefix() -> None:
    with pytest.raises(DataError, match=r"iris: file not found \(did you mean 'builtin:iris'\?\)"):
        load_data("iris")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task": "regresion"}, r"task must be one of .*did you mean 'regression'"),
        ({"val_size": 0.0}, r"val_size must be a fraction"),
        ({"val_size": 1.5}, r"val_size must be a fraction"),
        ({"val_size": "0.2"}, r"val_size must be a fraction"),
        ({"test_size": 0}, r"test_size must be a fraction"),
        ({"seed": 1.5}, r"seed must be an integer"),
        ({"image_size": (8,)}, r"image_size must be \(height, width\)"),
        ({"val_size": 150}, r"builtin:iris: too few rows for a validation split"),
    ],
)
def test_invalid_options_raise_data_error(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(DataError, match=match):
        load_data("builtin:iris", **kwargs)  # type: ignore[arg-type]


def test_binary_forced_on_three_classes_fails() -> None:
    with pytest.raises(DataError, match=r"builtin:wine: task 'binary' needs exactly 2 classes"):
        load_data("builtin:wine", task="binary")


def test_dataset_rejects_unknown_kinds() -> None:
    y = np.zeros(3, dtype=np.int64)
    with pytest.raises(ValueError, match="input_kind"):
        Dataset("n", "s", "binary", "video", np.zeros((3, 1)), y, np.zeros((3, 1)), y)
