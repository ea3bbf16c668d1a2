"""The HTTP hot paths under load, as ratios against the cheapest Django response.

gunicorn serves the product with production settings (`bench/http_settings.py`: production
plus the baseline view and an unauthenticated twin of `GET /api/v1/domains`) on the
machine's PostgreSQL and Redis. The database holds 20,000 published stores with verified
custom domains and 2,000 sending domains. After a warm-up, a load generator in another
process (wrk if installed, else a small Python one) drives each path on loopback for a few
seconds; every path runs once per round (each round starting one path later), 3 rounds,
and the table shows the median of the
rounds: requests per second, p50 and p99 latency, and the ratio to the baseline's
requests per second in the same round.

    .venv/bin/python bench/http_load.py [--rounds 3] [--seconds 5] [--connections 8] [--workers N]

Targets: by custom domain, routed by Host, unknown host and the TLS ask at least 0.8 of
the baseline; the API key's request at least 0.85 of the same view unauthenticated.
Uses its own database `dk_bench_http` and Redis database 10."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import ROOT, fresh_database, local_record_rows, local_sending_domains
from tests.dns_server import free_port

HOST = "bench.localhost"
ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.http_settings",
    "SECRET_KEY": "bench-only-secret-key-bench-only-secret-key-0123456789",
    "ALLOWED_HOSTS": f"{HOST},127.0.0.1",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/dk_bench_http",
    "REDIS_URL": "redis://127.0.0.1:6379/10",
    # Loopback plain HTTP: TLS ends at the proxy in front (Caddy), as in production.
    "SECURE_SSL_REDIRECT": "false",
    # One client address sends everything: the budgets must not be what is measured.
    "API_RATE_LIMIT": "1000000000/min",
    "PUBLIC_API_RATE_LIMIT": "1000000000/min",
    "LOG_LEVEL": "WARNING",
}
STORES = 20_000
BASELINE = "trivial Django view (baseline)"
SENDING_DOMAINS = 2_000


@dataclass
class Target:
    name: str
    path: str
    host: str = HOST
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    against: str = BASELINE  # the row its ratio is taken against
    goal: float | None = None


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float


def seed() -> str:
    """The stores, their verified domains and the sending domains; returns the API key."""
    import django

    django.setup()
    from django.utils import timezone

    from accounts.models import Organization
    from accounts.services import api_key_create, organization_create, user_get_or_create
    from bench.http_urls import BENCH_ORGANIZATION
    from domains.models import DomainRecord
    from storefronts.models import Store, Storefront

    now = timezone.now()
    organizations = Organization.objects.bulk_create(
        Organization(name=f"Store owner {i}") for i in range(STORES)
    )
    stores = Store.objects.bulk_create(
        Store(organization=organization, name=f"Store {i}")
        for i, organization in enumerate(organizations)
    )
    Storefront.objects.bulk_create(
        (
            Storefront(
                store=store,
                slug=f"store-{i}",
                title=f"Store {i}",
                description="Things, made well.",
                published=True,
                custom_domain=f"shop{i}.bench-stores.test",
                custom_domain_site=f"shop{i}.bench-stores.test",  # no `www` pair: a subdomain
                custom_domain_verification_token=f"{i:032x}",
                custom_domain_verified=True,
                custom_domain_verified_at=now,
            )
            for i, store in enumerate(stores)
        ),
        batch_size=2000,
    )

    owner, _ = user_get_or_create(email="bench-http@example.test")
    organization = organization_create(name=BENCH_ORGANIZATION, owner=owner)
    names = [f"mail{i}.bench-senders.test" for i in range(SENDING_DOMAINS)]
    domains = local_sending_domains(organization, names[::2])  # pending
    domains += local_sending_domains(organization, names[1::2], status="verified", verified_at=now)
    rows = [row for _, _, row in local_record_rows(domains, "bench-senders.test")]
    DomainRecord.objects.bulk_create(rows, batch_size=2000)
    return api_key_create(organization=organization, name="bench", created_by=owner).raw_key


def targets(api_key: str) -> list[Target]:
    store = STORES // 2
    domain = f"shop{store}.bench-stores.test"
    return [
        Target(BASELINE, "/bench/trivial"),
        Target("storefront by slug", f"/api/v1/public/storefronts/store-{store + 1}"),
        Target("storefront by custom domain", f"/api/v1/public/storefronts/{domain}", goal=0.8),
        Target(
            "routed by Host",
            "/api/v1/public/storefront",
            host=f"shop{store + 2}.bench-stores.test",
            goal=0.8,
        ),
        Target("unknown host", "/", host="nobody.bench-stores.test", status=404, goal=0.8),
        Target("TLS ask", f"/internal/tls/ask?domain=shop{store + 3}.bench-stores.test", goal=0.8),
        Target("/api/v1/domains, no authentication", "/bench/domains"),
        Target(
            "/api/v1/domains, API key",
            "/api/v1/domains",
            headers={"Authorization": f"Bearer {api_key}"},
            against="/api/v1/domains, no authentication",
            goal=0.85,
        ),
    ]


# --- the server -------------------------------------------------------------------------


def start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **ENV},
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            request(port, Target("ready", "/bench/trivial"))
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start within 60 s")


def request(port: int, target: Target) -> int:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{target.path}", headers={"Host": target.host, **target.headers}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310 - http://127.0.0.1
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


# --- the load ---------------------------------------------------------------------------

WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * WRK_UNITS[unit]


def run_wrk(port: int, target: Target, seconds: int, connections: int) -> Sample:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in {"Host": target.host, **target.headers}.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{target.path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    unexpected = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    odd = int(unexpected.group(1)) if unexpected else 0
    if (target.status < 400 and odd) or (target.status >= 400 and odd != total):
        raise SystemExit(f"{target.name}: {odd} of {total} answers were not {target.status}")
    errors = re.search(r"Socket errors: (.*)", out)
    if errors and re.search(r"[1-9]", errors.group(1)):
        print(f"  ({target.name}: socket errors {errors.group(1)})")
    return Sample(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50_ms=_ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
        p99_ms=_ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
    )


PY_LOAD = r"""
import http.client, json, sys, time, threading
port, host, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
seconds, connections = float(sys.argv[4]), int(sys.argv[5])
headers = dict(h.split(": ", 1) for h in sys.argv[6:])
headers["Host"] = host
latencies, statuses = [], {}
lock = threading.Lock()
end = time.perf_counter() + seconds
def loop():
    mine, seen = [], {}
    while time.perf_counter() < end:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse(); response.read(); conn.close()
        mine.append(time.perf_counter() - started)
        seen[response.status] = seen.get(response.status, 0) + 1
    with lock:
        latencies.extend(mine)
        for k, v in seen.items(): statuses[k] = statuses.get(k, 0) + v
