"""End to end through the proxy the README's operations section sets up: Debian's Caddy on
loopback in front of the app, on-demand TLS from Caddy's internal issuer, certificates only
for names the app's ask endpoint allows. A client connects as a browser would: to the
proxy, with the store's name in SNI and Host, trusting Caddy's local root."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from storefronts.models import Storefront
from storefronts.services import storefront_set_primary_host
from tests.dns_server import free_port
from tests.storefronts.conftest import verified

CADDY = shutil.which("caddy")
pytestmark = pytest.mark.django_db(transaction=True)


def caddy_missing_reason() -> str | None:
    """Why these tests cannot run here, or None. On CI they must run."""
    if CADDY:
        return None
    reason = "caddy not installed (`make proxy-tools` installs it)"
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"CI must run the Caddy tests: {reason}")
    return reason


@dataclass
class Caddy:
    directory: Path
    https_port: int
    process: subprocess.Popen

    @property
    def root(self) -> Path:
        return self.directory / "data/pki/authorities/local/root.crt"

    def get(self, host: str, path: str = "/") -> Fetched:
        """`GET https://<host><path>` as a browser on port 443 would ask it (SNI and Host are
        the store's name, no port), sent to the proxy on loopback."""
        context = ssl.create_default_context(cafile=str(self.root))
        raw = socket.create_connection(("127.0.0.1", self.https_port), timeout=10)
        with context.wrap_socket(raw, server_hostname=host) as tls:
            certificate = tls.getpeercert()
            tls.sendall(
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
            )
            response = http.client.HTTPResponse(tls)
            response.begin()
            return Fetched(
                response.status, dict(response.getheaders()), response.read(), certificate
            )


@dataclass
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes
    certificate: dict


CADDYFILE = """\
{{
	admin off
	local_certs
	skip_install_trust
	http_port {http_port}
	https_port {https_port}
	storage file_system {directory}/data
	on_demand_tls {{
		ask {app}/internal/tls/ask
	}}
}}

https:// {{
	tls {{
		on_demand
	}}
	reverse_proxy {upstream}
}}
"""


@pytest.fixture(scope="session")
def caddy(live_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Caddy]:
    reason = caddy_missing_reason()
    if reason:
        pytest.skip(reason)
    failures = []
    for _ in range(3):  # a port picked free may be taken before Caddy binds it (xdist)
        server = _start_caddy(tmp_path_factory.mktemp("caddy"), live_server.url)
        if isinstance(server, Caddy):
            break
        failures.append(server)
    else:
        raise RuntimeError("\n\n".join(failures))
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


def _start_caddy(directory: Path, app: str) -> Caddy | str:
    """Caddy serving its configuration on ports of its own, or why not (its log). Ready
    means its own log says it serves and it is still running, not only that something
    answers on the port: another worker's Caddy might."""
    https_port = free_port()
    (directory / "Caddyfile").write_text(
        CADDYFILE.format(
            http_port=free_port(),
            https_port=https_port,
            directory=directory,
            app=app,
            upstream=app.removeprefix("http://"),
        )
    )
    home = {"HOME": str(directory), "XDG_DATA_HOME": str(directory / "xdg")}
    log_path = directory / "caddy.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [CADDY, "run", "--config", str(directory / "Caddyfile"), "--adapter", "caddyfile"],
            env={**os.environ, **home, "XDG_CONFIG_HOME": str(directory / "xdg-config")},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Caddy(directory, https_port, process)
    deadline = time.monotonic() + 20
    while not (
        server.root.exists()
        and "serving initial configuration" in log_path.read_text()
        and _listening(https_port)
    ):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(timeout=10)
            return log_path.read_text()[-3000:]
        time.sleep(0.1)
    time.sleep(0.2)
    if process.poll() is not None:  # it lost a port after all
        return log_path.read_text()[-3000:]
    return server


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def behind_caddy(settings) -> None:
    """As production runs behind it: Caddy's X-Forwarded-Proto says the visit was HTTPS."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.fixture
def domain(label: str) -> str:
    """A name of this test's own: the session's Caddy keeps every certificate it got, so a
    name another test used would be served from its store without asking the app."""
    return f"{label}.test"


@pytest.fixture
def live(storefront: Storefront, domain: str) -> Storefront:
    return verified(storefront, domain)


def tls_ask(domain: str) -> int:
    return Client().get("/internal/tls/ask", {"domain": domain}).status_code


def test_a_verified_domain_gets_a_certificate_and_its_storefront(
    caddy: Caddy, behind_caddy: None, live: Storefront, domain: str
) -> None:
    page = caddy.get(domain)
    api = caddy.get(domain, "/api/v1/public/storefront")

    assert page.status == 200
    assert b"My Store" in page.body
    assert ("DNS", domain) in page.certificate["subjectAltName"]
    issuer = dict(item for rdn in page.certificate["issuer"] for item in rdn)
    assert "Caddy Local Authority" in issuer["commonName"]
    assert api.status == 200
    assert api.headers["Content-Type"] == "application/json"
    assert b'"slug":"mystore"' in api.body


def test_an_unverified_domain_gets_no_certificate_until_it_is_verified(
    caddy: Caddy, behind_caddy: None, v1: APIClient, storefront: Storefront, domain: str
) -> None:
    saved = v1.put("/api/v1/store/storefront", {"customDomain": domain}, format="json")

    assert saved.status_code == 200
    assert tls_ask(domain) == 404
    with pytest.raises(ssl.SSLError):
        caddy.get(domain)
    with pytest.raises(ssl.SSLError):
        caddy.get(f"nobody-{domain}")

    verified(storefront, domain)

    assert tls_ask(domain) == 200
    page = caddy.get(domain)
    assert page.status == 200
    assert ("DNS", domain) in page.certificate["subjectAltName"]


def test_the_www_pair_gets_a_certificate_and_redirects_to_the_primary_host(
    caddy: Caddy, behind_caddy: None, live: Storefront, domain: str
) -> None:
    www = caddy.get(f"www.{domain}", "/api/v1/public/storefront?lang=en")

    assert ("DNS", f"www.{domain}") in www.certificate["subjectAltName"]
    assert www.status == 301
    assert www.headers["Location"] == f"https://{domain}/api/v1/public/storefront?lang=en"

    storefront_set_primary_host(storefront=live, host=f"www.{domain}")

    assert caddy.get(f"www.{domain}").status == 200
    apex = caddy.get(domain)
    assert (apex.status, apex.headers["Location"]) == (301, f"https://www.{domain}/")
