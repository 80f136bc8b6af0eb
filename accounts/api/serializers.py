"""Serializers of the API-keys endpoints."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import ApiKey


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know, naming them, instead of silently ignoring a typo."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class ApiKeySerializer(serializers.ModelSerializer):
    key = serializers.CharField(
        source="masked", read_only=True, help_text="The key with its secret part hidden."
    )

    class Meta:
        model = ApiKey
        fields = ["id", "name", "key", "is_active", "calls_count", "last_used_at", "created_at"]
        read_only_fields = fields


class NewApiKeySerializer(ApiKeySerializer):
    """A key just created: the only time the raw key is shown."""

    key = serializers.CharField(read_only=True, help_text="The full key. Shown once; store it now.")
    masked = serializers.CharField(read_only=True)

    class Meta(ApiKeySerializer.Meta):
        fields = [
            "id",
            "name",
            "key",
            "masked",
            "is_active",
            "calls_count",
            "last_used_at",
            "created_at",
        ]
        read_only_fields = fields


class ApiKeyCreateSerializer(StrictSerializer):
    name = serializers.CharField(
        max_length=100, required=False, default="Default", allow_blank=False, trim_whitespace=True
    )
