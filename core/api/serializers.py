"""Serializer pieces every API here uses: strict text, strict numbers, no unknown fields."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    default_error_messages = {"invalid": "must be a string"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class JSONNumberField(serializers.FloatField):
    """A JSON number: true, "12" and "NaN" are refused instead of turned into floats."""

    default_error_messages = {"invalid": "must be a number"}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictInputSerializer(serializers.Serializer):
    """Refuses fields it does not know (a typo like `colour` is a 400, not ignored).

    When it also defines a tool for models: `aliases` maps other accepted names to the
    tool's, and `context_fields` are decided by the calling program, not the model.
    """

    aliases: dict[str, str] = {}
    context_fields: tuple[str, ...] = ()

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["unknown field"] for name in unknown})
        return super().to_internal_value(data)


# The body of every 4xx/5xx answer (core.api.exceptions), for the OpenAPI schema.
ERROR_SCHEMA = inline_serializer(
    "Error",
    {
        "error": serializers.CharField(),
        "code": serializers.CharField(),
        "fields": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), required=False
        ),
    },
)
