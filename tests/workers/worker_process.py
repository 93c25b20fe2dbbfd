"""A real Celery worker process (``callcenter worker``) for the tests, on their own Redis and
PostgreSQL database, that can be stopped or killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from redis import Redis

__all__ = ["WorkerProcess"]

REPO = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, folder: Path, *, redis_url: str, database_url: str, **worker: str) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        # The broker on another database of the same Redis: the tests' keys stay apart.
        broker = redis_url.rsplit("/", 1)[0] + "/1"
        self.env = {
            key: value for key, value in os.environ.items() if not key.startswith("CALLCENTER_")
        }
        self.env.update(
            {
                "CALLCENTER_REDIS_URL": redis_url,
                "CALLCENTER_DATABASE_URL": database_url,
                "CALLCENTER_WORKER__BROKER_URL": broker,
                "CALLCENTER_WORKER__INGEST_INTERVAL": "0.2",
                "CALLCENTER_LOGGING__LEVEL": "INFO",
            }
        )
        self.env.update({f"CALLCENTER_WORKER__{k.upper()}": v for k, v in worker.items()})
        # Tasks an earlier test's worker left queued (a countdown not yet due, a beat tick)
        # are not this test's work: every test's worker starts on an empty broker.
        redis = Redis.from_url(broker)
        try:
            redis.flushdb()
        finally:
            redis.close()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "worker.log"
        self.runs = 0

    def start(self) -> None:
        assert self.proc is None
        self.runs += 1
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "callcenter", "worker", "--concurrency", "2",
                 "--beat-schedule", str(self.folder / f"beat-{self.runs}")],
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the beat child dies with it
            )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL to the whole process group: no clean-up of any kind."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
