"""Sending one DNS question over UDP and reading its answer, for every question the
resolver asks.

Inside `shared_sockets()` (a batch of checks: `check_records`) every question to one
server goes through one connected UDP socket, its answers matched to their questions by
message id and question section; outside it each question has a socket of its own, as
dnspython's `asyncquery.udp` gives it. A socket per question costs as much CPU as reading
the answer (it is most of what a question costs dnspython's stub resolver), and a batch
asks hundreds of questions of the same one or two servers.

A forged answer must still guess the message id of a question in flight and the socket's
port, as with a socket per question; what a shared socket gives up is that every question
of a batch comes from one port."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import random
import struct
import time
from collections.abc import AsyncIterator

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

ERRORS_WITHOUT_QUESTION = frozenset(
    {dns.rcode.FORMERR, dns.rcode.SERVFAIL, dns.rcode.NOTIMP, dns.rcode.REFUSED}
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
        """A response (QR) whose one question is this one, names compared without case;
        or, as dnspython's `is_response` allows, an error with no question section (some
        servers refuse that way)."""
        if len(data) < 12 or not data[2] & 0x80:
            return False
        if data[4:6] == b"\x00\x00":
            return data[3] & 0x0F in ERRORS_WITHOUT_QUESTION
        end = 12 + len(self.section)
        return (
            len(data) >= end
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


class _SessionEnded(ConnectionError):
    """The batch whose sockets these were is over (a task it started asks on)."""


class _Endpoint(asyncio.DatagramProtocol):
    """One connected UDP socket to one server, shared by the questions of one batch.
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
        self.closed = self.closed or exc or ConnectionError("socket closed")
        self.error_received(self.closed)

    def end(self) -> None:
        """The batch is over: questions still waiting go on elsewhere (`udp`)."""
        self.closed = _SessionEnded()
        self.error_received(self.closed)
        if self.transport is not None:
            self.transport.close()

    async def ask(self, question: Question, timeout: float) -> dns.message.Message:
        if self.closed is not None or self.transport is None:
            raise self.closed or ConnectionError("socket closed")
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


class _Session:
    """One batch's sockets, a future each (opening is awaited by the first question)."""

    def __init__(self) -> None:
        self.endpoints: dict[tuple[str, int], asyncio.Future[_Endpoint]] = {}
        self.open = True

    def close(self) -> None:
        self.open = False
        for future in self.endpoints.values():
            if future.done():
                _end(future)
            else:  # still opening (the batch was cancelled): closed once open
                future.add_done_callback(_end)


def _end(future: asyncio.Future[_Endpoint]) -> None:
    if future.done() and not _failed(future):
        future.result().end()


def _failed(future: asyncio.Future[_Endpoint]) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)


_SESSION: contextvars.ContextVar[_Session | None] = contextvars.ContextVar(
    "dns_udp_session", default=None
)


@contextlib.asynccontextmanager
async def shared_sockets() -> AsyncIterator[None]:
    """Questions asked inside (and in tasks started inside) share one socket per server;
    the sockets are closed on the way out, even those still opening. Nested uses share the
    outer one's. A task started inside that asks on afterwards (a zone walk another batch
    shares, when this one was cancelled) gets a socket per question again."""
    if _SESSION.get() is not None:
        yield
        return
    session = _Session()
    token = _SESSION.set(session)
    try:
        yield
    finally:
        _SESSION.reset(token)
        session.close()


async def udp(question: Question, host: str, port: int, timeout: float) -> dns.message.Message:
    """Asks `host`; raises `dns.exception.Timeout`, `OSError` or a parse error as
    dnspython's `asyncquery.udp` does. A truncated answer is returned as it came."""
    session = _SESSION.get()
    if session is None or not session.open:
        return await _alone(question, host, port, timeout)
    started = time.monotonic()
    key = (host, port)
    future = session.endpoints.get(key)
    if future is None:
        future = asyncio.ensure_future(_open(host, port))
        session.endpoints[key] = future
    try:
        endpoint = await asyncio.shield(future)
        return await endpoint.ask(question, timeout)
    except _SessionEnded:
        left = max(timeout - (time.monotonic() - started), 0.0)
        return await _alone(question, host, port, left)
    except OSError:
        if session.endpoints.get(key) is future and _failed(future):
            del session.endpoints[key]  # it did not open: the next question tries again
        raise


async def tcp(question: Question, host: str, port: int, timeout: float) -> dns.message.Message:
    """Asks `host` over TCP (after a truncated answer)."""
    return await dns.asyncquery.tcp(question.message(), host, timeout=timeout, port=port)


async def _alone(question: Question, host: str, port: int, timeout: float) -> dns.message.Message:
    return await dns.asyncquery.udp(question.message(), host, timeout=timeout, port=port)


async def _open(host: str, port: int) -> _Endpoint:
    _, endpoint = await asyncio.get_running_loop().create_datagram_endpoint(
        _Endpoint, remote_addr=(host, port)
    )
    return endpoint
