"""Making charts: render (or take uploaded bytes), store on the first backend that takes
them, track them in a row. The API, the admin, commands and the Python fronts call these.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from dataclasses import dataclass

import orjson
from django.db import transaction
from django.utils import timezone

from charts_app.conf import conf
from charts_app.models import Chart, ChartEvent
from charts_app.stats import analytics_fields
from charts_app.storage import ChartStorageError, get_chain
from core.api.throttling import request_refused
from core.errors import InputError, Unavailable
from sessions_app.services import session_check_access, session_for_write, session_id_check

from .admission import render_admission
from .healing import chart_adopt_remote, discard_untracked, heal_after_folder_deletion
from .images import ImageInfo, check_chart_type, image_inspect

logger = logging.getLogger(__name__)

_SEED_OUTPUTS = {"file": "url", "url": "url", "base64": "base64"}


def _store_file(*, content: bytes, session_id: str, fmt: str, chart_type: str, created_at):
    try:
        return get_chain().store(
            content=content,
            session_id=session_id,
            fmt=fmt,
            chart_type=chart_type,
            created_at=created_at,
        )
    except ChartStorageError as exc:
        # Every backend, the local disk included, refused the chart: nothing was stored.
        logger.error("No backend could store a chart: %s", exc)
        request_refused.send(sender=chart_store, status=503, reason="storage")
        raise Unavailable("the chart could not be stored right now; try again") from exc


def _track(*, stored, session_id, user, info, chart_type, content, created_at, meta, request_hash):
    """The chart's row and its usage event, in one transaction (the session row-locked)."""
    with transaction.atomic():
        session = session_for_write(session_id=session_id, user=user)
        chart = Chart.objects.create(
            session=session,
            created_by=user if user is not None and user.is_authenticated else None,
            backend=stored.backend,
            path=stored.name,
            url=stored.url,
            chart_type=chart_type,
            format=info.format,
            bytes=len(content),
            width=info.width,
            height=info.height,
            sha256=hashlib.sha256(content).hexdigest(),
            created_at=created_at,
            meta=meta,
            request_hash=request_hash,
            **analytics_fields(meta),
        )
        ChartEvent.objects.create(
            chart_id=chart.pk,
            session_id=session.pk,
            created_at=created_at,
            chart_type=chart_type,
            format=info.format,
            backend=stored.backend,
            bytes=len(content),
            render_ms=chart.render_ms,
            fallback_cause=chart.fallback_cause,
        )
    return chart


def chart_store(
    *,
    content: bytes,
    session_id: str | None,
    chart_type: str = "chart",
    user=None,
    info: ImageInfo | None = None,
    meta: dict | None = None,
    request_hash: str = "",
    field: str = "chart_bytes",
) -> Chart:
    """Store chart bytes on the first backend that takes them, then track them in a row.

    Bytes from outside are checked (`image_inspect`) unless the renderer vouches for
    them with `info`. The file is written before the row; if the row fails, the file
    is removed, so nothing is half-stored.
    """
    session_id = session_id_check(session_id)
    chart_type = check_chart_type(chart_type)
    if info is None:
        info = image_inspect(content, field=field)
    session_check_access(session_id=session_id, user=user)
    created_at = timezone.now()
    outcome = _store_file(
        content=content,
        session_id=session_id,
        fmt=info.format,
        chart_type=chart_type,
        created_at=created_at,
    )
    meta = dict(meta or {})
    if outcome.failures:
        meta["fallback"] = {"from": outcome.failures[0].backend, "cause": outcome.failures[0].cause}
    try:
        chart = _track(
            stored=outcome.stored,
            session_id=session_id,
            user=user,
            info=info,
            chart_type=chart_type,
            content=content,
            created_at=created_at,
            meta=meta,
            request_hash=request_hash,
        )
    except BaseException:
        discard_untracked(outcome.stored, session_id)
        if outcome.pending is not None:
            outcome.pending.abandon()
        raise
    if outcome.pending is not None:
        # Answered from local storage; the slow upload moves the row when it lands.
        outcome.pending.attach(chart.pk, chart_adopt_remote)
    return heal_after_folder_deletion(chart, content=content, started=created_at)


def public_url(url: str) -> str:
    """A chart URL as answers give it: a local chart's `/charts/...` stays relative unless
    CHARTS_PUBLIC_URL makes it absolute (never the request's Host header)."""
    if url.startswith("/") and conf.PUBLIC_URL:
        return conf.PUBLIC_URL + url
    return url


def records_of(data):
    """The records to draw: a list of records, or the rows of an object with
    `to_dict(orient="records")` (a pandas DataFrame; pandas is not a dependency)."""
    to_dict = getattr(data, "to_dict", None)
    if callable(to_dict) and not isinstance(data, dict):
        return to_dict(orient="records")
    return data


def chart_as_dict(chart: Chart) -> dict:
    """The seed's answer shape for a stored chart."""
    meta = chart.meta or {}
    url = public_url(chart.url)
    return {
        "id": str(chart.id),
        "chart_id": str(chart.id),
        "url": url,
        "backend": chart.backend,
        "session_id": chart.session_id,
        "chart_type": chart.chart_type,
        "format": chart.format,
        "path": chart.path,
        "bytes": chart.bytes,
        "width": chart.width,
        "height": chart.height,
        "created_at": chart.created_at.isoformat(),
        "markdown": f"![Chart]({url})",
        "data_rows": meta.get("data_rows"),
        "original_rows": meta.get("original_rows"),
        "sampled": meta.get("sampled", False),
        "air_quality": meta.get("air_quality"),
    }


