"""Checks 2,000 expected records against a loopback Knot DNS server through the batch API
(`dnscheck.check.check_records`), and asks the same questions with a bare dnspython
asyncio loop; prints both rates and their ratio. Target: ratio >= 0.7.

    .venv/bin/python bench/dns_check.py [--records 2000] [--concurrency 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import dns.asyncresolver
import dns.nameserver

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dnscheck.check import check_records
from dnscheck.records import ExpectedRecord, Purpose
from dnscheck.resolver import DnsResolver, ResolverConfig
from tests.dns_server import KnotServer

DOMAINS = 20


def expected_records(count: int) -> list[ExpectedRecord]:
    return [
        ExpectedRecord(
            "CNAME",
            f"tok{i}._domainkey.mail{i % DOMAINS}.bench.example.test",
            f"tok{i}.dkim.amazonses.com",
            Purpose.DKIM,
        )
        for i in range(count)
    ]


def publish(server: KnotServer, records: list[ExpectedRecord]) -> None:
    server.add_many("example.test.", [(r.name, "CNAME", r.value + ".") for r in records])


async def through_the_api(port: int, records: list[ExpectedRecord], concurrency: int) -> float:
    resolver = DnsResolver(
        ResolverConfig(nameservers=(("127.0.0.1", port),), authoritative_port=port)
    )
    started = time.perf_counter()
    results = await check_records(resolver, records, concurrency=concurrency)
    elapsed = time.perf_counter() - started
    bad = [r for r in results if not r.ok]
    if bad:
        raise SystemExit(f"{len(bad)} records did not check out: {bad[0]}")
    return len(records) / elapsed


async def bare_loop(port: int, records: list[ExpectedRecord], concurrency: int) -> float:
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver("127.0.0.1", port)]
    resolver.cache = None
    limit = asyncio.Semaphore(concurrency)

    async def one(name: str) -> None:
        async with limit:
            await resolver.resolve(name + ".", "CNAME", raise_on_no_answer=False)

    started = time.perf_counter()
    await asyncio.gather(*(one(r.name) for r in records))
    return len(records) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        server = KnotServer(Path(directory)).start()
        try:
            records = expected_records(args.records)
            publish(server, records)
            api_rates, bare_rates = [], []
            for _ in range(args.rounds):  # alternate, so drift hits both alike
                bare_rates.append(asyncio.run(bare_loop(server.port, records, args.concurrency)))
                api_rates.append(
                    asyncio.run(through_the_api(server.port, records, args.concurrency))
                )
        finally:
            server.stop()

    api, bare = max(api_rates), max(bare_rates)
    print(f"records: {args.records}  concurrency: {args.concurrency}  rounds: {args.rounds}")
    print(f"batch API (check_records): {api:8.0f} records/s")
    print(f"bare dnspython loop:       {bare:8.0f} queries/s")
    print(f"ratio api/bare:            {api / bare:8.2f}  (target >= 0.70)")


if __name__ == "__main__":
    main()
