"""Sending one DNS question over UDP and reading its answer, for every question the
resolver asks.

Inside `shared_sockets()` (a batch of checks: `check_records`) every question to one
server goes through one connected UDP socket, its answers matched to their questions by
message id and question section; outside it each question has a socket of its own, as
dnspython's `asyncquery.udp` gives it. A socket per question costs as much CPU as reading
the answer (it is most of what a question costs dnspython's stub resolver), and a batch
asks hundreds of questions of the same one or two servers."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import random
from collections.abc import AsyncIterator

import dns.asyncquery
import dns.exception
import dns.message

_SESSION: contextvars.ContextVar[dict[tuple[str, int], asyncio.Future[_Endpoint]] | None] = (
    contextvars.ContextVar("dns_udp_session", default=None)
)


class _Endpoint(asyncio.DatagramProtocol):
    """One connected UDP socket to one server, shared by the questions of one event loop.
    Connected, so the kernel drops datagrams from any other address and a refused port
    comes back as an error instead of silence."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[int, tuple[dns.message.Message, asyncio.Future[dns.message.Message]]]
        self.waiting = {}
        self.closed: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: object) -> None:
        if len(data) < 12:
            return
        entry = self.waiting.get(int.from_bytes(data[:2], "big"))
        if entry is None:
            return  # an answer to a question given up on
        query, future = entry
        try:
            response = dns.message.from_wire(data)
        except (dns.exception.DNSException, ValueError) as exc:
            if not future.done():
                future.set_exception(exc)
            return
        if not query.is_response(response):
            return  # the same id, another question: a late answer to an earlier one
        if not future.done():
            future.set_result(response)

    def error_received(self, exc: Exception) -> None:
        # On a connected socket an error (ICMP port unreachable) is about the server.
        for _, future in self.waiting.values():
            if not future.done():
                future.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = exc or ConnectionError("socket closed")
        self.error_received(self.closed)

    async def ask(self, query: dns.message.Message, timeout: float) -> dns.message.Message:
        if self.closed is not None or self.transport is None:
            raise ConnectionError("socket closed")
        if len(self.waiting) >= 65536:
            raise OSError("65536 questions in flight to one server")
        while query.id in self.waiting:
            query.id = random.randrange(65536)  # noqa: S311 - a message id, not a secret
        future: asyncio.Future[dns.message.Message] = asyncio.get_running_loop().create_future()
        self.waiting[query.id] = (query, future)
        try:
            self.transport.sendto(query.to_wire())
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError as exc:
            raise dns.exception.Timeout(timeout=timeout) from exc
        finally:
            if self.waiting.get(query.id, (None, None))[1] is future:
                del self.waiting[query.id]


@contextlib.asynccontextmanager
async def shared_sockets() -> AsyncIterator[None]:
    """Questions asked inside (and in tasks started inside) share one socket per server;
    the sockets are closed on the way out. Nested uses share the outer one's."""
    if _SESSION.get() is not None:
        yield
        return
    endpoints: dict[tuple[str, int], asyncio.Future[_Endpoint]] = {}
    token = _SESSION.set(endpoints)
    try:
        yield
    finally:
        _SESSION.reset(token)
        for future in endpoints.values():
            if future.done() and not future.cancelled() and future.exception() is None:
                transport = future.result().transport
                if transport is not None:
                    transport.close()


async def udp(
    query: dns.message.Message, host: str, port: int, timeout: float
) -> dns.message.Message:
    """Asks `host`; raises `dns.exception.Timeout`, `OSError` or a parse error as
    dnspython's `asyncquery.udp` does. A truncated answer is returned as it came."""
    endpoints = _SESSION.get()
    if endpoints is None:
        return await dns.asyncquery.udp(query, host, timeout=timeout, port=port)
    key = (host, port)
    future = endpoints.get(key)
    if future is None:
        future = asyncio.ensure_future(_open(host, port))
        endpoints[key] = future
    try:
        endpoint = await asyncio.shield(future)
    except OSError:
        if endpoints.get(key) is future:
            del endpoints[key]  # the next question tries again
        raise
    return await endpoint.ask(query, timeout)


async def _open(host: str, port: int) -> _Endpoint:
    _, endpoint = await asyncio.get_running_loop().create_datagram_endpoint(
        _Endpoint, remote_addr=(host, port)
    )
    return endpoint
