from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import StrictInputSerializer
from dnscheck.records import RecordResult
from domains.models import DomainRecord, Message, SendingDomain
from domains.selectors import warmup_cap


class RecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = DomainRecord
        fields = [
            "type",
            "hostname",
            "host",
            "value",
            "purpose",
            "required",
            "status",
            "hint",
            "fix",
            "seen_value",
            "suggested_value",
            "checked_at",
        ]


class WarmupSerializer(serializers.Serializer):
    started_at = serializers.DateTimeField(allow_null=True)
    total_days = serializers.IntegerField()
    days_in = serializers.IntegerField(allow_null=True)
    cap_today = serializers.IntegerField(allow_null=True, help_text="null: no cap")


class DomainSerializer(serializers.ModelSerializer):
    tenant_id = serializers.CharField(allow_null=True)
    records = RecordSerializer(many=True)
    verified_count = serializers.SerializerMethodField()
    total_count = serializers.SerializerMethodField()
    warmup = serializers.SerializerMethodField()

    class Meta:
        model = SendingDomain
        fields = [
            "id",
            "name",
            "display_name",
            "status",
            "provider",
            "region",
            "fallback_region",
            "tenant_id",
            "mail_from_label",
            "verified_at",
            "last_checked_at",
            "created_at",
            "provider_error_type",
            "verified_count",
            "total_count",
            "warmup",
            "records",
        ]

    def get_verified_count(self, domain: SendingDomain) -> int:
        return sum(1 for r in domain.records.all() if r.status == DomainRecord.Status.VERIFIED)

    def get_total_count(self, domain: SendingDomain) -> int:
        return len(domain.records.all())

    def get_warmup(self, domain: SendingDomain) -> dict[str, Any]:
        limit = warmup_cap(domain, timezone.now())
        return {
            "started_at": domain.warmup_started_at,
            "total_days": domain.warmup_total_days,
            "days_in": limit.days_in,
            "cap_today": limit.cap,
        }


class CreateInputSerializer(StrictInputSerializer):
    """`POST /api/v1/domains`."""

    name = serializers.CharField(max_length=1000)
    tenant_id = serializers.CharField(max_length=64, required=False, allow_null=True)
    region = serializers.CharField(max_length=32, required=False)
    mail_from_label = serializers.CharField(
        max_length=63,
        required=False,
        allow_blank=True,
        help_text="SES only: custom MAIL FROM host `<label>.<domain>` (MX + SPF records).",
    )


class InternalCreateInputSerializer(StrictInputSerializer):
    """`POST /api/internal/domains` (the dashboard's contract)."""

    domain = serializers.CharField(max_length=1000)
    tenantId = serializers.CharField(max_length=64, required=False, allow_null=True)


class RecheckInputSerializer(StrictInputSerializer):
    id = serializers.CharField(max_length=64)


class WarmupInputSerializer(StrictInputSerializer):
    total_days = serializers.IntegerField(min_value=1, max_value=60, required=False, default=14)


class RegionInputSerializer(StrictInputSerializer):
    region = serializers.CharField(max_length=32)
    fallback_region = serializers.CharField(
        max_length=32, required=False, allow_blank=True, allow_null=True
    )


class DomainTenantInputSerializer(StrictInputSerializer):
    tenant_id = serializers.CharField(max_length=64, allow_null=True)


class DomainFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=SendingDomain.Status.choices, required=False)
    tenant = serializers.CharField(max_length=64, required=False, help_text="A tenant id.")


class VerifyResultSerializer(serializers.Serializer):
    domain = DomainSerializer()
    changed = serializers.BooleanField()
    transient = serializers.BooleanField(help_text="true: nothing was judged this time")
    provider = serializers.DictField()


def result_data(result: RecordResult) -> dict[str, Any]:
    record = result.record
    return {
        "type": record.type,
        "hostname": record.name,
        "host": record.host,
        "value": record.value,
        "purpose": record.purpose,
        "outcome": result.outcome,
        "hint": result.hint,
        "fix": result.fix,
        "seen_value": result.seen_value,
        "suggested_value": result.suggested_value,
        "detail": result.detail,
    }


