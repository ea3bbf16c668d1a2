from typing import Any

from django.utils import timezone
from rest_framework import serializers

from config.serializers import StrictInputSerializer
from dnscheck.records import RecordResult
from domains.models import DomainRecord, SendingDomain
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
