"""What the benchmarks share: a fresh PostgreSQL and Redis database for one run, and the
project's own Celery processes."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).with_name("celery"))


def fresh_database(name: str, redis_db: int, env: dict[str, str] | None = None) -> None:
    """Drops and creates PostgreSQL database `name`, migrates it (with `env` over this
    process's environment, which must point DATABASE_URL at it), and empties Redis
    database `redis_db`."""
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=True,
    )
    subprocess.run(["redis-cli", "-n", str(redis_db), "FLUSHDB"], check=True, capture_output=True)


def celery_worker(
    *, pool: str, concurrency: int, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """The project's worker, quiet, started in the background."""
    return subprocess.Popen(
        [
            CELERY,
            "-A",
            "config",
            "worker",
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
