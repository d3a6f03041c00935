"""generate_chart as the Aeris-AQ agent calls it: its argument names, its answer keys, and
never an exception for input it can correct (a `success: false` answer says what to change).

The answer carries the keys Aeris-AQ's own answers have (success, chart_data, format,
engine, storage, session_id, chart_type, timestamp, data_rows, original_rows,
data_sampled, columns_used, sampling_notice) and this service's (id, url, markdown, path,
width, height, bytes, ...).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils import timezone

from core.errors import ApplicationError, InputError

from .charts import ChartCreateResult, chart_as_dict, chart_create, public_url

logger = logging.getLogger(__name__)

ENGINE = "matplotlib"
# Aeris-AQ's output formats: `plotly_json` (and `interactive`) answer with a static chart.
_OUTPUTS = {"file": "url", "url": "url", "base64": "base64", "plotly_json": "url"}
# Today's names of the same arguments, still accepted.
_ALIASES = {"x": "x_column", "y": "y_column", "color": "color_column", "output": "output_format"}
_OPTIONS = {"value", "format", "fmt", "user", "air_quality"}
STATIC_NOTICE = (
    "Interactive charts are not available here; this is a static image of the same chart."
)


@dataclass
class AgentCall:
    """A generate_chart call with the names settled."""

    create: dict  # keyword arguments for chart_create
    columns: dict  # {x, y, color} as the caller named them
    notice: str | None = None


def _settle(names: dict, options: dict) -> dict:
    """Merge today's names (x, y, color, output) into the tool-call names; refuse a
    conflict and any argument neither knows."""
    unknown = sorted(set(options) - set(_ALIASES) - _OPTIONS)
    if unknown:
        raise InputError(f"unknown argument {unknown[0]!r}", field=unknown[0])
    for old, new in _ALIASES.items():
        if old not in options or options[old] is None:
            continue
        if names.get(new) is not None and names[new] != options[old]:
            raise InputError(f"{old} and {new} disagree; send one of them", field=new)
        names[new] = options[old]
    return names


def agent_call(*, data, chart_type, session_id, interactive, names: dict, options: dict):
    names = _settle(names, options)
    output = names.get("output_format") or "file"
    if not isinstance(output, str) or output not in _OUTPUTS:
        raise InputError(
            f"output_format must be one of file, base64, plotly_json (got {output!r})",
            field="output_format",
        )
    if not isinstance(interactive, bool):
        raise InputError("interactive must be true or false", field="interactive")
    fmt = options.get("format", options.get("fmt", "png"))
    create = {
        "data": data,
        "chart_type": chart_type,
        "session_id": session_id,
        "x": names.get("x_column"),
        "y": names.get("y_column"),
        "color": names.get("color_column"),
        "title": names.get("title"),
        "x_label": names.get("x_label"),
        "y_label": names.get("y_label"),
        "value": options.get("value"),
        "air_quality": options.get("air_quality", "auto"),
        "fmt": fmt,
        "output": _OUTPUTS[output],
        "user": options.get("user"),
    }
    notice = STATIC_NOTICE if interactive or output == "plotly_json" else None
    columns = {key: names.get(f"{key}_column") for key in ("x", "y", "color")}
    return AgentCall(create=create, columns=columns, notice=notice)


def sampling_notice(sampling: str | None, shown: int | None, total: int | None) -> str | None:
    """A sentence for the reader when the chart does not show every row as a point."""
    if not sampling or shown is None or total is None:
        return None
    sentences = {
        "lttb": f"Showing {shown:,} of {total:,} points; the line was thinned with LTTB, "
        "which keeps the peaks and dips.",
        "grid": f"Showing {shown:,} of {total:,} points: one per small area of the plot, "
        "with the extremes kept.",
        "topN": f"Showing the {shown:,} largest categories of {total:,} rows; the rest are "
        "left out (pie: summed into Others).",
        "mean": f"{total:,} rows are averaged into {shown:,} bars or cells.",
        "sum": f"{total:,} rows are summed into {shown:,} slices.",
        "bins": f"{total:,} rows are averaged into {shown:,} bins of x.",
    }
    return "📊 Data sampled: " + sentences.get(sampling, f"Showing {shown:,} of {total:,}.")


def air_quality_notice(air_quality: dict | None) -> str | None:
    """The chart's air-quality background in a sentence (for a model to pass on); None
    when the chart shows no categories."""
    if not air_quality:
        return None
    bands = ", ".join(air_quality["bands_shown"])
    text = f"Background colours: {air_quality['scale']} categories ({bands})."
    guideline = air_quality.get("guideline")
    if guideline and guideline["shown"]:
        text += (
            f" Dashed line: the {guideline['name']} ({guideline['value']:g} {guideline['unit']})."
        )
    return text


def columns_used(drawn: dict | None, asked: dict | None = None) -> dict | None:
    """{x, y, color}: the columns drawn (defaults filled in), else as asked; y is a name,
    or a list of names for several series."""
    if not drawn and not asked:
        return None
    drawn, asked = drawn or {}, asked or {}
    ys = drawn.get("y") or []
    y = ys[0] if len(ys) == 1 else (ys or asked.get("y"))
    return {"x": drawn.get("x", asked.get("x")), "y": y, "color": drawn.get("color")}


def chart_answer(result: ChartCreateResult, *, columns: dict, session_id=None) -> dict:
    """The agent's answer for a chart made (stored, or inline for output base64)."""
    if result.chart is None:
        return _inline_answer(result, columns, session_id)
    return _stored_answer(result, columns)


