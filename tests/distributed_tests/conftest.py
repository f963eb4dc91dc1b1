"""Fixtures for tests against real database servers, and tiny studies run by worker processes.

A server test reads its URL from AUTODL_TEST_POSTGRES_URL / AUTODL_TEST_MYSQL_URL. Without
it the test is skipped with the reason, except under CI=true, where a missing URL fails:
there the servers are part of the contract and a skip would hide a broken set-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HELPER = Path(__file__).with_name("_loop_worker.py")
EXAMPLES = {
    "AUTODL_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:5432/test",
    "AUTODL_TEST_MYSQL_URL": "mysql+pymysql://root@127.0.0.1:3306/test",
}


def server_url(variable: str) -> str:
    """The URL in `variable`; skip without it, or fail when CI=true."""
    url = os.environ.get(variable, "").strip()
    if url:
        return url
    example = EXAMPLES.get(variable, "URL")
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{variable} is not set; CI must run this test against a real server ({example})")
    pytest.skip(f"{variable} is not set (e.g. {variable}={example})")


@pytest.fixture
def postgres_url() -> str:
    return server_url("AUTODL_TEST_POSTGRES_URL")


@pytest.fixture
def mysql_url() -> str:
    return server_url("AUTODL_TEST_MYSQL_URL")


@pytest.fixture
def study_name() -> str:
    """A unique study name, so tests sharing a database server never meet."""
    return f"autodl-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def cleanup_study() -> Iterator[Callable[[str, str], None]]:
    """Call with (storage URL, study name); the study is deleted after the test."""
    import optuna

    from autodl.study import make_storage

    created: list[tuple[str, str]] = []
    yield lambda url, name: created.append((url, name))
    for url, name in created:
        try:
            optuna.delete_study(study_name=name, storage=make_storage(url, heartbeat_interval=None))
        except KeyError:  # the test failed before creating it
            pass


def start_loop_workers(
    url: str, name: str, *, n: int, total: int, seconds: float, mode: str = "mixed", env: dict[str, str] | None = None
) -> list[subprocess.Popen[str]]:
    """N processes running autodl's trial loop on a no-op objective (no Keras: fast)."""
    full_env = {**os.environ, **(env or {})}
    return [
        subprocess.Popen(
            [sys.executable, str(HELPER), url, name, str(total), str(seconds), mode],
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(n)
    ]


def wait_all(procs: list[subprocess.Popen[str]], timeout: float) -> list[int]:
    end = time.monotonic() + timeout
    codes = []
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            out = "\n".join((p.communicate()[0] or "")[-2000:] for p in procs)
            pytest.fail(f"worker processes did not finish in {timeout}s:\n{out}")
        codes.append(proc.returncode)
    return codes


def output_of(procs: list[subprocess.Popen[str]]) -> str:
    return "\n".join((p.communicate()[0] or "")[-3000:] for p in procs)