@dataclass
class ChartCreateResult:
    chart: Chart | None = None
    rendered: object = None
    created: bool = True
    chart_type: str = ""

    def inline_answer(self, chart_type: str | None = None) -> dict:
        """The answer for output "base64": the image as a data URI, nothing stored."""
        rendered = self.rendered
        encoded = base64.b64encode(rendered.content).decode("ascii")
        data_uri = f"data:{rendered.content_type};base64,{encoded}"
        return {
            "data_uri": data_uri,
            "markdown": f"![Chart]({data_uri})",
            "chart_type": chart_type or self.chart_type,
            "format": rendered.format,
            "bytes": len(rendered.content),
            "width": rendered.width,
            "height": rendered.height,
            "data_rows": rendered.data_rows,
            "original_rows": rendered.original_rows,
            "sampled": rendered.sampled,
            "air_quality": rendered.air_quality,
        }


# A JSON-escaped NUL (\u0000 after an even number of backslashes: not a literal "\\u0000").
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_JSON_NUL_BYTES = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_FINGERPRINT_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def request_fingerprint(spec: dict) -> str:
    """sha256 of a normalized render request (key order and whitespace do not matter).

    Also the one pass that refuses what UTF-8 or the database cannot carry: unpaired
    surrogates, NUL characters (PostgreSQL refuses them in text). NaN is a missing reading
    (the renderer draws a gap); Infinity is refused by the renderer where it matters.

    orjson writes it ~10x faster than json (50,000 rows: ~6 ms); what orjson cannot write
    (lone surrogates, integers past 64 bits) goes the stdlib way, which refuses or hashes it.
    """
    try:
        encoded = orjson.dumps(spec, option=_FINGERPRINT_OPTIONS, default=str)
    except TypeError:
        return _stdlib_fingerprint(spec)
    if b"\\u0000" in encoded and _JSON_NUL_BYTES.search(encoded):
        raise InputError("text must not contain NUL characters", field="data")
    return hashlib.sha256(encoded).hexdigest()


def _stdlib_fingerprint(spec: dict) -> str:
    canonical = json.dumps(
        spec,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=True,
        default=str,
    )
    if "\\u0000" in canonical and _JSON_NUL.search(canonical):
        raise InputError("text must not contain NUL characters", field="data")
    try:
        encoded = canonical.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            "text must be valid Unicode (it has an unpaired surrogate)", field="data"
        ) from None
    return hashlib.sha256(encoded).hexdigest()


def _existing_chart(*, session_id: str, user, request_hash: str) -> Chart | None:
    """The chart an identical earlier request made in this session, while it exists."""
    existing = Chart.objects.filter(session_id=session_id, request_hash=request_hash)
    if user is not None and user.is_authenticated:
        existing = existing.filter(created_by=user)
    else:
        existing = existing.filter(created_by__isnull=True)
    return existing.order_by("-created_at").first()


def _output_kind(output: str) -> str:
    if output not in _SEED_OUTPUTS:
        raise InputError(
            "output must be one of url, base64 (or the seed's file, base64)", field="output"
        )
    return _SEED_OUTPUTS[output]


def _render_meta(rendered) -> dict:
    """What a rendered chart's row remembers of its rendering."""
    return {
        "title": rendered.title,
        "data_rows": rendered.data_rows,
        "original_rows": rendered.original_rows,
        "sampled": rendered.sampled,
        "sampling": rendered.sampling,
        "columns": rendered.columns,
        "air_quality": rendered.air_quality,
        "render_ms": round(rendered.render_ms, 2),
    }


def chart_create(
    *,
    data: list,
    chart_type: str,
    session_id: str | None = None,
    user=None,
    x: str | None = None,
    y: str | list[str] | None = None,
    color: str | None = None,
    title: str | None = None,
    x_label: str | None = None,
    y_label: str | None = None,
    value: str | None = None,
    air_quality: str = "auto",
    fmt: str = "png",
    output: str = "url",
    limited: bool = False,
) -> ChartCreateResult:
    """Render a chart; store it (output "url") or return it inline (output "base64").

    An identical request for the same session returns the chart it made before,
    while that chart exists, instead of rendering it again. `limited` (the HTTP and MCP
    fronts): drawing waits for one of this process's render slots (services.admission).
    """
    from charts_app.rendering import render_chart  # matplotlib only where charts are drawn

    output = _output_kind(output)
    session_id = session_id_check(session_id)
    spec = {
        "data": records_of(data),
        "chart_type": chart_type,
        "x": x,
        "y": y,
        "color": color,
        "title": title,
        "x_label": x_label,
        "y_label": y_label,
        "value": value,
        "air_quality": air_quality,
        "fmt": fmt,
    }
    request_hash = request_fingerprint({**spec, "session_id": session_id})
    if output == "url":
        session_check_access(session_id=session_id, user=user)
        chart = _existing_chart(session_id=session_id, user=user, request_hash=request_hash)
        if chart is not None:
            return ChartCreateResult(chart=chart, created=False, chart_type=chart_type)
    slot = render_admission(user) if limited else None
    rendered = render_chart(**spec, max_rows=conf.MAX_ROWS, slot=slot)
    if output == "base64":
        return ChartCreateResult(rendered=rendered, chart_type=chart_type)
    chart = _rendered_store(rendered, session_id, chart_type, user, request_hash)
    return ChartCreateResult(chart=chart, rendered=rendered, chart_type=chart_type)


def _rendered_store(rendered, session_id: str, chart_type: str, user, request_hash: str) -> Chart:
    return chart_store(
        content=rendered.content,
        session_id=session_id,
        chart_type=chart_type,
        user=user,
        info=ImageInfo(format=rendered.format, width=rendered.width, height=rendered.height),
        meta=_render_meta(rendered),
        request_hash=request_hash,
    )
