"""Property tests: malformed space files and CSV files never end in a traceback.

autodl must exit 0 (it worked) or 2 (a clear user error), never 1 (a bug) on them.
"""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodl.cli import main
from autodl.space._vocabulary import KEYS

names = st.one_of(st.sampled_from(sorted(KEYS)), st.text(string.ascii_lowercase + "_", min_size=1, max_size=12))
scalars = st.one_of(
    st.integers(-5, 300),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from(["relu", "adam", "sgd", "mse", "focal", "cnn", "rnn", "mlp", "lstm", "none", "", "x"]),
    st.booleans(),
    st.none(),
)


@st.composite
def dimension_source(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["scalar", "choice", "integer", "real", "junk"]))
    if kind == "scalar":
        return repr(draw(scalars))
    if kind == "choice":
        return "choice(" + ", ".join(repr(v) for v in draw(st.lists(scalars, max_size=4))) + ")"
    if kind == "junk":
        return draw(st.sampled_from(["[1, 2]", "{'a': 1}", "lambda y, p: y", "object()", "choice", "1/0"]))
    low, high = draw(scalars), draw(scalars)
    log = draw(st.booleans())
    fn = "integer" if kind == "integer" else "real"
    when = draw(st.sampled_from(["", ", when={'optimizer': 'sgd'}", ", when={'nope': 1}", ", when=3"]))
    return f"{fn}({low!r}, {high!r}, log={log}{when})"


@st.composite
def space_files(draw: st.DrawFn) -> str:
    entries = draw(st.dictionaries(names, dimension_source(), max_size=5))
    body = ", ".join(f"{k}={v}" for k, v in entries.items())
    header = draw(st.sampled_from(["from autodl.space import *\n", "from autodl.space import SearchSpace\n", ""]))
    return f"{header}space = SearchSpace(default_data='builtin:iris', {body})\n"


def _exit_code(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(args)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    return code, err


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=space_files())
def test_malformed_space_files_exit_cleanly(source: str, capsys: pytest.CaptureFixture[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "space.py"
        path.write_text(source)
        code, err = _exit_code(["search", "--space", str(path), "--dry-run"], capsys)
    assert code in (0, 2), (source, err)
    assert "Traceback" not in err
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err


cells = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(string.ascii_letters + " ,\"'\n", max_size=8),
    st.just(""),
)


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    n_cols = draw(st.integers(1, 4))
    header = draw(st.lists(st.sampled_from(["a", "b", "y", "text", "", "y"]), min_size=n_cols, max_size=n_cols))
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=n_cols + 1), max_size=30))
    return "\n".join([",".join(header)] + [",".join(r) for r in rows])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=csv_texts())
def test_malformed_csv_files_exit_cleanly(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        path.write_text(text)
        code, err = _exit_code(["search", "--space", "mlp", "--data", str(path), "--target", "y", "--dry-run"], capsys)
    assert code in (0, 2), (text, err)
    assert "Traceback" not in err


@st.composite
def odd_but_valid_frames(draw: st.DrawFn) -> pd.DataFrame:
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    n = draw(st.integers(20, 40))
    frame = pd.DataFrame({"y": rng.integers(0, 2, n)})
    for i in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["float", "int", "category", "mostly_nan", "constant", "odd name"]))
        name = f"col {i}/é" if kind == "odd name" else f"c{i}"
        if kind in ("float", "odd name"):
            frame[name] = rng.normal(size=n)
        elif kind == "int":
            frame[name] = rng.integers(0, 5, n)
        elif kind == "category":
            frame[name] = rng.choice(["a", "b", ""], n)
        elif kind == "mostly_nan":
            frame[name] = np.where(rng.random(n) < 0.9, np.nan, 1.0)
            frame.loc[0, name] = 2.0
        else:
            frame[name] = 7.0
    return frame


@pytest.mark.slow
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=odd_but_valid_frames())
def test_odd_but_valid_csv_files_train(frame: pd.DataFrame, capsys: pytest.CaptureFixture[str], write_space) -> None:
    space = write_space(extra="units=4, layers=1,", epochs=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        frame.to_csv(path, index=False)
        args = ["search", "--space", str(space), "--data", str(path), "--target", "y", "--trials", "1", "--out", str(Path(tmp) / "out")]
        code, err = _exit_code(args, capsys)
    assert code in (0, 2), err
    assert "Traceback" not in err
