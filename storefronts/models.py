import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from dnscheck.names import to_display


class Store(models.Model):
    """A shop an organization runs. An organization may run several; API callers pick one
    with the `X-Store-Id` header, and without it get the organization's first store."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="stores"
    )
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class Storefront(models.Model):
    """A store's public face, reachable by its slug, and by its custom domain once that
    is verified. Only one storefront may hold a verified domain (partial unique index); an
    unverified claim blocks nobody."""

    class RoutingStatus(models.TextChoices):
        OK = "ok"
        MISCONFIGURED = "misconfigured"
        UNKNOWN = "unknown"  # no evidence yet (or only timeouts and SERVFAIL so far)

    class TlsStatus(models.TextChoices):
        ACTIVE = "active"
        PENDING = "pending"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="storefront")
    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    published = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    custom_domain = models.CharField(max_length=253, null=True, blank=True)  # noqa: DJ001 - null: none set
    custom_domain_verification_token = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001
    custom_domain_verified = models.BooleanField(default=False)
    custom_domain_verified_at = models.DateTimeField(null=True, blank=True)
    # `www` pairing: an apex domain serves `www.<apex>` too and the other way round. The
    # pair is derived from the domain on save; the primary host (the entered name unless the
    # owner switches to the pair) is where the other name redirects. `custom_domain_site` is
    # the apex of a pair (else the domain itself): the two names of a site belong to one
    # store, which the unique index on verified sites guarantees.
    custom_domain_pair = models.CharField(max_length=253, null=True, blank=True)  # noqa: DJ001
    custom_domain_pair_primary = models.BooleanField(default=False)
    custom_domain_site = models.CharField(max_length=253, null=True, blank=True)  # noqa: DJ001
    # Re-verification of a verified domain: only definite absence of the token on 3
    # checks spanning 48 hours unverifies it.
    domain_next_check_at = models.DateTimeField(null=True, blank=True)
    domain_missing_checks = models.PositiveSmallIntegerField(default=0)
    domain_first_missing_at = models.DateTimeField(null=True, blank=True)
    domain_last_checked_at = models.DateTimeField(null=True, blank=True)
    # The live probe of a verified domain (storefronts.live): routing record and HTTPS
    # through the public name, as of `live_checked_at`; a probe that got no evidence
    # leaves them as they were.
    routing_status = models.CharField(
        max_length=16, choices=RoutingStatus.choices, default=RoutingStatus.UNKNOWN
    )
    tls_status = models.CharField(
        max_length=16, choices=TlsStatus.choices, default=TlsStatus.PENDING
    )
    live_hint = models.CharField(max_length=40, blank=True, default="")
    live_observed = models.JSONField(default=dict, blank=True)
    live_checked_at = models.DateTimeField(null=True, blank=True)
    live_next_check_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["custom_domain"],
                condition=Q(custom_domain_verified=True),
                name="storefront_verified_domain_once",
            ),
            models.UniqueConstraint(
                fields=["custom_domain_site"],
                condition=Q(custom_domain_verified=True),
                name="storefront_verified_site_once",
            ),
            # Only the normaliser's form is stored (storefronts.services.normalize_host), so
            # no other spelling of a name gets past the unique index above.
            models.CheckConstraint(
                condition=Q(custom_domain__isnull=True)
                | (
                    Q(custom_domain=Lower("custom_domain"))
                    & ~Q(custom_domain__endswith=".")
                    & ~Q(custom_domain__contains=":")
                    & ~Q(custom_domain__contains=" ")
                ),
                name="storefront_domain_normalized",
            ),
        ]
        indexes = [
            models.Index(fields=["custom_domain"]),
            models.Index(fields=["custom_domain_pair"]),
            models.Index(
                fields=["domain_next_check_at"],
                condition=Q(custom_domain_verified=True),
                name="storefront_domain_recheck_due",
            ),
            models.Index(
                fields=["live_next_check_at"],
                condition=Q(custom_domain_verified=True),
                name="storefront_live_probe_due",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def custom_domain_display(self) -> str:
        """The domain as people read it (Unicode); stored and in DNS it is punycode."""
        return to_display(self.custom_domain) if self.custom_domain else ""

    @property
    def custom_domain_pair_display(self) -> str:
        return to_display(self.custom_domain_pair) if self.custom_domain_pair else ""

    @property
    def primary_host(self) -> str | None:
        """Where the store is served; its other name (the `www` pair) redirects here."""
        if self.custom_domain_pair and self.custom_domain_pair_primary:
            return self.custom_domain_pair
        return self.custom_domain

    @property
    def custom_domain_hosts(self) -> list[str]:
        """Every name the domain is served under: the domain, then its pair."""
        return [h for h in (self.custom_domain, self.custom_domain_pair) if h]


class CustomDomainHold(models.Model):
    """A verified domain its store cleared or changed, reserved to that store until `until`
    (CUSTOM_DOMAIN_HOLD_DAYS): no other store may set it, nor verify it without proof that
    `token`, the store's last one, is gone from DNS. Ends when the store sets the domain
    again, when it expires (then ignored), or on a reclaim by proof."""

    domain = models.CharField(max_length=253)  # the normaliser's (ascii) form
    storefront = models.ForeignKey(
        Storefront, on_delete=models.CASCADE, related_name="domain_holds"
    )
    token = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001 - null: none
    until = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["domain", "until"], name="storefront_hold_domain")]

    def __str__(self) -> str:
        return f"{self.domain} held until {self.until:%Y-%m-%d %H:%M}"


class Product(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    storefront = models.ForeignKey(Storefront, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    stock = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    storefront = models.ForeignKey(Storefront, on_delete=models.PROTECT, related_name="orders")
    customer_email = models.EmailField()
    customer_name = models.CharField(max_length=200, blank=True, default="")
    total = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"order {self.id}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    line_total = models.DecimalField(max_digits=14, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"


class OrderOtp(models.Model):
    """A one-time code emailed to a customer before an order: 6 digits, kept only as a
    keyed hash, single use, valid 10 minutes, 5 tries."""

    storefront = models.ForeignKey(Storefront, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["storefront", "email", "-created_at"])]

    def __str__(self) -> str:
        return f"code for {self.email}"
