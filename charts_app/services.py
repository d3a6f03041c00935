"""Business rules for charts: store, delete, prune. The API, admin and commands call these.

The seed's Python API (`get_chart_storage_service`, `get_visualization_service`)
is kept at the bottom as thin fronts over the same functions.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import time
import warnings
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from sessions_app.models import DEFAULT_SESSION_ID, ChatSession, is_valid_session_id

from . import deletion
from .errors import ChartInputError, NotFound, PayloadTooLarge
from .maintenance import (  # noqa: F401  (re-exported: services is the one write API)
    RehomeResult,
    SyncReport,
    charts_rehome,
    charts_sync,
)
from .models import Chart, ChartEvent, MaintenanceLease, PendingDeletion
from .sharing import active_share_exists
from .stats import analytics_fields, chart_events_prune, retention_days
from .storage import FileRef, StoredFile, get_chain

logger = logging.getLogger(__name__)

# A save checks for session-folder deletions that began up to this long before it did
# (clock skew between hosts), and waits at most this long for one to finish.
FOLDER_RACE_MARGIN = timedelta(seconds=5)
FOLDER_RACE_WAIT = 30.0

CHART_TYPE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_PILLOW_FORMATS = {"PNG": "png", "WEBP": "webp"}


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int


def image_inspect(content, *, field: str = "chart_bytes") -> ImageInfo:
    """Check that bytes are one real PNG or WebP image within the size and pixel limits."""
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise ChartInputError(
            f"chart bytes must be bytes, not {type(content).__name__}", field=field
        )
    content = bytes(content)
    if not content:
        raise ChartInputError("chart bytes are empty", field=field)
    limit = settings.CHARTS_MAX_UPLOAD_BYTES
    if len(content) > limit:
        raise PayloadTooLarge(
            f"image is {len(content)} bytes; the limit is {limit} bytes", field=field
        )
    max_pixels = settings.CHARTS_MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=list(_PILLOW_FORMATS)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ChartInputError(
                        f"image is {width}x{height} = {width * height} pixels; "
                        f"the limit is {max_pixels} pixels",
                        field=field,
                    )
                fmt = _PILLOW_FORMATS[image.format]
                image.load()  # decodes every pixel: truncated or corrupt data fails here
    except ChartInputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ChartInputError(
            f"image has too many pixels; the limit is {max_pixels} pixels", field=field
        ) from None
    except UnidentifiedImageError:
        raise ChartInputError("chart bytes are not a PNG or WebP image", field=field) from None
    except (OSError, SyntaxError, ValueError, EOFError, KeyError) as exc:
        raise ChartInputError(f"image data is corrupt or truncated ({exc})", field=field) from None
    if width < 1 or height < 1:
        raise ChartInputError("image has no pixels", field=field)
    return ImageInfo(format=fmt, width=width, height=height)


def check_session_id(session_id, *, field: str = "session_id") -> str:
    """Return the session id to use (default when empty), or raise ChartInputError."""
    if session_id is None or session_id == "":
        return DEFAULT_SESSION_ID
    if not is_valid_session_id(session_id):
        raise ChartInputError(
            "session id must be 1-64 characters: letters, digits, '_' or '-', "
            "starting with a letter or digit",
            field=field,
        )
    return session_id


def check_chart_type(chart_type, *, field: str = "chart_type") -> str:
    if not isinstance(chart_type, str) or not CHART_TYPE_RE.fullmatch(chart_type):
        raise ChartInputError(
            "chart type must be 1-32 characters: letters, digits, '_' or '-'", field=field
        )
    return chart_type


def session_for_write(*, session_id: str, user=None) -> ChatSession:
    """Get or create the session a chart goes to; someone else's session is NotFound."""
    if session_id == DEFAULT_SESSION_ID:
        session, _ = ChatSession.objects.get_or_create(
            pk=DEFAULT_SESSION_ID, defaults={"title": "Charts saved without a session"}
        )
        return session
    owner = user if user is not None and user.is_authenticated else None
    # Row-locked, so a concurrent session delete either sees this chart or comes after
    # it (PostgreSQL checked the chart's foreign key only at COMMIT: a 500 before).
    session = ChatSession.objects.select_for_update().filter(pk=session_id).first()
    created = session is None
    if created:
        try:
            with transaction.atomic():
                session = ChatSession.objects.create(pk=session_id, owner=owner)
        except IntegrityError:  # created concurrently
            session = ChatSession.objects.select_for_update().get(pk=session_id)
            created = False
    if not created and owner is not None and not user.is_staff:
        if session.owner_id is None:
            # A session made through the Python API (no owner) is claimed by its first user.
            ChatSession.objects.filter(pk=session.pk, owner__isnull=True).update(owner=owner)
            session.owner = owner
        elif session.owner_id != owner.pk:
            raise NotFound("session not found", field="session_id")
    return session


