"""The staff admin: every model has a working list and page, history is read-only, secrets
never reach the HTML, and one search finds a domain by name wherever it is used."""

import html
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKey, User
from accounts.services import api_key_create, tenant_create
from audit.admin import ReadOnlyTabularInline
from audit.models import AuditChainHead, AuditEvent, AuditTarget
from domains.models import DomainRecord, Message, SendCount, SendingDomain
from domains.services import sending_domain_create
from storefronts.models import CustomDomainHold, Order, OrderLine, OrderOtp, Product, Storefront
from storefronts.services import store_create, storefront_update
from tests.conftest import OrgTrio
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "audit", "domains", "storefronts", "webhooks"}
READ_ONLY = [
    AuditEvent,
    AuditTarget,
    AuditChainHead,
    DomainRecord,
    SendCount,
    Message,
    Order,
    OrderOtp,
    CustomDomainHold,
    WebhookEvent,
    WebhookDelivery,
    WebhookAttempt,
]
OTP_HASH = "5e" * 32


def superuser_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root@example.test", "pw"))
    return client


def staff_client(*permissions: str) -> Client:
    """A staff user with only the named permissions (`app_label.codename`)."""
    user = User.objects.create_user("support@example.test", "pw", is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return client


def run_action(client: Client, model: type, action: str, objects: list) -> HttpResponse:
    opts = model._meta
    return client.post(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [obj.pk for obj in objects]},
        follow=True,
    )


def one_of(model: type) -> object | None:
    """A row the admin can link to (the global audit chain's key is "")."""
    return next((obj for obj in model._default_manager.all()[:5] if str(obj.pk)), None)


def text(response: HttpResponse) -> str:
    return html.unescape(response.content.decode())


def admin_url(obj: object, view: str = "change") -> str:
    opts = obj._meta
    # As the admin's own links do: our ids hold "_", the admin's escape character.
    args = [] if view in ("changelist", "add") else [quote(obj.pk)]
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@dataclass
class World:
    domain: SendingDomain
    storefront: Storefront
    endpoint: WebhookEndpoint
    webhook_secret: str
    raw_api_key: str


@pytest.fixture
def world(trio: OrgTrio) -> World:
    """One row of every model of our apps, made the way the product makes them."""
    org = trio.organization
    endpoint, secret = endpoint_create(organization=org, url="http://127.0.0.1:9/hook")
    tenant = tenant_create(organization=org, name="Retail", external_id="cust-1")
    raw_key = api_key_create(organization=org, name="ci", created_by=trio.owner).raw_key
    domain = sending_domain_create(organization=org, name="mail.bücher.example.test", tenant=tenant)
    SendCount.objects.create(domain=domain, day=date.today(), count=3)
    Message.objects.create(
        organization=org,
        domain=domain,
        domain_name=domain.name,
        from_address=f"news@{domain.name}",
        to=["a@example.org"],
        subject="Your receipt",
        provider="local",
        request_hash="9f" * 32,
    )
    storefront = store_create(organization=org, name="Bücherei", slug="buecherei")
    storefront = storefront_update(storefront=storefront, custom_domain="shop.bücher.example.test")
    product = Product.objects.create(storefront=storefront, name="Mug", price=Decimal("12.50"))
    # A store that let its verified domain go: the domain is held for it.
    leaving = store_create(organization=org, name="Antiquariat", slug="antiquariat")
    leaving = storefront_update(storefront=leaving, custom_domain="alt.bücher.example.test")
    Storefront.objects.filter(pk=leaving.pk).update(custom_domain_verified=True)
    storefront_update(storefront=leaving, custom_domain=None)
    order = Order.objects.create(
        storefront=storefront,
        customer_email="c@example.org",
        total=Decimal("12.50"),
        currency="EUR",
    )
    OrderLine.objects.create(
        order=order,
        product=product,
        name="Mug",
        quantity=1,
        unit_price=Decimal("12.50"),
        line_total=Decimal("12.50"),
    )
    OrderOtp.objects.create(
        storefront=storefront,
        email="c@example.org",
        code_hash=OTP_HASH,
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).first()
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=1,
        attempted_at=timezone.now(),
        status_code=500,
        response_body="oops",
        target_address="127.0.0.1",
    )
    return World(domain, storefront, endpoint, secret, raw_key)


def test_every_model_of_our_apps_is_registered() -> None:
    from django.apps import apps

    ours = {m for m in apps.get_models() if m._meta.app_label in OUR_APPS}

    assert ours - set(admin.site._registry) == {OrderLine}  # an inline of its order


