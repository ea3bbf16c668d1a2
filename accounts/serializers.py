from rest_framework import serializers

from accounts.models import ApiKey, Membership, Organization, Tenant
from config.serializers import StrictInputSerializer


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "created_at"]


class MembershipSerializer(serializers.ModelSerializer):
    organization = OrganizationSerializer()
    current = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["organization", "role", "current"]

    def get_current(self, membership: Membership) -> bool:
        return membership.organization_id == self.context.get("current_organization_id")


class CurrentOrganizationInputSerializer(StrictInputSerializer):
    organization_id = serializers.CharField(max_length=64)


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "external_id", "created_at", "updated_at"]


class TenantInputSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=200)
    external_id = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ApiKeySerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, default=None)
    active = serializers.BooleanField(source="is_active")

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "active",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]


class ApiKeyInputSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=100)


class WhoAmISerializer(serializers.Serializer):
    organization = OrganizationSerializer()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    api_key = ApiKeySerializer(allow_null=True)
