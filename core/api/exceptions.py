"""One exception handler: domain errors and DRF errors become clear 4xx JSON."""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ApplicationError, Unavailable

logger = logging.getLogger(__name__)


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {
            str(key): [str(item) for item in value]
            if isinstance(value, list)
            else _field_errors(value)
            if isinstance(value, dict)
            else [str(value)]
            for key, value in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(item) for item in detail]}
    return {"non_field_errors": [str(detail)]}


DRAIN_CHUNK = 256 * 1024


def _drain(context) -> None:
    """Take an unread request body off the wire: a refusal (429/503) sent before the body
    was read reaches the client as an answer, not as a connection reset mid-upload.

    At most REFUSED_BODY_BYTES_PER_SECOND: a client that sends big bodies again at once,
    whatever Retry-After says, would otherwise have the server spend its CPU reading
    bodies it refuses (~4 ms a megabyte). The wait sleeps (no CPU, no GIL) in the
    request's thread; a body under one chunk (256 KiB) is not slowed down at all.
    """
    request = context.get("request")
    if request is None or getattr(request._request, "_read_started", True):
        return
    _read_away(request._request, settings.REFUSED_BODY_BYTES_PER_SECOND)


def _read_away(request, rate: int) -> None:
    started, received = time.monotonic(), 0
    try:
        while chunk := request.read(DRAIN_CHUNK):
            received += len(chunk)
            ahead = received / rate - (time.monotonic() - started) if rate else 0
            if ahead > 0:
                time.sleep(ahead)
    except Exception:  # noqa: BLE001 - a client gone already needs no answer
        pass


def exception_handler(exc, context):
    """Map ApplicationError, Django and DRF errors to `{"error": ..., "fields": ...}`."""
    if isinstance(exc, (Unavailable, exceptions.Throttled)):
        _drain(context)
    if isinstance(exc, ApplicationError):
        body = {"error": exc.message, "code": exc.code}
        if exc.field:
            body["fields"] = {exc.field: [exc.message]}
        body.update(exc.extra)
        response = Response(body, status=exc.status_code)
        if isinstance(exc, Unavailable):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"error": "request body is over the size limit", "code": "too_large"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent, MultiPartParserError)):
        return Response(
            {"error": f"malformed form body: {exc}", "code": "invalid"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        first_field, first_errors = next(iter(fields.items()), ("non_field_errors", ["invalid"]))
        first = first_errors[0] if isinstance(first_errors, list) and first_errors else "invalid"
        label = "" if first_field == "non_field_errors" else f"{first_field}: "
        response.data = {"error": f"{label}{first}", "code": "invalid", "fields": fields}
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        response.data = {
            "error": str(detail) if not isinstance(detail, (dict, list)) else "error",
            "code": getattr(detail, "code", None) or exc.default_code,
        }
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            response.data["retry_after"] = max(1, math.ceil(exc.wait))
    if response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        response.data.setdefault("code", "too_large")
    return response