def test_every_list_renders_plain_and_searched(world: World) -> None:
    client = superuser_client()

    for model in admin.site._registry:
        url = admin_url(model, "changelist")
        for query in ({}, {"q": "mail"}, {"q": "dom_x 42"}):
            response = client.get(url, query)
            assert response.status_code == 200, (url, query, response.content[:500])


def test_every_object_page_renders(world: World) -> None:
    client = superuser_client()

    for model in admin.site._registry:
        obj = one_of(model)
        if obj is None:
            assert model._meta.app_label not in OUR_APPS, f"no {model.__name__} in the world"
            continue
        response = client.get(admin_url(obj))
        assert response.status_code == 200, (model, response.content[:500])


def test_history_is_read_only_for_superusers_too(world: World) -> None:
    client = superuser_client()

    for model in READ_ONLY:
        obj = one_of(model)
        page = client.get(admin_url(obj))
        assert page.status_code == 200, model  # shown, without a save button
        assert client.get(admin_url(model, "add")).status_code == 403, model
        assert client.post(admin_url(obj, "delete"), {"post": "yes"}).status_code == 403, model
        assert client.post(admin_url(obj), {}).status_code == 403, model
        assert b'name="_save"' not in page.content, model
        assert model._default_manager.filter(pk=obj.pk).exists()


def test_history_listed_under_its_owner_has_no_form_field_but_the_link_to_it(
    rf: RequestFactory,
) -> None:
    request = rf.get("/")
    request.user = User.objects.create_superuser("root@example.test", "pw")
    inlines = [
        inline
        for model_admin in admin.site._registry.values()
        for inline in model_admin.get_inline_instances(request)
        if isinstance(inline, ReadOnlyTabularInline)
    ]

    assert {type(inline).__name__ for inline in inlines} >= {
        "AuditTargetInline",
        "DomainRecordInline",
        "DeliveryInline",
        "AttemptInline",
    }
    for inline in inlines:
        formset = inline.get_formset(request)
        assert set(formset.form.base_fields) <= {formset.fk.name}, type(inline)


def test_history_lists_count_only_their_matches(world: World) -> None:
    client = superuser_client()

    for model in READ_ONLY:
        searched = client.get(admin_url(model, "changelist"), {"q": "mail"})
        assert searched.context["cl"].full_result_count is None, model


def test_secrets_never_reach_the_page(world: World) -> None:
    client = superuser_client()
    endpoint = WebhookEndpoint.objects.get(pk=world.endpoint.pk)
    key = ApiKey.objects.get()
    pages = [
        text(client.get(url))
        for url in (
            admin_url(endpoint),
            admin_url(WebhookEndpoint, "changelist"),
            admin_url(key),
            admin_url(ApiKey, "changelist"),
            admin_url(OrderOtp.objects.get()),
            admin_url(OrderOtp, "changelist"),
            admin_url(world.domain),
            admin_url(Message.objects.get()),
        )
    ]

    for page in pages:
        assert world.webhook_secret not in page
        assert world.webhook_secret.removeprefix("whsec_") not in page
        assert endpoint.secret_encrypted not in page
        assert world.raw_api_key not in page and key.secret_hash not in page
        assert OTP_HASH not in page
        assert "PRIVATE KEY" not in page and world.domain.dkim_private_key_encrypted not in page
        assert "9f" * 32 not in page  # a message's request hash


@pytest.mark.parametrize(
    "query", ["bücher.example.test", "xn--bcher-kva.example.test", "BÜCHER", "xn--bcher-kva"]
)
def test_one_search_finds_a_domain_by_name_in_either_spelling(world: World, query: str) -> None:
    client = superuser_client()

    response = client.get(reverse("admin:domain_search"), {"q": query})

    page = text(response)
    assert response.status_code == 200
    assert admin_url(world.domain) in page
    assert admin_url(world.storefront) in page
    assert "Sending domains: 1" in page and "Storefronts: 1" in page


def test_the_search_spans_organizations_and_says_when_nothing_matches(
    trio: OrgTrio, world: World
) -> None:
    theirs = sending_domain_create(organization=trio.other_organization, name="mail.globex.test")
    client = superuser_client()

    found = text(client.get(reverse("admin:domain_search"), {"q": "globex.test"}))
    nothing = text(client.get(reverse("admin:domain_search"), {"q": "nowhere.example"}))

    assert admin_url(theirs) in found and admin_url(world.domain) not in found
    assert "Sending domains: 0" in nothing and "No matches." in nothing


