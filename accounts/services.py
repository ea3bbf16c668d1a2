"""Writes to organizations, memberships, tenants and API keys. Each service is one
transaction with keyword-only arguments; running one twice is harmless where it can be."""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.ids import random_base62
from accounts.models import ApiKey, Membership, Organization, Tenant, User
from audit.services import changes_between, record, target
from config.errors import ConflictError, ServiceError

API_KEY_PREFIX = "dk"
API_KEY_ID_LENGTH = 8
API_KEY_SECRET_LENGTH = 32
API_KEY_PATTERN = re.compile(
    rf"^({API_KEY_PREFIX}_[A-Za-z0-9]{{{API_KEY_ID_LENGTH}}})_[A-Za-z0-9]{{{API_KEY_SECRET_LENGTH}}}$"
)
# last_used_at is written at most this often per key: one UPDATE per request would make
# every API call a write.
API_KEY_LAST_USED_RESOLUTION = timedelta(minutes=1)


class InvalidApiKey(ServiceError):
    code = "INVALID_API_KEY"
    status = 401
    message = "The API key is not valid."


class RevokedApiKey(ServiceError):
    code = "API_KEY_REVOKED"
    status = 401
    message = "The API key has been revoked."


class TenantExternalIdTaken(ConflictError):
    code = "TENANT_EXTERNAL_ID_TAKEN"
    message = "Another tenant of this organization already has this external_id."


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    raw_key: str  # shown once, never stored


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


# --- Organizations and members ------------------------------------------------------------


@transaction.atomic
def organization_create(*, name: str, owner: User) -> Organization:
    organization = Organization.objects.create(name=name.strip())
    Membership.objects.create(organization=organization, user=owner, role=Membership.Role.OWNER)
    record(
        action="organization.created",
        organization=organization,
        targets=[target(organization), target(owner, name=owner.email)],
        metadata={"owner": owner.email},
    )
    return organization


@transaction.atomic
def membership_set(*, organization: Organization, user: User, role: str) -> Membership:
    """Adds the user to the organization with the role, or changes the role they have."""
    if role not in Membership.Role.values:
        raise ServiceError(f"Unknown role {role!r}.", code="VALIDATION_ERROR")
    membership, created = Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if created:
        record(
            action="membership.created",
            organization=organization,
            targets=[target(user, name=user.email)],
            changes={"role": [None, role]},
        )
    elif membership.role != role:
        record(
            action="membership.role_changed",
            organization=organization,
            targets=[target(user, name=user.email)],
            changes={"role": [membership.role, role]},
        )
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def organization_switch(*, user: User, membership: Membership) -> None:
    """Records that a dashboard session now acts in another of the user's organizations
    (the view keeps the choice in the session)."""
    record(
        action="session.organization_switched",
        organization=membership.organization,
        targets=[target(membership.organization)],
        metadata={"role": membership.role},
    )


@transaction.atomic
def user_get_or_create(*, email: str, password: str | None = None) -> tuple[User, bool]:
    email = User.objects.normalize_email(email.strip()).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        if password:
            user.set_password(password)
            user.save(update_fields=["password"])
            record(action="user.password_set", targets=[target(user, name=user.email)])
        return user, False
    user = User.objects.create_user(email=email, password=password)
    record(action="user.created", targets=[target(user, name=user.email)])
    return user, True


# --- API keys ---------------------------------------------------------------------------


@transaction.atomic
def api_key_create(
    *, organization: Organization, name: str, created_by: User | None
) -> IssuedApiKey:
    while True:
        prefix = f"{API_KEY_PREFIX}_{random_base62(API_KEY_ID_LENGTH)}"
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    raw_key = f"{prefix}_{random_base62(API_KEY_SECRET_LENGTH)}"
    api_key = ApiKey.objects.create(
        organization=organization,
        name=name.strip() or "API key",
        prefix=prefix,
        secret_hash=hash_api_key(raw_key),
        created_by=created_by,
    )
    record(
        action="api_key.created",
        organization=organization,
        targets=[target(api_key, name=f"{api_key.name} ({prefix})")],
    )
    return IssuedApiKey(api_key=api_key, raw_key=raw_key)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revokes the key; revoking a revoked key keeps its first revocation time (and
    records nothing the second time)."""
    now = timezone.now()
    revoked = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
    api_key.refresh_from_db(fields=["revoked_at"])
    if revoked:
        record(
            action="api_key.revoked",
            organization=api_key.organization_id,
            targets=[target(api_key, name=f"{api_key.name} ({api_key.prefix})")],
            changes={"revoked_at": [None, now.isoformat()]},
        )
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey:
    """Returns the active key for a presented secret, or raises InvalidApiKey/RevokedApiKey.
    The stored hash is compared in constant time."""
    match = API_KEY_PATTERN.match(raw_key)
    if not match:
        raise InvalidApiKey("The API key is malformed.", code="INVALID_API_KEY")
    api_key = ApiKey.objects.select_related("organization").filter(prefix=match.group(1)).first()
    if api_key is None or not hmac.compare_digest(api_key.secret_hash, hash_api_key(raw_key)):
        raise InvalidApiKey()
    if api_key.revoked_at is not None:
        raise RevokedApiKey()
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= API_KEY_LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


# --- Tenants ----------------------------------------------------------------------------


def _external_id_taken() -> TenantExternalIdTaken:
    return TenantExternalIdTaken(errors={"external_id": [TenantExternalIdTaken.message]})


def tenant_create(*, organization: Organization, name: str, external_id: str = "") -> Tenant:
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(
                organization=organization, name=name.strip(), external_id=external_id.strip()
            )
            record(
                action="tenant.created",
                organization=organization,
                targets=[target(tenant)],
                changes={"name": [None, tenant.name], "external_id": [None, tenant.external_id]},
            )
            return tenant
    except IntegrityError as exc:
        raise TenantExternalIdTaken(
            errors={"external_id": [TenantExternalIdTaken.message]}
        ) from exc


def tenant_update(
    *, tenant: Tenant, name: str | None = None, external_id: str | None = None
) -> Tenant:
    before = {"name": tenant.name, "external_id": tenant.external_id}
    if name is not None:
        tenant.name = name.strip()
    if external_id is not None:
        tenant.external_id = external_id.strip()
    changes = changes_between(before, {"name": tenant.name, "external_id": tenant.external_id})
    if not changes:
        return tenant
    try:
        with transaction.atomic():
            tenant.save(update_fields=[*changes, "updated_at"])
            record(
                action="tenant.updated",
                organization=tenant.organization_id,
                targets=[target(tenant)],
                changes=changes,
            )
    except IntegrityError as exc:
        raise TenantExternalIdTaken(
            errors={"external_id": [TenantExternalIdTaken.message]}
        ) from exc
    return tenant


@transaction.atomic
def tenant_delete(*, tenant: Tenant) -> None:
    record(action="tenant.deleted", organization=tenant.organization_id, targets=[target(tenant)])
    tenant.delete()