class DiagnosedRecordSerializer(serializers.Serializer):
    type = serializers.CharField()
    hostname = serializers.CharField()
    host = serializers.CharField()
    value = serializers.CharField()
    purpose = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["ok", "missing", "mismatch", "error"])
    hint = serializers.CharField(allow_null=True)
    fix = serializers.CharField()
    seen_value = serializers.CharField(allow_null=True)
    suggested_value = serializers.CharField(allow_null=True)
    detail = serializers.CharField()


class DiagnosisSerializer(serializers.Serializer):
    records = DiagnosedRecordSerializer(many=True)
    summary = serializers.DictField()
    apex = serializers.DictField()
    provider = serializers.DictField()


# --- sending ------------------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "email"},
            {"type": "array", "items": {"type": "string", "format": "email"}},
        ]
    }
)
class AddressListField(serializers.Field):
    """One address or a list of them, each `local@domain` or `Name <local@domain>`.
    Comes out as a list of normalised addresses (punycode domains)."""

    default_error_messages = {"type": "Give an address or a list of addresses."}

    def __init__(self, *, min_length: int = 0, **kwargs: Any) -> None:
        self.min_length = min_length
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        from domains.mail import format_address
        from domains.sending import parse_address

        items = [data] if isinstance(data, str) else data
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            self.fail("type")
        if len(items) < self.min_length:
            raise serializers.ValidationError("Give at least one address.")
        addresses, problems = [], []
        for item in items:
            try:
                addresses.append(format_address(*parse_address(item)))
            except ValueError as exc:
                problems.append(f"{item[:100]}: {exc}")
        if problems:
            raise serializers.ValidationError(problems)
        return addresses

    def to_representation(self, value: list[str]) -> list[str]:
        return value


class EmailInputSerializer(StrictInputSerializer):
    """`POST /api/v1/emails`. `from` must be at one of your verified sending domains."""

    from_ = serializers.CharField(
        max_length=500, help_text="`news@mail.acme.com` or `Acme <news@mail.acme.com>`"
    )
    to = AddressListField(min_length=1)
    cc = AddressListField(required=False, default=list)
    bcc = AddressListField(required=False, default=list)
    reply_to = AddressListField(required=False, default=list)
    subject = serializers.CharField(max_length=998, trim_whitespace=False)
    html = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    tenant_id = serializers.CharField(max_length=64, required=False, allow_null=True)
    headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        default=dict,
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # a keyword in Python, a field name here
        return fields

    def validate_from(self, value: str) -> tuple[str, str]:
        from domains.sending import parse_address

        try:
            return parse_address(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate_subject(self, value: str) -> str:
        from domains.sending import CONTROL

        if CONTROL.search(value):
            raise serializers.ValidationError(
                "The subject cannot contain line breaks or control characters."
            )
        return value

    def validate_headers(self, value: dict[str, str]) -> dict[str, str]:
        from domains.sending import check_headers

        try:
            return check_headers(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("html") and not attrs.get("text"):
            raise serializers.ValidationError(
                {"text": ["Give the message's text, its html, or both."]}
            )
        return attrs


class TestEmailInputSerializer(StrictInputSerializer):
    to = serializers.CharField(max_length=500)


class MessageErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class MessageSerializer(serializers.ModelSerializer):
    domain_id = serializers.CharField(allow_null=True)
    domain = serializers.CharField(source="domain_name")
    tenant_id = serializers.CharField(allow_null=True)
    error = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "status",
            "kind",
            "from_address",
            "to",
            "cc",
            "bcc",
            "reply_to",
            "subject",
            "recipient_count",
            "domain_id",
            "domain",
            "tenant_id",
            "provider",
            "region",
            "fallback_used",
            "provider_message_id",
            "error",
            "created_at",
            "sent_at",
        ]

    def get_error(self, message: Message) -> dict[str, str] | None:
        if message.status != Message.Status.FAILED:
            return None
        return {"code": message.error_code, "message": message.error_message}


class MessageFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Message.Status.choices, required=False)
    domain_id = serializers.CharField(max_length=64, required=False)
    tenant_id = serializers.CharField(max_length=64, required=False)
    kind = serializers.ChoiceField(choices=Message.Kind.choices, required=False)
