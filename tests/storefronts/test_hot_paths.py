"""The paths every store visit and every new TLS connection take: warm, they ask nothing of
the database; a change shows at once in the process that made it, and within
PUBLIC_LOCAL_CACHE_SECONDS everywhere else."""

import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Organization
from config import cache as shared
from domains.models import SendingDomain
from storefronts.api import PublicStorefrontView
from storefronts.models import Product, Storefront
from storefronts.services import PUBLIC_CACHE, storefront_update
from tests.storefronts.conftest import verified

pytestmark = pytest.mark.django_db
PUBLIC = "/api/v1/public/storefronts"


@pytest.fixture
def live(storefront: Storefront) -> Storefront:
    return verified(storefront)


HOT_PATHS = {
    "by slug": ("testserver", f"{PUBLIC}/mystore", 200),
    "by custom domain": ("testserver", f"{PUBLIC}/mystore.com", 200),
    "by custom domain, another spelling": ("testserver", f"{PUBLIC}/MyStore.COM.", 200),
    "routed by Host": ("mystore.com", "/api/v1/public/storefront", 200),
    "routed by Host with a port": ("MyStore.com:443", "/api/v1/public/storefront", 200),
    "unknown host": ("nobody.example", "/", 404),
    "TLS ask": ("testserver", "/internal/tls/ask?domain=mystore.com", 200),
    "TLS ask, unknown name": ("testserver", "/internal/tls/ask?domain=nobody.example", 404),
}


