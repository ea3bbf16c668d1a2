"""What the benchmarks share: a fresh PostgreSQL and Redis database for one run, the
project's own Celery processes, and sending domains made in bulk."""

import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

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


def local_sending_domains(organization: Any, names: Iterable[str], **fields: Any) -> list:
    """Sending domains of the `local` provider, bulk-created, sharing one DKIM key (one RSA
    key per domain would take most of a run to make)."""
    from domains.models import SendingDomain
    from domains.providers.local import new_dkim_key

    _, public_key = new_dkim_key()
    return SendingDomain.objects.bulk_create(
        (
            SendingDomain(
                organization=organization,
                name=name,
                display_name=name,
                provider="local",
                region="us-east-1",
                dkim_selector="dk1",
                dkim_public_key=public_key,
                **fields,
            )
            for name in names
        ),
        batch_size=1000,
    )


def local_record_rows(domains: Iterable[Any], zone: str) -> Iterator[tuple[Any, Any, Any]]:
    """(domain, expected record, unsaved DomainRecord row) for every record the `local`
    provider asks each domain for, placed in `zone`, with the domain's status."""
    from domains.models import DomainRecord
    from domains.providers.local import LocalProvider

    provider = LocalProvider()
    for domain in domains:
        for position, record in enumerate(provider.records(domain)):
            row = DomainRecord(
                domain=domain,
                position=position,
                type=record.type,
                hostname=record.name,
                host=record.in_zone(zone).host,
                zone=zone,
                value=record.value,
                purpose=record.purpose,
                required=record.purpose != "dmarc",
                status=domain.status,
            )
            yield domain, record, row
