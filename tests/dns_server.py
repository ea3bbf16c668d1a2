"""A real authoritative DNS server (Knot DNS) on loopback for tests, and an optional Unbound
caching resolver in front of it. Records change through RFC 2136 updates, as a customer's
DNS panel would change them. See shared/DNS.md, "Testing against a real DNS server"."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.update

if TYPE_CHECKING:  # the benches import this module before Django is set up
    from domains.models import SendingDomain

KNOTD = shutil.which("knotd") or ("/usr/sbin/knotd" if Path("/usr/sbin/knotd").exists() else None)
UNBOUND = shutil.which("unbound") or (
    "/usr/sbin/unbound" if Path("/usr/sbin/unbound").exists() else None
)
LOOPBACK = "127.0.0.1"
NEGATIVE_TTL = 300

# Zones the server is authoritative for, with what they hold from the start. `broken.test`
# has no zone file, so the server answers SERVFAIL for it. Nameserver names resolve to
# loopback, so the authoritative view asks this same server.
ZONES: dict[str, list[str]] = {
    "test.": ["ns.test. 300 A 127.0.0.1"],
    "example.test.": ["ns1.example.test. 300 A 127.0.0.1"],
    "cfhosted.test.": [],
    "cloudflare.com.": [
        "ada.ns.cloudflare.com. 300 A 127.0.0.1",
        "bob.ns.cloudflare.com. 300 A 127.0.0.1",
    ],
    "amazonses.com.": [
        '@ 300 TXT "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ~all"',
        "ns.amazonses.com. 300 A 127.0.0.1",
    ],
    "broken.test.": [],
    # A private public suffix (as github.io is): users' names live in it, undelegated.
    "github.io.": ["acme.github.io. 300 A 192.0.2.80", "ns.github.io. 300 A 127.0.0.1"],
    # Our own service domain, as the `local` provider's records point at it.
    "dk-service.test.": [
        '_spf 300 TXT "v=spf1 ip4:192.0.2.0/24 -all"',
        "return 300 A 192.0.2.25",
        "ns 300 A 127.0.0.1",
    ],
}
NAMESERVERS = {
    "test.": ["ns.test."],
    "example.test.": ["ns1.example.test."],
    "cfhosted.test.": ["ada.ns.cloudflare.com.", "bob.ns.cloudflare.com."],
    "cloudflare.com.": ["ada.ns.cloudflare.com.", "bob.ns.cloudflare.com."],
    "amazonses.com.": ["ns.amazonses.com."],
    "github.io.": ["ns.github.io."],
    "dk-service.test.": ["ns.dk-service.test."],
}


def free_port() -> int:
    """A port free for both UDP and TCP on loopback."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((LOOPBACK, 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((LOOPBACK, port))
                except OSError:
                    continue
            return port


def _zone_file(zone: str) -> str:
    lines = [
        f"$ORIGIN {zone}",
        f"$TTL {NEGATIVE_TTL}",
        f"@ SOA {NAMESERVERS[zone][0]} hostmaster.{zone} 1 3600 600 86400 {NEGATIVE_TTL}",
    ]
    lines += [f"@ NS {ns}" for ns in NAMESERVERS[zone]]
    lines += ZONES[zone]
    return "\n".join(lines) + "\n"


