"""Which GPU and how many CPU threads each worker process gets (no real GPU needed)."""

from __future__ import annotations

from collections import Counter

import pytest

from autodl.exceptions import ConfigError
from autodl.study import SearchSettings
from autodl.study._workers import (
    WorkerSlot,
    assign_devices,
    plan_workers,
    uses_local_workers,
    visible_gpus,
    worker_env,
)

FOUR = {"AUTODL_FAKE_GPUS": "4"}


def _settings(**options: object) -> SearchSettings:
    return SearchSettings(space="mlp", **options).validate()  # type: ignore[arg-type]


def test_visible_gpus_come_from_the_fake_count_or_cuda_visible_devices() -> None:
    assert visible_gpus(FOUR) == ["0", "1", "2", "3"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "2,3"}) == ["2", "3"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "1,-1,2"}) == ["1"]  # CUDA stops at -1


def test_four_gpus_give_four_workers_on_distinct_devices() -> None:
    slots = plan_workers(_settings(), env=FOUR, cores=16)
    assert [s.device for s in slots] == ["0", "1", "2", "3"]
    assert all(s.threads == 4 for s in slots)
    envs = [worker_env(s, base={"AUTODL_FAKE_GPUS": "4", "PATH": "/bin"}) for s in slots]
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0", "1", "2", "3"]
    assert all("AUTODL_FAKE_GPUS" not in e and e["PATH"] == "/bin" for e in envs)
    assert all(e["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" for e in envs)


def test_two_trials_per_gpu_put_two_workers_on_each_device() -> None:
    slots = plan_workers(_settings(trials_per_gpu=2), env=FOUR, cores=16)
    assert len(slots) == 8
    assert Counter(s.device for s in slots) == {"0": 2, "1": 2, "2": 2, "3": 2}
    assert len({s.index for s in slots}) == 8


def test_gpus_flag_chooses_the_devices_and_jobs_defaults_to_them() -> None:
    slots = plan_workers(_settings(gpus="0,1,3"), env=FOUR, cores=6)
    assert [s.device for s in slots] == ["0", "1", "3"]
    assert [s.threads for s in slots] == [2, 2, 2]
    fewer = plan_workers(_settings(gpus="0,1,3", jobs=2), env=FOUR, cores=6)
    assert [s.device for s in fewer] == ["0", "1"]


def test_impossible_gpu_requests_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match=r"--gpus 0,7: no GPU '7'; visible: 0, 1, 2, 3"):
        plan_workers(_settings(gpus="0,7"), env=FOUR)
    with pytest.raises(ConfigError, match=r"--jobs 5: 4 GPU\(s\) x --trials-per-gpu 1 .* --trials-per-gpu 2"):
        plan_workers(_settings(jobs=5), env=FOUR)
    with pytest.raises(ConfigError, match="no GPU is visible"):
        plan_workers(_settings(gpus="0"), env={"CUDA_VISIBLE_DEVICES": ""})
    with pytest.raises(ConfigError, match="--gpus '0,,1'"):
        _settings(gpus="0,,1")
    with pytest.raises(ConfigError, match="--trials-per-gpu must be at least 1"):
        _settings(trials_per_gpu=0)


def test_without_gpus_workers_divide_the_cpu_cores() -> None:
    cpu = {"CUDA_VISIBLE_DEVICES": ""}
    slots = plan_workers(_settings(jobs=3), env=cpu, cores=8)
    assert [s.device for s in slots] == [None, None, None]
    assert [s.threads for s in slots] == [2, 2, 2]
    assert [s.threads for s in plan_workers(_settings(jobs=3), env=cpu, cores=2)] == [1, 1, 1]
    env = worker_env(WorkerSlot(0, None, 1), base={"CUDA_VISIBLE_DEVICES": "", "PATH": "/bin"})
    assert env["OMP_NUM_THREADS"] == env["TF_NUM_INTRAOP_THREADS"] == env["AUTODL_THREADS"] == "1"
    assert env["CUDA_VISIBLE_DEVICES"] == ""  # nothing to pin on a CPU-only machine
    # One process, no GPU: no worker processes and no thread cap.
    assert plan_workers(_settings(), env=cpu, cores=8) == [WorkerSlot(0, None, None)]


def test_only_several_workers_or_chosen_gpus_use_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.delenv("AUTODL_FAKE_GPUS", raising=False)
    assert not uses_local_workers(_settings())
    assert uses_local_workers(_settings(jobs=2))
    monkeypatch.setenv("AUTODL_FAKE_GPUS", "1")
    assert not uses_local_workers(_settings())  # one GPU: this process can use it directly
    assert uses_local_workers(_settings(gpus="0"))  # pinned: only a fresh process can be
    monkeypatch.setenv("AUTODL_FAKE_GPUS", "2")
    assert uses_local_workers(_settings())


def test_assign_devices_round_robin() -> None:
    assert assign_devices(["a", "b"], 3, 2) == ["a", "b", "a"]
    assert assign_devices([], 2) == [None, None]
