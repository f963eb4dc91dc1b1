"""Several worker processes on one study: GPU pinning, the trial loop, crashes and signals.

Optuna's storage is the only coordination: a worker claims a trial, runs it and tells the
result; no process schedules another. `autodl search --jobs N` starts N `autodl worker`
processes on this machine (processes, not threads: Keras/TensorFlow sessions are not safe
to share) and shows their progress from the storage; `autodl worker` on other machines
joins the same study.

The same loop (`run_trials`) runs `autodl search` in one process, every `--jobs` worker
and every `autodl worker` that joins a study from anywhere.

Why a trial loop of our own instead of `study.optimize`: `--trials` is a study-wide total
of finished (COMPLETE + PRUNED) trials. `MaxTrialsCallback` only checks after a trial, so N
workers overshoot it by up to N - 1. Here a worker claims a trial under a lock held by
every worker of the study (a file lock beside the journal, an advisory lock on
PostgreSQL/MySQL) and only while finished + running + queued trials leave room; a worker
that finds no room waits, because a running trial may still fail and free its place.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autodl import _process
from autodl.exceptions import ConfigError, SearchAborted, SpaceError, StorageError, closest
from autodl.study._interrupts import ResultKept
from autodl.study._memory import MemoryWatch, RestartState

_logger = logging.getLogger(__name__)

FAKE_GPUS_ENV = "AUTODL_FAKE_GPUS"  # tests: pretend N GPUs (ids 0..N-1) are visible
STORAGE_ENV = "AUTODL_STORAGE"  # the storage URL, kept out of the process list
SETTINGS_ENV = "AUTODL_WORKER_SETTINGS"  # a local child's settings, as its parent validated them
THREADS_ENV = "AUTODL_THREADS"
DEADLINE_ENV = "AUTODL_DEADLINE"  # wall-clock time (epoch seconds) after which no trial starts
PARENT_ENV = "AUTODL_PARENT_PID"
EXPORT_ENV = "AUTODL_EXPORT"  # the search's export, handed to the local worker that ends last
INTERRUPTED = "interrupted"
# Thread pools a worker's numeric libraries size from the environment at import.
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)
POLL_SECONDS = 1.0  # how often the parent of local workers looks at the study
# How often a worker with nothing to claim looks again: the other workers' last trials may
# fail (and be retried here) or end the search, which this worker's exit should follow closely.
CLAIM_WAIT_SECONDS = 0.2
SQLITE_SHARED = (
    "--storage {storage}: SQLite locks under concurrent writers; with several workers use "
    "the default journal file, PostgreSQL or MySQL"
)
STOP_GRACE_SECONDS = 30.0  # after SIGTERM, how long a child may take to end its trial

TrialCallback = Callable[[Any, Any], None]


# ---------------------------------------------------------------------------- GPUs and slots
def parse_gpus(spec: str) -> list[str]:
    """`--gpus 0,1,3` -> ["0", "1", "3"]; a device id is a number or a GPU UUID."""
    ids = [part.strip() for part in str(spec).split(",")]
    if not ids or any(not part for part in ids):
        raise ConfigError(f"--gpus {spec!r}: give comma-separated GPU ids such as 0,1,3")
    if len(set(ids)) != len(ids):
        raise ConfigError(f"--gpus {spec!r}: a GPU is listed twice")
    return ids


def visible_gpus(env: dict[str, str] | None = None) -> list[str]:
    """The GPUs this machine shows, without importing TensorFlow (which would grab them).

    `AUTODL_FAKE_GPUS=N` (tests) pretends ids 0..N-1; a set `CUDA_VISIBLE_DEVICES` is taken
    as is (it already restricts what CUDA shows); otherwise `nvidia-smi` lists them.
    """
    env = os.environ if env is None else env
    fake = env.get(FAKE_GPUS_ENV, "").strip()
    if fake:
        try:
            return [str(i) for i in range(int(fake))]
        except ValueError:
            raise ConfigError(f"{FAKE_GPUS_ENV}={fake!r}: must be a number of GPUs") from None
    listed = env.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        ids = [part.strip() for part in listed.split(",") if part.strip()]
        # CUDA stops at the first invalid id, so "-1" (a common way to hide GPUs) ends the list.
        return ids[: ids.index("-1")] if "-1" in ids else ids
    return _nvidia_smi_gpus()


def _nvidia_smi_gpus() -> list[str]:
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if done.returncode != 0:
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


@dataclass(frozen=True)
class WorkerSlot:
    """Where one worker process runs: its GPU (None: CPU only) and its CPU thread budget."""

    index: int
    device: str | None
    threads: int | None


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def assign_devices(gpus: Sequence[str], jobs: int, trials_per_gpu: int = 1) -> list[str | None]:
    """Round-robin workers over `gpus`, at most `trials_per_gpu` per GPU; [None]*jobs on CPU."""
    if not gpus:
        return [None] * jobs
    slots = len(gpus) * trials_per_gpu
    if jobs > slots:
        raise ConfigError(
            f"--jobs {jobs}: {len(gpus)} GPU(s) x --trials-per-gpu {trials_per_gpu} give "
            f"{slots} worker slots; pass --trials-per-gpu {-(-jobs // len(gpus))} to share GPUs"
        )
    return [gpus[i % len(gpus)] for i in range(jobs)]


def plan_workers(
    settings: Any, *, env: dict[str, str] | None = None, cores: int | None = None
) -> list[WorkerSlot]:
    """The worker processes `settings` asks for on this machine.

    `--jobs` defaults to one per GPU slot (GPUs x `--trials-per-gpu`), or 1 without GPUs.
    Several workers divide the CPU cores between them so the machine is not oversubscribed.
    """
    visible = visible_gpus(env)
    gpus = visible
    if settings.gpus is not None:
        gpus = parse_gpus(settings.gpus)
        if not visible:
            raise ConfigError(f"--gpus {settings.gpus}: no GPU is visible on this machine")
        for gpu in gpus:
            if gpu not in visible:
                raise ConfigError(
                    f"--gpus {settings.gpus}: no GPU '{gpu}'; visible: {', '.join(visible)}"
                    f"{closest(gpu, visible)}"
                )
    per_gpu = int(settings.trials_per_gpu or 1)
    jobs = settings.jobs or (len(gpus) * per_gpu if gpus else 1)
    devices = assign_devices(gpus, jobs, per_gpu)
    threads = max(1, (cores or cpu_cores()) // jobs) if jobs > 1 else None
    return [WorkerSlot(i, device, threads) for i, device in enumerate(devices)]


def uses_local_workers(settings: Any) -> bool:
    """Whether a search runs in worker processes rather than in this process."""
    return settings.gpus is not None or len(plan_workers(settings)) > 1


def worker_env(slot: WorkerSlot, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a worker process: set before it starts, so before TF/JAX load."""
    env = dict(os.environ if base is None else base)
    env.pop(FAKE_GPUS_ENV, None)
    if slot.device is not None:
        env["CUDA_VISIBLE_DEVICES"] = slot.device
        # Workers sharing a GPU must not each reserve all of its memory up front.
        env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
        env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    if slot.threads is not None:
        for name in THREAD_VARS:
            env[name] = str(slot.threads)
        env[THREADS_ENV] = str(slot.threads)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


