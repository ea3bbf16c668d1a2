"""Every event type the product publishes, with what it means. Publishing an unlisted
type is a programming error; the API docs list these."""

EVENT_TYPES: dict[str, str] = {
    "domain.created": "A sending domain was added; its DNS records are ready to publish.",
    "domain.verified": "A sending domain passed verification and can send mail.",
    "domain.unverified": "A verified sending domain lost verification (records removed or "
    "changed); sending from it stops until it verifies again.",
    "domain.failed": "Verification of a sending domain gave up after 72 hours; it can be "
    "restarted.",
    "domain.removed": "A sending domain was deleted.",
    "domain.warmup_started": "Warmup began for a sending domain: daily caps now apply.",
    "domain.warmup_completed": "A sending domain finished warmup: no daily cap any more.",
    "domain.region_changed": "A sending domain's region or fallback region changed.",
    "domain.tenant_changed": "A sending domain was bound to another tenant, or unbound.",
    "storefront.domain_set": "A storefront's custom domain was set, changed or cleared.",
    "storefront.domain_verified": "A storefront's custom domain passed ownership "
    "verification and now resolves to the store.",
    "storefront.domain_unverified": "A storefront's verified custom domain lost its "
    "ownership record and stopped resolving.",
    "storefront.domain_cleared": "A storefront's custom domain was removed.",
    "storefront.domain_reclaimed": "Another store proved by DNS that it controls a domain "
    "this storefront had verified (or had reserved after removing it) and took it over; the "
    "storefront is served at its slug. The object's `reclaimed_domain` names the domain.",
    "webhook.test": "A test event sent on request to one endpoint.",
}


def describe_event_types() -> str:
    return "\n".join(f"- `{name}`: {text}" for name, text in EVENT_TYPES.items())
