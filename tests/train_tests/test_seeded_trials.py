"""Between trials autodl keeps TensorFlow's eager kernels (Keras' `clear_session` and
`tf.random.set_seed` would empty that cache); a seeded trial still trains exactly as the
same seed does in a fresh Keras session."""

from __future__ import annotations

from pathlib import Path

import keras
import pytest

pytestmark = pytest.mark.usefixtures("tensorflow_only")  # the eager kernel cache is TensorFlow's


def test_release_and_seeding_between_trials_keep_the_kernel_cache(monkeypatch) -> None:
    from tensorflow.python import pywrap_tfe

    from autodl.train import release_memory, seed_trial

    keras.ops.convert_to_numpy(keras.ops.ones(2) + 1)  # an eager op: TensorFlow's context exists
    emptied: list[object] = []
    monkeypatch.setattr(pywrap_tfe, "TFE_ContextClearCaches", lambda handle: emptied.append(handle))
    release_memory()
    seed_trial(3)
    assert emptied == []
    keras.utils.set_random_seed(3)  # Keras alone, as outside autodl's trials: emptied
    keras.backend.clear_session(free_memory=False)
    assert len(emptied) == 2


def test_a_seeded_trial_trains_as_the_same_seed_in_a_fresh_session(write_space, tmp_path: Path) -> None:
    import autodl
    from autodl.train import Objective, PreparedData, train_config

    space = write_space(data="builtin:iris", epochs=3, extra="dropout=0.3,")
    result = autodl.search(str(space), trials=3, seed=7, out=str(tmp_path / "out"), pruner="none")
    trial = result.study.trials[2]  # trained after two others, with their kernels cached

    keras.backend.clear_session()  # Keras' own reset, kernel cache emptied
    keras.utils.set_random_seed(7 + trial.number)
    trained = train_config(
        trial.user_attrs["config"], PreparedData.from_dataset(result.data), Objective("val_accuracy", "maximize")
    )
    recorded = trial.user_attrs["history"]
    assert set(recorded) == set(trained.history)
    for name, values in recorded.items():
        assert trained.history[name] == pytest.approx(values, abs=1e-5), name