# ------------------------------------------------------------------- per-process set-up
class AcceleratorOptions:
    """`--mixed-precision` and `--jit` for this process; `restore()` undoes them."""

    def __init__(self, settings: Any) -> None:
        self._policy: str | None = None
        self._jit: bool | str | None = None
        if getattr(settings, "mixed_precision", False):
            import keras

            self._policy = keras.mixed_precision.dtype_policy().name
            keras.mixed_precision.set_global_policy("mixed_float16")
        if getattr(settings, "jit", False):
            from autodl.train._compile import set_jit_compile

            self._jit = set_jit_compile(True)

    def restore(self) -> None:
        if self._policy is not None:
            import keras

            keras.mixed_precision.set_global_policy(self._policy)
            self._policy = None
        if self._jit is not None:
            from autodl.train._compile import set_jit_compile

            set_jit_compile(self._jit)
            self._jit = None


def limit_threads(threads: int) -> None:
    """Cap this process's CPU threads (before TensorFlow runs its first operation)."""
    for name in THREAD_VARS:
        os.environ[name] = str(threads)
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # the runtime already started: the environment caps still hold
            _logger.debug("TensorFlow already initialised; thread limits from the environment only")


def configure_worker_process(settings: Any, *, threads: int | None = None) -> AcceleratorOptions:
    """Threads, devices (memory growth) and speed options of a worker process."""
    from autodl.train._device import configure_devices, quiet_backend_logs

    quiet_backend_logs()
    if threads:
        limit_threads(threads)
    devices = configure_devices()
    _logger.info("worker %s sees %s", worker_name(), ", ".join(devices) or "no accelerator")
    return AcceleratorOptions(settings)


def worker_name() -> str:
    """How the storage names this process in a trial's `worker` user attr: HOST:PID."""
    from autodl.study._owners import worker_id

    return worker_id()


def worker_seed(seed: int | None, key: object) -> int | None:
    """A sampler seed per worker: equal seeds would make every worker draw the same points."""
    if seed is None:
        return None
    return zlib.crc32(f"{seed}:{key}".encode()) & 0x7FFFFFFF


def die_with_parent() -> None:
    """A local worker gets SIGTERM when its parent dies, even by SIGKILL (Linux)."""
    parent = os.environ.get(PARENT_ENV)
    if not parent or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if str(os.getppid()) != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


