import uuid
from typing import Any

from config.errors import NotFoundError
from storefronts.models import Storefront


def storefront_for_request(request: Any) -> Storefront:
    """The storefront an authenticated request means: the one of the caller's organization,
    or with several stores, the one named by the `X-Store-Id` header (its id); without the
    header, the organization's first store."""
    stores = Storefront.objects.filter(store__organization=request.organization).select_related(
        "store"
    )
    wanted = request.headers.get("X-Store-Id", "").strip()
    if wanted:
        try:
            stores = stores.filter(store_id=uuid.UUID(wanted))
        except ValueError as exc:
            raise NotFoundError("No such store.", code="STORE_NOT_FOUND") from exc
    storefront = stores.order_by("store__created_at", "store_id").first()
    if storefront is None:
        raise NotFoundError("This organization has no store yet.", code="STORE_NOT_FOUND")
    return storefront
