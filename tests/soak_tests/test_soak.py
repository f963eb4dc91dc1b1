"""Soak: hundreds of short trials in one process keep memory and file descriptors bounded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import autodl


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
@pytest.mark.xfail(
    strict=False,
    reason="known defect: Keras/TensorFlow keep memory across trials in one process "
    "(benchmarks/memory.py measured +663 MB over 95 trials, KerasTuner +480 MB); "
    "recycling trial processes every N trials is the planned fix",
)
def test_200_trials_in_one_process_keep_rss_and_fds_bounded(write_space, tmp_path: Path) -> None:
    space = write_space(extra="units=integer(4, 8), layers=1,", epochs=1)
    samples: dict[int, tuple[float, int]] = {}

    def measure(study, trial) -> None:  # noqa: ANN001
        if len(study.trials) in (5, 200):
            samples[len(study.trials)] = (_rss_mb(), _open_fds())

    autodl.search(str(space), trials=200, seed=0, out=str(tmp_path / "out"), pruner="none", callbacks=[measure])
    (rss5, fds5), (rss200, fds200) = samples[5], samples[200]
    print(f"RSS after 5 trials {rss5:.0f} MB, after 200 {rss200:.0f} MB; fds {fds5} -> {fds200}")
    assert rss200 - rss5 < 150, f"RSS grew {rss200 - rss5:.0f} MB over 195 trials"
    assert fds200 <= fds5 + 3, f"file descriptors grew from {fds5} to {fds200}"