# ------------------------------------------------------------------------------- signals
class GracefulStop:
    """SIGINT/SIGTERM for a worker: interrupt the running trial, or stop before the next one.

    While a trial runs (or while the worker starts up) the signal raises KeyboardInterrupt,
    so the trial ends FAIL with fail_reason "interrupted". Between trials (claiming, telling,
    waiting) it only records it: raising there could leave a claimed trial RUNNING. The
    record is the process's (`_process.note_interrupt`), where `autodl search`'s handler
    (cli/_signals.py) writes too, so `requested` answers for either.
    """

    def __init__(self) -> None:
        self._raise_now = True
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return _process.interrupt_requested()

    def install(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        _process.note_interrupt(None)

    def _handle(self, signum: int, frame: Any) -> None:
        _process.note_interrupt(signum)  # raised again at the next epoch if this one is lost
        if self._raise_now:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def between_trials(self) -> Iterator[None]:
        previous, self._raise_now = self._raise_now, False
        try:
            yield
        finally:
            self._raise_now = previous

    @contextlib.contextmanager
    def trial(self) -> Iterator[None]:
        previous, self._raise_now = self._raise_now, True
        try:
            if self.requested:
                raise KeyboardInterrupt
            yield
        finally:
            self._raise_now = previous

    def sleep(self, seconds: float) -> None:
        """Sleep, returning early once a stop is requested."""
        end = time.monotonic() + seconds
        while not self.requested and (left := end - time.monotonic()) > 0:
            time.sleep(min(0.1, left))


# --------------------------------------------------------------------------- claim locks
class _NoClaimLock:
    """Storages without a shared lock (SQLite, in-memory): the count alone decides."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None

    def close(self) -> None:
        return None


class _FileClaimLock(_NoClaimLock):
    """A lock file beside the journal; the kernel releases it if the holder dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: Any = None

    def __enter__(self) -> None:
        import fcntl

        self._handle = open(self.path, "a")  # noqa: SIM115 - held across __exit__
        fcntl.flock(self._handle, fcntl.LOCK_EX)

    def __exit__(self, *exc: Any) -> None:
        import fcntl

        try:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
        finally:
            self._handle.close()
            self._handle = None


class _DatabaseClaimLock(_NoClaimLock):
    """An advisory lock on the database server; it goes with the connection if a worker dies."""

    def __init__(self, url: str, study_name: str) -> None:
        import sqlalchemy

        from autodl.study._storage import database_url

        self._engine = sqlalchemy.create_engine(
            database_url(url), pool_pre_ping=True, pool_size=1, max_overflow=0
        )
        self.dialect = self._engine.dialect.name
        key = zlib.crc32(f"{self._engine.url.database}/{study_name}".encode())
        # PostgreSQL takes two int4 keys; MySQL/MariaDB a server-wide name of <= 64 chars.
        self._pg_keys = {"a": 0x61646C, "b": key - (1 << 32) if key >= 1 << 31 else key}
        self._mysql_name = f"autodl-claim-{key:08x}"
        self._connection: Any = None

    def __enter__(self) -> None:
        from sqlalchemy import text

        self._connection = self._engine.connect()
        if self.dialect == "postgresql":
            self._connection.execute(text("SELECT pg_advisory_lock(:a, :b)"), self._pg_keys)
        else:
            while not self._connection.execute(
                text("SELECT GET_LOCK(:name, 10)"), {"name": self._mysql_name}
            ).scalar():
                _logger.info("waiting for the claim lock of the study")
        self._connection.commit()

    def __exit__(self, *exc: Any) -> None:
        from sqlalchemy import text

        try:
            if self.dialect == "postgresql":
                self._connection.execute(text("SELECT pg_advisory_unlock(:a, :b)"), self._pg_keys)
            else:
                self._connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": self._mysql_name})
            self._connection.commit()
        finally:
            self._connection.close()
            self._connection = None

    def close(self) -> None:
        self._engine.dispose()


def claim_lock(storage_url: str, study_name: str) -> _NoClaimLock:
    """The lock under which the workers of one study claim trials, for its storage URL."""
    from autodl.study._storage import is_journal_path

    if is_journal_path(storage_url):
        return _FileClaimLock(Path(f"{storage_url}.claim.lock"))
    scheme = storage_url.split("://", 1)[0].split("+")[0]
    if scheme in ("postgresql", "postgres", "mysql", "mariadb"):
        return _DatabaseClaimLock(storage_url, study_name)
    return _NoClaimLock()


# ----------------------------------------------------------------------------- the loop
@dataclass
class WorkerOutcome:
    """How a worker's loop ended."""

    trials_run: int = 0
    reached_total: bool = False
    timed_out: bool = False
    space_exhausted: bool = False  # the grid sampler has no point left
    interrupted: bool = False
    aborted: str | None = None  # the last failure reason, when too many failed in a row
    restart: RestartState | None = None  # memory grew too much: replace this process, go on


@dataclass
class _Counts:
    finished: int = 0
    running: int = 0
    waiting: int = 0


def _counts(study: Any) -> _Counts:
    from optuna.trial import TrialState

    counts = _Counts()
    for t in study.get_trials(deepcopy=False):
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
            counts.finished += 1
        elif t.state == TrialState.RUNNING:
            counts.running += 1
        elif t.state == TrialState.WAITING:
            counts.waiting += 1
    return counts


def _fail_stale_trials(study: Any) -> None:
    """Fail (and requeue) trials whose worker stopped sending heartbeats (database storages)."""
    import optuna

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
    except Exception as exc:  # a storage hiccup here must not stop a worker
        _logger.warning("checking for stale trials failed: %s", exc)


def _record_heartbeat(study: Any, trial_id: int) -> float | None:
    """Record one heartbeat; returns the interval, or None when the storage has none."""
    # `study._storage` is where Optuna itself keeps the heartbeat-capable storage.
    storage = study._storage
    get_interval = getattr(storage, "get_heartbeat_interval", None)
    interval = get_interval() if get_interval else None
    if interval:
        storage.record_heartbeat(trial_id)
    return interval


class _Heartbeat:
    """A thread that keeps a running trial's heartbeat fresh, as `study.optimize` does."""

    def __init__(self, study: Any, trial_id: int, interval: float | None) -> None:
        self._study, self._trial_id, self._interval = study, trial_id, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _Heartbeat:
        if self._interval:
            self._thread = threading.Thread(target=self._beat, name="autodl-heartbeat", daemon=True)
            self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._study._storage.record_heartbeat(self._trial_id)
            except Exception as exc:  # the next beat may succeed; a missed one is not fatal
                _logger.warning("heartbeat of trial id %d failed: %s", self._trial_id, exc)

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _set_attr(trial: Any, key: str, value: Any, *, only_if_missing: bool = False) -> None:
    import optuna

    if only_if_missing and key in trial.user_attrs:
        return
    # Another process may have failed the trial already (lost heartbeat): nothing to record.
    with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
        trial.set_user_attr(key, value)


def _one_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__


def _claim(study: Any, total: int, lock: Any) -> tuple[Any | None, int, float | None]:
    """Under the study's lock: a new or queued trial if finished + running + queued leave room."""
    with lock:
        counts = _counts(study)
        if counts.finished >= total:
            return None, counts.finished, None
        room = counts.finished + counts.running + counts.waiting < total or (
            counts.waiting > 0 and counts.finished + counts.running < total
        )
        if not room:
            return None, counts.finished, None
        with warnings.catch_warnings():
            # Optuna warns that heartbeats belong to study.optimize: this loop beats itself.
            warnings.filterwarnings("ignore", message="Heartbeat of storage")
            trial = study.ask()
        # Beat at once: a trial without a heartbeat is never found stale if this worker dies.
        interval = _record_heartbeat(study, trial._trial_id)
        return trial, counts.finished, interval


def _run_one(
    study: Any,
    trial: Any,
    objective: Callable[[Any], float],
    *,
    catch: tuple[type[BaseException], ...],
    stop: GracefulStop,
    worker_id: str,
    interval: float | None,
) -> tuple[Any, bool, bool]:
    """Run `objective` on a claimed trial and tell the result.

    Returns (frozen trial, interrupted, the grid sampler has no point left)."""
    import optuna
    from optuna.trial import TrialState

    _set_attr(trial, "worker", worker_id)
    if os.environ.get("CUDA_VISIBLE_DEVICES"):  # the GPU(s) this worker was pinned to
        _set_attr(trial, "device", f"gpu:{os.environ['CUDA_VISIBLE_DEVICES']}")
    state, value, error, interrupted, returned = TrialState.FAIL, None, None, False, False
    with _Heartbeat(study, trial._trial_id, interval):
        try:
            with stop.trial():
                value = objective(trial)
                returned = True
            state = TrialState.COMPLETE
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except KeyboardInterrupt as exc:
            if isinstance(exc, ResultKept):  # the signal came as the result was being kept
                value, returned = exc.value, True
            if returned:  # the signal came as the trial ended: keep its result
                state = TrialState.COMPLETE
            interrupted = True
            if not returned:
                _set_attr(trial, "fail_reason", INTERRUPTED, only_if_missing=True)
        except catch:
            pass  # an expected failure; the objective recorded its reason
        except Exception as exc:
            error = exc
            _set_attr(trial, "fail_reason", _one_line(exc), only_if_missing=True)
    exhausted = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna warns on every failed trial; we log it below
        try:
            frozen = study.tell(
                trial,
                value if state == TrialState.COMPLETE else None,
                state=state,
                skip_if_finished=True,
            )
        except RuntimeError as exc:
            # GridSampler calls `study.stop()` once every grid point is taken, which
            # raises outside `study.optimize`, after the trial's result is stored.
            if "Study.stop" not in str(exc):
                raise
            frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == trial.number)
            exhausted = True
    if frozen.state == TrialState.FAIL:
        _logger.info("trial %d failed: %s", frozen.number, frozen.user_attrs.get("fail_reason", ""))
    if error is not None:
        raise error
    return frozen, interrupted, exhausted