@pytest.mark.parametrize("name", HOT_PATHS)
def test_a_warm_hot_path_asks_nothing_of_the_database(live: Storefront, name: str) -> None:
    host, path, status = HOT_PATHS[name]
    client = Client(HTTP_HOST=host)
    assert client.get(path).status_code == status  # cold: fills the caches

    with CaptureQueriesContext(connection) as queries:
        warm = client.get(path)

    assert warm.status_code == status
    assert [q["sql"] for q in queries.captured_queries] == []


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("testserver", f"{PUBLIC}/mystore"),
        ("testserver", f"{PUBLIC}/MyStore.COM."),
        ("mystore.com", "/api/v1/public/storefront"),
    ],
)
def test_a_warm_answer_is_the_cold_answer_byte_for_byte(
    live: Storefront, host: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Warm, the view sends the bytes it rendered the first time, skipping DRF: the client
    cannot tell (same body, status and headers but the request id)."""
    through_drf = []
    full_path = PublicStorefrontView.initial
    monkeypatch.setattr(
        PublicStorefrontView,
        "initial",
        lambda view, *args, **kwargs: through_drf.append(1) or full_path(view, *args, **kwargs),
    )
    client = Client(HTTP_HOST=host)
    cold = client.get(path)
    warm = client.get(path)
    again = client.get(path)

    def seen(response) -> tuple:
        headers = {k: v for k, v in response.headers.items() if k != "X-Request-ID"}
        return response.status_code, headers, response.content

    assert seen(warm) == seen(cold) == seen(again)
    assert len(through_drf) == 1  # the cold one
    assert cold["Allow"] == "GET, HEAD, OPTIONS"
    assert cold.json()["data"]["slug"] == "mystore"


def test_a_warm_name_still_negotiates_and_reads_its_query(live: Storefront) -> None:
    client = Client()
    client.get(f"{PUBLIC}/mystore")

    assert client.get(f"{PUBLIC}/mystore", HTTP_ACCEPT="application/xml").status_code == 406
    assert client.get(f"{PUBLIC}/mystore", {"format": "xml"}).status_code == 404
    assert client.get(f"{PUBLIC}/mystore", {"utm": "x"}).json()["data"]["slug"] == "mystore"


def test_a_change_never_serves_the_old_bytes(live: Storefront) -> None:
    client = Client()
    client.get(f"{PUBLIC}/mystore")
    client.get(f"{PUBLIC}/mystore")

    storefront_update(storefront=live, title="Renamed")

    assert client.get(f"{PUBLIC}/mystore").json()["data"]["title"] == "Renamed"
    assert client.get(f"{PUBLIC}/mystore").json()["data"]["title"] == "Renamed"


def test_warm_answers_come_from_this_process_memory(live: Storefront) -> None:
    """With the shared cache emptied, a warm path still answers, and still without the
    database: what this process read is held in its own memory."""
    from django.core.cache import cache

    client = Client()
    client.get(f"{PUBLIC}/mystore.com")
    cache.clear()

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{PUBLIC}/mystore.com")

    assert response.json()["data"]["slug"] == "mystore"
    assert queries.captured_queries == []


def test_every_spelling_answers_the_same_card(live: Storefront) -> None:
    client = APIClient()
    cards = [
        client.get(f"{PUBLIC}/{spelling}").json()["data"]
        for spelling in ("mystore", "MyStore", "mystore.com", "MYSTORE.com.", " mystore.com ")
    ]

    assert all(card == cards[0] for card in cards)
    assert cards[0] == {
        "id": str(live.pk),
        "slug": "mystore",
        "title": live.title,
        "description": live.description,
        "customDomain": "mystore.com",
    }


def test_changes_through_the_services_show_at_once(v1: APIClient, live: Storefront) -> None:
    client = APIClient()
    ask = Client()
    for path in (f"{PUBLIC}/mystore", f"{PUBLIC}/mystore.com"):
        client.get(path)
    ask.get("/internal/tls/ask", {"domain": "mystore.com"})

    v1.put("/api/v1/store/storefront", {"title": "Renamed"}, format="json")
    assert client.get(f"{PUBLIC}/mystore.com").json()["data"]["title"] == "Renamed"
    assert client.get(f"{PUBLIC}/mystore").json()["data"]["title"] == "Renamed"

    storefront_update(storefront=live, slug="newslug")
    assert client.get(f"{PUBLIC}/mystore").status_code == 404
    assert client.get(f"{PUBLIC}/newslug").json()["data"]["slug"] == "newslug"
    assert client.get(f"{PUBLIC}/mystore.com").json()["data"]["slug"] == "newslug"

    v1.put("/api/v1/store/storefront", {"customDomain": None}, format="json")
    assert client.get(f"{PUBLIC}/mystore.com").status_code == 404
    assert ask.get("/internal/tls/ask", {"domain": "mystore.com"}).status_code == 404
    assert Client(HTTP_HOST="mystore.com").get("/").status_code == 404


def test_a_save_outside_the_services_forgets_old_and_new_names(live: Storefront) -> None:
    """The admin saves the model: its signals forget the slug and domain it had and has."""
    client = APIClient()
    client.get(f"{PUBLIC}/mystore")
    client.get(f"{PUBLIC}/mystore.com")

    live.slug = "renamed"
    live.save()

    assert client.get(f"{PUBLIC}/mystore").status_code == 404
    assert client.get(f"{PUBLIC}/mystore.com").json()["data"]["slug"] == "renamed"

    live.store.delete()

    assert client.get(f"{PUBLIC}/renamed").status_code == 404
    assert client.get(f"{PUBLIC}/mystore.com").status_code == 404


def test_another_process_change_shows_within_the_local_seconds(
    live: Storefront, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's change moves the shared generation but cannot reach this process's
    memory: the old answer stands for at most PUBLIC_LOCAL_CACHE_SECONDS."""
    client = APIClient()
    assert client.get(f"{PUBLIC}/mystore.com").status_code == 200
    Storefront.objects.filter(pk=live.pk).update(published=False)
    shared._next_generation(PUBLIC_CACHE.generation_key("host:mystore.com"))  # its forget

    still = client.get(f"{PUBLIC}/mystore.com").status_code
    later = time.monotonic() + PUBLIC_CACHE.local_seconds + 0.01
    monkeypatch.setattr(shared.time, "monotonic", lambda: later)
    after = client.get(f"{PUBLIC}/mystore.com").status_code

    assert PUBLIC_CACHE.local_seconds > 0
    assert (still, after) == (200, 404)


def test_process_memory_is_bounded(live: Storefront, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PUBLIC_CACHE, "local_max", 5)
    client = APIClient()
    for i in range(12):
        client.get(f"{PUBLIC}/nobody{i}.example")

    assert len(PUBLIC_CACHE._local) <= 5
    assert client.get(f"{PUBLIC}/mystore.com").status_code == 200


def test_only_reads_that_leave_memory_take_from_the_budget(
    live: Storefront, product: Product, settings
) -> None:
    """Warm reads cost nothing to answer and are not counted; a name this process does not
    hold (an unknown one reaches the database) is, and is refused over the budget before
    any lookup."""
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] | {"public": "3/min"}
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"DEFAULT_THROTTLE_RATES": rates}
    client = APIClient()

    warm = {client.get(f"{PUBLIC}/mystore").status_code for _ in range(6)}  # one counted
    with CaptureQueriesContext(connection) as queries:
        unknown = [client.get(f"{PUBLIC}/nobody-{i}").status_code for i in range(4)]
    asked = len(queries)  # now: the next request empties Django's query log
    still_warm = client.get(f"{PUBLIC}/mystore").status_code
    catalog = client.get(f"{PUBLIC}/mystore/catalog")

    assert warm == {200}
    assert unknown == [404, 404, 429, 429]
    assert asked == 2  # the refused ones asked nothing
    assert still_warm == 200
    assert catalog.status_code == 429  # the catalog keeps its own budget


