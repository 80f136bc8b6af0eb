"""A real Celery worker process for end-to-end tests, against the configured broker and the
test database (SQLite file or PostgreSQL), started and stopped by the test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, log_path: Path, extra_env: dict | None = None, beat: bool = False):
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "MEDIA_ROOT": str(settings.STORAGES["default"]["OPTIONS"]["location"]),
            "MODEL_PATH": str(settings.MODEL_PATH),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "stemsaas",
            "worker",
            "--queues",
            "separation,default",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--hostname",
            f"e2e-{os.getpid()}-{time.monotonic_ns()}@%h",
        ]
        if beat:
            command += ["--beat", "--schedule", str(log_path.parent / "beat-schedule")]
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()[-3000:]}")
            time.sleep(0.5)
        raise TimeoutError(f"worker not ready after {timeout} s:\n{self.log()[-3000:]}")

    def pool_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGQUIT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self._log.close()
