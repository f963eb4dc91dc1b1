"""A worker process for the tests: autodl's trial loop on a no-op objective (no Keras).

    python _loop_worker.py URL STUDY TOTAL SECONDS MODE

MODE "mixed": trials complete, prune or fail by their sampled value, and record user attrs
and one intermediate value per step, so that lost or mixed-up writes show; "plain": every
trial completes. Exit 130 when stopped by SIGINT/SIGTERM, 0 otherwise.
"""

from __future__ import annotations

import sys
import time

import optuna

from autodl.study._storage import make_storage
from autodl.study._workers import GracefulStop, claim_lock, run_trials


class ExpectedFailure(Exception):
    pass


def main(url: str, study_name: str, total: int, seconds: float, mode: str) -> int:
    stop = GracefulStop().install()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(
        study_name=study_name, storage=make_storage(url), sampler=optuna.samplers.RandomSampler()
    )

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_int("x", 0, 10**9)
        trial.set_user_attr("echo", x)
        for step in range(3):
            trial.report(float(x + step), step)
        time.sleep(seconds)
        if mode == "mixed" and x % 5 == 0:
            raise optuna.TrialPruned()
        if mode == "mixed" and x % 7 == 0:
            trial.set_user_attr("fail_reason", "expected")
            raise ExpectedFailure()
        return float(x)

    lock = claim_lock(url, study_name)
    try:
        outcome = run_trials(
            study, objective, total=total, catch=(ExpectedFailure,), stop=stop, lock=lock, poll_seconds=0.2
        )
    finally:
        lock.close()
    return 130 if outcome.interrupted else 0


if __name__ == "__main__":
    url, name, total, seconds, mode = sys.argv[1:6]
    sys.exit(main(url, name, int(total), float(seconds), mode))