def check_session_access(*, session_id: str, user=None) -> None:
    """Refuse someone else's session (as not found) before any work is done for it."""
    if session_id == DEFAULT_SESSION_ID or user is None or not user.is_authenticated:
        return
    owner_id = ChatSession.objects.filter(pk=session_id).values_list("owner_id", flat=True).first()
    if owner_id is not None and not user.is_staff and owner_id != user.pk:
        raise NotFound("session not found", field="session_id")


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
    session_id = check_session_id(session_id)
    chart_type = check_chart_type(chart_type)
    if info is None:
        info = image_inspect(content, field=field)
    check_session_access(session_id=session_id, user=user)
    created_at = timezone.now()
    outcome = get_chain().store(
        content=content,
        session_id=session_id,
        fmt=info.format,
        chart_type=chart_type,
        created_at=created_at,
    )
    stored = outcome.stored
    meta = dict(meta or {})
    if outcome.failures:
        meta["fallback"] = {
            "from": outcome.failures[0].backend,
            "cause": outcome.failures[0].cause,
        }
    try:
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
    except BaseException:
        _discard(stored, session_id)
        if outcome.pending is not None:
            outcome.pending.abandon()
        raise
    if outcome.pending is not None:
        # Answered from local storage; the slow upload moves the row when it lands.
        outcome.pending.attach(chart.pk, chart_adopt_remote)
    return heal_after_folder_deletion(chart, content=content, started=created_at)


def heal_after_folder_deletion(chart: Chart, *, content: bytes, started) -> Chart:
    """Store a chart again if a deletion of its session's folder raced its save.

    A session deleted while a chart was being saved under the same id (the client
    goes on with it) may have its folder removed between our file write and our row
    commit. The deletion leaves a marker (deletion.delete_session_folder); after our
    commit we look for one that began after our save did, wait for it to end, and if
    our file is gone, store the bytes again locally (sync_charts --rehome moves them up).
    """
    marker = MaintenanceLease.objects.filter(
        name=deletion.folder_marker_name(chart.session_id),
        acquired_at__gte=started - FOLDER_RACE_MARGIN,
    ).first()
    if marker is None:
        return chart
    deadline = time.monotonic() + FOLDER_RACE_WAIT
    while marker.expires_at > timezone.now() and time.monotonic() < deadline:
        time.sleep(0.05)
        marker = MaintenanceLease.objects.filter(pk=marker.pk).first()
        if marker is None:
            break
    try:
        backend = get_chain().backend(chart.backend)
        present = (
            backend.exists_chart(chart.path)
            if chart.backend == "local"
            else backend.exists(chart.path)
        )
    except Exception:
        present = False  # cannot tell: a second copy is cheaper than a lost chart
    if present:
        return chart
    from .storage import LocalChartStorage, chart_filename

    stored = LocalChartStorage().store(
        content=content,
        session_id=chart.session_id,
        filename=chart_filename(chart.format, chart.created_at),
    )
    meta = dict(chart.meta or {})
    meta["fallback"] = {"from": chart.backend, "cause": "session_folder_deleted"}
    # Only if the row still points at the lost file: a late upload may have moved it.
    updated = Chart.objects.filter(pk=chart.pk, backend=chart.backend, path=chart.path).update(
        backend=stored.backend,
        path=stored.name,
        url=stored.url,
        meta=meta,
        fallback_cause="session_folder_deleted",
    )
    if not updated:
        # Moved meanwhile (a late upload landed) or deleted by a later session delete.
        _discard(stored, chart.session_id)
        try:
            chart.refresh_from_db()
        except Chart.DoesNotExist:
            pass
        return chart
    logger.warning(
        "Chart %s lost its file to a concurrent deletion of session %s; stored again at %s",
        chart.pk,
        chart.session_id,
        stored.name,
    )
    try:
        chart.refresh_from_db()
    except Chart.DoesNotExist:
        pass  # deleted since (a later session delete); the answer still describes it
    return chart


