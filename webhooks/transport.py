"""The one seam that sends a webhook over the network: to the checked address, with the
endpoint's host name for the Host header, SNI and the certificate check; no redirects; 5 s
to connect, 15 s in all; at most 20 KB of the response kept."""

from __future__ import annotations

import time
from dataclasses import dataclass

import certifi
import urllib3

from webhooks.ssrf import Target

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
RESPONSE_KEEP_BYTES = 20 * 1024


@dataclass(frozen=True)
class TransportResult:
    status: int | None  # None when no HTTP response came
    headers: dict[str, str]
    body: str  # at most RESPONSE_KEEP_BYTES, decoded leniently
    duration_ms: int
    error: str = ""


def send(target: Target, headers: dict[str, str], body: bytes) -> TransportResult:
    started = time.monotonic()
    timeout = urllib3.Timeout(total=TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT)
    if target.scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            target.address, target.port, timeout=timeout, retries=False, maxsize=1
        )
    host_header = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            kept = response.read(RESPONSE_KEEP_BYTES, decode_content=True)
        finally:
            response.release_conn()
            response.close()
        return TransportResult(
            status=response.status,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=kept.decode("utf-8", errors="replace"),
            duration_ms=int((time.monotonic() - started) * 1000),
        )
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        return TransportResult(
            status=None,
            headers={},
            body="",
            duration_ms=int((time.monotonic() - started) * 1000),
            error=f"{type(exc).__name__}: {exc}"[:1000],
        )
    finally:
        pool.close()
