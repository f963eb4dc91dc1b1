"""The per-epoch reporter's choice of the best epoch and its early stopping."""

from __future__ import annotations

from autodl.train._callbacks import EpochReporter
from autodl.train._objective import Objective


class _Model:
    """What the reporter touches on a Keras model: weights and the stop flag."""

    def __init__(self) -> None:
        self.epoch = 0
        self.stop_training = False

    def get_weights(self) -> list[int]:
        return [self.epoch]


def _run(epochs: list[tuple[float, float]], patience: int, ties_to_lower_loss: bool = True) -> EpochReporter:
    objective = Objective("val_accuracy", "maximize")
    reporter = EpochReporter(None, objective, patience, restore_best=True, ties_to_lower_loss=ties_to_lower_loss)
    model = _Model()
    reporter.set_model(model)
    for epoch, (accuracy, loss) in enumerate(epochs):
        model.epoch = epoch
        reporter.on_epoch_end(epoch, {"loss": loss, "val_accuracy": accuracy, "val_loss": loss})
        if model.stop_training:
            break
    return reporter


def test_equal_accuracy_with_a_lower_validation_loss_is_the_better_epoch() -> None:
    reporter = _run([(0.9, 0.5), (1.0, 0.4), (1.0, 0.3), (1.0, 0.35), (0.9, 0.2)], patience=0)
    assert reporter.best_value == 1.0
    assert reporter.best_epoch == 2 and reporter.best_weights == [2]
    first = _run([(0.9, 0.5), (1.0, 0.4), (1.0, 0.3)], patience=0, ties_to_lower_loss=False)
    assert first.best_epoch == 1, "KerasTuner's way: the first of equals"


def test_patience_counts_from_the_last_tie_broken_improvement() -> None:
    reporter = _run([(1.0, 0.5), (1.0, 0.4), (1.0, 0.45), (1.0, 0.3), (1.0, 0.6), (1.0, 0.7)], patience=2)
    assert reporter.epochs_run == 6 and reporter.best_epoch == 3
    reporter = _run([(1.0, 0.5), (1.0, 0.6), (1.0, 0.7), (1.0, 0.1)], patience=2)
    assert reporter.epochs_run == 3 and reporter.best_epoch == 0, "stops once two epochs brought nothing"
