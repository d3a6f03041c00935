"""Serves tracked local chart files (`/charts/<session_id>/<filename>`) and share links."""

from __future__ import annotations

from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseGone,
    HttpResponseNotModified,
    HttpResponseRedirect,
)
from django.utils import timezone
from django.utils.http import http_date, parse_etags
from django.views.decorators.http import require_safe

from charts_app import sharing
from charts_app.conf import conf
from charts_app.models import Backend, Chart
from charts_app.storage import CACHE_CONTROL, FILENAME_RE, LocalChartStorage, local_name
from sessions_app.ids import is_valid_session_id

SHARE_MAX_AGE = 60  # seconds a browser may reuse a share answer after a revoke
SHARE_ROBOTS = "noindex, nofollow"


def _tracked_chart(session_id: str, filename: str) -> Chart | None:
    if not is_valid_session_id(session_id) or not FILENAME_RE.fullmatch(filename):
        raise Http404("No such chart")
    return Chart.objects.filter(
        backend=Backend.LOCAL, path=local_name(session_id, filename), session_id=session_id
    ).first()


def _etag_matches(header: str, etag: str) -> bool:
    tags = parse_etags(header)
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)


def _local_parts(chart: Chart) -> tuple[str, str] | None:
    """(session folder, file name) of a local chart's stored path, when well-formed."""
    parts = chart.path.split("/")
    if len(parts) != 3 or local_name(parts[1], parts[2]) != chart.path:
        return None
    folder, filename = parts[1], parts[2]
    if not is_valid_session_id(folder) or not FILENAME_RE.fullmatch(filename):
        return None
    return folder, filename


def local_chart_response(
    request, chart: Chart, *, cache_control: str = CACHE_CONTROL, extra_headers=None
) -> HttpResponse:
    """The bytes of a tracked local chart (or nginx's hand-off), with validators and 304.

    One code path for `/charts/...` and share links; only the caching policy differs.
    """
    parts = _local_parts(chart)
    if parts is None:
        raise Http404("No such chart")
    session_id, filename = parts
    etag = f'"{chart.sha256}"'
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(chart.created_at.timestamp()),
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
        **(extra_headers or {}),
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
    if conf.X_ACCEL_REDIRECT:
        # nginx sends the bytes from its internal location; we only checked the name.
        if not storage.is_servable(session_id, filename):
            raise Http404("No such chart")
        response = HttpResponse(content_type=chart.content_type)
        response["X-Accel-Redirect"] = f"{conf.X_ACCEL_REDIRECT}{session_id}/{filename}"
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
    return local_chart_response(request, chart)


def share_cache_control(expires_at, *, now=None) -> str:
    """Browsers may reuse a share answer briefly; shared caches never store it.

    A link can be revoked or expire at any time, so the answer must not outlive it in a
    CDN the way an immutable `/charts/...` answer may.
    """
    remaining = int((expires_at - (now or timezone.now())).total_seconds())
    return f"private, max-age={max(0, min(SHARE_MAX_AGE, remaining))}"


@require_safe
def serve_share(request, token: str) -> HttpResponse:
    """`/s/<token>`: the shared chart (local bytes, or a redirect to its remote URL).

    Unknown tokens, and links whose chart was deleted, are 404; expired or revoked
    links are 410 Gone.
    """
    resolution = sharing.share_resolve(token=token)
    if resolution.state is sharing.ShareState.UNKNOWN:
        raise Http404("No such share link")
    if resolution.state is sharing.ShareState.GONE:
        response = HttpResponseGone(
            "This share link has expired or was revoked.\n", content_type="text/plain"
        )
        response["X-Robots-Tag"] = SHARE_ROBOTS
        return response
    chart = resolution.chart
    cache_control = share_cache_control(resolution.link.expires_at)
    if chart.backend != Backend.LOCAL:
        response = HttpResponseRedirect(chart.url)
        response["Cache-Control"] = cache_control
        response["X-Robots-Tag"] = SHARE_ROBOTS
        return response
    return local_chart_response(
        request, chart, cache_control=cache_control, extra_headers={"X-Robots-Tag": SHARE_ROBOTS}
    )
