from rest_framework import serializers

from config.serializers import StrictInputSerializer
from webhooks.event_types import EVENT_TYPES
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

EVENT_TYPE_CHOICES = sorted(EVENT_TYPES)


class EndpointSerializer(serializers.ModelSerializer):
    tenant_id = serializers.CharField(allow_null=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "tenant_id",
            "enabled",
            "disabled_reason",
            "disabled_at",
            "last_success_at",
            "created_at",
            "updated_at",
        ]


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(help_text="whsec_...: shown once, store it now.")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]


class EndpointInputSerializer(StrictInputSerializer):
    url = serializers.CharField(max_length=2000)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPE_CHOICES),
        required=False,
        max_length=len(EVENT_TYPE_CHOICES),
        help_text="Event types to receive; empty or absent: all.",
    )
    tenant_id = serializers.CharField(
        required=False, allow_null=True, max_length=64, help_text="Only this tenant's events."
    )


class RotatedSecretSerializer(serializers.Serializer):
    secret = serializers.CharField()
    previous_secret_expires_at = serializers.DateTimeField()


class RecoverInputSerializer(StrictInputSerializer):
    since = serializers.DateTimeField(help_text="Resend messages that failed since then.")


class RecoveredSerializer(serializers.Serializer):
    messages = serializers.IntegerField()


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "attempted_at",
            "duration_ms",
            "status_code",
            "response_body",
            "error",
        ]


class DeliverySerializer(serializers.ModelSerializer):
    event_type = serializers.CharField(source="event.type")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "endpoint_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "finished_at",
            "replay_of_id",
            "created_at",
        ]


class DeliveryDetailSerializer(DeliverySerializer):
    attempt_log = AttemptSerializer(many=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "attempt_log"]


class EventSerializer(serializers.ModelSerializer):
    tenant_id = serializers.CharField(allow_null=True)

    class Meta:
        model = WebhookEvent
        fields = ["id", "type", "occurred_at", "tenant_id", "payload"]


class EventDetailSerializer(EventSerializer):
    deliveries = DeliverySerializer(many=True)

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "deliveries"]


class EventFilterSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=EVENT_TYPE_CHOICES, required=False)
    delivery_status = serializers.ChoiceField(
        choices=WebhookDelivery.Status.choices,
        required=False,
        help_text="Events with at least one delivery in this status.",
    )
    endpoint_id = serializers.CharField(required=False, max_length=64)


class DeliveryFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices, required=False)
    endpoint_id = serializers.CharField(required=False, max_length=64)
    event_id = serializers.CharField(required=False, max_length=64)


class EventTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    description = serializers.CharField()
