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
import struct
from collections.abc import AsyncIterator

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdatatype

_SESSION: contextvars.ContextVar[dict[tuple[str, int], asyncio.Future[_Endpoint]] | None] = (
    contextvars.ContextVar("dns_udp_session", default=None)
)


class Question:
    """One question (class IN, no EDNS, as dnspython's `make_query` asks it), with its
    wire form built once: the shared sockets send it and match answers to it without
    building or comparing dnspython messages."""

    __slots__ = ("name", "rdtype", "recursion", "section")

    def __init__(self, name: str, rdtype: str | int, *, recursion: bool = True) -> None:
        self.name = name.rstrip(".")  # normalised: lowercase, IDNA as dnspython encodes it
        self.rdtype = dns.rdatatype.RdataType.make(rdtype)
        self.recursion = recursion
        self.section = _name_wire(self.name) + struct.pack("!HH", self.rdtype, 1)

    def wire(self, message_id: int) -> bytes:
        flags = dns.flags.RD if self.recursion else 0
        return struct.pack("!HHHHHH", message_id, flags, 1, 0, 0, 0) + self.section

    def answered_by(self, data: bytes) -> bool:
        """A response (QR) whose one question is this one; names compare without case."""
        end = 12 + len(self.section)
        return (
            len(data) >= end
            and bool(data[2] & 0x80)
            and data[4:6] == b"\x00\x01"
            and data[12 : end - 4].lower() == self.section[:-4]
            and data[end - 4 : end] == self.section[-4:]
        )

    def message(self) -> dns.message.Message:
        """As a dnspython query (for TCP, and outside shared sockets)."""
        query = dns.message.make_query(self.name + ".", self.rdtype)
        if not self.recursion:
            query.flags &= ~dns.flags.RD
        return query

    def __repr__(self) -> str:
        return f"Question({self.name!r}, {self.rdtype.name}, recursion={self.recursion})"


def _name_wire(name: str) -> bytes:
    if name.isascii() and "\\" not in name:
        out = bytearray()
        for label in name.split(".") if name else ():
            out.append(len(label))
            out += label.lower().encode()
        out.append(0)
        return bytes(out)
    return dns.name.from_text(name + ".").to_wire().lower()  # IDNA, escapes


class _Endpoint(asyncio.DatagramProtocol):
    """One connected UDP socket to one server, shared by the questions of one event loop.
    Connected, so the kernel drops datagrams from any other address and a refused port
    comes back as an error instead of silence."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[int, tuple[Question, asyncio.Future[dns.message.Message]]] = {}
        self.closed: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: object) -> None:
        if len(data) < 12:
            return
        entry = self.waiting.get(int.from_bytes(data[:2], "big"))
        if entry is None:
            return  # an answer to a question given up on
        question, future = entry
        if future.done() or not question.answered_by(data):
            return  # the same id, another question: a late answer to an earlier one
        try:
            future.set_result(dns.message.from_wire(data))
        except (dns.exception.DNSException, ValueError) as exc:
            future.set_exception(exc)

    def error_received(self, exc: Exception) -> None:
        # On a connected socket an error (ICMP port unreachable) is about the server.
        for _, future in self.waiting.values():
            if not future.done():
                future.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = exc or ConnectionError("socket closed")
        self.error_received(self.closed)

    async def ask(self, question: Question, timeout: float) -> dns.message.Message:
        if self.closed is not None or self.transport is None:
            raise ConnectionError("socket closed")
        if len(self.waiting) >= 65536:
            raise OSError("65536 questions in flight to one server")
        message_id = random.randrange(65536)  # noqa: S311 - a message id, not a secret
        while message_id in self.waiting:
            message_id = random.randrange(65536)  # noqa: S311
        future: asyncio.Future[dns.message.Message] = asyncio.get_running_loop().create_future()
        self.waiting[message_id] = (question, future)
        try:
            self.transport.sendto(question.wire(message_id))
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError as exc:
            raise dns.exception.Timeout(timeout=timeout) from exc
        finally:
            del self.waiting[message_id]


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


async def udp(question: Question, host: str, port: int, timeout: float) -> dns.message.Message:
    """Asks `host`; raises `dns.exception.Timeout`, `OSError` or a parse error as
    dnspython's `asyncquery.udp` does. A truncated answer is returned as it came."""
    endpoints = _SESSION.get()
    if endpoints is None:
        return await dns.asyncquery.udp(question.message(), host, timeout=timeout, port=port)
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
    return await endpoint.ask(question, timeout)


async def tcp(question: Question, host: str, port: int, timeout: float) -> dns.message.Message:
    """Asks `host` over TCP (after a truncated answer)."""
    return await dns.asyncquery.tcp(question.message(), host, timeout=timeout, port=port)


async def _open(host: str, port: int) -> _Endpoint:
    _, endpoint = await asyncio.get_running_loop().create_datagram_endpoint(
        _Endpoint, remote_addr=(host, port)
    )
    return endpoint
