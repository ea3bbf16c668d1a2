from typing import Any

from rest_framework import serializers


class StrictInputSerializer(serializers.Serializer):
    """Input that names a field we do not know is refused, not silently ignored: a typo in
    `fallback_region` should not quietly leave the old value in place."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in unknown}, code="unknown_field"
                )
        return super().to_internal_value(data)