threads = [threading.Thread(target=loop) for _ in range(connections)]
started = time.perf_counter()
[t.start() for t in threads]; [t.join() for t in threads]
elapsed = time.perf_counter() - started
latencies.sort()
print(json.dumps({"rps": len(latencies) / elapsed,
    "p50_ms": latencies[len(latencies) // 2] * 1000,
    "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000, "statuses": statuses}))
"""


def run_python(port: int, target: Target, seconds: int, connections: int) -> Sample:
    """Without wrk: threads in another process, one connection per request (as gunicorn's
    sync workers close them anyway). Slower than wrk, so ratios come out flatter."""
    headers = [f"{k}: {v}" for k, v in target.headers.items()]
    rest = [str(seconds), str(connections), *headers]
    out = subprocess.run(
        [sys.executable, "-c", PY_LOAD, *map(str, (port, target.host, target.path)), *rest],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    result = json.loads(out)
    statuses = {int(code) for code in result.pop("statuses")}
    if statuses != {target.status}:
        raise SystemExit(f"{target.name}: answers were {statuses}, not all {target.status}")
    return Sample(**result)


# --- the run ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="per path and round")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="gunicorn sync workers"
    )
    parser.add_argument(
        "--generator",
        choices=["wrk", "python"],
        default="wrk" if shutil.which("wrk") else "python",
        help="the load generator (default: wrk when installed)",
    )
    args = parser.parse_args()
    load = run_wrk if args.generator == "wrk" else run_python

    os.environ.update(ENV)
    fresh_database("dk_bench_http", 10, ENV)
    print(f"seeding {STORES:,} stores with verified domains, {SENDING_DOMAINS:,} sending domains")
    api_key = seed()
    paths = targets(api_key)
    port = free_port()
    server = start_gunicorn(port, args.workers)
    try:
        for target in paths:  # warm: every cache the path reads is filled
            for _ in range(20):
                status = request(port, target)
            if status != target.status:
                raise SystemExit(f"{target.name}: answered {status}, expected {target.status}")
        rounds: list[dict[str, Sample]] = []
        for number in range(1, args.rounds + 1):
            print(f"round {number} of {args.rounds}")
            # Each round starts one path later, so no path always runs first or last.
            turn = (number - 1) % len(paths)
            order = paths[turn:] + paths[:turn]
            rounds.append({t.name: load(port, t, args.seconds, args.connections) for t in order})
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    report(paths, rounds, args, "wrk" if load is run_wrk else "python")


def report(paths: list[Target], rounds: list[dict[str, Sample]], args, generator: str) -> None:
    failed = []
    lines = [
        "| path | requests/s | p50 ms | p99 ms | ratio | target |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for target in paths:
        samples = [r[target.name] for r in rounds]
        ratio = statistics.median(r[target.name].rps / r[target.against].rps for r in rounds)
        shown = "1.00" if target.against == target.name else f"{ratio:.2f}"
        goal = ""
        if target.goal is not None:
            goal = f"≥ {target.goal}"
            if ratio < target.goal:
                failed.append(target.name)
        if target.against != BASELINE:
            shown += " (of no auth)"
        lines.append(
            f"| {target.name} | {statistics.median(s.rps for s in samples):,.0f} "
            f"| {statistics.median(s.p50_ms for s in samples):.2f} "
            f"| {statistics.median(s.p99_ms for s in samples):.2f} | {shown} | {goal} |"
        )
    print()
    print("\n".join(lines))
    print()
    print(
        f"median of {args.rounds} rounds of {args.seconds} s, {args.connections} connections "
        f"({generator}), gunicorn {args.workers} sync workers, {os.cpu_count()} cores"
    )
    if failed:
        print("below target: " + ", ".join(failed))


if __name__ == "__main__":
    main()