def test_a_forget_during_a_read_keeps_the_old_answer_out_of_memory(
    live: Storefront, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another thread of this process changes the storefront while a read is loading the
    row: the read may answer what it loaded, but must not keep it for the next request."""
    original_get = PUBLIC_CACHE.get

    def racing_get(name, load, before_leaving_memory=None):
        def load_then_change():
            card = load()
            if name == "slug:mystore":
                storefront_update(storefront=live, title="Renamed")
            return card

        return original_get(name, load_then_change, before_leaving_memory)

    monkeypatch.setattr(PUBLIC_CACHE, "get", racing_get)
    Client().get(f"{PUBLIC}/mystore")
    monkeypatch.setattr(PUBLIC_CACHE, "get", original_get)

    assert Client().get(f"{PUBLIC}/mystore").json()["data"]["title"] == "Renamed"


def test_deleting_an_instance_loaded_before_a_rename_forgets_the_rows_names(
    live: Storefront,
) -> None:
    held = Storefront.objects.get(pk=live.pk)
    storefront_update(storefront=live, slug="renamed")
    client = Client()
    assert client.get(f"{PUBLIC}/renamed").status_code == 200

    held.delete()
    shared.GenerationalCache.clear_local()  # as another process sees it: the shared cache

    assert client.get(f"{PUBLIC}/renamed").status_code == 404
    assert client.get(f"{PUBLIC}/mystore.com").status_code == 404


@pytest.mark.parametrize("accept", ["", "*/*", "application/json", "text/html, */*;q=0.8"])
def test_json_is_served_whatever_the_client_accepts(live: Storefront, accept: str) -> None:
    response = Client().get(f"{PUBLIC}/mystore", HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_a_client_that_takes_no_json_is_told_so(live: Storefront) -> None:
    response = Client().get(f"{PUBLIC}/mystore", HTTP_ACCEPT="application/xml")

    assert response.status_code == 406
    assert response.json()["code"] == "NOT_ACCEPTABLE"


def test_a_view_whose_one_renderer_is_not_json_still_negotiates() -> None:
    response = Client().get("/api/docs/", HTTP_ACCEPT="application/json")

    assert response.status_code == 406


# --- the benchmark's comparison point -----------------------------------------------------


@pytest.mark.urls("bench.http_urls")
def test_the_bench_unauthenticated_twin_answers_what_the_api_key_does(trio, v1: APIClient) -> None:
    """bench/http_load.py compares `GET /api/v1/domains` with an API key against the same view
    without authentication: the two must be the same work and the same answer."""
    from bench.http_urls import BENCH_ORGANIZATION, _organization

    Organization.objects.filter(pk=trio.organization.pk).update(name=BENCH_ORGANIZATION)
    _organization.cache_clear()
    SendingDomain.objects.create(
        organization=trio.organization,
        name="mail.example.com",
        display_name="mail.example.com",
        provider="local",
        region="us-east-1",
    )
    try:
        twin = Client().get("/bench/domains")
        real = v1.get("/api/v1/domains")
        trivial = Client().get("/bench/trivial")
    finally:
        _organization.cache_clear()

    assert twin.status_code == real.status_code == 200
    assert twin.json() == real.json()
    assert len(real.json()["data"]) == 1
    assert trivial.content == b"ok"
