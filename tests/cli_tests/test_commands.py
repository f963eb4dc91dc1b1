"""`autodl init`, `--dry-run`, samplers and pruners by name, fast start."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from autodl.cli import main
from autodl.exceptions import ConfigError
from autodl.space import load_space
from autodl.study._samplers import PRUNERS, SAMPLERS, make_pruner, make_sampler


def test_help_imports_neither_keras_nor_tensorflow() -> None:
    script = (
        "import sys\nfrom autodl.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "for sub in ('search', 'init'):\n"
        "    try:\n        main([sub, '--help'])\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'optuna')))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_init_writes_editable_copies_that_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "spaces")]) == 0
    written = sorted(p.name for p in (tmp_path / "spaces").iterdir())
    assert written == ["autoencoder.py", "cnn.py", "mlp.py", "rnn.py", "textgen.py", "vae.py"]
    assert load_space(str(tmp_path / "spaces" / "cnn.py")).space.textbook
    (tmp_path / "spaces" / "cnn.py").write_text("# mine\n")
    assert main(["init", str(tmp_path / "spaces")]) == 0
    assert (tmp_path / "spaces" / "cnn.py").read_text() == "# mine\n", "init never overwrites edits"
    assert "--overwrite" in capsys.readouterr().out


def test_dry_run_lists_the_space_and_the_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--space", "cnn", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "learning_rate" in out and "real(0.0003, 0.01, log)" in out
    assert "momentum" in out and "when optimizer in ['sgd']" in out
    assert "digits: 1437 train / 360 val, 8x8x1 images, 10 classes" in out


@pytest.mark.parametrize("name", SAMPLERS)
def test_every_sampler_name_builds_or_names_its_extra(name: str) -> None:
    space = load_space("cnn").space if name != "grid" else _discrete_space()
    if name == "gp" and importlib.util.find_spec("torch") is None:
        with pytest.raises(ConfigError, match=r"autodl\[gp\]"):
            make_sampler(name, seed=0, space=space)
        return
    assert isinstance(make_sampler(name, seed=0, space=space), optuna.samplers.BaseSampler)


def _discrete_space():
    from autodl.space import SearchSpace, choice, integer

    return SearchSpace(layers=integer(1, 3), activation=choice("relu", "tanh"))


def test_grid_sampler_rejects_continuous_dimensions() -> None:
    with pytest.raises(ConfigError, match="'dropout' is continuous"):
        make_sampler("grid", seed=0, space=load_space("mlp").space)


@pytest.mark.parametrize("name", PRUNERS)
def test_every_pruner_name_builds(name: str) -> None:
    assert isinstance(make_pruner(name, max_epochs=10), optuna.pruners.BasePruner)


def test_a_search_with_another_sampler_pruner_and_sqlite_storage(write_space, tmp_path: Path) -> None:
    space = write_space(extra="units=integer(4, 16), layers=1,", epochs=3)
    db = tmp_path / "studies.db"
    args = ["search", "--space", str(space), "--trials", "3", "--sampler", "random", "--pruner", "median",
            "--storage", f"sqlite:///{db}", "--study-name", "iris-random", "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(args) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["storage"] == f"sqlite:///{db}" and summary["study_name"] == "iris-random"
    study = optuna.load_study(study_name="iris-random", storage=f"sqlite:///{db}")
    assert isinstance(study.sampler, optuna.samplers.TPESampler)  # a loaded study gets the default
    assert len([t for t in study.trials if t.state.is_finished()]) == 3
