"""Running a chart tool call for a user, with the checks and limits of the HTTP API (the
same serializers) and answers a model can act on. Used by the MCP server.

Each call returns (answer, error): the answer is plain JSON-ready data; the error, when
set, is a sentence naming the argument and what to change.
"""

from __future__ import annotations

from charts_app import selectors, services
from charts_app.api.serializers import ChartCreateInputSerializer, SessionChartsInputSerializer
from charts_app.models import Chart
from charts_app.rendering import render_chart
from core.errors import ApplicationError
from sessions_app.ids import DEFAULT_SESSION_ID

LIST_LIMIT = 100


def _first_error(errors: dict) -> str:
    """A serializer's first error as one sentence naming the argument."""
    field, detail = next(iter(errors.items()))
    while isinstance(detail, (list, dict)) and detail:
        detail = detail[0] if isinstance(detail, list) else next(iter(detail.values()))
    return str(detail) if field == "non_field_errors" else f"{field}: {detail}"


def _application_error(exc: ApplicationError) -> str:
    return f"{exc.field}: {exc.message}" if exc.field else exc.message


def _validated(serializer_class, arguments: dict) -> tuple[dict | None, str | None]:
    serializer = serializer_class(data=arguments)
    try:
        if serializer.is_valid():
            return serializer.validated_data, None
    except ApplicationError as exc:  # a body over a limit (413 over HTTP)
        return None, _application_error(exc)
    return None, _first_error(serializer.errors)


def generate_chart(arguments: dict, *, user, include_image: bool = False):
    """(answer, image bytes or None, error)."""
    attrs, error = _validated(ChartCreateInputSerializer, arguments)
    if error:
        return None, None, error
    kwargs = ChartCreateInputSerializer.create_kwargs(attrs)
    try:
        with services.user_render_slot(user):  # the same limits as over HTTP
            result = services.chart_create(user=user, limited=True, **kwargs)
    except ApplicationError as exc:
        return None, None, _application_error(exc)
    columns = {"x": kwargs["x"], "y": kwargs["y"], "color": kwargs["color"]}
    answer = services.chart_answer(result, columns=columns, session_id=kwargs["session_id"])
    if attrs["notice"]:
        answer["notice"] = attrs["notice"]
    image = None
    if include_image:
        image = result.rendered.content if result.rendered is not None else _render_again(kwargs)
    return answer, image, None


def _render_again(kwargs: dict) -> bytes:
    """The image of a chart an identical earlier call made (its file may be remote)."""
    keys = ("data", "chart_type", "x", "y", "color", "value", "air_quality")
    spec = {key: kwargs[key] for key in keys}
    texts = {key: kwargs[key] for key in ("title", "x_label", "y_label")}
    return render_chart(**spec, **texts, fmt=kwargs["fmt"]).content


def list_session_charts(arguments: dict, *, user):
    attrs, error = _validated(SessionChartsInputSerializer, arguments)
    if error:
        return None, error
    session_id = attrs["session_id"]
    if selectors.session_get(user=user, session_id=session_id) is None:
        return {"session_id": session_id, "count": 0, "charts": []}, None
    charts = selectors.chart_list(user=user, session_id=session_id)
    listed = [services.chart_as_dict(chart) for chart in charts[:LIST_LIMIT]]
    return {"session_id": session_id, "count": charts.count(), "charts": listed}, None


def delete_session_charts(arguments: dict, *, user):
    attrs, error = _validated(SessionChartsInputSerializer, arguments)
    if error:
        return None, error
    session = selectors.session_get(user=user, session_id=attrs["session_id"])
    if session is None:
        return {"deleted": 0, "errors": 0, "message": "Deleted 0 charts"}, None
    if session.pk == DEFAULT_SESSION_ID and not user.is_staff:
        # The shared bucket: only the caller's own charts go (as over HTTP).
        mine = Chart.objects.filter(session=session, created_by=user)
        result = services.charts_delete(charts=mine)
    else:
        result = services.session_delete(session_id=session.pk)
    return result.as_dict(), None
