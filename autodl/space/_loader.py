"""Load a space file (or a built-in space by name) into a `SearchSpace`.

A space file is Python code that the user trusts, like a KerasTuner build function: it is
executed as such. Every problem becomes one `SpaceError` line naming the file.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from autodl.exceptions import SpaceError, closest

BUILTIN_DIR = Path(__file__).with_name("builtin")


def builtin_space_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in BUILTIN_DIR.glob("*.py") if not p.stem.startswith("_")))


@dataclass(frozen=True)
class LoadedSpace:
    """What a space file defined, and where it came from."""

    path: Path
    name: str  # file stem, used in default study names
    space: Any  # SearchSpace, or a KerasTuner-style build function / HyperModel
    module: ModuleType


def resolve_space_path(spec: str) -> Path:
    """A path to a .py file, or the name of a built-in space ('mlp', 'cnn', 'rnn')."""
    path = Path(spec)
    if path.is_file():
        return path
    if spec in builtin_space_names():
        return BUILTIN_DIR / f"{spec}.py"
    if path.exists():
        raise SpaceError(f"{spec}: not a file")
    hint = closest(spec, builtin_space_names()) if "/" not in spec else ""
    raise SpaceError(
        f"{spec}: no such space file, and not a built-in space "
        f"({', '.join(builtin_space_names())}){hint}"
    )


def load_space(spec: str) -> LoadedSpace:
    from autodl.space._search_space import SearchSpace

    path = resolve_space_path(spec)
    if path.suffix != ".py":
        raise SpaceError(f"{path}: a space file must be a Python file ending in .py")
    module = _execute(path)
    space = getattr(module, "space", None)
    if isinstance(space, SearchSpace):
        return LoadedSpace(path, path.stem, space, module)
    spaces = [v for v in vars(module).values() if isinstance(v, SearchSpace)]
    if len(spaces) == 1:
        return LoadedSpace(path, path.stem, spaces[0], module)
    if len(spaces) > 1:
        raise SpaceError(f"{path}: defines several SearchSpace objects; name the one to use `space`")
    if space is not None:
        raise SpaceError(f"{path}: `space` is a {type(space).__name__}, not a SearchSpace")
    from autodl.space.keras_tuner import find_build_target  # lazy: KerasTuner-style files only

    target = find_build_target(module)
    if target is not None:
        return LoadedSpace(path, path.stem, target, module)
    raise SpaceError(
        f"{path}: defines no search space: expected `space = SearchSpace(...)`, "
        "a `build_model(hp)` function or a keras_tuner HyperModel"
    )


def _execute(path: Path) -> ModuleType:
    name = f"autodl_space_{path.stem}_{uuid.uuid4().hex[:8]}"
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpaceError(f"{path}: not a text file (is it really Python?)") from None
    except OSError as exc:
        raise SpaceError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as exc:
        raise SpaceError(f"{path}:{exc.lineno}: not valid Python: {exc.msg}") from None
    except ValueError as exc:  # e.g. null bytes
        raise SpaceError(f"{path}: not valid Python: {exc}") from None
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling inside the file need this
    try:
        exec(code, module.__dict__)
    except SpaceError as exc:
        raise SpaceError(f"{path}:{_user_line(exc, path)}: {exc}") from None
    except SystemExit as exc:
        raise SpaceError(f"{path}: called exit({exc.code}) while loading") from None
    except ModuleNotFoundError as exc:
        hint = ' (pip install "autodl[keras-tuner]")' if exc.name == "keras_tuner" else ""
        raise SpaceError(
            f"{path}:{_user_line(exc, path)}: needs the module '{exc.name}', which is not installed{hint}"
        ) from None
    except Exception as exc:
        line = _user_line(exc, path)
        raise SpaceError(
            f"{path}:{line}: raised {type(exc).__name__} on import: {_first_line(exc)}"
        ) from None
    return module


def _user_line(exc: BaseException, path: Path) -> int | str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    return frames[-1].lineno if frames else "?"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else "(no message)"


def copy_builtin_spaces(folder: Path, *, overwrite: bool = False) -> list[Path]:
    """`autodl init`: write editable copies of the built-in spaces into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in builtin_space_names():
        target = folder / f"{name}.py"
        if target.exists() and not overwrite:
            continue
        shutil.copyfile(BUILTIN_DIR / f"{name}.py", target)
        written.append(target)
    return written
