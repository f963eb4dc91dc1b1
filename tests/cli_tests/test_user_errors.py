"""Every user mistake exits 2 with one line naming the file, key or value: no traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autodl.cli import main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    err = capsys.readouterr().err.strip()
    return code, err


def _assert_one_line(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture
def space(write_space) -> Path:
    return write_space(extra="units=8, layers=1,", epochs=1)


# ------------------------------------------------------------------ space files
def test_missing_space_file_suggests_a_builtin(capsys, tmp_path: Path) -> None:
    _assert_one_line(*_run(capsys, "search", "--space", "cnm"), "cnm", "did you mean 'cnn'")


def _parse_error(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:  # argparse exits for a bad flag
        main(list(args))
    return int(exit_.value.code), capsys.readouterr().err.strip()


def test_an_unknown_flag_suggests_the_closest_flag_of_that_command(capsys) -> None:
    code, err = _parse_error(capsys, "search", "--space", "cnn", "--trails", "3")
    _assert_one_line(code, err, "autodl search: error: unrecognized argument --trails", "did you mean '--trials'")
    # `--quiet` is a hidden flag of `autodl worker`, not one of `autodl search`.
    code, err = _parse_error(capsys, "search", "--space", "cnn", "--quiet")
    _assert_one_line(code, err, "unrecognized argument --quiet")
    assert "'--quiet'" not in err


def test_space_file_with_a_syntax_error(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from autodl.space import SearchSpace\nspace = SearchSpace(units=\n")
    _assert_one_line(*_run(capsys, "search", "--space", str(bad)), str(bad), "not valid Python")


def test_space_file_that_is_not_python(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "image.py"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    _assert_one_line(*_run(capsys, "search", "--space", str(bad)), str(bad))


def test_space_file_raising_on_import(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "raises.py"
    bad.write_text("x = 1\nraise RuntimeError('no GPU here')\n")
    _assert_one_line(*_run(capsys, "search", "--space", str(bad)), f"{bad}:2", "RuntimeError", "no GPU here")


def test_space_file_defining_no_space(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "empty.py"
    bad.write_text("units = 3\n")
    _assert_one_line(*_run(capsys, "search", "--space", str(bad)), str(bad), "defines no search space")


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        ("units=integer(64, 8)", ("dimension 'units'", "low > high")),
        ("learning_rate=real(0, 0.1, log=True)", ("dimension 'learning_rate'", "low > 0")),
        ("activation=choice()", ("dimension 'activation'",)),
        ("activation=choice('relu', 'swiss')", ("dimension 'activation'", "'swiss'", "did you mean 'swish'")),
        ("optimizer='adamw2'", ("dimension 'optimizer'", "did you mean 'adamw'")),
        ("initializer='glorot'", ("dimension 'initializer'", "'glorot'")),
        ("loss='hubber'", ("dimension 'loss'", "did you mean 'huber'")),
        ("lerning_rate=0.1", ("dimension 'lerning_rate'", "did you mean 'learning_rate'")),
    ],
)
def test_invalid_dimensions(capsys, tmp_path: Path, body: str, needles: tuple[str, ...]) -> None:
    bad = tmp_path / "space.py"
    bad.write_text(f"from autodl.space import *\nspace = SearchSpace(default_data='builtin:iris', {body})\n")
    _assert_one_line(*_run(capsys, "search", "--space", str(bad)), str(bad), *needles)


# ------------------------------------------------------------------ data
def _npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def _cases(tmp_path: Path) -> dict[str, tuple[list[str], tuple[str, ...]]]:
    rng = np.random.default_rng(0)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,y\n1,2,0\n3,4,1,9,9\n5,6,0\n")
    fake_parquet = tmp_path / "table.parquet"
    fake_parquet.write_text("a,b\n1,2\n")
    good = _npz(tmp_path / "good.npz", x=rng.normal(size=(40, 3)), y=rng.integers(0, 2, 40))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40), "y": rng.integers(0, 2, 40)})
    frame.to_csv(tmp_path / "table.csv", index=False)
    frame.assign(b=np.nan).to_csv(tmp_path / "nan_column.csv", index=False)
    frame.assign(y=1).to_csv(tmp_path / "one_class.csv", index=False)
    images = tmp_path / "images"
    for label in ("cat", "dog"):
        (images / label).mkdir(parents=True)
        (images / label / "broken.png").write_bytes(b"not an image")
    return {
        "missing": (["--data", str(tmp_path / "nope.csv"), "--target", "y"], ("nope.csv",)),
        "empty": (["--data", str(empty), "--target", "y"], ("empty.csv", "empty")),
        "ragged": (["--data", str(ragged), "--target", "y"], ("ragged.csv",)),
        "not parquet": (["--data", str(fake_parquet), "--target", "y"], ("table.parquet", "Parquet")),
        "truncated npz": (["--data", str(truncated)], ("truncated.npz",)),
        "target absent": (["--data", str(tmp_path / "table.csv"), "--target", "Y"], ("'Y'", "did you mean 'y'")),
        "all-NaN column": (["--data", str(tmp_path / "nan_column.csv"), "--target", "y"], ("'b'",)),
        "one class": (["--data", str(tmp_path / "one_class.csv"), "--target", "y"], ("single class",)),
        "length mismatch": (
            ["--data", str(_npz(tmp_path / "mismatch.npz", x=np.zeros((30, 2)), y=np.zeros(29)))],
            ("mismatch.npz", "30", "29"),
        ),
        "nan in y": (
            ["--data", str(_npz(tmp_path / "nan_y.npz", x=np.zeros((30, 2)), y=np.full(30, np.nan)))],
            ("nan_y.npz",),
        ),
        "no readable images": (["--data", str(images)], (str(images),)),
        "unknown builtin": (["--data", "builtin:digit"], ("did you mean 'digits'",)),
    }


CASES = [
    "missing", "empty", "ragged", "not parquet", "truncated npz", "target absent", "all-NaN column",
    "one class", "length mismatch", "nan in y", "no readable images", "unknown builtin",
]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_bad_data(capsys, tmp_path: Path, space: Path, case: str) -> None:
    args, needles = _cases(tmp_path)[case]
    out = tmp_path / "out"
    _assert_one_line(*_run(capsys, "search", "--space", str(space), "--out", str(out), *args), *needles)


# ------------------------------------------------------------------ flags and storage
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--trials", "0"], ("--trials", "0")),
        (["--timeout", "-5"], ("--timeout", "-5")),
        (["--jobs", "0"], ("--jobs", "0")),
        (["--sampler", "tpee"], ("did you mean 'tpe'",)),
        (["--pruner", "hyperbnd"], ("did you mean 'hyperband'",)),
        (["--objective", "val_acuracy"], ("did you mean 'val_accuracy'",)),
        (["--trails", "3"], ("--trails", "did you mean '--trials'")),
        (["--storage", "postgresq://u:secret@localhost/db"], ("unknown scheme", "u:***@")),
    ],
)
def test_bad_flags(capsys, space: Path, tmp_path: Path, args: list[str], needles: tuple[str, ...]) -> None:
    code, err = _run(capsys, "search", "--space", str(space), "--out", str(tmp_path / "o"), *args) if not args[0] == "--trails" else _argparse_error(capsys, space, args)
    _assert_one_line(code, err, *needles)
    assert "secret" not in err


def _argparse_error(capsys, space: Path, args: list[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(["search", "--space", str(space), *args])
    return int(exc.value.code), capsys.readouterr().err.strip()


def test_unreachable_database_names_the_host_but_never_the_password(capsys, space: Path, tmp_path: Path) -> None:
    url = "postgresql://alice:s3cret-pw@127.0.0.1:1/db"
    code, err = _run(capsys, "search", "--space", str(space), "--out", str(tmp_path / "o"), "--storage", url)
    _assert_one_line(code, err, "127.0.0.1:1", "alice:***@")
    assert "s3cret" not in err


def test_another_studys_output_folder_is_not_overwritten(capsys, space: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text('{"study_name": "someone-else"}')
    code, err = _run(capsys, "search", "--space", str(space), "--out", str(out))
    _assert_one_line(code, err, "someone-else", "--overwrite")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    from autodl.exceptions import SpaceError

    with pytest.raises(SpaceError):
        main(["search", "--space", str(tmp_path / "missing.py"), "--debug"])