def chart_adopt_remote(chart_id, stored: StoredFile) -> bool:
    """Move a locally stored chart to the remote copy that landed late (old URL redirects)."""
    with transaction.atomic():
        chart = Chart.objects.select_for_update().filter(pk=chart_id).first()
        if chart is None or chart.backend != "local":
            gone = True
        else:
            gone = False
            old_path = chart.path
            meta = dict(chart.meta or {})
            meta["adopted_late"] = True
            Chart.objects.filter(pk=chart.pk).update(
                backend=stored.backend,
                path=stored.name,
                url=stored.url,
                previous_path=old_path,
                meta=meta,
            )
            deletion.schedule(
                FileRef("local", old_path, session_id=chart.session_id, chart_id=str(chart.pk))
            )
    if gone:
        # The chart was deleted (or moved) meanwhile: its late copy belongs to nobody.
        deletion.schedule(FileRef(stored.backend, stored.name))
        return False
    logger.info("Chart %s moved to %s after a late upload", chart_id, stored.backend)
    return True


def _discard(stored: StoredFile, session_id: str) -> None:
    """Remove a file whose row could not be written; failing that, remember it."""
    ref = FileRef(backend=stored.backend, name=stored.name, session_id=session_id)
    try:
        get_chain().delete(ref)
    except Exception as exc:
        logger.exception("Could not remove untracked file %s:%s", stored.backend, stored.name)
        deletion.record_pending(ref, kind=PendingDeletion.Kind.FILE, error=exc)


@transaction.atomic
def chart_delete(*, chart: Chart) -> None:
    """Delete a chart; its file goes from its backend after commit."""
    chart.delete()


@dataclass
class DeleteResult:
    deleted: int
    errors: int

    def as_dict(self) -> dict:
        return {
            "deleted": self.deleted,
            "errors": self.errors,
            "message": f"Deleted {self.deleted} charts",
        }


def session_delete(*, session_id: str) -> DeleteResult:
    """Delete a session, its rows and (after commit) its files on every backend.

    The `default` session is kept; only its charts go. `errors` counts the file
    deletions a backend refused; they are recorded and retried by prune_charts.
    """
    with transaction.atomic(), deletion.deletion_batch() as batch:
        session = ChatSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None:
            return DeleteResult(deleted=0, errors=0)
        count = Chart.objects.filter(session=session).count()
        if not session.is_default:
            # Usage events outlive the session; the id a client chose for it does not.
            ChartEvent.objects.filter(session_id=session.pk).update(session_id="")
        if session.is_default:
            Chart.objects.filter(session=session).delete()
        else:
            session.delete()
    return DeleteResult(deleted=count, errors=batch.failures)


def charts_delete(*, charts) -> DeleteResult:
    """Delete many charts (a queryset); their files go in batches after commit."""
    with transaction.atomic(), deletion.deletion_batch() as batch:
        _, per_model = charts.delete()
    # Share links go with their charts; they are not counted as deleted charts.
    count = per_model.get(Chart._meta.label, 0)
    return DeleteResult(deleted=count, errors=batch.failures)


@dataclass
class PruneResult:
    cutoff: object
    due: int = 0
    deleted: int = 0
    errors: int = 0
    retried: int = 0
    retry_failed: int = 0
    dry_run: bool = False
    events_pruned: int = 0  # usage events older than CHARTS_STATS_RETENTION_DAYS

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.retry_failed == 0


