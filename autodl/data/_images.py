"""A folder of images with one subfolder per class."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from autodl.data._dataset import RawData
from autodl.exceptions import DataError

if TYPE_CHECKING:
    from PIL import Image as PILImage

_logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})


def check_image_size(image_size: object) -> tuple[int, int] | None:
    if image_size is None:
        return None
    ok = (
        isinstance(image_size, (tuple, list))
        and len(image_size) == 2
        and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in image_size)
    )
    if not ok:
        raise DataError(f"image_size must be (height, width) in pixels; got {image_size!r}")
    return int(image_size[0]), int(image_size[1])  # type: ignore[index]


def _read_image(path: Path) -> PILImage.Image | None:
    from PIL import Image

    try:
        with Image.open(path) as opened:
            opened.load()
            return opened.convert("L" if opened.mode in _GRAY_MODES else "RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        _logger.warning("skipping unreadable image %s: %s", path, exc)
        return None


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    )


def load_image_folder(
    folder: Path, source: str, image_size: tuple[int, int] | None, *, task: str | None = None
) -> RawData:
    from PIL import Image

    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    # Generation needs no classes: a folder of images alone is enough (labels only colour plots).
    flat = task == "generation" and not class_dirs
    if flat:
        class_dirs = [folder]
    elif len(class_dirs) < 2 and task != "generation":
        raise DataError(
            f"{source}: an image folder needs one subfolder per class (at least 2); "
            f"found {len(class_dirs)}"
        )
    images: list[PILImage.Image] = []
    labels: list[str] = []
    tried = 0
    without_images: list[str] = []
    for class_dir in class_dirs:
        before = len(images)
        for path in _image_files(class_dir):
            tried += 1
            image = _read_image(path)
            if image is not None:
                images.append(image)
                labels.append(class_dir.name)
        if len(images) == before:
            without_images.append(class_dir.name)

    suffixes = ", ".join(s.lstrip(".") for s in IMAGE_SUFFIXES)
    if tried == 0:
        where = "in it" if flat else "in its class subfolders"
        raise DataError(f"{source}: no image files ({suffixes}) {where}")
    if not images:
        raise DataError(f"{source}: no readable images (tried {tried} files)")
    n_classes = len(set(labels))
    if n_classes < 2 and task != "generation":
        raise DataError(
            f"{source}: only class '{labels[0]}' has readable images; need at least 2 classes"
        )

    notes: list[str] = []
    skipped = tried - len(images)
    if skipped:
        notes.append(f"skipped {skipped} unreadable file{'s' if skipped > 1 else ''}")
    if without_images:
        notes.append(f"ignored class folders without readable images: {', '.join(without_images)}")

    channels = 1 if all(image.mode == "L" for image in images) else 3
    if image_size is None:
        image_size = Counter((image.height, image.width) for image in images).most_common(1)[0][0]
    height, width = image_size
    x = np.empty((len(images), height, width, channels), dtype=np.float32)
    resized = 0
    for i, image in enumerate(images):
        if channels == 3 and image.mode != "RGB":
            image = image.convert("RGB")
        if (image.height, image.width) != (height, width):
            image = image.resize((width, height), Image.Resampling.BILINEAR)
            resized += 1
        pixels = np.asarray(image, dtype=np.float32)
        x[i] = pixels[..., np.newaxis] if channels == 1 else pixels
    if resized:
        notes.append(f"resized {resized} image{'s' if resized > 1 else ''} to {height}x{width}")
    return RawData(
        name=folder.resolve().name,
        input_kind="image",
        x=x,
        y=None if flat else np.array(labels, dtype=object),
        target_label="the class label (folder name)",
        notes=notes,
    )
