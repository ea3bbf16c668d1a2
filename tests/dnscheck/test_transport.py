"""The UDP transport: a batch's questions to one server share one socket, and each answer
still reaches its own question (by id and question section), whatever order, whatever
else arrives on that socket; refused ports, silence and truncation behave as before."""

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from dnscheck import transport
from dnscheck.lookup import Status
from dnscheck.resolver import DnsResolver, ResolverConfig
from tests.dns_server import KnotServer, free_port

Reply = Callable[[dns.message.Message], list[bytes]]


class FakeServer:
    """A UDP server on loopback that notes every question's source port and answers with
    what `reply` makes of it (any datagrams, in any order, or none)."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.source_ports: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, address = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            self.source_ports.append(address[1])
            for datagram in self.reply(dns.message.from_wire(data)):
                self.sock.sendto(datagram, address)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Reply], FakeServer]]:
    servers: list[FakeServer] = []

    def start(reply: Reply) -> FakeServer:
        servers.append(FakeServer(reply))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def answer(query: dns.message.Message, text: str) -> dns.message.Message:
    response = dns.message.make_response(query)
    name = query.question[0].name
    response.answer.append(dns.rrset.from_text(name, 60, "IN", "TXT", f'"{text}"'))
    return response


def resolver_for(*ports: int, timeout: float = 2.0) -> DnsResolver:
    """The public view through these loopback servers, in turn."""
    servers = tuple(("127.0.0.1", port) for port in ports)
    return DnsResolver(ResolverConfig(nameservers=servers, timeout=timeout))


async def ask_all(resolver: DnsResolver, names: list[str], shared: bool) -> list:
    async def ask() -> list:
        return await asyncio.gather(*(resolver.public(n, "TXT") for n in names))

    if not shared:
        return await ask()
    async with transport.shared_sockets():
        return await ask()


def test_a_batch_asks_one_server_through_one_socket(serve) -> None:
    server = serve(lambda q: [answer(q, str(q.question[0].name)).to_wire()])
    names = [f"n{i}.example.test" for i in range(40)]
    resolver = resolver_for(server.port)

    shared = asyncio.run(ask_all(resolver, names, shared=True))
    ports_shared = set(server.source_ports)
    server.source_ports.clear()
    alone = asyncio.run(ask_all(resolver, names, shared=False))

    assert [lookup.values for lookup in shared] == [(f"{n}.",) for n in names]
    assert [lookup.values for lookup in alone] == [(f"{n}.",) for n in names]
    assert len(ports_shared) == 1
    assert len(set(server.source_ports)) == 40  # a socket each, outside a batch


def test_answers_out_of_order_and_strays_reach_their_own_questions(serve) -> None:
    held: list[dns.message.Message] = []

    def reply(query: dns.message.Message) -> list[bytes]:
        # A stray with this id but another question, then a datagram too short to read,
        # then (every second question) the answer to the previous question first.
        stray = answer(dns.message.make_query("elsewhere.test", "TXT"), "stray")
        stray.id = query.id
        out = [stray.to_wire(), b"\x00\x01"]
        if held:
            earlier = held.pop()
            out += [own(query), own(earlier)]
        else:
            held.append(query)
        return out

    def own(query: dns.message.Message) -> bytes:
        return answer(query, str(query.question[0].name)).to_wire()

    server = serve(reply)
    names = [f"o{i}.example.test" for i in range(20)]

    lookups = asyncio.run(ask_all(resolver_for(server.port), names, shared=True))

    assert [lookup.values for lookup in lookups] == [(f"{n}.",) for n in names]


def test_a_late_answer_after_a_timeout_is_dropped_and_the_socket_serves_on(serve) -> None:
    def reply(query: dns.message.Message) -> list[bytes]:
        if str(query.question[0].name).startswith("slow"):
            time.sleep(0.4)  # past the question's timeout
        return [answer(query, "ok").to_wire()]

    server = serve(reply)
    resolver = resolver_for(server.port, timeout=0.2)

    async def batch() -> tuple:
        async with transport.shared_sockets():
            slow = await resolver.public("slow.example.test", "TXT")
            await asyncio.sleep(0.4)  # its answer arrives now, for nobody
            return slow, await resolver.public("fast.example.test", "TXT")

    slow, fast = asyncio.run(batch())

    assert slow.status == Status.TIMEOUT
    assert (fast.status, fast.values) == (Status.NOERROR, ("ok",))
    assert len(set(server.source_ports)) == 1


def test_a_refused_port_is_an_error_at_once_not_a_timeout() -> None:
    resolver = resolver_for(free_port(), timeout=2.0)  # nobody listens there

    started = time.monotonic()
    [lookup] = asyncio.run(ask_all(resolver, ["x.example.test"], shared=True))

    assert lookup.status == Status.ERROR
    assert lookup.is_transient
    assert time.monotonic() - started < 1


def test_servfail_then_a_second_server_that_answers(serve) -> None:
    broken = serve(lambda q: [_rcode(q, dns.rcode.SERVFAIL)])
    good = serve(lambda q: [answer(q, "second").to_wire()])
    resolver = resolver_for(broken.port, good.port)

    [lookup] = asyncio.run(ask_all(resolver, ["two.example.test"], shared=True))
    both_fail = resolver_for(broken.port, broken.port)
    [failed] = asyncio.run(ask_all(both_fail, ["two.example.test"], shared=True))

    assert (lookup.status, lookup.values) == (Status.NOERROR, ("second",))
    assert failed.status == Status.SERVFAIL
    assert "answered SERVFAIL" in failed.detail


def _rcode(query: dns.message.Message, rcode: int) -> bytes:
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    return response.to_wire()


def test_a_truncated_answer_is_asked_again_over_tcp(
    resolver: DnsResolver, knot: KnotServer, label: str
) -> None:
    # Over 512 bytes and asked without EDNS: Knot truncates over UDP.
    name = f"big.{label}.example.test"
    strings = ["a" * 250, "b" * 250, "c" * 250]
    knot.set(name, "TXT", " ".join(f'"{s}"' for s in strings))

    async def both_views() -> tuple:
        async with transport.shared_sockets():
            return await asyncio.gather(
                resolver.public(name, "TXT"), resolver.authoritative(name, "TXT")
            )

    public, authoritative = asyncio.run(both_views())

    assert public.values == ("".join(strings),)
    assert authoritative.values == ("".join(strings),)
    assert authoritative.txt_strings == (tuple(strings),)


def test_sockets_are_closed_when_the_batch_ends(serve) -> None:
    server = serve(lambda q: [answer(q, "ok").to_wire()])
    resolver = resolver_for(server.port)
    opened: list[transport._Endpoint] = []
    original = transport._open

    async def spy(host: str, port: int) -> transport._Endpoint:
        opened.append(await original(host, port))
        return opened[-1]

    transport._open = spy
    try:
        asyncio.run(ask_all(resolver, ["a.example.test", "b.example.test"], shared=True))
    finally:
        transport._open = original

    assert len(opened) == 1
    assert opened[0].transport is not None and opened[0].transport.is_closing()


@pytest.mark.parametrize(
    ("name", "rdtype", "recursion"),
    [
        ("mail.example.test", "TXT", True),
        ("_dmarc.mail.example.test", "TXT", True),
        ("bücher.example.test", "MX", True),  # IDNA, as dnspython encodes it
        ("", "SOA", True),  # the root, at the end of a zone walk
        ("sel._domainkey.example.test", "CNAME", False),
    ],
)
def test_a_question_is_sent_as_dnspython_would_send_it(
    name: str, rdtype: str, recursion: bool
) -> None:
    question = transport.Question(name, rdtype, recursion=recursion)
    query = dns.message.make_query(name + ".", rdtype)
    if not recursion:
        query.flags &= ~dns.flags.RD
    query.id = 4242

    assert question.wire(4242) == query.to_wire()
    assert question.message().to_wire()[2:] == query.to_wire()[2:]


def test_an_answer_matches_its_question_only() -> None:
    question = transport.Question("mail.example.test", "TXT")
    query = dns.message.from_wire(question.wire(7))
    response = dns.message.make_response(query)
    shouting = dns.message.make_response(dns.message.make_query("MAIL.Example.TEST.", "TXT"))
    other_type = dns.message.make_response(dns.message.make_query("mail.example.test.", "MX"))
    other_name = dns.message.make_response(dns.message.make_query("mail.example.tes.", "TXT"))

    assert question.answered_by(response.to_wire())
    assert question.answered_by(shouting.to_wire())  # a server may echo another case
    assert not question.answered_by(query.to_wire())  # not a response
    assert not question.answered_by(other_type.to_wire())
    assert not question.answered_by(other_name.to_wire())
    assert not question.answered_by(response.to_wire()[:20])


def test_a_refusal_without_a_question_section_moves_on_to_the_next_server(serve) -> None:
    def refuse(query: dns.message.Message) -> list[bytes]:
        response = dns.message.make_response(query)
        response.question = []
        response.set_rcode(dns.rcode.REFUSED)
        return [response.to_wire()]

    refusing = serve(refuse)
    good = serve(lambda q: [answer(q, "second").to_wire()])
    resolver = resolver_for(refusing.port, good.port)

    started = time.monotonic()
    [lookup] = asyncio.run(ask_all(resolver, ["r.example.test"], shared=True))
    [alone] = asyncio.run(ask_all(resolver, ["r.example.test"], shared=False))

    assert (lookup.status, lookup.values) == (Status.NOERROR, ("second",))
    assert (alone.status, alone.values) == (Status.NOERROR, ("second",))
    assert time.monotonic() - started < 1  # refused at once, not timed out


def test_a_task_that_outlives_its_batch_asks_on_through_sockets_of_its_own(serve) -> None:
    # A zone walk is shared between batches; the batch that started it may end (cancelled)
    # while another still waits on it: its question in flight and the next must not fail.
    def reply(query: dns.message.Message) -> list[bytes]:
        if str(query.question[0].name).startswith("slow"):
            time.sleep(0.3)
        return [answer(query, str(query.question[0].name)).to_wire()]

    server = serve(reply)
    resolver = resolver_for(server.port)

    async def walk() -> list:
        first = await resolver.public("slow.example.test", "TXT")  # in flight at the end
        return [first, await resolver.public("after.example.test", "TXT")]

    async def scenario() -> list:
        async with transport.shared_sockets():
            task = asyncio.ensure_future(walk())
            await asyncio.sleep(0.1)
        return await task

    first, after = asyncio.run(scenario())

    assert (first.status, first.values) == (Status.NOERROR, ("slow.example.test.",))
    assert (after.status, after.values) == (Status.NOERROR, ("after.example.test.",))
    assert len(set(server.source_ports)) == 3  # shared, then one each after the end


def test_the_zone_walk_passes_a_cname_and_a_negative_answer(
    resolver: DnsResolver, knot: KnotServer, label: str
) -> None:
    knot.set(f"alias.{label}.example.test", "CNAME", f"target.{label}.example.test.")

    async def walks() -> list:
        async with transport.shared_sockets():
            return await asyncio.gather(
                resolver.zone_for(f"alias.{label}.example.test"),
                resolver.zone_for(f"missing.deep.{label}.example.test"),
            )

    alias, missing = asyncio.run(walks())

    assert (alias.name, alias.status) == ("example.test", Status.NOERROR)
    assert (missing.name, missing.status) == ("example.test", Status.NOERROR)
    assert alias.addresses == ("127.0.0.1",)


def test_a_zone_walk_that_finds_no_soa_up_to_the_root_is_an_error(serve) -> None:
    server = serve(lambda q: [dns.message.make_response(q).to_wire()])  # NOERROR, empty

    zone = asyncio.run(resolver_for(server.port).zone_for("a.b.example.test"))

    assert zone.status == Status.ERROR
    assert "root" in zone.detail
    assert len(server.source_ports) == 5  # a.b.example.test, b.example.test, ... and "."
