from rest_framework import serializers

from audit.models import ActorType, AuditEvent


class ActorSerializer(serializers.Serializer):
    type = serializers.CharField(source="actor_type")
    id = serializers.CharField(source="actor_id")
    name = serializers.CharField(source="actor_name")


class TargetSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()
    name = serializers.CharField()


class AuditEventSerializer(serializers.ModelSerializer):
    actor = ActorSerializer(source="*")
    targets = TargetSerializer(many=True)
    changes = serializers.DictField(child=serializers.ListField(), help_text="{field: [old, new]}")
    context = serializers.DictField(help_text="ip, user_agent, request_id, surface")
    metadata = serializers.DictField()

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "sequence",
            "occurred_at",
            "action",
            "outcome",
            "actor",
            "targets",
            "changes",
            "context",
            "metadata",
            "position",
            "prev_hash",
            "hash",
        ]


class AuditFilterSerializer(serializers.Serializer):
    """Query parameters of the list and the export. Unknown ones are ignored (cursor,
    page_size belong to pagination)."""

    action = serializers.CharField(
        required=False, max_length=100, help_text="Exact, or a prefix ending in `*` (tenant.*)."
    )
    outcome = serializers.ChoiceField(choices=AuditEvent.Outcome.choices, required=False)
    actor_type = serializers.ChoiceField(choices=ActorType.values, required=False)
    actor_id = serializers.CharField(required=False, max_length=64)
    target_id = serializers.CharField(required=False, max_length=64)
    target_type = serializers.CharField(required=False, max_length=50)
    since = serializers.DateTimeField(required=False, help_text="Inclusive.")
    until = serializers.DateTimeField(required=False, help_text="Exclusive.")

    def validate(self, attrs: dict) -> dict:
        if "since" in attrs and "until" in attrs and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs
