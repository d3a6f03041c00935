"""Parsers that refuse oversized bodies with 413 before reading them whole."""

from __future__ import annotations

from django.conf import settings
from rest_framework import parsers

from charts_app.errors import PayloadTooLarge


def _declared_length(request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


class LimitedJSONParser(parsers.JSONParser):
    """JSON bodies up to CHARTS_MAX_BODY_BYTES (DATA_UPLOAD_MAX_MEMORY_SIZE); 413 past it.

    DRF reads JSON from the request stream, which skips Django's own body limit.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        declared = _declared_length(request) if request is not None else None
        if declared is not None and declared > limit:
            raise PayloadTooLarge(
                f"request body is {declared} bytes; the limit is {limit} bytes", field="body"
            )
        if stream is None:
            return super().parse(stream, media_type, parser_context)
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes", field="body")
        import io

        return super().parse(io.BytesIO(body), media_type, parser_context)


class LimitedMultiPartParser(parsers.MultiPartParser):
    """Multipart uploads up to the image limit plus room for the form fields; 413 past it."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.CHARTS_MAX_UPLOAD_BYTES + 64 * 1024
        request = (parser_context or {}).get("request")
        declared = _declared_length(request) if request is not None else None
        if declared is not None and declared > limit:
            raise PayloadTooLarge(
                f"upload is {declared} bytes; the limit is {settings.CHARTS_MAX_UPLOAD_BYTES} "
                "bytes for the image",
                field="file",
            )
        return super().parse(stream, media_type, parser_context)