def _stored_answer(result: ChartCreateResult, columns: dict) -> dict:
    chart = result.chart
    meta = chart.meta or {}
    url = public_url(chart.url)
    return {
        **chart_as_dict(chart),
        "success": True,
        "chart_data": url,
        "url": url,
        "markdown": f"![Chart]({url})",
        "engine": ENGINE,
        "storage": chart.backend,
        "timestamp": chart.created_at.isoformat(),
        "data_sampled": bool(meta.get("sampled")),
        "columns_used": columns_used(meta.get("columns"), columns),
        "sampling_notice": sampling_notice(
            meta.get("sampling"), meta.get("data_rows"), meta.get("original_rows")
        ),
    }


def _inline_answer(result: ChartCreateResult, columns: dict, session_id) -> dict:
    rendered = result.rendered
    answer = result.inline_answer(result.chart_type)
    return {
        **answer,
        "success": True,
        "chart_data": answer["data_uri"],
        "engine": ENGINE,
        "storage": "base64",
        "session_id": session_id,
        "timestamp": timezone.now().isoformat(),
        "id": None,
        "url": None,
        "path": None,
        "data_sampled": rendered.sampled,
        "columns_used": columns_used(rendered.columns, columns),
        "sampling_notice": sampling_notice(
            rendered.sampling, rendered.data_rows, rendered.original_rows
        ),
    }


def error_answer(exc: Exception, chart_type) -> dict:
    """`success: false` with a short `error` and a `message` that says what to change."""
    if isinstance(exc, ApplicationError):
        answer = {"success": False, "error": exc.code, "message": exc.message}
        if exc.field:
            answer["field"] = exc.field
    else:
        logger.exception("generate_chart failed")
        answer = {
            "success": False,
            "error": "internal_error",
            "message": "The chart could not be drawn because of an error in the chart "
            "service; try again, or with fewer rows or a simpler chart type.",
        }
    answer["chart_type"] = chart_type if isinstance(chart_type, str) else None
    return answer


def generate_chart(
    data,
    chart_type="line",
    x_column=None,
    y_column=None,
    title=None,
    x_label=None,
    y_label=None,
    color_column=None,
    output_format="file",
    interactive=False,
    session_id=None,
    **options,
) -> dict:
    """Draw (and store) a chart the way the Aeris-AQ agent asks; never raises."""
    names = {
        "x_column": x_column,
        "y_column": y_column,
        "color_column": color_column,
        "title": title,
        "x_label": x_label,
        "y_label": y_label,
        "output_format": output_format,
    }
    try:
        call = agent_call(
            data=data,
            chart_type=chart_type,
            session_id=session_id,
            interactive=interactive,
            names=names,
            options=options,
        )
        result = chart_create(**call.create)
        answer = chart_answer(result, columns=call.columns, session_id=session_id or None)
    except Exception as exc:  # an answer the agent can act on, never a traceback
        return error_answer(exc, chart_type)
    if call.notice:
        answer["notice"] = call.notice
    return answer