def run_trials(
    study: Any,
    objective: Callable[[Any], float],
    *,
    total: int,
    timeout: float | None = None,
    deadline: float | None = None,
    max_failures: int | None = None,
    callbacks: Sequence[TrialCallback] = (),
    catch: tuple[type[BaseException], ...] = (),
    stop: GracefulStop | None = None,
    lock: Any = None,
    worker_id: str | None = None,
    poll_seconds: float = CLAIM_WAIT_SECONDS,
    memory_watch: MemoryWatch | None = None,
) -> WorkerOutcome:
    """Claim and run trials of `study` until it holds `total` finished trials.

    Stops early `timeout` seconds from now or at `deadline` (a `time.time()`; no trial
    starts after either, and the running one stops training then), on a stop request
    (SIGINT or SIGTERM through `stop`), or after `max_failures` failed trials in a row, or,
    with `memory_watch`, once a trial grew this process's memory past its limit
    (`outcome.restart`, for the caller to restart it), or once the grid sampler has tried
    every point. Every process running this loop on the same study, on any machine, shares
    the one total.
    """
    from optuna.trial import TrialState

    stop = stop or GracefulStop()
    lock = lock or _NoClaimLock()
    worker_id = worker_id or worker_name()
    ends = [time.time() + timeout] if timeout else []
    deadline = min([*ends, deadline]) if deadline is not None else (ends[0] if ends else None)
    outcome = WorkerOutcome()
    state = RestartState.current()
    failed_in_row = state.failed_in_row
    with stop.between_trials(), _process.trial_loop(), _process.training_deadline(deadline):
        while True:
            if stop.requested:
                outcome.interrupted = True
                break
            if deadline is not None and time.time() >= deadline:
                outcome.timed_out = True
                break
            _fail_stale_trials(study)
            trial, finished, interval = _claim(study, total, lock)
            if finished >= total:
                outcome.reached_total = True
                break
            if trial is None:  # the other workers hold the remaining trials; one may fail
                stop.sleep(poll_seconds)
                continue
            frozen, interrupted, exhausted = _run_one(
                study, trial, objective, catch=catch, stop=stop, worker_id=worker_id, interval=interval
            )
            outcome.trials_run += 1
            for callback in callbacks:
                callback(study, frozen)
            if interrupted or stop.requested:
                outcome.interrupted = True
                break
            if exhausted:
                outcome.space_exhausted = True
                break
            if frozen.state == TrialState.FAIL:
                failed_in_row += 1
                if max_failures and failed_in_row >= max_failures:
                    outcome.aborted = frozen.user_attrs.get("fail_reason", "unknown")
                    break
            else:
                failed_in_row = 0
            if (
                memory_watch is not None
                and memory_watch.after_trial()
                and _counts(study).finished < total
                and (deadline is None or time.time() < deadline)  # else a restart runs nothing
            ):
                _logger.info("%s: this worker restarts", memory_watch.reason())
                state.failed_in_row = failed_in_row
                outcome.restart = state
                break
    return outcome


