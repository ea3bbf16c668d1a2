"""A stand-in for Cloudflare's JSON DNS-over-HTTPS API on loopback, answering from the
test DNS server, so the DoH path runs against real DNS data. `override` makes it answer
something else (a status, a body) to test how odd replies are read."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dns.message
import dns.query
import dns.rdatatype


class DohServer:
    def __init__(self, dns_port: int) -> None:
        self.dns_port = dns_port
        self.override: tuple[int, bytes] | None = None
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                server.requests.append({**query, "accept": self.headers.get("accept", "")})
                if server.override is not None:
                    status, body = server.override
                else:
                    status, body = 200, json.dumps(server.answer(query)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/dns-json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/dns-query"

    def start(self) -> DohServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def answer(self, query: dict[str, str]) -> dict[str, Any]:
        name, rdtype = query["name"], query.get("type", "A")
        response = dns.query.udp(
            dns.message.make_query(name, rdtype), "127.0.0.1", port=self.dns_port, timeout=2
        )
        body: dict[str, Any] = {
            "Status": response.rcode(),
            "TC": False,
            "RD": True,
            "RA": True,
            "AD": False,
            "CD": False,
            "Question": [{"name": name, "type": dns.rdatatype.from_text(rdtype)}],
            "Comment": "stand-in",
        }
        answers = [
            {
                "name": rrset.name.to_text(),
                "type": int(rrset.rdtype),
                "TTL": rrset.ttl,
                "data": rdata.to_text(),
            }
            for rrset in response.answer
            for rdata in rrset
        ]
        if answers:
            body["Answer"] = answers
        return body