def _stop(process: subprocess.Popen | None) -> None:
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_answer(port: int, qname: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    query = dns.message.make_query(qname, "SOA")
    while time.monotonic() < deadline:
        try:
            response = dns.query.udp(query, LOOPBACK, port=port, timeout=0.2)
            if response.rcode() == dns.rcode.NOERROR:
                return
        except (OSError, dns.exception.Timeout):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no DNS server answered {qname} on port {port}")


def as_typed(rdtype: str, value: str) -> str:
    """A record's value as a customer types it into a DNS panel: a long TXT value split in
    255-character strings, a target name with its final dot."""
    if rdtype == "TXT":
        chunks = [value[i : i + 255] for i in range(0, len(value), 255)]
        return " ".join(f'"{c}"' for c in chunks)
    return value + "."


def publish(knot: KnotServer, record: dict) -> None:
    """What a customer types into a DNS panel: long TXT values split in 255-character
    strings, names with their final dot."""
    if record["type"] in ("TXT", "CNAME", "MX"):
        knot.set(record["hostname"], record["type"], as_typed(record["type"], record["value"]))


def publish_records(knot: KnotServer, domain: SendingDomain) -> None:
    """Every record the domain asks for, published as asked."""
    for record in domain.records.all():
        publish(knot, {"type": record.type, "hostname": record.hostname, "value": record.value})


@dataclass
class KnotServer:
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def start(self) -> KnotServer:
        assert KNOTD, "knotd is not installed"
        zones_dir = self.directory / "zones"
        for sub in ("zones", "db", "run"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        for zone in ZONES:
            if zone != "broken.test.":
                (zones_dir / f"{zone.rstrip('.')}.zone").write_text(_zone_file(zone))
        zone_entries = "\n".join(f"  - domain: {zone}" for zone in ZONES)
        config = f"""
server:
    listen: {LOOPBACK}@{self.port}
    rundir: {self.directory / "run"}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: {self.directory / "db"}
log:
  - target: stderr
    any: error
acl:
  - id: local_update
    address: 127.0.0.0/8
    action: update
template:
  - id: default
    storage: {zones_dir}
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    semantic-checks: off
    acl: local_update
zone:
{zone_entries}
"""
        conf = self.directory / "knot.conf"
        conf.write_text(config)
        # A file, not a pipe: nobody reads a pipe, and a full one would stall the server.
        with (self.directory / "knotd.log").open("wb") as log:
            self.process = subprocess.Popen(
                [KNOTD, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=log
            )
        try:
            _wait_for_answer(self.port, "example.test.")
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        _stop(self.process)

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def _send(self, message: dns.update.UpdateMessage) -> None:
        response = dns.query.tcp(message, LOOPBACK, port=self.port, timeout=3)
        if response.rcode() != dns.rcode.NOERROR:
            raise RuntimeError(f"update refused: {dns.rcode.to_text(response.rcode())}")

    def zone_of(self, name: str) -> str:
        name = name.rstrip(".") + "."
        candidates = [z for z in ZONES if name == z or name.endswith("." + z)]
        return max(candidates, key=len)

    def set(self, name: str, rdtype: str, *values: str, ttl: int = 60) -> None:
        """Replaces the records of one type at `name` (absolute) with `values`."""
        zone = self.zone_of(name)
        update = dns.update.UpdateMessage(zone)
        update.replace(name.rstrip(".") + ".", ttl, rdtype, *values)
        self._send(update)

    def add(self, name: str, rdtype: str, *values: str, ttl: int = 60) -> None:
        zone = self.zone_of(name)
        update = dns.update.UpdateMessage(zone)
        for value in values:
            update.add(name.rstrip(".") + ".", ttl, rdtype, value)
        self._send(update)

    def add_many(self, zone: str, records: list[tuple[str, str, str]], ttl: int = 300) -> None:
        """Adds (name, type, value) records to one zone, a few hundred per update."""
        for start in range(0, len(records), 200):
            update = dns.update.UpdateMessage(zone)
            for name, rdtype, value in records[start : start + 200]:
                update.add(name.rstrip(".") + ".", ttl, rdtype, value)
            self._send(update)

    def delete(self, name: str, rdtype: str | None = None) -> None:
        zone = self.zone_of(name)
        update = dns.update.UpdateMessage(zone)
        if rdtype:
            update.delete(name.rstrip(".") + ".", rdtype)
        else:
            update.delete(name.rstrip(".") + ".")
        self._send(update)


@dataclass
class UnboundResolver:
    """A caching resolver that reaches the test zones only through the Knot server, so it
    holds negative answers for the SOA minimum like a real ISP resolver."""

    directory: Path
    upstream_port: int
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def start(self) -> UnboundResolver:
        assert UNBOUND, "unbound is not installed"
        self.directory.mkdir(parents=True, exist_ok=True)
        stubs = "\n".join(
            f'stub-zone:\n    name: "{zone}"\n    stub-addr: {LOOPBACK}@{self.upstream_port}\n'
            for zone in ZONES
        )
        config = f"""
server:
    interface: {LOOPBACK}
    port: {self.port}
    do-ip6: no
    do-not-query-localhost: no
    username: ""
    chroot: ""
    directory: "{self.directory}"
    pidfile: "{self.directory / "unbound.pid"}"
    use-syslog: no
    logfile: ""
    verbosity: 0
    module-config: "iterator"
    access-control: 127.0.0.0/8 allow
    local-zone: "test." nodefault
    domain-insecure: "test."
    num-threads: 1
{stubs}"""
        conf = self.directory / "unbound.conf"
        conf.write_text(config)
        with (self.directory / "unbound.log").open("wb") as log:
            self.process = subprocess.Popen(
                [UNBOUND, "-d", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=log
            )
        try:
            _wait_for_answer(self.port, "example.test.")
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        _stop(self.process)

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"


def dns_tools_missing_reason(*, unbound: bool = False) -> str | None:
    """Why DNS integration tests cannot run here, or None. On CI they must run: there a
    missing tool is an error, not a skip."""
    missing = [name for name, path in (("knotd", KNOTD), ("unbound", UNBOUND)) if path is None]
    if not unbound:
        missing = [name for name in missing if name != "unbound"]
    if not missing:
        return None
    reason = f"{' and '.join(missing)} not installed (`make dns-tools` installs them)"
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"CI must run the DNS tests: {reason}")
    return reason
