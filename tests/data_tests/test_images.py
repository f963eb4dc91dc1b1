from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autodl.data import load_data
from autodl.exceptions import DataError


def _write_images(
    root: Path,
    classes: dict[str, int],
    *,
    mode: str = "RGB",
    size: tuple[int, int] = (6, 4),
    suffix: str = ".png",
) -> None:
    rng = np.random.default_rng(0)
    for name, count in classes.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            channels = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            pixels = rng.integers(0, 256, channels, dtype=np.uint8)
            Image.fromarray(pixels).convert(mode).save(folder / f"{i}{suffix}")


def test_image_folder_rgb(tmp_path: Path) -> None:
    root = tmp_path / "pets"
    _write_images(root, {"dog": 6, "cat": 6})
    ds = load_data(str(root))
    assert (ds.name, ds.input_kind, ds.task) == ("pets", "image", "binary")
    assert ds.class_names == ("cat", "dog")
    assert ds.input_shape == (4, 6, 3)  # (height, width, channels)
    assert ds.x_train.dtype == np.float32 and ds.x_train.shape == (ds.n_train, 4, 6, 3)
    assert ds.n_train + ds.n_val == 12
    pixels = np.concatenate([ds.x_train, ds.x_val])
    assert pixels.min() >= 0 and pixels.max() <= 255 and pixels.max() > 1
    assert ds.notes == ()


def test_image_folder_keeps_pixel_values_and_labels(tmp_path: Path) -> None:
    root = tmp_path / "flat"
    for label, value in (("dark", 10), ("light", 200)):
        (root / label).mkdir(parents=True)
        for i in range(5):
            Image.new("L", (3, 3), color=value).save(root / label / f"{i}.png")
    ds = load_data(str(root))
    for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val)):
        expected = np.where(y == ds.class_names.index("dark"), 10.0, 200.0)
        np.testing.assert_array_equal(x[:, 0, 0, 0], expected)


def test_all_grayscale_images_have_one_channel(tmp_path: Path) -> None:
    root = tmp_path / "gray"
    _write_images(root, {"a": 5, "b": 5, "c": 5}, mode="L", suffix=".bmp")
    ds = load_data(str(root))
    assert ds.input_shape == (4, 6, 1) and ds.task == "multiclass"


def test_mixed_modes_and_sizes_are_made_consistent(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    _write_images(root, {"a": 5, "b": 4}, mode="RGB", size=(8, 8), suffix=".jpg")
    _write_images(root, {"b": 1}, mode="L", size=(5, 7), suffix=".gif")
    ds = load_data(str(root))
    assert ds.input_shape == (8, 8, 3)
    assert "resized 1 image to 8x8" in ds.notes


def test_image_size_overrides_the_most_common_size(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    _write_images(root, {"a": 5, "b": 5})
    ds = load_data(str(root), image_size=(3, 5))
    assert ds.input_shape == (3, 5, 3)
    assert "resized 10 images to 3x5" in ds.notes


def test_unreadable_files_are_skipped_and_counted(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    _write_images(root, {"a": 6, "b": 6})
    (root / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (root / "b" / "empty.jpg").write_bytes(b"")
    (root / "b" / "notes.txt").write_text("not an image, not counted")
    ds = load_data(str(root))
    assert ds.n_train + ds.n_val == 12
    assert "skipped 2 unreadable files" in ds.notes


def test_class_folder_without_images_is_ignored_with_a_note(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    _write_images(root, {"a": 6, "b": 6})
    (root / "c").mkdir()
    ds = load_data(str(root))
    assert ds.class_names == ("a", "b")
    assert any("without readable images: c" in note for note in ds.notes)


def test_folder_with_fewer_than_two_classes(tmp_path: Path) -> None:
    root = tmp_path / "one"
    _write_images(root, {"a": 12})
    with pytest.raises(
        DataError, match=r"one: an image folder needs one subfolder per class .*found 1"
    ):
        load_data(str(root))


def test_folder_with_no_readable_images(tmp_path: Path) -> None:
    root = tmp_path / "junk"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        (root / name / "x.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"junk: no readable images \(tried 2 files\)"):
        load_data(str(root))


def test_folder_with_no_image_files(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        (root / name / "readme.txt").write_text("hi")
    with pytest.raises(DataError, match=r"docs: no image files \(png, jpg"):
        load_data(str(root))


def test_only_one_class_has_readable_images(tmp_path: Path) -> None:
    root = tmp_path / "half"
    _write_images(root, {"a": 12})
    (root / "b").mkdir()
    (root / "b" / "x.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"half: only class 'a' has readable images"):
        load_data(str(root))


def test_image_folder_too_few_images(tmp_path: Path) -> None:
    root = tmp_path / "tiny"
    _write_images(root, {"a": 2, "b": 2})
    with pytest.raises(DataError, match=r"tiny: too few rows: 4"):
        load_data(str(root))


def test_image_folder_cannot_be_regression(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    _write_images(root, {"a": 5, "b": 5})
    with pytest.raises(DataError, match=r"imgs: cannot use task 'regression'"):
        load_data(str(root), task="regression")
