"""`autodl dashboard` serves optuna-dashboard: the study, its trials and per-epoch values."""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback only)
        assert response.status == 200
        return json.loads(response.read())


def _wait_for_url(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not selector.select(timeout=1):
            if proc.poll() is not None:
                break
            continue
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(r"(http://127\.0\.0\.1:\d+)/dashboard/", line)
        if match:
            return match.group(1)
    raise AssertionError(f"no URL from autodl dashboard: {''.join(seen)!r}, exit {proc.poll()}")


def test_dashboard_serves_trials_with_intermediate_values(journal_study: Any) -> None:
    study, journal = journal_study(name="dash-study", n_trials=8, epochs=5)
    proc = subprocess.Popen(
        [sys.executable, "-m", "autodl", "dashboard", "--storage", str(journal), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        base = _wait_for_url(proc)
        summaries = _get(f"{base}/api/studies")["study_summaries"]
        ids = {s["study_name"]: s["study_id"] for s in summaries}
        assert "dash-study" in ids
        detail = _get(f"{base}/api/studies/{ids['dash-study']}?after=0")
        assert detail["objective_names"] == ["val_accuracy"]  # from study.set_metric_names
        trials = {t["number"]: t for t in detail["trials"]}
        assert sorted(trials) == [t.number for t in study.trials]
        for expected in study.trials:
            served = trials[expected.number]
            assert served["state"].lower() == expected.state.name.lower()
            steps = {v["step"]: v["value"] for v in served["intermediate_values"]}
            assert steps == expected.intermediate_values
            attrs = {a["key"] for a in served["user_attrs"]}
            assert {"config", "epochs", "history"} <= attrs
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_dashboard_without_a_storage_is_a_user_error(cli: Any, tmp_path: Path) -> None:
    result = cli("dashboard", "--out", str(tmp_path), "--port", "0")
    assert result.returncode == 2
    assert "study.journal" in result.stderr and "Traceback" not in result.stderr
