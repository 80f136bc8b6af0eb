"""Serve the web app and one Celery worker together; Ctrl-C stops both, leaving nothing behind.

The embedded default for one-command runs (`make run`). In production run gunicorn and
`celery -A stemsaas worker` (and `celery -A stemsaas beat` once) under your process manager.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run gunicorn and a Celery worker (with beat) until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, *args, port, host, **options):
        bin_dir = os.path.dirname(sys.executable)
        commands = {
            "web": [
                os.path.join(bin_dir, "gunicorn"),
                "stemsaas.wsgi",
                "--bind",
                f"{host}:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--worker-class",
                "gthread",
                "--timeout",
                "600",
                "--access-logfile",
                "-",
            ],
            "worker": [
                os.path.join(bin_dir, "celery"),
                "-A",
                "stemsaas",
                "worker",
                "--beat",
                "--queues",
                "separation,default",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--schedule",
                self._beat_schedule(),
            ],
        }
        processes = {
            name: subprocess.Popen(command, start_new_session=True)
            for name, command in commands.items()
        }
        self.stdout.write(
            self.style.SUCCESS(
                f"StemSaaS is running on http://{host}:{port}/ (web + worker). Ctrl-C stops both."
            )
        )
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(p.poll() is None for p in processes.values()):
                time.sleep(0.5)
        finally:
            self._shutdown(processes)
        failed = [
            name for name, p in processes.items() if p.returncode not in (0, -15, -3, -9, None)
        ]
        if failed and not stopping:
            raise SystemExit(f"{', '.join(failed)} exited unexpectedly; stopped everything.")

    @staticmethod
    def _beat_schedule() -> str:
        from django.conf import settings

        return str(settings.VAR_DIR / "celerybeat-schedule")

    def _shutdown(self, processes: dict[str, subprocess.Popen]) -> None:
        # Web: graceful stop. Worker: cold stop (a job in progress is retried on next start).
        for name, process in processes.items():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM if name == "web" else signal.SIGQUIT)
        deadline = time.monotonic() + 10
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in processes.values():
            try:
                os.killpg(process.pid, signal.SIGKILL)  # whatever is left in the group
            except ProcessLookupError:
                pass
            process.wait()
        self.stdout.write("Stopped web and worker.")