def _claim_expired(cutoff, batch_size: int) -> list:
    """Ids of the oldest expired charts, locked for this run where the database can.

    PostgreSQL skips rows another run has locked, so concurrent runs take disjoint
    batches. SQLite has no row locks; its IMMEDIATE transactions serialize the runs,
    and a batch re-read after the other run's commit no longer holds its rows.
    """
    # A chart with an active share link is kept until the link expires or is revoked.
    charts = (
        Chart.objects.filter(created_at__lt=cutoff)
        .exclude(active_share_exists())
        .order_by("created_at")
    )
    if connection.features.has_select_for_update_skip_locked:
        charts = charts.select_for_update(skip_locked=True)
    return list(charts.values_list("pk", flat=True)[:batch_size])


def charts_prune(
    *,
    max_age_hours: float,
    batch_size: int = 500,
    dry_run: bool = False,
    progress=None,
    on_due=None,
) -> PruneResult:
    """Delete charts older than the age limit in batches, then retry pending deletions.

    Memory stays bounded: one batch of ids (and of file names) at a time. `on_due`
    receives each chart that a dry run would delete; `progress(done, total)` is
    called after each batch.
    """
    if max_age_hours < 0:
        raise ChartInputError("max age must not be negative", field="max_age_hours")
    if batch_size < 1:
        raise ChartInputError("batch size must be at least 1", field="batch_size")
    cutoff = timezone.now() - timedelta(hours=max_age_hours)
    due = Chart.objects.filter(created_at__lt=cutoff).exclude(active_share_exists())
    result = PruneResult(cutoff=cutoff, dry_run=dry_run, due=due.count())
    if dry_run:
        listed = 0
        charts = due.order_by("created_at").only(
            "id", "session_id", "backend", "path", "created_at"
        )
        for chart in charts.iterator(chunk_size=batch_size):
            listed += 1
            if on_due:
                on_due(chart)
            if progress and listed % batch_size == 0:
                progress(listed, result.due)
        return result
    while True:
        with transaction.atomic(), deletion.deletion_batch() as batch:
            ids = _claim_expired(cutoff, batch_size)
            if ids:
                _, per_model = Chart.objects.filter(pk__in=ids).delete()
                deleted = per_model.get(Chart._meta.label, 0)
        if not ids:
            break
        result.deleted += deleted
        result.errors += batch.failures
        if progress:
            progress(result.deleted, max(result.due, result.deleted))
    result.retried, result.retry_failed = deletion.retry_pending()
    result.events_pruned = chart_events_prune(retention_days=retention_days())
    return result


def chart_as_dict(chart: Chart) -> dict:
    """The seed's answer shape for a stored chart."""
    meta = chart.meta or {}
    return {
        "id": str(chart.id),
        "chart_id": str(chart.id),
        "url": chart.url,
        "backend": chart.backend,
        "session_id": chart.session_id,
        "chart_type": chart.chart_type,
        "format": chart.format,
        "path": chart.path,
        "bytes": chart.bytes,
        "width": chart.width,
        "height": chart.height,
        "created_at": chart.created_at.isoformat(),
        "markdown": chart.markdown,
        "data_rows": meta.get("data_rows"),
        "original_rows": meta.get("original_rows"),
        "sampled": meta.get("sampled", False),
    }


# --- Rendering -------------------------------------------------------------------

_SEED_OUTPUTS = {"file": "url", "url": "url", "base64": "base64"}


@dataclass
class ChartCreateResult:
    chart: Chart | None = None
    rendered: object = None
    created: bool = True

    def inline_answer(self, chart_type: str) -> dict:
        """The answer for output "base64": the image as a data URI, nothing stored."""
        import base64

        rendered = self.rendered
        encoded = base64.b64encode(rendered.content).decode("ascii")
        data_uri = f"data:{rendered.content_type};base64,{encoded}"
        return {
            "data_uri": data_uri,
            "markdown": f"![Chart]({data_uri})",
            "chart_type": chart_type,
            "format": rendered.format,
            "bytes": len(rendered.content),
            "width": rendered.width,
            "height": rendered.height,
            "data_rows": rendered.data_rows,
            "original_rows": rendered.original_rows,
            "sampled": rendered.sampled,
        }


