"""The one seam that sends a webhook over the network: to the checked address, with the
endpoint's host name for the Host header, SNI and the certificate check; no redirects;
5 s to connect and 15 s in all, enforced as a hard deadline (a receiver that trickles
bytes is cut off); at most 20 KB of the response kept."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass

import certifi

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


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the checked address but speaks TLS to the host name: SNI and the
    certificate check use the name, never the address."""

    def __init__(self, address: str, port: int, hostname: str, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=_tls_context())
        self._hostname = hostname

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._hostname)


def _clean(text: str) -> str:
    return text.replace("\x00", "\ufffd")


def send(target: Target, headers: dict[str, str], body: bytes) -> TransportResult:
    started = time.monotonic()
    if target.scheme == "https":
        connection: http.client.HTTPConnection = _PinnedHTTPSConnection(
            target.address, target.port, target.host, CONNECT_TIMEOUT
        )
    else:
        connection = http.client.HTTPConnection(
            target.address, target.port, timeout=CONNECT_TIMEOUT
        )
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(TOTAL_TIMEOUT, cut_off)
    watchdog.daemon = True
    watchdog.start()
    host_header = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
    try:
        connection.request("POST", target.path, body=body, headers={**headers, "Host": host_header})
        response = connection.getresponse()
        kept = response.read(RESPONSE_KEEP_BYTES)
        return TransportResult(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=_clean(kept.decode("utf-8", errors="replace")),
            duration_ms=int((time.monotonic() - started) * 1000),
        )
    except (OSError, http.client.HTTPException, ValueError) as exc:
        error = (
            f"timed out after {TOTAL_TIMEOUT:g} s"
            if expired.is_set() or isinstance(exc, TimeoutError)
            else f"{type(exc).__name__}: {exc}"
        )
        return TransportResult(
            status=None,
            headers={},
            body="",
            duration_ms=int((time.monotonic() - started) * 1000),
            error=_clean(error)[:1000],
        )
    finally:
        watchdog.cancel()
        connection.close()
