"""A worker process for the tests: autodl's trial loop on a no-op objective (no Keras).

    python _loop_worker.py URL STUDY TOTAL SECONDS MODE

MODE "mixed": trials complete, prune or fail by their sampled value, and record user attrs
and one intermediate value per step, so that lost or mixed-up writes show; "plain": every
trial completes; "space": trials sample `SPACE` (12 configurations) with autodl's TPE
sampler, every worker with the same seed, and complete.
Exit 130 when stopped by SIGINT/SIGTERM, 0 otherwise.
"""

from __future__ import annotations

import sys
import time

import optuna

from autodl.space import SearchSpace, choice
from autodl.study._samplers import make_sampler
from autodl.study._storage import make_storage
from autodl.study._workers import GracefulStop, claim_lock, run_trials

SPACE = SearchSpace(
    units=choice(4, 8, 16), activation=choice("relu", "tanh"), learning_rate=choice(0.001, 0.01)
)


class ExpectedFailure(Exception):
    pass


def main(url: str, study_name: str, total: int, seconds: float, mode: str) -> int:
    stop = GracefulStop().install()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if mode == "space":
        sampler = make_sampler("tpe", seed=0, space=SPACE)
    else:
        sampler = optuna.samplers.RandomSampler()
    study = optuna.load_study(study_name=study_name, storage=make_storage(url), sampler=sampler)

    def objective(trial: optuna.Trial) -> float:
        if mode == "space":  # a pause before sampling, as a trial's set-up makes
            time.sleep(seconds)
            return float(SPACE.sample(trial)["units"])
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
