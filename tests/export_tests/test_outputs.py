"""What a search leaves for deployment: model card, test score, summary, `autodl export`."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from autodl.cli import main
from autodl.results import best_trial


def _card(out: Path) -> dict[str, Any]:
    return json.loads((out / "model_card.json").read_text())


def test_table_card_names_columns_dtypes_and_vocabulary(table_export: Any) -> None:
    card = _card(table_export.out)
    columns = {c["name"]: c for c in card["input"]["columns"]}
    assert list(columns) == ["age", "color", "size"]
    assert columns["color"] == {
        "name": "color",
        "input": "color",
        "dtype": "string",
        "categorical": True,
        "categories": 3,
    }
    assert columns["age"]["dtype"] == "float32" and not columns["age"]["categorical"]
    assert card["task"] == "binary" and card["target"] == "label"
    assert card["class_names"] == ["no", "yes"]
    assert card["hyperparameters"]["units"] == 8 and "learning_rate" in card["params"]
    assert card["library_versions"]["keras"] and card["command"].startswith("autodl search")
    assert card["data"]["n_test"] == 48  # 20% of 240 rows, held out before the search
    markdown = (table_export.out / "model_card.md").read_text()
    for text in ("## Input", "`color` | string | 3", "## Scores", "| test |", "## Ensemble"):
        assert text in markdown


def test_image_and_text_cards(image_export: Any, text_export: Any) -> None:
    image = _card(image_export.out)["input"]
    assert image["kind"] == "image" and image["image_size"] == [8, 8] and image["channels"] == 1
    assert image["value_range"] == [0.0, 16.0]
    text = _card(text_export.out)["input"]
    assert text["kind"] == "text" and text["text_column"] == "text"
    assert isinstance(text["vocabulary_size"], int) and 10 < text["vocabulary_size"] <= 200


@pytest.mark.parametrize("name", ["table", "image", "text"])
def test_test_split_is_scored_once_into_summary_and_card(
    name: str, request: pytest.FixtureRequest
) -> None:
    import keras

    from autodl.export._evaluate import predict_outputs, raw_model_input, task_metrics

    exported = request.getfixturevalue(f"{name}_export")
    data = exported.result.data
    summary = json.loads((exported.out / "summary.json").read_text())
    assert set(summary["test_metrics"]) == {"accuracy", "auc"}
    assert summary["test_metrics"] == _card(exported.out)["test_metrics"]
    # The table search's fixed 2:1 mix beats its best model; the others ran one trial.
    assert summary["export"]["source"] == ("ensemble" if name == "table" else "trial")
    assert summary["export"]["saved_model"] == "saved_model"
    # The number is the exported model's score on exactly the held-out rows.
    model = keras.saving.load_model(exported.out / "best_model.keras")
    again = task_metrics(
        data.task, data.y_test, predict_outputs(model, raw_model_input(data, data.x_test))
    )
    assert again == pytest.approx(summary["test_metrics"])
    if name == "image":
        assert data.n_test == 150  # the npz's own x_test/y_test, used as is
    assert exported.result.summary["test_metrics"] == summary["test_metrics"]


def test_nothing_is_exported_without_a_complete_trial(tmp_path: Path) -> None:
    import optuna

    from autodl.export import finalize_export

    study = optuna.create_study(direction="maximize")
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    context = SimpleNamespace(
        settings=SimpleNamespace(refit=True, ensemble=2, seed=0),
        study=study,
        data=None,
        out=tmp_path,
        objective=None,
        command="",
        loaded_space=None,
    )
    assert finalize_export(context) == {}
    assert list(tmp_path.iterdir()) == []


def test_export_command_after_the_fact(text_export: Any, tmp_path: Path) -> None:
    storage = str(text_export.out / "study.journal")
    elsewhere = tmp_path / "elsewhere"
    # The trial's own model only exists in the search's folder: elsewhere needs --refit.
    assert main(["export", "--storage", storage, "--out", str(elsewhere)]) == 2
    assert main(["export", "--storage", storage, "--out", str(elsewhere), "--refit"]) == 0
    card = _card(elsewhere)
    assert card["model"]["source"] == "refit" and card["model"]["trained_on"] == "train+validation"
    best = best_trial(text_export.result.study)
    assert card["model"]["epochs"] == best.user_attrs["best_epoch"] + 1
    assert (
        card["data"]["rows_trained_on"]
        == text_export.result.data.n_train + text_export.result.data.n_val
    )
    assert set(card["test_metrics"]) == {"accuracy", "auc"}
    for name in ("best_model.keras", "saved_model", "model_card.md", "summary.json"):
        assert (elsewhere / name).exists(), name
    assert (
        main(["export", "--storage", storage, "--study-name", "nope", "--out", str(elsewhere)])
        == 2
    )


def test_search_flags_are_validated(tmp_path: Path) -> None:
    assert main(["search", "--space", "mlp", "--ensemble", "1", "--dry-run"]) == 2
    assert main(["search", "--space", "mlp", "--test-size", "1.5", "--dry-run"]) == 2


class _FakeModel:
    def __init__(self, tag: str) -> None:
        self.tag = tag

    def save(self, path: Path) -> None:
        Path(path).write_text(self.tag)


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_top_k_keeps_only_the_best_k_files(tmp_path: Path, direction: str) -> None:
    from autodl.export import TopKModels

    top = TopKModels(tmp_path, 2, direction)
    values = [0.5, 0.9, 0.7, 0.1]
    kept = [top.offer(n, v, _FakeModel(f"t{n}")) for n, v in enumerate(values)]
    order = np.argsort(values)[::-1] if direction == "maximize" else np.argsort(values)
    best_two = [int(n) for n in order[:2]]
    assert [m.trial for m in top.members()] == best_two
    assert sorted(p.name for p in (tmp_path / "models").glob("*.keras")) == sorted(
        f"trial_{n}.keras" for n in best_two
    )
    assert (tmp_path / "models" / f"trial_{best_two[0]}.keras").read_text() == f"t{best_two[0]}"
    assert kept[0] and kept[1]  # the first two always enter


def test_best_model_is_copied_from_the_kept_file_else_saved(tmp_path: Path) -> None:
    """The best trial's model is serialised once: best_model.keras copies its top-K file,
    and is saved from the model itself when that file is gone (another worker dropped it)."""
    from autodl.export import BestModelWriter, TopKModels

    top = TopKModels(tmp_path, 2, "maximize")
    writer = BestModelWriter(tmp_path, "maximize")
    assert top.offer(0, 0.8, _FakeModel("kept file"))
    assert writer.offer(0.8, _FakeModel("model"), {"trial": 0}, saved=top.path(0))
    assert (tmp_path / "best_model.keras").read_text() == "kept file"

    gone = tmp_path / "models" / "trial_9.keras"
    assert writer.offer(0.9, _FakeModel("saved model"), {"trial": 1}, saved=gone)
    assert (tmp_path / "best_model.keras").read_text() == "saved model"
    assert json.loads((tmp_path / "best_config.json").read_text())["trial"] == 1
    assert not list(tmp_path.glob(".best_model*"))  # no temporary file left behind