# A JSON-escaped NUL (\u0000 after an even number of backslashes: not a literal "\\u0000").
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def request_fingerprint(spec: dict) -> str:
    """sha256 of a normalized render request (key order and whitespace do not matter).

    Also the one pass that refuses what JSON, UTF-8 or the database cannot carry: NaN and
    Infinity, unpaired surrogates, NUL characters (PostgreSQL refuses them in text).
    """
    try:
        canonical = json.dumps(
            spec,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=str,
        )
    except ValueError:
        raise ChartInputError("data must not contain NaN or Infinity", field="data") from None
    if "\\u0000" in canonical and _JSON_NUL.search(canonical):
        raise ChartInputError("text must not contain NUL characters", field="data")
    try:
        encoded = canonical.encode("utf-8")
    except UnicodeEncodeError:
        raise ChartInputError(
            "text must be valid Unicode (it has an unpaired surrogate)", field="data"
        ) from None
    return hashlib.sha256(encoded).hexdigest()


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
    fmt: str = "png",
    output: str = "url",
) -> ChartCreateResult:
    """Render a chart; store it (output "url") or return it inline (output "base64").

    An identical request for the same session returns the chart it made before,
    while that chart exists, instead of rendering it again.
    """
    from .rendering import render_chart

    if output not in _SEED_OUTPUTS:
        raise ChartInputError(
            "output must be one of url, base64 (or the seed's file, base64)", field="output"
        )
    output = _SEED_OUTPUTS[output]
    session_id = check_session_id(session_id)
    spec = {
        "data": data,
        "chart_type": chart_type,
        "x": x,
        "y": y,
        "color": color,
        "title": title,
        "x_label": x_label,
        "y_label": y_label,
        "value": value,
        "fmt": fmt,
    }
    request_hash = request_fingerprint({**spec, "session_id": session_id})
    if output == "url":
        check_session_access(session_id=session_id, user=user)
        existing = Chart.objects.filter(session_id=session_id, request_hash=request_hash)
        if user is not None and user.is_authenticated:
            existing = existing.filter(created_by=user)
        else:
            existing = existing.filter(created_by__isnull=True)
        chart = existing.order_by("-created_at").first()
        if chart is not None:
            return ChartCreateResult(chart=chart, created=False)
    rendered = render_chart(**spec, max_rows=settings.CHARTS_MAX_ROWS)
    if output == "base64":
        return ChartCreateResult(rendered=rendered)
    meta = {
        "title": rendered.title,
        "data_rows": rendered.data_rows,
        "original_rows": rendered.original_rows,
        "sampled": rendered.sampled,
        "sampling": rendered.sampling,
        "render_ms": round(rendered.render_ms, 2),
    }
    chart = chart_store(
        content=rendered.content,
        session_id=session_id,
        chart_type=chart_type,
        user=user,
        info=ImageInfo(format=rendered.format, width=rendered.width, height=rendered.height),
        meta=meta,
        request_hash=request_hash,
    )
    return ChartCreateResult(chart=chart, rendered=rendered)


class VisualizationService:
    """Seed-compatible front over chart_create."""

    def generate_chart(
        self,
        data: list,
        chart_type: str,
        session_id: str | None = None,
        output_format: str = "file",
        **options,
    ) -> dict:
        fmt = options.pop("format", options.pop("fmt", "png"))
        result = chart_create(
            data=data,
            chart_type=chart_type,
            session_id=session_id,
            output=output_format,
            fmt=fmt,
            **options,
        )
        if result.chart is None:
            return result.inline_answer(chart_type)
        return chart_as_dict(result.chart)


_visualization_service = VisualizationService()


def get_visualization_service() -> VisualizationService:
    return _visualization_service


# --- The seed's Python API ---------------------------------------------------------


class ChartStorageService:
    """Seed-compatible front over chart_store / session_delete / charts_prune."""

    def save_chart(self, chart_bytes: bytes, session_id: str | None, chart_type: str = "chart"):
        chart = chart_store(content=chart_bytes, session_id=session_id, chart_type=chart_type)
        return chart_as_dict(chart)

    def delete_session_charts(self, session_id: str) -> dict:
        session_id = check_session_id(session_id)
        return session_delete(session_id=session_id).as_dict()

    def cleanup_old_charts(self, max_age_hours: float = 24) -> int:
        return charts_prune(max_age_hours=max_age_hours).deleted


_storage_service = ChartStorageService()


def get_chart_storage_service() -> ChartStorageService:
    return _storage_service
