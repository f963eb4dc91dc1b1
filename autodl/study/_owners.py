"""Which process runs a trial, so a later run can tell trials left by a dead one.

Kept free of Keras so that the process that only prepares a search or watches its
workers never loads it.
"""

from __future__ import annotations

import os
import socket
from typing import Any


def worker_id() -> str:
    """host:pid of this process, so a later run can tell a dead worker's trials."""
    return f"{socket.gethostname()}:{os.getpid()}"


def fail_orphaned_trials(study: Any) -> list[int]:
    """Mark FAIL the RUNNING trials whose process on this machine has died (kill -9, power).

    Only trials that name a local worker are touched: trials of live workers and of other
    machines are left to their owners (RDB storages also fail them by heartbeat).
    """
    import optuna

    host = socket.gethostname()
    orphaned = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        worker_host, _, pid = str(trial.user_attrs.get("worker", "")).rpartition(":")
        if worker_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        storage = study._storage
        storage.set_trial_user_attr(
            trial._trial_id, "fail_reason", f"abandoned: its process (pid {pid}) ended mid-trial"
        )
        storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
        orphaned.append(trial.number)
    return orphaned


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
