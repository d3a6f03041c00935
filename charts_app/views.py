"""Serves tracked local chart files: `/charts/<session_id>/<filename>`."""

from __future__ import annotations

from django.conf import settings
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseNotModified,
    HttpResponseRedirect,
)
from django.utils.http import http_date, parse_etags
from django.views.decorators.http import require_safe

from sessions_app.models import is_valid_session_id

from .models import Backend, Chart
from .storage import FILENAME_RE, LocalChartStorage, local_name

CACHE_CONTROL = "public, max-age=31536000, immutable"


def _tracked_chart(session_id: str, filename: str) -> Chart | None:
    if not is_valid_session_id(session_id) or not FILENAME_RE.fullmatch(filename):
        raise Http404("No such chart")
    return Chart.objects.filter(
        backend=Backend.LOCAL, path=local_name(session_id, filename), session_id=session_id
    ).first()


def _etag_matches(header: str, etag: str) -> bool:
    tags = parse_etags(header)
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)


@require_safe
def serve_chart(request, session_id: str, filename: str) -> HttpResponse:
    """Serve one tracked local chart with immutable caching; anything else is 404."""
    chart = _tracked_chart(session_id, filename)
    if chart is None:
        # A chart re-homed to Cloudinary keeps answering at its old local URL.
        moved = Chart.objects.filter(previous_path=local_name(session_id, filename)).first()
        if moved is None:
            raise Http404("No such chart")
        response = HttpResponseRedirect(moved.url)
        response["Cache-Control"] = "public, max-age=86400"
        return response
    etag = f'"{chart.sha256}"'
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(chart.created_at.timestamp()),
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
    }
    if chart.format == "svg":
        # An SVG is a document: keep any script in it inert.
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and _etag_matches(if_none_match, etag):
        response = HttpResponseNotModified()
        for key, value in headers.items():
            response[key] = value
        return response
    storage = LocalChartStorage()
    if settings.CHARTS_X_ACCEL_REDIRECT:
        # nginx sends the bytes from its internal location; we only checked the name.
        if not storage.is_servable(session_id, filename):
            raise Http404("No such chart")
        response = HttpResponse(content_type=chart.content_type)
        response["X-Accel-Redirect"] = f"{settings.CHARTS_X_ACCEL_REDIRECT}{session_id}/{filename}"
        for key, value in headers.items():
            response[key] = value
        return response
    handle = storage.open_chart(session_id, filename)
    if handle is None:
        raise Http404("No such chart")
    response = FileResponse(handle, content_type=chart.content_type)
    for key, value in headers.items():
        response[key] = value
    return response
