"""Read-side queries: which charts (and sessions with their chart counts) a user may see."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from sessions_app.ids import DEFAULT_SESSION_ID, is_valid_session_id
from sessions_app.models import ChatSession
from sessions_app.selectors import session_visible

from .models import Chart


def chart_list(
    *,
    user,
    session_id: str | None = None,
    backend: str | None = None,
    chart_type: str | None = None,
) -> QuerySet[Chart]:
    """Charts visible to the user: their sessions' charts and their own `default` charts."""
    charts = Chart.objects.select_related("session")
    if not user.is_staff:
        charts = charts.filter(
            Q(session__owner=user) | Q(session_id=DEFAULT_SESSION_ID, created_by=user)
        )
    if session_id:
        charts = charts.filter(session_id=session_id)
    if backend:
        charts = charts.filter(backend=backend)
    if chart_type:
        charts = charts.filter(chart_type=chart_type)
    return charts.order_by("-created_at")


def chart_get(*, user, chart_id) -> Chart | None:
    return chart_list(user=user).filter(pk=chart_id).first()


def session_list(*, user) -> QuerySet[ChatSession]:
    """Visible sessions with `chart_count`: the charts the user sees in each."""
    charts_filter = Q() if user.is_staff else Q(charts__created_by=user) | ~Q(pk=DEFAULT_SESSION_ID)
    return (
        session_visible(user=user)
        .annotate(chart_count=Count("charts", filter=charts_filter))
        .order_by("-created_at")
    )


def session_get(*, user, session_id: str) -> ChatSession | None:
    if not is_valid_session_id(session_id):
        return None  # never send a malformed id (NUL, ...) to the database
    return session_list(user=user).filter(pk=session_id).first()