# ------------------------------------------------------------------- orphaned trials
def fail_orphans(study: Any, worker_id: str, reason: str, *, retry: bool = True) -> list[int]:
    """Fail the RUNNING trials of a worker that died, and requeue them (bounded retries).

    The heartbeat does this on database storages too, after its grace period; the journal
    file has no heartbeat, so the parent of local workers does it as soon as one dies.
    """
    import optuna
    from optuna.trial import TrialState

    from autodl.study._storage import RetryStaleTrial

    storage = study._storage  # Optuna's own handle; the public Study API cannot fail a trial
    failed = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if t.user_attrs.get("worker") != worker_id:
            continue
        try:
            storage.set_trial_user_attr(t._trial_id, "fail_reason", reason)
            if not storage.set_trial_state_values(t._trial_id, TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # the heartbeat check of another worker got there first
        failed.append(t.number)
        if retry:
            RetryStaleTrial()(study, storage.get_trial(t._trial_id))
    return failed


# ------------------------------------------------------------------------ joining a study
def join_study(
    storage_url: str,
    study_name: str,
    *,
    data: str | None = None,
    out: str | None = None,
    timeout: float | None = None,
    settings: dict[str, Any] | None = None,
) -> Any:
    """A `SearchContext` for an existing study, from the settings it recorded.

    `settings` (a local child's, from its parent) replaces the recorded ones. The space
    file is the one the study recorded: its path if this machine has the same file, else
    the copy of its source kept in the study (written under OUT/space/).
    """
    import optuna

    from autodl.study._run import prepare_search
    from autodl.study._settings import SearchSettings
    from autodl.study._storage import is_journal_path, make_storage, mask_url

    if is_journal_path(storage_url) and not Path(storage_url).is_file():
        # Opening a journal path creates the file: a typo must not become an empty study store.
        raise StorageError(f"--storage {storage_url}: no such journal file")
    storage = make_storage(storage_url)
    names = optuna.get_all_study_names(storage)
    if study_name not in names:
        where = mask_url(storage_url)
        hint = closest(study_name, names) or (f"; it holds {', '.join(sorted(names)[:5])}" if names else "")
        raise StorageError(f"--study-name {study_name}: no such study in {where}{hint}")
    attrs = optuna.load_study(study_name=study_name, storage=storage).user_attrs
    values = dict(settings or attrs.get("settings") or {})
    if not values:
        raise ConfigError(
            f"--study-name {study_name}: the study records no autodl settings; "
            "create it with autodl search --storage URL --study-name NAME"
        )
    out_dir = Path(out) if out else Path("reports") / study_name
    if settings is None:
        values["space"] = _space_on_this_machine(attrs, values.get("space"), out_dir, study_name)
        values["timeout"] = None
    values.update(storage=storage_url, study_name=study_name, out=str(out_dir), jobs=1, gpus=None)
    if data:
        values["data"] = data
    if timeout is not None:
        values["timeout"] = timeout
    return prepare_search(SearchSettings.from_dict(values))


def _space_on_this_machine(attrs: dict[str, Any], spec: str | None, out: Path, study_name: str) -> str:
    from autodl._files import write_text

    path = attrs.get("space")
    source = attrs.get("space_source")
    if path and Path(path).is_file():
        if source is None or Path(path).read_text(encoding="utf-8") == source:
            return str(path)
        _logger.warning("%s differs from the space study '%s' searches; using its recorded copy", path, study_name)
    if source is None:
        if spec and Path(spec).is_file():
            return spec
        raise SpaceError(
            f"{path}: not on this machine, and study '{study_name}' holds no copy of it; "
            "copy the space file to that path"
        )
    copy = out / "space" / Path(path or spec or "space.py").name
    write_text(copy, source)
    return str(copy)


# ------------------------------------------------------------------------- one worker
def run_worker(
    context: Any,
    *,
    storage_url: str,
    callbacks: Sequence[TrialCallback] = (),
    stop: GracefulStop | None = None,
    worker_index: int | None = None,
    threads: int | None = None,
    write_files: bool = True,
    poll_seconds: float = CLAIM_WAIT_SECONDS,
    deadline: float | None = None,
    memory_watch: MemoryWatch | None = None,
) -> WorkerOutcome:
    """Run trials of `context.study` in this process until the study-wide total.

    No trial starts after `deadline` (a `time.time()`), or else after the settings' timeout
    counted from the first trial.
    """
    from autodl.results import write_outputs
    from autodl.study._objective_fn import TrialRunner
    from autodl.study._samplers import make_sampler

    settings = context.settings
    options = configure_worker_process(settings, threads=threads)
    name = worker_name()
    if settings.sampler != "grid":
        # GridSampler must keep the shared seed: it maps trial numbers to grid points with it.
        # A worker restarted to free memory (same index, same name) draws new points too.
        key = f"{worker_index if worker_index is not None else name}:{len(context.study.get_trials(deepcopy=False))}"
        context.study.sampler = make_sampler(
            settings.sampler, seed=worker_seed(settings.seed, key), space=context.space
        )
    runner = TrialRunner(context)
    lock = claim_lock(storage_url, context.study.study_name)
    start = time.perf_counter()
    try:
        return run_trials(
            context.study,
            runner,
            total=settings.trials,
            timeout=None if deadline is not None else settings.timeout,
            deadline=deadline,
            max_failures=settings.max_failures,
            callbacks=callbacks,
            catch=(runner.failure_type,),
            stop=stop,
            lock=lock,
            worker_id=name,
            poll_seconds=poll_seconds,
            memory_watch=memory_watch,
        )
    finally:
        lock.close()
        options.restore()
        if write_files:
            write_outputs(
                context.study,
                context.out,
                storage=context.storage_url,
                wall_seconds=time.perf_counter() - start,
            )


# ------------------------------------------------------------------ the export, handed over
@dataclass
class ExportHandover:
    """The end of a `--jobs` search (outputs, export, report), done by the worker that ends last.

    That worker has Keras loaded and warm, where the parent, which never imports it while
    trials run, would spend seconds importing TensorFlow to export. A file created once
    (`claim`) makes it one worker; the file then records the trials the export covers, and
    the parent exports itself if it finds no claim, a failed one, or trials added since.
    """

    claim: Path
    started: float  # the parent's start, time.time(): the search's wall time counts from it
    command: str

    def to_env(self) -> str:
        return json.dumps({"claim": str(self.claim), "started": self.started, "command": self.command})

    @classmethod
    def from_env(cls) -> ExportHandover | None:
        raw = os.environ.get(EXPORT_ENV)
        if not raw:
            return None
        values = json.loads(raw)
        return cls(Path(values["claim"]), float(values["started"]), str(values["command"]))

    def take(self) -> bool:
        try:
            os.close(os.open(self.claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def covers(self, study: Any) -> dict[str, Any] | None:
        """The summary a worker's export wrote, if it covers every trial the study holds."""
        try:
            done = json.loads(self.claim.read_text())
            if done.get("trials") != len(study.get_trials(deepcopy=False)):
                return None
            return dict(json.loads((Path(done["out"]) / "summary.json").read_text()))
        except (OSError, ValueError, KeyError):  # no claim, or a worker died mid-export
            return None


def export_if_last(context: Any, outcome: WorkerOutcome) -> bool:
    """Do the search's end in this worker when its parent handed it over and no trial runs.

    Every worker that stops calls this after its own last trial, so the one that sees no
    other trial running ends last (or ties, and the claim picks one)."""
    handover = ExportHandover.from_env()
    if handover is None or outcome.interrupted or outcome.aborted or outcome.restart is not None:
        return False
    if _counts(context.study).running or not handover.take():
        return False
    from autodl._files import write_json
    from autodl.export import finalize_export
    from autodl.report.html import write_search_report
    from autodl.results import write_outputs

    trials = len(context.study.get_trials(deepcopy=False))
    context.command = handover.command
    try:
        summary = write_outputs(
            context.study, context.out, storage=context.storage_url, wall_seconds=time.time() - handover.started
        )
        summary.update(finalize_export(context))
    except Exception as exc:  # the parent exports instead, and reports the error itself
        _logger.warning("export left to the search process: %s", _one_line(exc))
        return False
    write_search_report(context, wall_seconds=summary.get("wall_seconds"))
    write_json(handover.claim, {"trials": trials, "out": str(context.out)})
    return True


# ------------------------------------------------------------------ local worker processes
@dataclass
class _Child:
    slot: WorkerSlot
    proc: subprocess.Popen[str]
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    reader: threading.Thread | None = None
    done: bool = False

    @property
    def worker_id(self) -> str:
        return f"{socket.gethostname()}:{self.proc.pid}"

    def drain(self, ended: threading.Event) -> None:
        """Keep the output's tail; once the child has exited, wake the parent's loop."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                self.tail.append(line.rstrip())
        self.proc.wait()
        ended.set()

    def error_line(self) -> str:
        prefix = "autodl worker: error: "
        for line in reversed(self.tail):
            if line.startswith(prefix):
                return line[len(prefix) :]
        return self.tail[-1] if self.tail else f"exit code {self.proc.returncode}"


# Worker processes `prestart_workers` started, by slot index, until `_spawn` gives them orders.
_PRESTARTED: dict[int, subprocess.Popen[str]] = {}


def _popen(command: list[str], env: dict[str, str], debug: bool, *, orders_on_stdin: bool) -> subprocess.Popen[str]:
    # Own session: a Ctrl-C in the terminal reaches the parent only, which forwards it once.
    return subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.PIPE if orders_on_stdin else subprocess.DEVNULL,
        stdout=None if debug else subprocess.PIPE,
        stderr=None if debug else subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )


def prestart_workers(settings: Any) -> None:
    """Start the `--jobs` worker processes now, before the data is loaded and the study made.

    Each imports Keras meanwhile (seconds that would otherwise come after the parent's own
    preparation), then waits for `_spawn` to send its command line. Any left unused (a
    user error, a study already complete) are stopped when this process exits."""
    import atexit

    debug = logging.getLogger().isEnabledFor(logging.DEBUG)
    for slot in plan_workers(settings):
        env = {**worker_env(slot), PARENT_ENV: str(os.getpid())}
        command = [sys.executable, "-m", "autodl.study._warm_worker"]
        _PRESTARTED[slot.index] = _popen(command, env, debug, orders_on_stdin=True)
    atexit.register(_release_prestarted)


def _release_prestarted() -> None:
    while _PRESTARTED:
        _, proc = _PRESTARTED.popitem()
        with contextlib.suppress(OSError):
            proc.terminate()
            proc.communicate(timeout=STOP_GRACE_SECONDS)


def _spawn(
    context: Any,
    slot: WorkerSlot,
    storage_url: str,
    deadline: float | None,
    debug: bool,
    ended: threading.Event,
    handover: ExportHandover | None,
) -> _Child:
    settings = context.settings.to_dict()
    settings.update(storage=storage_url, jobs=1, gpus=None, timeout=None, out=str(context.out))
    orders = {STORAGE_ENV: storage_url, SETTINGS_ENV: json.dumps(settings), PARENT_ENV: str(os.getpid())}
    if deadline is not None:
        orders[DEADLINE_ENV] = repr(deadline)
    if handover is not None:
        orders[EXPORT_ENV] = handover.to_env()
    unset = [name for name in (DEADLINE_ENV, EXPORT_ENV) if name not in orders]
    argv = [
        "worker",
        "--study-name", context.study.study_name,
        "--out", str(context.out),
        "--worker-index", str(slot.index),
        "--quiet", "--no-outputs",
    ]  # fmt: skip
    if debug:
        argv.append("--debug")
    proc = _PRESTARTED.pop(slot.index, None)
    if proc is not None and proc.poll() is None:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps({"env": orders, "unset": unset, "argv": argv}) + "\n")
        proc.stdin.close()
    else:
        env = {**worker_env(slot), **orders}
        for name in unset:
            env.pop(name, None)
        proc = _popen([sys.executable, "-m", "autodl", *argv], env, debug, orders_on_stdin=False)
    child = _Child(slot, proc)
    if proc.stdout is not None:
        child.reader = threading.Thread(
            target=child.drain, args=(ended,), name=f"autodl-worker-{slot.index}", daemon=True
        )
        child.reader.start()
    return child


class _ParentSignals:
    """SIGTERM to the parent behaves like Ctrl-C, so its workers are stopped, not orphaned."""

    def __enter__(self) -> None:
        self._previous = None
        # Only where nobody handles SIGTERM yet (the CLI installs its own handler).
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self._previous = signal.signal(signal.SIGTERM, self._raise)

    @staticmethod
    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def _reap(study: Any, child: _Child, *, retry: bool) -> None:
    """Note a finished child; fail (and requeue) the trial of one that was killed."""
    child.done = True
    if child.reader is not None:
        child.reader.join(timeout=5)
    code = child.proc.returncode
    if code is not None and code < 0:
        reason = f"worker {child.slot.index} was killed ({signal.Signals(-code).name})"
        failed = fail_orphans(study, child.worker_id, reason, retry=retry)
        _logger.warning("%s%s", reason, f"; its trial {failed} ended FAIL" if failed else "")


def _stop_children(study: Any, children: list[_Child]) -> None:
    """SIGTERM every live child, wait for it to end its trial, SIGKILL it after the grace."""
    for child in children:
        if child.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.proc.send_signal(signal.SIGTERM)
    end = time.monotonic() + STOP_GRACE_SECONDS
    try:
        while any(c.proc.poll() is None for c in children) and time.monotonic() < end:
            time.sleep(0.1)
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
        pass
    for child in children:
        if child.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.proc.kill()
            child.proc.wait()
        if not child.done:
            _reap(study, child, retry=False)


def _report_new(study: Any, seen: set[int], callbacks: Sequence[TrialCallback]) -> None:
    """Call `callbacks` once per trial that finished since the last poll, in any worker."""
    for t in study.get_trials(deepcopy=False):
        if t.state.is_finished() and t.number not in seen:
            seen.add(t.number)
            for callback in callbacks:
                callback(study, t)
    for callback in callbacks:
        # A view with a clock or running trials to show may redraw between trials too.
        refresh = getattr(callback, "refresh", None)
        if callable(refresh):
            refresh(study)


def run_local_workers(
    context: Any,
    *,
    callbacks: Sequence[TrialCallback] = (),
    poll_seconds: float = POLL_SECONDS,
    finalize: bool = True,
) -> Any:
    """`--jobs N` / `--gpus`: run the search in worker processes; return the `SearchResult`.

    This process only watches: it reports finished trials to `callbacks` as the storage
    shows them, fails the trial of a worker that dies, and forwards Ctrl-C/SIGTERM. With
    `finalize`, the worker that ends last writes the outputs, exports and writes the report
    (`ExportHandover`); this process does it only where that worker could not.
    """
    import shutil
    import tempfile

    from autodl.report.html import write_search_report
    from autodl.results import write_outputs
    from autodl.study._run import STUDY_FILE, SearchResult

    settings = context.settings
    if settings.storage and settings.storage.startswith("sqlite"):
        raise ConfigError(SQLITE_SHARED.format(storage=settings.storage))
    slots = plan_workers(settings)
    storage_url = settings.storage or str(context.out / STUDY_FILE)
    study = context.study
    seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    debug = logging.getLogger().isEnabledFor(logging.DEBUG)
    started = time.time()
    deadline = started + settings.timeout if settings.timeout else None
    handover = None
    if finalize:
        claim = Path(tempfile.mkdtemp(prefix="autodl-export-")) / "claim"
        handover = ExportHandover(claim, started, context.command)
    children: list[_Child] = []
    interrupted = False
    exported = None
    ended = threading.Event()  # a child exited: look at once, not at the next poll
    try:
        with _ParentSignals():
            try:
                if context.finished() < settings.trials:
                    children = [
                        _spawn(context, slot, storage_url, deadline, debug, ended, handover) for slot in slots
                    ]
                    _logger.info("started %d workers: %s", len(children), [c.proc.pid for c in children])
                while children:
                    _report_new(study, seen, callbacks)
                    for child in children:
                        if not child.done and child.proc.poll() is not None:
                            _reap(study, child, retry=True)
                    if all(c.done for c in children):
                        break
                    ended.wait(poll_seconds)
                    ended.clear()
                _report_new(study, seen, callbacks)
            except KeyboardInterrupt:
                interrupted = True
                _stop_children(study, children)
                with contextlib.suppress(KeyboardInterrupt):
                    _report_new(study, seen, callbacks)  # show the trials that were interrupted
            except BaseException:
                _stop_children(study, children)
                raise
    finally:
        if handover is not None:
            exported = handover.covers(study)
            shutil.rmtree(handover.claim.parent, ignore_errors=True)
        summary = exported or write_outputs(
            study, context.out, storage=context.storage_url, wall_seconds=time.time() - started
        )
        if finalize and exported is None and (interrupted or sys.exc_info()[0] is not None):
            write_search_report(context, wall_seconds=summary.get("wall_seconds"))  # what is done so far
    if interrupted:
        raise KeyboardInterrupt
    _check_children(context, children)
    if finalize and exported is None:  # `autodl worker --jobs N` leaves it to the machine that searches
        from autodl.export import finalize_export

        try:
            summary.update(finalize_export(context))
        finally:
            write_search_report(context, wall_seconds=summary.get("wall_seconds"))
    return SearchResult(study, context.out, summary, data=context.data)


def _check_children(context: Any, children: list[_Child]) -> None:
    """Raise if workers failed and the study fell short of its total because of it."""
    failed = [c for c in children if c.proc.returncode not in (0, 130) and c.proc.returncode >= 0]
    if not failed or context.finished() >= context.settings.trials:
        for child in failed:
            _logger.warning("worker %d exited with %d: %s", child.slot.index, child.proc.returncode, child.error_line())
        return
    child = failed[0]
    if child.proc.returncode == 2:  # a user error or an aborted search, already one line
        raise SearchAborted(f"worker {child.slot.index}: {child.error_line()}")
    raise RuntimeError(f"worker {child.slot.index} failed (exit {child.proc.returncode}): {child.error_line()}")