def test_a_search_result_opens_even_when_its_id_looks_like_an_admin_escape(
    trio: OrgTrio,
) -> None:
    # "_2F" is how the admin escapes "/" in a URL: an unescaped link to this id opens
    # nothing (a redirect to the index) instead of the domain.
    domain = SendingDomain.objects.create(
        id="dom_2Fwhatever",
        organization=trio.organization,
        name="mail.escape.test",
        display_name="mail.escape.test",
        provider="local",
        region="us-east-1",
    )
    client = superuser_client()

    found = text(client.get(reverse("admin:domain_search"), {"q": "mail.escape.test"}))
    link = admin_url(domain)

    assert link in found
    assert client.get(link).status_code == 200


def test_the_index_has_the_domain_search_box(world: World) -> None:
    page = text(superuser_client().get(reverse("admin:index")))

    assert f'action="{reverse("admin:domain_search")}"' in page


@pytest.mark.parametrize("query", ["bücher.example.test", "xn--bcher-kva.example.test"])
def test_the_lists_find_a_domain_in_either_spelling(world: World, query: str) -> None:
    client = superuser_client()

    domains = client.get(admin_url(SendingDomain, "changelist"), {"q": query})
    storefronts = client.get(admin_url(Storefront, "changelist"), {"q": query})

    assert list(domains.context["cl"].result_list) == [world.domain]
    assert list(storefronts.context["cl"].result_list) == [world.storefront]


def test_a_staff_user_searches_only_what_they_may_view(world: World) -> None:
    client = staff_client("domains.view_sendingdomain")

    page = text(client.get(reverse("admin:domain_search"), {"q": "bücher"}))

    assert admin_url(world.domain) in page
    assert "Storefronts" not in page


def test_view_only_staff_are_offered_no_actions_and_cannot_run_them(world: World) -> None:
    client = staff_client(
        "domains.view_sendingdomain",
        "storefronts.view_storefront",
        "webhooks.view_webhookendpoint",
        "webhooks.view_webhookdelivery",
        "accounts.view_apikey",
    )
    delivery = WebhookDelivery.objects.first()
    deliveries = WebhookDelivery.objects.count()
    before = AuditEvent.objects.count()

    for model in (SendingDomain, Storefront, WebhookEndpoint, WebhookDelivery, ApiKey):
        listing = client.get(admin_url(model, "changelist"))
        assert listing.status_code == 200
        assert listing.context["action_form"] is None or not [
            name for name, _ in listing.context["action_form"].fields["action"].choices if name
        ], model
    run_action(client, SendingDomain, "recheck", [world.domain])
    run_action(client, Storefront, "reverify_custom_domain", [world.storefront])
    run_action(client, WebhookEndpoint, "disable", [world.endpoint])
    run_action(client, WebhookDelivery, "resend", [delivery])
    run_action(client, ApiKey, "revoke_keys", list(ApiKey.objects.all()))

    assert AuditEvent.objects.count() == before
    assert WebhookEndpoint.objects.get().enabled
    assert WebhookDelivery.objects.count() == deliveries
    assert ApiKey.objects.get().revoked_at is None


def test_revoking_keys_says_how_many_and_skips_revoked_ones(trio: OrgTrio, world: World) -> None:
    client = superuser_client()
    second = api_key_create(organization=trio.organization, name="old", created_by=trio.owner)
    ApiKey.objects.filter(pk=second.api_key.pk).update(revoked_at=timezone.now())

    page = text(run_action(client, ApiKey, "revoke_keys", list(ApiKey.objects.all())))

    assert "Revoked: 1 (ci (" in page
    assert "Skipped 1, already revoked: old (" in page
    assert not ApiKey.objects.filter(revoked_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_deleting_a_domain_takes_its_read_only_rows_along(world: World) -> None:
    client = superuser_client()

    confirm = client.get(admin_url(world.domain, "delete"))
    response = client.post(admin_url(world.domain, "delete"), {"post": "yes"})

    assert confirm.status_code == 200
    assert response.status_code == 302
    assert not DomainRecord.objects.exists() and not SendCount.objects.exists()
    assert AuditEvent.objects.filter(action="domain.removed").count() == 1


def test_the_search_names_a_storefront_by_its_domain_as_people_read_it(world: World) -> None:
    page = text(superuser_client().get(reverse("admin:domain_search"), {"q": "xn--bcher-kva"}))

    assert f'{admin_url(world.storefront)}">shop.bücher.example.test</a>' in page
    assert "Custom domain of storefront buecherei (Acme) · not verified" in page
